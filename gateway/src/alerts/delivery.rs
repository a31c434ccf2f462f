//! Webhook delivery: a worker sends what the district owners queued with their alert
//! transitions (persisted in the store, so it survives a kill -9), retrying with capped
//! exponential backoff and jitter until delivered or expired, and records each attempt
//! through the store's writer. Reads run on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use std::collections::HashMap;

use district::contract::alert::AlertMsg;

use super::db::{AlertDb, Delivery};
use super::webhook::WebhookSpec;
use crate::store::StoreTx;

/// Backoff after `attempts` failures: 1 s doubling to 5 min, with ±20 % jitter from `salt`.
pub fn backoff_ms(attempts: u32, salt: u64) -> i64 {
    let base = 1000i64
        .saturating_mul(1i64 << attempts.min(20))
        .min(300_000);
    let jitter = (salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) % 41; // 0..=40
    base * (80 + jitter as i64) / 100
}

fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The request of delivery `d` at `now_ms`: made from its webhook's configuration (URL with
/// the robot's token, signature of this moment), or the URL and body a delivery queued by an
/// earlier release kept. An error is final (no retry helps).
pub fn request(
    d: &Delivery,
    webhooks: &HashMap<String, WebhookSpec>,
    now_ms: i64,
) -> Result<(String, String), String> {
    if !d.url.is_empty() {
        return Ok((d.url.clone(), d.body.clone()));
    }
    let spec = webhooks
        .get(&d.webhook)
        .ok_or_else(|| format!("webhook \"{}\" is no longer configured", d.webhook))?;
    let msg: AlertMsg =
        serde_json::from_str(&d.body).map_err(|e| format!("queued alert unreadable: {e}"))?;
    let (url, body) = spec.request(&msg, now_ms);
    Ok((url, body.to_string()))
}

/// Runs the delivery worker until `shutdown`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    webhooks: Vec<WebhookSpec>,
    db: Arc<AlertDb>,
    store: StoreTx,
    wake: Arc<Notify>,
    metrics: Arc<crate::metrics::Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let webhooks: HashMap<String, WebhookSpec> =
        webhooks.into_iter().map(|w| (w.name.clone(), w)).collect();
    loop {
        let reading = db.clone();
        let due = tokio::task::spawn_blocking(move || reading.due(wall_ms(), 50))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        for d in &due {
            let now = wall_ms();
            let id = d.id;
            if now > d.expires {
                let _ = store
                    .write(move |c| super::db::failed(c, id, "expired", None))
                    .await;
                continue;
            }
            let (url, body) = match request(d, &webhooks, now) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(webhook = %d.webhook, error = %e, "webhook delivery dropped");
                    let _ = store
                        .write(move |c| super::db::failed(c, id, &e, None))
                        .await;
                    continue;
                }
            };
            let result = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                // Robots' URLs carry their access tokens: never in an error kept or logged.
                .map_err(|e| e.without_url().to_string())
                .and_then(|r| {
                    if r.status().is_success() {
                        Ok(())
                    } else {
                        Err(format!("HTTP {}", r.status()))
                    }
                });
            match result {
                Ok(()) => {
                    metrics
                        .webhooks_delivered
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let _ = store.write(move |c| super::db::delivered(c, id, now)).await;
                }
                Err(e) => {
                    metrics
                        .webhook_failures
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let next = now + backoff_ms(d.attempts, d.id as u64);
                    tracing::warn!(webhook = %d.webhook, attempt = d.attempts + 1, error = %e, "webhook delivery failed; will retry");
                    let retry = (next <= d.expires).then_some(next);
                    let _ = store
                        .write(move |c| super::db::failed(c, id, &e, retry))
                        .await;
                }
            }
        }
        if !due.is_empty() {
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = shutdown.changed() => if *shutdown.borrow() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> AlertMsg {
        AlertMsg {
            id: "d:fire:b1:1".into(),
            rule: "fire".into(),
            subject: "b1".into(),
            category: "fire".into(),
            sub_category: "buildingFire".into(),
            severity: district::contract::alert::Severity::Critical,
            state: district::contract::alert::AlertState::Raised,
            transition: "raised".into(),
            escalation: 0,
            text: "火警".into(),
            context: serde_json::json!({}),
            raised_at: "2026-11-22T02:00:00.000Z".into(),
            ts: "2026-11-22T02:00:00.000Z".into(),
        }
    }

    fn robot() -> WebhookSpec {
        WebhookSpec {
            name: "fire-team".into(),
            url: "https://oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN".into(),
            format: super::super::webhook::Format::Dingtalk,
            secret: Some("SEC-signing".into()),
            min_severity: district::contract::alert::Severity::High,
            escalation: 0,
            expire_after: Duration::from_secs(3600),
        }
    }

    #[test]
    fn the_store_keeps_the_alert_never_the_robots_url_and_the_signature_is_made_at_send_time() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::schema::open(dir.path()).unwrap();
        let m = alert();
        super::super::db::record(
            &conn,
            "d",
            &m,
            0,
            None,
            &[("fire-team".into(), i64::MAX)],
            0,
        )
        .unwrap();
        let (url, body): (String, String) = conn
            .query_row("SELECT url, body FROM alert_delivery", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(url, "");
        assert!(
            !body.contains("SECRET-TOKEN") && !body.contains("sign="),
            "{body}"
        );
        let db = AlertDb::open(dir.path()).unwrap();
        let due = db.due(1, 10).unwrap();
        assert_eq!(due.len(), 1);
        let webhooks = HashMap::from([("fire-team".to_string(), robot())]);
        // An hour apart, each attempt signs its own moment.
        let (u1, b1) = request(&due[0], &webhooks, 1_700_000_000_000).unwrap();
        let (u2, _) = request(&due[0], &webhooks, 1_700_003_600_000).unwrap();
        assert!(
            u1.contains("access_token=SECRET-TOKEN") && u1.contains("timestamp=1700000000000"),
            "{u1}"
        );
        assert!(u2.contains("timestamp=1700003600000"), "{u2}");
        assert!(b1.contains("markdown"), "{b1}");
        // A webhook removed from the configuration: dropped with a reason, not retried.
        let e = request(&due[0], &HashMap::new(), 0).unwrap_err();
        assert!(e.contains("no longer configured"), "{e}");
        // Sent: nothing of the robot stays in the row.
        super::super::db::delivered(&conn, due[0].id, 2).unwrap();
        let url: String = conn
            .query_row("SELECT url FROM alert_delivery", [], |r| r.get(0))
            .unwrap();
        assert_eq!(url, "");
    }

    #[test]
    fn a_delivery_queued_by_an_earlier_release_is_sent_as_it_was_queued() {
        let d = Delivery {
            id: 1,
            webhook: "fire-team".into(),
            url: "https://example.invalid/hook".into(),
            body: "{\"msgtype\":\"text\"}".into(),
            attempts: 0,
            expires: i64::MAX,
        };
        let (u, b) = request(&d, &HashMap::new(), 0).unwrap();
        assert_eq!(
            (u.as_str(), b.as_str()),
            ("https://example.invalid/hook", "{\"msgtype\":\"text\"}")
        );
    }

    #[test]
    fn backoff_grows_to_a_cap_with_jitter() {
        assert!((800..=1200).contains(&backoff_ms(0, 7)));
        assert!((1600..=2400).contains(&backoff_ms(1, 7)));
        assert!(backoff_ms(30, 7) <= 360_000);
        assert_ne!(backoff_ms(3, 1), backoff_ms(3, 2));
    }
}
