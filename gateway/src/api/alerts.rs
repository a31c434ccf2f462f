//! Alerts through the API: list open and past alerts with filters, one alert's history and
//! audit trail, and the operator actions (acknowledge, clear), each stored in the audit trail
//! under the name of the account whose token made the request.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::{not_found, ApiError};
use crate::alerts::db::Filter;
use crate::alerts::desk::Action;
use crate::alerts::ActionError;
use crate::owner::Refused;
use crate::shared::Shared;

/// Query of `GET /api/v1/districts/{d}/alerts`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// `active` (default): open alerts; `history`: transitions, newest first.
    pub state: Option<String>,
    /// Only this rule.
    pub rule: Option<String>,
    /// Only at or above this severity (`info` … `critical`).
    pub severity: Option<String>,
    /// Only transitions at or after this (RFC 3339 or epoch ms).
    pub since: Option<String>,
    /// At most this many (default 200).
    pub limit: Option<usize>,
}

fn district_index(s: &Shared, d: &str) -> Result<usize, ApiError> {
    s.index
        .get(d)
        .copied()
        .ok_or_else(|| not_found(format!("district \"{d}\" is not served here")))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn severity_rank(s: &str) -> Result<u8, ApiError> {
    ["info", "low", "medium", "high", "critical"]
        .iter()
        .position(|x| *x == s)
        .map(|i| i as u8)
        .ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!("severity \"{s}\" is not one of info, low, medium, high, critical"),
            )
        })
}

pub async fn list(
    State(s): State<Arc<Shared>>,
    Path(d): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    district_index(&s, &d)?;
    let min = q.severity.as_deref().map(severity_rank).transpose()?;
    let since = q
        .since
        .as_deref()
        .map(|t| {
            t.parse::<i64>()
                .or_else(|_| district::contract::time::parse_text(t))
        })
        .transpose()
        .map_err(|_| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "since: epoch ms or RFC 3339 with offset".into(),
            )
        })?;
    let db = s.alert_db.clone();
    let state = q.state.clone().unwrap_or_else(|| "active".into());
    let (rule, limit) = (q.rule.clone(), q.limit.unwrap_or(200));
    let d2 = d.clone();
    let alerts = tokio::task::spawn_blocking(move || match state.as_str() {
        "active" => db.last_open(&d2).map(|v| {
            v.into_iter()
                .filter(|m| {
                    rule.as_ref().is_none_or(|r| &m.rule == r)
                        && min.is_none_or(|x| m.severity as u8 >= x)
                })
                .collect::<Vec<_>>()
        }),
        _ => db.transitions(
            &d2,
            &Filter {
                alert: None,
                rule,
                min_severity: min,
                since,
                limit,
            },
        ),
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(json!({ "district": d, "alerts": alerts })))
}

pub async fn one(
    State(s): State<Arc<Shared>>,
    Path((d, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    district_index(&s, &d)?;
    let db = s.alert_db.clone();
    let (d2, id2) = (d.clone(), id.clone());
    let (transitions, actions) = tokio::task::spawn_blocking(move || {
        let t = db.transitions(
            &d2,
            &Filter {
                alert: Some(id2.clone()),
                limit: 10_000,
                ..Default::default()
            },
        )?;
        let a = db.actions(&id2)?;
        Ok::<_, rusqlite::Error>((t, a))
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    if transitions.is_empty() {
        return Err(not_found(format!("no alert \"{id}\" in district \"{d}\"")));
    }
    let actions: Vec<Value> = actions
        .into_iter()
        .map(|(action, who, note, at, outcome)| json!({ "action": action, "who": who, "note": note, "at": district::contract::time::format_millis(at), "outcome": outcome }))
        .collect();
    Ok(Json(
        json!({ "id": id, "transitions": transitions.into_iter().rev().collect::<Vec<_>>(), "actions": actions }),
    ))
}

/// Longest note (characters) an operator action keeps.
const MAX_NOTE: usize = 1000;

/// Body of an operator action.
#[derive(Debug, Deserialize)]
pub struct ActionBody {
    /// Optional: a person behind the account (a badge number on a shared control-room
    /// account). The audit trail's `who` is always the token's account; this is kept at the
    /// start of the note.
    #[serde(default)]
    pub who: Option<String>,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// The note the audit trail keeps: the body's `who` (when given and not the account's own
/// name) before the note.
fn audit_note(account: &str, body: &ActionBody) -> Result<String, ApiError> {
    let note = match body.who.as_deref().map(str::trim) {
        Some(w) if !w.is_empty() && w != account && body.note.is_empty() => w.to_string(),
        Some(w) if !w.is_empty() && w != account => format!("{w}: {}", body.note),
        _ => body.note.clone(),
    };
    if note.chars().count() > MAX_NOTE {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("`who` and `note` together may have at most {MAX_NOTE} characters"),
        ));
    }
    Ok(note)
}

async fn act(
    s: Arc<Shared>,
    caller: Caller,
    (d, id): (String, String),
    action: Action,
    body: ActionBody,
) -> Result<Json<Value>, ApiError> {
    let h = super::district(&s, &d)?;
    let note = audit_note(&caller.name, &body)?;
    match h.owner.act(action, id, caller.name, note).await {
        Ok(msg) => Ok(Json(serde_json::to_value(msg).unwrap_or(Value::Null))),
        Err(e) => {
            let code = match &e {
                Refused::Refused(ActionError::NotFound(_)) => StatusCode::NOT_FOUND,
                Refused::Refused(_) => StatusCode::CONFLICT,
                Refused::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
                Refused::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            };
            Err(ApiError(code, e.to_string()))
        }
    }
}

pub async fn acknowledge(
    State(s): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(at): Path<(String, String)>,
    Json(b): Json<ActionBody>,
) -> Result<Json<Value>, ApiError> {
    act(s, caller, at, Action::Acknowledge, b).await
}

pub async fn clear(
    State(s): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(at): Path<(String, String)>,
    Json(b): Json<ActionBody>,
) -> Result<Json<Value>, ApiError> {
    act(s, caller, at, Action::Clear, b).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bodys_who_is_kept_in_the_note() {
        let body = |who: Option<&str>, note: &str| ActionBody {
            who: who.map(str::to_string),
            note: note.into(),
        };
        let n = |b: &ActionBody| audit_note("control-room", b).unwrap();
        assert_eq!(n(&body(None, "on my way")), "on my way");
        assert_eq!(
            n(&body(Some("badge 1142"), "on my way")),
            "badge 1142: on my way"
        );
        assert_eq!(n(&body(Some("badge 1142"), "")), "badge 1142");
        assert_eq!(n(&body(Some("control-room"), "x")), "x");
        assert_eq!(n(&body(Some("  "), "x")), "x");
        assert!(audit_note("a", &body(None, &"n".repeat(1001))).is_err());
    }
}
