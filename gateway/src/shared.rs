//! What the gateway's tasks share: the districts (each with the handle of its owner, which
//! they ask about its state), the clock, metrics, the store's readers and the live-update
//! fan-out for WebSocket clients. Nothing here is a lock on the hot path.

use std::collections::HashMap;
use std::sync::Arc;

use district::clock::Clock;
use district::District;
use tokio::sync::broadcast;

use crate::metrics::Metrics;
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
    /// Its owner: the task that alone holds its live state, alerts and parking.
    pub owner: crate::owner::OwnerHandle,
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
    /// Store reader (blocking: use it on the blocking pool).
    pub reader: Arc<Reader>,
    /// Live updates fan-out.
    pub live: broadcast::Sender<LiveUpdate>,
    /// Instance id.
    pub instance: String,
    /// Alert history, audit trail, deliveries (read-only).
    pub alert_db: Arc<crate::alerts::db::AlertDb>,
    /// The device port's bound address, once listening.
    pub device_port: std::sync::OnceLock<std::net::SocketAddr>,
}

impl Shared {
    /// A district by id.
    pub fn district(&self, id: &str) -> Option<&DistrictHandle> {
        self.index.get(id).map(|&i| &self.districts[i])
    }
}
