//! # gateway: the smart-district gateway
//!
//! ## Layout
//! - [`state`]: the live district state, pure: zones, lots, air (AQI), energy, fire, devices,
//!   minute rollups.
pub mod state;
pub mod config;
pub mod broker;
pub mod metrics;
pub mod store;
pub mod ingest;
pub mod shared;
pub mod publish;
pub mod api;
pub mod run;

pub use run::Gateway;
pub mod check;
pub mod cli;
pub mod demo;
