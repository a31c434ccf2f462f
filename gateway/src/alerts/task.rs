//! The alert task: evaluates the rules of every district on a short tick (and at once when a
//! fire detector reports), runs operator actions, and delivers every transition: stored with
//! its webhook deliveries in one transaction, published on `district/{d}/alerts` (QoS 1), the
//! open list republished retained on `district/{d}/alerts/active`. It never holds up ingest:
//! the pipeline only wakes it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use district::contract::alert::{ActiveAlerts, AlertMsg, AlertState};
use district::contract::time::format_millis;
use district::contract::topic;
use rumqttc::{AsyncClient, QoS};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use super::config::{AlertsConfig, RULES};
use super::db::AlertDb;
use super::engine::Engine;
use super::model::{Alert, Transition};
use super::rules::{self, RuleMemory, EVALUATED};
use crate::shared::{LiveUpdate, Shared};

/// An operator action on an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Acknowledge: escalation stops.
    Acknowledge,
    /// Clear by hand (where the rule allows).
    Clear,
}

/// An operator action request, answered with the alert after the action or why not.
#[derive(Debug)]
pub struct ActionRequest {
    /// District index.
    pub district: usize,
    /// Alert id.
    pub id: String,
    /// What to do.
    pub action: Action,
    /// Who.
    pub who: String,
    /// Note.
    pub note: String,
    /// The answer.
    pub reply: oneshot::Sender<Result<AlertMsg, String>>,
}

/// Everything the task needs.
pub struct AlertTask {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Configuration.
    pub cfg: AlertsConfig,
    /// Alert tables.
    pub db: Arc<AlertDb>,
    /// MQTT session for alert topics.
    pub client: AsyncClient,
    /// Operator actions.
    pub actions: mpsc::Receiver<ActionRequest>,
    /// Wakes the webhook worker.
    pub deliver_wake: Arc<Notify>,
}

impl AlertTask {
    /// Runs until `shutdown`.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let policies = self.cfg.policies();
        let mut engines: Vec<Engine> = self
            .shared
            .districts
            .iter()
            .map(|h| Engine::new(&h.model.id, policies.clone()))
            .collect();
        let mut memory: Vec<RuleMemory> = vec![RuleMemory::default(); engines.len()];
        for (i, h) in self.shared.districts.iter().enumerate() {
            for m in self.db.last_open(&h.model.id).unwrap_or_default() {
                if let Some(a) = restore(&m) {
                    engines[i].restore(a);
                }
            }
            self.publish_active(i, &engines[i]).await;
        }
        let mut tick = tokio::time::interval(Duration::from_millis(self.cfg.tick_ms.max(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.shared.clone();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shared.alert_wake.notified() => {}
                Some(req) = self.actions.recv() => {
                    self.act(&mut engines, req).await;
                    continue;
                }
                _ = shutdown.changed() => if *shutdown.borrow() { return },
            }
            let now = shared.clock.now_ms();
            for (i, h) in shared.districts.iter().enumerate() {
                let conditions = {
                    let st = h.state();
                    rules::evaluate(&st, &engines[i], &self.cfg, &mut memory[i], now)
                };
                let transitions = engines[i].update(now, &EVALUATED, conditions);
                if !transitions.is_empty() {
                    self.deliver(i, &transitions).await;
                    self.publish_active(i, &engines[i]).await;
                }
            }
        }
    }

    async fn act(&mut self, engines: &mut [Engine], req: ActionRequest) {
        let now = self.shared.clock.now_ms();
        let d = req.district;
        let result = match req.action {
            Action::Acknowledge => engines[d].acknowledge(&req.id, &req.who, &req.note, now),
            Action::Clear => engines[d].clear(&req.id, &req.who, now),
        };
        let name = match req.action {
            Action::Acknowledge => "acknowledge",
            Action::Clear => "clear",
        };
        let district = self.shared.districts[d].model.id.clone();
        let outcome = match &result {
            Ok(_) => "done".to_string(),
            Err(e) => e.to_string(),
        };
        if let Err(e) = self
            .db
            .audit(&district, &req.id, name, &req.who, &req.note, now, &outcome)
        {
            tracing::error!(error = %e, "could not record an operator action");
        }
        let answer = match result {
            Ok(t) => {
                self.deliver(d, std::slice::from_ref(&t)).await;
                self.publish_active(d, &engines[d]).await;
                Ok(t.to_msg())
            }
            Err(e) => Err(e.to_string()),
        };
        let _ = req.reply.send(answer);
    }

    async fn deliver(&self, d: usize, transitions: &[Transition]) {
        let h = &self.shared.districts[d];
        let wall = chrono::Utc::now().timestamp_millis();
        for t in transitions {
            let msg = t.to_msg();
            let deliveries: Vec<(String, String, String, i64)> = self
                .cfg
                .webhooks
                .iter()
                .filter(|w| w.wants(&msg))
                .map(|w| {
                    let (url, body) = w.request(&msg, wall);
                    (
                        w.name.clone(),
                        url,
                        body.to_string(),
                        wall + w.expire_after.as_millis() as i64,
                    )
                })
                .collect();
            if let Err(e) =
                self.db
                    .record(&h.model.id, &msg, t.at, t.by.as_deref(), &deliveries, wall)
            {
                tracing::error!(error = %e, alert = %msg.id, "could not store an alert transition");
            }
            if !deliveries.is_empty() {
                self.deliver_wake.notify_one();
            }
            let payload = serde_json::to_string(&msg).unwrap_or_default();
            tracing::info!(alert = %msg.id, transition = %msg.transition, severity = ?msg.severity, "alert");
            let t = topic::alerts(&h.model.id);
            if self
                .client
                .publish(t.clone(), QoS::AtLeastOnce, false, payload.clone())
                .await
                .is_ok()
            {
                self.shared.metrics.alert_transitions.fetch_add(1, Relaxed);
            }
            let _ = self.shared.live.send(LiveUpdate {
                topic: t,
                payload: payload.into(),
            });
        }
    }

    async fn publish_active(&self, d: usize, engine: &Engine) {
        let h = &self.shared.districts[d];
        let now = self.shared.clock.now_ms();
        let alerts: Vec<AlertMsg> = engine
            .open()
            .into_iter()
            .map(|a| a.to_msg("active", now))
            .collect();
        h.active_alerts.store(alerts.len() as u32, Relaxed);
        let list = ActiveAlerts {
            ts: format_millis(now),
            alerts,
        };
        let payload = serde_json::to_string(&list).unwrap_or_default();
        let t = topic::alerts_active(&h.model.id);
        let _ = self
            .client
            .publish(t.clone(), QoS::AtLeastOnce, true, payload.clone())
            .await;
        let _ = self.shared.live.send(LiveUpdate {
            topic: t,
            payload: payload.into(),
        });
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
