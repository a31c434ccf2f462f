//! # gateway: the smart-district gateway
//!
//! ## Layout
//! - [`state`]: the live district state, pure: zones, lots, air (AQI), energy, fire, devices,
//!   minute rollups.
//! - [`forward`]: store-and-forward to InfluxDB: one task per `[[forward]]` target, each with
//!   its own persisted cursor, batches, retries and metrics.
//! - [`parking`]: parking guidance: sign frames, reservations, space queries, FIWARE output.
pub mod api;
pub mod broker;
pub mod config;
pub mod forward;
pub mod ingest;
pub mod metrics;
pub mod parking;
pub mod publish;
pub mod run;
pub mod shared;
pub mod state;
pub mod store;

pub use run::Gateway;
pub mod alerts;
pub mod check;
pub mod cli;
pub mod demo;
