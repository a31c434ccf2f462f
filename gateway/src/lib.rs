//! # gateway: the smart-district gateway
//!
//! ## Layout
//! - [`state`]: the live district state, pure: zones, lots, air (AQI), energy, fire, devices,
//!   minute rollups.
pub mod api;
pub mod broker;
pub mod config;
pub mod ingest;
pub mod metrics;
pub mod publish;
pub mod run;
pub mod shared;
pub mod state;
pub mod store;

pub use run::Gateway;
pub mod check;
pub mod cli;
pub mod demo;
pub mod alerts;
