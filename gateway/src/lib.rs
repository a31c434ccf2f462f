//! # gateway: the smart-district gateway
//!
//! ## Layout
//! - [`state`]: the live district state, pure: zones, lots, air (AQI), energy, fire, devices,
//!   minute rollups.
pub mod state;
pub mod config;
pub mod broker;
pub mod metrics;
