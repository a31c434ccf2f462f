//! Alert transitions on `district/{d}/alerts` and the open list on `district/{d}/alerts/active`.

use serde::{Deserialize, Serialize};

/// Severity, from the Smart Data Models `Alert` scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// Lifecycle state of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised and not yet acknowledged.
    Raised,
    /// Acknowledged by an operator.
    Acknowledged,
    /// Cleared.
    Cleared,
}

/// One alert as published on every transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMsg {
    /// Stable id of the alert (the same across its transitions).
    pub id: String,
    /// Rule that raised it (`fire`, `crowd`, ...).
    pub rule: String,
    /// Subject (building, zone, device) id.
    pub subject: String,
    /// Category (Smart Data Models): `fire`, `security`, `environment`, `traffic`, `technical`.
    pub category: String,
    /// Sub-category, e.g. `buildingFire`, `crowdRisk`.
    pub sub_category: String,
    /// Severity now.
    pub severity: Severity,
    /// Lifecycle state.
    pub state: AlertState,
    /// What changed in this transition (`raised`, `severity`, `escalated`, `acknowledged`, `cleared`, `updated`).
    pub transition: String,
    /// Escalation step (0 = first recipients).
    pub escalation: u32,
    /// Human-readable description (Chinese and English).
    pub text: String,
    /// Context: zone, building, floors, people now, detectors...
    pub context: serde_json::Value,
    /// When it was raised (event time).
    pub raised_at: String,
    /// Time of this transition.
    pub ts: String,
}

/// `district/{d}/alerts/active` (retained): every open alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAlerts {
    /// When the list changed.
    pub ts: String,
    /// Open alerts.
    pub alerts: Vec<AlertMsg>,
}
