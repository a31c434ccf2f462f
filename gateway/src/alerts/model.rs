//! Alerts as the engine keeps them, and the conditions rules report.

use district::contract::alert::{AlertMsg, AlertState, Severity};
use district::contract::time::format_millis;
use serde_json::Value;

/// Identifies a rule (`fire`, `crowd`, ...).
pub type RuleId = &'static str;

/// What a rule sees for one subject at one evaluation: a severity when the condition holds
/// (`None` when it does not), with the context and text an alert would carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Rule.
    pub rule: RuleId,
    /// Subject id (building, zone, device).
    pub subject: String,
    /// Severity now, or `None` when the condition does not hold.
    pub severity: Option<Severity>,
    /// Context for responders (zone, building, floors, people now, detectors...).
    pub context: Value,
    /// Description, Chinese and English.
    pub text: String,
}

/// An alert the engine has raised.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Stable id: `{district}:{rule}:{subject}:{raised_ms}`.
    pub id: String,
    /// Rule.
    pub rule: RuleId,
    /// Subject.
    pub subject: String,
    /// Severity now.
    pub severity: Severity,
    /// Lifecycle state.
    pub state: AlertState,
    /// Escalation step (0 = first recipients).
    pub escalation: u32,
    /// When raised (clock ms).
    pub raised_at: i64,
    /// When last notified (raise, escalation, reopen), for the escalation timer.
    pub notified_at: i64,
    /// When the context was last published.
    pub updated_at: i64,
    /// Context.
    pub context: Value,
    /// Text.
    pub text: String,
    /// Who acknowledged it, when, with what note.
    pub ack: Option<(String, i64, String)>,
    /// When its condition stopped holding (clock ms), while waiting to clear.
    pub quiet_since: Option<i64>,
}

/// One change of one alert: what is published, stored and delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The alert after the change.
    pub alert: Alert,
    /// `raised`, `severity`, `escalated`, `acknowledged`, `cleared`, `reopened`, `updated`.
    pub kind: &'static str,
    /// When (clock ms).
    pub at: i64,
    /// Who did it, for operator actions.
    pub by: Option<String>,
}

impl Transition {
    /// The contract's message for this transition.
    pub fn to_msg(&self) -> AlertMsg {
        self.alert.to_msg(self.kind, self.at)
    }
}

impl Alert {
    /// The contract's message for this alert after a transition of `kind` at `at`.
    pub fn to_msg(&self, kind: &str, at: i64) -> AlertMsg {
        let (category, sub) = category_of(self.rule);
        let mut context = self.context.clone();
        if let (Some((who, when, note)), Value::Object(map)) = (&self.ack, &mut context) {
            map.insert("acknowledged_by".into(), who.clone().into());
            map.insert("acknowledged_at".into(), format_millis(*when).into());
            map.insert("ack_note".into(), note.clone().into());
        }
        AlertMsg {
            id: self.id.clone(),
            rule: self.rule.to_string(),
            subject: self.subject.clone(),
            category: category.into(),
            sub_category: sub.into(),
            severity: self.severity,
            state: self.state,
            transition: kind.into(),
            escalation: self.escalation,
            text: self.text.clone(),
            context,
            raised_at: format_millis(self.raised_at),
            ts: format_millis(at),
        }
    }
}

/// Smart Data Models `Alert` category and sub-category of a rule.
pub fn category_of(rule: &str) -> (&'static str, &'static str) {
    match rule {
        "fire" => ("fire", "buildingFire"),
        "fire_fault" => ("technical", "detectorFault"),
        "crowd" => ("security", "crowdRisk"),
        "over_capacity" => ("security", "overCapacity"),
        "crowd_rise" => ("security", "crowdRisingFast"),
        "air_quality" => ("environment", "airPollution"),
        "co2" => ("environment", "indoorCO2"),
        "energy_overload" => ("technical", "powerOverload"),
        "energy_night" => ("technical", "consumptionWhenClosed"),
        "device_offline" | "zone_offline" => ("technical", "deviceNotResponding"),
        "device_stuck" => ("technical", "stuckValue"),
        "implausible_jump" => ("technical", "implausibleValue"),
        _ => ("technical", "other"),
    }
}
