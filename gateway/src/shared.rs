//! What the gateway's tasks share: the districts (each with the handle of its owner, whose
//! state they read as a view), the clock, metrics, the store reader and the live-update
//! fan-out for WebSocket clients. Nothing here is a lock on the hot path.

use std::collections::HashMap;
use std::sync::Arc;

use district::clock::Clock;
use district::District;
use tokio::sync::broadcast;

use crate::metrics::Metrics;
use crate::state::DistrictState;
use crate::store::Reader;

/// One district served by this gateway.
#[derive(Debug)]
pub struct DistrictHandle {
    /// The model.
    pub model: Arc<District>,
    /// The id as a shared string (used in every stored row).
    pub id: Arc<str>,
    /// Device ids as shared strings, by device index.
    pub device_ids: Vec<Arc<str>>,
    /// Its owner: the task that alone changes its live state.
    pub owner: crate::owner::OwnerHandle,
    /// Open alerts now (kept by the alert task, read by the summary).
    pub active_alerts: std::sync::atomic::AtomicU32,
}

impl DistrictHandle {
    /// The live state as of its owner's last step (a read-only view; no lock is held).
    pub fn state(&self) -> Arc<DistrictState> {
        self.owner.view()
    }
}

/// A live update, as published on MQTT and streamed to WebSocket clients.
#[derive(Debug, Clone)]
pub struct LiveUpdate {
    /// MQTT topic.
    pub topic: String,
    /// JSON payload.
    pub payload: Arc<str>,
}

/// Shared by every task.
#[derive(Debug)]
pub struct Shared {
    /// The clock (wall or simulated).
    pub clock: Clock,
    /// Served districts.
    pub districts: Vec<DistrictHandle>,
    /// District id → index.
    pub index: HashMap<String, usize>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Store reader.
    pub reader: Reader,
    /// Live updates fan-out.
    pub live: broadcast::Sender<LiveUpdate>,
    /// Instance id.
    pub instance: String,
    /// Wakes the alert task at once (fire detector reports).
    pub alert_wake: tokio::sync::Notify,
    /// Operator actions for the alert task.
    pub alert_actions: tokio::sync::mpsc::Sender<crate::alerts::task::ActionRequest>,
    /// Alert history, audit trail, deliveries.
    pub alert_db: Arc<crate::alerts::db::AlertDb>,
    /// Parking guidance: reservations and sign frames.
    pub parking: crate::parking::Parking,
    /// The device port's bound address, once listening.
    pub device_port: std::sync::OnceLock<std::net::SocketAddr>,
}

impl Shared {
    /// A district by id.
    pub fn district(&self, id: &str) -> Option<&DistrictHandle> {
        self.index.get(id).map(|&i| &self.districts[i])
    }
}
