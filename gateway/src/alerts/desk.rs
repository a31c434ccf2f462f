//! A district's alert desk: its engine and the rules' memory, held by the district's owner
//! ([`crate::owner`]) beside the live state. Pure: the owner evaluates it on its alert tick
//! (and at once after a fire detector's reading), runs operator actions through it, and sends
//! what it returns to the store and the outbox.

use district::contract::alert::{ActiveAlerts, AlertMsg, AlertState};
use district::contract::time::format_millis;

use super::config::{AlertsConfig, RULES};
use super::engine::{ActionError, Engine};
use super::model::{Alert, Transition};
use super::rules::{self, RuleMemory, EVALUATED};
use crate::state::DistrictState;

/// An operator action on an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Acknowledge: escalation stops.
    Acknowledge,
    /// Clear by hand (where the rule allows).
    Clear,
}

impl Action {
    /// Its name in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Clear => "clear",
        }
    }
}

/// The alerts of one district.
#[derive(Debug, Clone)]
pub struct AlertDesk {
    engine: Engine,
    memory: RuleMemory,
}

impl AlertDesk {
    /// A desk for `district`, with the alerts that were open before a restart (their latest
    /// stored messages) put back, so they keep their ids and are neither raised again nor lost.
    pub fn new(district: &str, cfg: &AlertsConfig, open: &[AlertMsg]) -> Self {
        let mut engine = Engine::new(district, cfg.policies());
        for a in open.iter().filter_map(restore) {
            engine.restore(a);
        }
        AlertDesk {
            engine,
            memory: RuleMemory::default(),
        }
    }

    /// Evaluates every rule against `st` at `now`: the transitions it makes.
    pub fn evaluate(
        &mut self,
        st: &DistrictState,
        cfg: &AlertsConfig,
        now: i64,
    ) -> Vec<Transition> {
        let conditions = rules::evaluate(st, &self.engine, cfg, &mut self.memory, now);
        self.engine.update(now, &EVALUATED, conditions)
    }

    /// An operator action.
    pub fn act(
        &mut self,
        action: Action,
        id: &str,
        who: &str,
        note: &str,
        now: i64,
    ) -> Result<Transition, ActionError> {
        match action {
            Action::Acknowledge => self.engine.acknowledge(id, who, note, now),
            Action::Clear => self.engine.clear(id, who, now),
        }
    }

    /// Open alerts now.
    pub fn open_count(&self) -> u32 {
        self.engine.open().len() as u32
    }

    /// The open list (`alerts/active`, retained) at `now`.
    pub fn active(&self, now: i64) -> ActiveAlerts {
        ActiveAlerts {
            ts: format_millis(now),
            alerts: self
                .engine
                .open()
                .into_iter()
                .map(|a| a.to_msg("active", now))
                .collect(),
        }
    }
}

/// An open alert from its latest stored message.
fn restore(m: &AlertMsg) -> Option<Alert> {
    let rule = *RULES.iter().find(|r| **r == m.rule)?;
    let ms = |s: &str| district::contract::time::parse_text(s).ok();
    let ack = match (m.state, m.context.get("acknowledged_by")) {
        (AlertState::Acknowledged, Some(who)) => Some((
            who.as_str().unwrap_or_default().to_string(),
            m.context
                .get("acknowledged_at")
                .and_then(|v| v.as_str())
                .and_then(ms)
                .unwrap_or_default(),
            m.context
                .get("ack_note")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
        )),
        _ => None,
    };
    let ts = ms(&m.ts)?;
    Some(Alert {
        id: m.id.clone(),
        rule,
        subject: m.subject.clone(),
        severity: m.severity,
        state: m.state,
        escalation: m.escalation,
        raised_at: ms(&m.raised_at)?,
        notified_at: ts,
        updated_at: ts,
        context: m.context.clone(),
        text: m.text.clone(),
        ack,
        quiet_since: None,
    })
}
