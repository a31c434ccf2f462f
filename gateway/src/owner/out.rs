//! What an owner hands the outbox ([`crate::publish`]), which publishes it on MQTT and streams
//! it to WebSocket clients.

use district::contract::alert::{ActiveAlerts, AlertMsg};
use tokio::sync::oneshot;

use crate::store::WriteError;

/// What an owner hands the outbox.
#[derive(Debug)]
pub enum Out {
    /// Retained topics and their payloads (live snapshots, sign frames, forecasts).
    Retained(Vec<(String, String)>),
    /// Alert transitions of one district.
    Alerts(AlertsOut),
}

/// Alert transitions of one district, and the open list after them.
#[derive(Debug)]
pub struct AlertsOut {
    /// District id.
    pub district: String,
    /// The transitions' messages, in order.
    pub msgs: Vec<AlertMsg>,
    /// The open list after them.
    pub active: ActiveAlerts,
    /// Answered once the store committed the transitions (and their webhook deliveries).
    pub stored: oneshot::Receiver<Result<(), WriteError>>,
    /// Whether webhook deliveries were queued with them.
    pub webhooks: bool,
    /// Told once the transitions are published, with the store's outcome (an operator's
    /// action is answered then).
    pub published: Option<oneshot::Sender<Result<(), WriteError>>>,
}
