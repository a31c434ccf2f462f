//! The `[alerts]` section of the gateway configuration: rule thresholds, timing per rule, and
//! webhook recipients. Every value has a default.

use std::collections::BTreeMap;
use std::time::Duration;

use district::contract::alert::Severity;
use serde::Deserialize;

use super::engine::Policy;
use super::model::RuleId;

/// Every rule the gateway knows.
pub const RULES: [RuleId; 13] = [
    "fire",
    "fire_fault",
    "crowd",
    "over_capacity",
    "crowd_rise",
    "air_quality",
    "co2",
    "energy_overload",
    "energy_night",
    "device_offline",
    "zone_offline",
    "device_stuck",
    "implausible_jump",
];

/// `[alerts]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Rules are evaluated this often (wall ms), and at once when a fire detector reports.
    /// Default 250.
    pub tick_ms: u64,
    /// Share below a crowd threshold the density must fall before the level drops (default 0.1).
    pub hysteresis: f64,
    /// People added within 5 minutes, as a share of the zone's capacity, that make a fast rise
    /// (default 0.2).
    pub rise_share_5min: f64,
    /// Indoor CO2 alert from this many ppm (default 1500).
    pub co2_ppm: f64,
    /// Air quality alert from this AQI (default 101, 轻度污染).
    pub aqi_from: u32,
    /// Power while closed above this share of the rated load is "consumption at night"
    /// (default 0.3).
    pub night_share: f64,
    /// This many offline devices in one zone make one zone alert instead of one per device
    /// (default 5).
    pub offline_group: usize,
    /// The same values for this long (and at least 5 readings) is a stuck device. Default "30min".
    #[serde(with = "crate::duration")]
    pub stuck_after: Duration,
    /// Timing overrides per rule, e.g. `[alerts.rules.crowd] raise_after = "2min"`.
    pub rules: BTreeMap<String, PolicySpec>,
    /// Webhook recipients.
    pub webhooks: Vec<super::webhook::WebhookSpec>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            tick_ms: 250,
            hysteresis: 0.1,
            rise_share_5min: 0.2,
            co2_ppm: 1500.0,
            aqi_from: 101,
            night_share: 0.3,
            offline_group: 5,
            stuck_after: Duration::from_secs(1800),
            rules: BTreeMap::new(),
            webhooks: Vec::new(),
        }
    }
}

/// Timing of one rule; unset fields keep the rule's default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySpec {
    /// Condition must hold this long before raising.
    #[serde(with = "crate::duration::optional")]
    pub raise_after: Option<Duration>,
    /// Condition must be gone this long before clearing.
    #[serde(with = "crate::duration::optional")]
    pub clear_after: Option<Duration>,
    /// Escalate when not acknowledged within this.
    #[serde(with = "crate::duration::optional")]
    pub escalate_after: Option<Duration>,
    /// Most escalation steps.
    pub max_escalation: Option<u32>,
    /// Reopen instead of raising anew within this of clearing.
    #[serde(with = "crate::duration::optional")]
    pub cooldown: Option<Duration>,
}

const S: i64 = 1000;
const MIN: i64 = 60 * S;

/// The default timing of a rule.
pub fn default_policy(rule: &str) -> Policy {
    let p =
        |raise_after, clear_after, escalate_after: Option<i64>, cooldown, manual_clear| Policy {
            raise_after,
            clear_after,
            escalate_after,
            max_escalation: 3,
            cooldown,
            update_every: 30 * S,
            manual_clear,
        };
    match rule {
        // Fire: at once, escalate every 2 minutes nobody acknowledges.
        "fire" => p(0, MIN, Some(2 * MIN), 30 * MIN, false),
        "fire_fault" => p(MIN, 5 * MIN, Some(30 * MIN), 60 * MIN, true),
        "crowd" | "over_capacity" => Policy {
            update_every: 2 * MIN,
            ..p(MIN, 5 * MIN, Some(5 * MIN), 15 * MIN, false)
        },
        "crowd_rise" => p(0, 5 * MIN, None, 15 * MIN, true),
        "air_quality" => p(30 * MIN, 30 * MIN, Some(60 * MIN), 60 * MIN, true),
        "co2" => p(15 * MIN, 15 * MIN, None, 30 * MIN, true),
        "energy_overload" => p(5 * MIN, 10 * MIN, Some(30 * MIN), 30 * MIN, true),
        "energy_night" => p(30 * MIN, 30 * MIN, None, 60 * MIN, true),
        "implausible_jump" => p(0, 10 * MIN, None, 30 * MIN, true),
        _ => p(0, 0, None, 30 * MIN, true),
    }
}

impl AlertsConfig {
    /// The policy of every rule, defaults overridden by the configuration.
    pub fn policies(&self) -> BTreeMap<RuleId, Policy> {
        RULES
            .iter()
            .map(|&r| {
                let mut p = default_policy(r);
                if let Some(o) = self.rules.get(r) {
                    let ms = |d: Duration| d.as_millis() as i64;
                    p.raise_after = o.raise_after.map_or(p.raise_after, ms);
                    p.clear_after = o.clear_after.map_or(p.clear_after, ms);
                    p.escalate_after = o.escalate_after.map(ms).or(p.escalate_after);
                    p.max_escalation = o.max_escalation.unwrap_or(p.max_escalation);
                    p.cooldown = o.cooldown.map_or(p.cooldown, ms);
                }
                (r, p)
            })
            .collect()
    }

    /// Unknown rule names in `rules`.
    pub fn unknown_rules(&self) -> Vec<String> {
        self.rules
            .keys()
            .filter(|k| !RULES.contains(&k.as_str()))
            .cloned()
            .collect()
    }
}

/// The severity of a zone's crowd level (busy = medium, crowded = high, critical = critical).
pub fn crowd_severity(level: district::contract::live::CrowdLevel) -> Option<Severity> {
    use district::contract::live::CrowdLevel::*;
    match level {
        Normal => None,
        Busy => Some(Severity::Medium),
        Crowded => Some(Severity::High),
        Critical => Some(Severity::Critical),
    }
}
