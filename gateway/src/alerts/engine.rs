//! The alert engine: pure lifecycle, no I/O, time passed in.
//!
//! One open alert per (rule, subject). A condition must hold for the rule's `raise_after`
//! before it raises (no alert for a blip) and be gone for `clear_after` before it clears (no
//! flapping). Each severity level is established the same way: an alert is raised at, and
//! rises to, the highest level that has held for `raise_after` (so a crowd building up is
//! reported medium, then high, then critical), and falls only after the lower severity has
//! held for `clear_after`. An alert not acknowledged within `escalate_after` is escalated (notified
//! again, to the next recipients), up to `max_escalation`; that is apart from its severity.
//! A condition that returns within `cooldown` of its alert clearing reopens the same alert.

use std::collections::{BTreeMap, BTreeSet};

use district::contract::alert::{AlertState, Severity};

use super::model::{Alert, Condition, RuleId, Transition};

/// Timing of one rule (all ms of the gateway clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The condition must hold this long before the alert is raised.
    pub raise_after: i64,
    /// The condition must be gone (or lower) this long before the alert clears (or falls).
    pub clear_after: i64,
    /// Escalate when not acknowledged within this; `None` never escalates.
    pub escalate_after: Option<i64>,
    /// Most escalation steps.
    pub max_escalation: u32,
    /// A condition returning within this of clearing reopens the same alert.
    pub cooldown: i64,
    /// Context changes are published at most this often.
    pub update_every: i64,
    /// Operators may clear it by hand.
    pub manual_clear: bool,
}

/// Why an operator action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// No open alert has that id.
    #[error("no open alert has id \"{0}\"")]
    NotFound(String),
    /// Already acknowledged.
    #[error("alert \"{0}\" is already acknowledged")]
    AlreadyAcknowledged(String),
    /// The rule does not allow clearing by hand.
    #[error("alerts of rule \"{0}\" clear by themselves when the condition ends; they cannot be cleared by hand")]
    NotClearable(String),
}

type Key = (RuleId, String);

const SEVERITIES: [Severity; 5] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// The engine of one district.
#[derive(Debug, Clone)]
pub struct Engine {
    district: String,
    policies: BTreeMap<RuleId, Policy>,
    open: BTreeMap<Key, Alert>,
    /// Since when each condition has held at each severity level (pending and open alike).
    pending: BTreeMap<Key, BTreeMap<Severity, i64>>,
    /// A lower severity and since when, for open alerts whose severity may fall.
    lower: BTreeMap<Key, (Severity, i64)>,
    /// Recently cleared alerts (for reopening), with the clearing time.
    cleared: BTreeMap<Key, (Alert, i64)>,
    /// Cleared by hand while the condition still held: not raised again until it ends.
    suppressed: BTreeSet<Key>,
}

impl Engine {
    /// An engine for `district` with a policy per rule.
    pub fn new(district: &str, policies: BTreeMap<RuleId, Policy>) -> Self {
        Engine {
            district: district.to_string(),
            policies,
            open: BTreeMap::new(),
            pending: BTreeMap::new(),
            lower: BTreeMap::new(),
            cleared: BTreeMap::new(),
            suppressed: BTreeSet::new(),
        }
    }

    fn policy(&self, rule: RuleId) -> Policy {
        self.policies.get(rule).copied().unwrap_or(Policy {
            raise_after: 0,
            clear_after: 0,
            escalate_after: None,
            max_escalation: 0,
            cooldown: 0,
            update_every: 60_000,
            manual_clear: true,
        })
    }

    /// The open alert's severity for (rule, subject), for rules' hysteresis.
    pub fn current(&self, rule: RuleId, subject: &str) -> Option<Severity> {
        self.open
            .get(&(rule, subject.to_string()))
            .map(|a| a.severity)
    }

    /// Open alerts, oldest first.
    pub fn open(&self) -> Vec<&Alert> {
        let mut v: Vec<&Alert> = self.open.values().collect();
        v.sort_by_key(|a| (a.raised_at, a.id.clone()));
        v
    }

