//! The MQTT wire contract (version [`CONTRACT_VERSION`]): topics and payloads shared by devices,
//! the simulator, the gateway, the twin and outside systems.
//!
//! - [`topic`]: building and parsing every topic of the scheme.
//! - [`reading`]: decoding a device's JSON reading into a typed [`reading::Reading`], never
//!   panicking whatever the bytes, with a machine-readable reason for every reject.
//! - [`live`]: the retained live snapshots the gateway publishes (zones, lots, bays, air,
//!   energy, summary) and the gateway status.
//! - [`sign`]: guidance sign frames.
//! - [`alert`]: alert transitions and the active-alert list.
//! - [`deadletter`]: a rejected message and why.
//! - [`truth`]: the simulator's ground truth.
//! - [`time`]: event timestamps (RFC 3339 with offset, or epoch milliseconds).

pub mod alert;
pub mod deadletter;
pub mod live;
pub mod reading;
pub mod sign;
pub mod time;
pub mod topic;
pub mod truth;

/// Version of the topic scheme and payloads; bumped on any incompatible change.
pub const CONTRACT_VERSION: &str = "1.0";