    /// Evaluates the conditions holding now (those with a severity); every open or pending
    /// alert of `rules` without one is taken as no longer holding.
    pub fn update(
        &mut self,
        now: i64,
        rules: &[RuleId],
        holding: Vec<Condition>,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        let mut seen: BTreeSet<Key> = BTreeSet::new();
        for c in holding {
            let Some(sev) = c.severity else { continue };
            let key: Key = (c.rule, c.subject.clone());
            seen.insert(key.clone());
            if self.suppressed.contains(&key) {
                continue;
            }
            let p = self.policy(c.rule);
            // Since when the condition has held at each level up to `sev`.
            let held = self.pending.entry(key.clone()).or_default();
            held.retain(|&level, _| level <= sev);
            for level in SEVERITIES.into_iter().filter(|&l| l <= sev) {
                held.entry(level).or_insert(now);
            }
            // The highest level held for the minimum duration.
            let established = held
                .iter()
                .rev()
                .find(|(_, &since)| now - since >= p.raise_after)
                .map(|(&l, _)| l);
            if let Some(a) = self.open.get_mut(&key) {
                a.quiet_since = None;
                if established.is_some_and(|e| e > a.severity) {
                    a.severity = established.expect("some");
                    self.lower.remove(&key);
                    if a.state == AlertState::Acknowledged {
                        a.state = AlertState::Raised;
                        a.ack = None;
                    }
                    a.notified_at = now;
                    a.context = c.context;
                    a.text = c.text;
                    a.updated_at = now;
                    out.push(Transition {
                        alert: a.clone(),
                        kind: "severity",
                        at: now,
                        by: None,
                    });
                } else if sev < a.severity {
                    let since = match self.lower.get(&key) {
                        Some(&(s, t)) if s == sev => t,
                        _ => {
                            self.lower.insert(key.clone(), (sev, now));
                            now
                        }
                    };
                    if now - since >= p.clear_after {
                        a.severity = sev;
                        a.context = c.context;
                        a.text = c.text;
                        a.updated_at = now;
                        self.lower.remove(&key);
                        out.push(Transition {
                            alert: a.clone(),
                            kind: "severity",
                            at: now,
                            by: None,
                        });
                    }
                } else {
                    if sev == a.severity {
                        self.lower.remove(&key);
                    }
                    if a.context != c.context && now - a.updated_at >= p.update_every {
                        a.context = c.context;
                        a.text = c.text;
                        a.updated_at = now;
                        out.push(Transition {
                            alert: a.clone(),
                            kind: "updated",
                            at: now,
                            by: None,
                        });
                    }
                }
                continue;
            }
            let Some(sev) = established else { continue };
            let reopen = self
                .cleared
                .remove(&key)
                .filter(|(_, at)| now - at <= p.cooldown);
            let (alert, kind) = match reopen {
                Some((mut a, _)) => {
                    a.state = AlertState::Raised;
                    a.severity = sev;
                    a.escalation = 0;
                    a.notified_at = now;
                    a.updated_at = now;
                    a.context = c.context;
                    a.text = c.text;
                    a.ack = None;
                    a.quiet_since = None;
                    (a, "reopened")
                }
                None => (
                    Alert {
                        id: format!("{}:{}:{}:{}", self.district, c.rule, c.subject, now),
                        rule: c.rule,
                        subject: c.subject,
                        severity: sev,
                        state: AlertState::Raised,
                        escalation: 0,
                        raised_at: now,
                        notified_at: now,
                        updated_at: now,
                        context: c.context,
                        text: c.text,
                        ack: None,
                        quiet_since: None,
                    },
                    "raised",
                ),
            };
            out.push(Transition {
                alert: alert.clone(),
                kind,
                at: now,
                by: None,
            });
            self.open.insert(key, alert);
        }
        // Conditions no longer holding: forget pending ones, clear open ones after a quiet spell.
        self.pending
            .retain(|k, _| seen.contains(k) || !rules.contains(&k.0));
        self.suppressed
            .retain(|k| seen.contains(k) || !rules.contains(&k.0));
        let quiet: Vec<Key> = self
            .open
            .keys()
            .filter(|k| rules.contains(&k.0) && !seen.contains(*k))
            .cloned()
            .collect();
        for key in quiet {
            let p = self.policy(key.0);
            let a = self.open.get_mut(&key).expect("open");
            let since = *a.quiet_since.get_or_insert(now);
            if now - since >= p.clear_after {
                let mut a = self.open.remove(&key).expect("open");
                self.lower.remove(&key);
                a.state = AlertState::Cleared;
                out.push(Transition {
                    alert: a.clone(),
                    kind: "cleared",
                    at: now,
                    by: None,
                });
                self.cleared.insert(key, (a, now));
            }
        }
        // Escalation of what nobody acknowledged.
        for a in self.open.values_mut() {
            let p = self.policies.get(a.rule).copied();
            let Some(p) = p else { continue };
            let Some(after) = p.escalate_after else {
                continue;
            };
            if a.state == AlertState::Raised
                && a.escalation < p.max_escalation
                && now - a.notified_at >= after
            {
                a.escalation += 1;
                a.notified_at = now;
                out.push(Transition {
                    alert: a.clone(),
                    kind: "escalated",
                    at: now,
                    by: None,
                });
            }
        }
        let max_cooldown = self
            .policies
            .values()
            .map(|p| p.cooldown)
            .max()
            .unwrap_or(0);
        self.cleared.retain(|_, (_, at)| now - *at <= max_cooldown);
        out
    }

    fn find(&mut self, id: &str) -> Result<Key, ActionError> {
        self.open
            .iter()
            .find(|(_, a)| a.id == id)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| ActionError::NotFound(id.to_string()))
    }

    /// An operator acknowledges an alert: escalation stops.
    pub fn acknowledge(
        &mut self,
        id: &str,
        who: &str,
        note: &str,
        now: i64,
    ) -> Result<Transition, ActionError> {
        let key = self.find(id)?;
        let a = self.open.get_mut(&key).expect("found");
        if a.state == AlertState::Acknowledged {
            return Err(ActionError::AlreadyAcknowledged(id.to_string()));
        }
        a.state = AlertState::Acknowledged;
        a.ack = Some((who.to_string(), now, note.to_string()));
        Ok(Transition {
            alert: a.clone(),
            kind: "acknowledged",
            at: now,
            by: Some(who.to_string()),
        })
    }

    /// An operator clears an alert where its rule allows; it is not raised again until its
    /// condition has ended.
    pub fn clear(&mut self, id: &str, who: &str, now: i64) -> Result<Transition, ActionError> {
        let key = self.find(id)?;
        if !self.policy(key.0).manual_clear {
            return Err(ActionError::NotClearable(key.0.to_string()));
        }
        let mut a = self.open.remove(&key).expect("found");
        a.state = AlertState::Cleared;
        self.suppressed.insert(key.clone());
        self.cleared.insert(key, (a.clone(), now));
        Ok(Transition {
            alert: a,
            kind: "cleared",
            at: now,
            by: Some(who.to_string()),
        })
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;

impl Engine {
    /// Puts back an alert that was open before a restart, so it keeps its id and is neither
    /// raised again nor lost.
    pub fn restore(&mut self, alert: Alert) {
        self.open.insert((alert.rule, alert.subject.clone()), alert);
    }
}
