//! # gateway: the smart-district gateway
//!
//! ## Layout
//! - [`broker`]: the embedded rumqttd broker, or the client options for an external one.
//! - [`transport`]: the device port: devices publish here, acknowledged after commit.
//! - [`ingest`]: MQTT readings in (device port or broker), validated against the district and the contract, acked after
//!   commit; every reject counted and dead-lettered.
//! - [`state`]: the live district state, pure: zones, lots, air (AQI), energy, fire, devices,
//!   minute rollups.
//! - [`store`]: SQLite (WAL) with group commits: readings, rollups, rejects; replay on restart.
//! - [`publish`]: retained live topics for dashboards, signs and the twin.
//! - [`alerts`]: the alert engine, its rules, webhook delivery and the alert history.
//! - [`parking`]: parking guidance: sign frames, reservations, space queries, FIWARE output.
//! - [`forward`]: store-and-forward to InfluxDB: one task per `[[forward]]` target, each with
//!   its own persisted cursor, batches, retries and metrics.
//! - [`api`]: the HTTP API (live, history, WebSocket, alerts, parking, `/metrics`).
//! - [`config`], [`metrics`], [`shared`], [`run`] ([`Gateway`]): configuration, counters, the
//!   state shared between tasks, and start/stop in order.
//! - [`cli`], [`check`], [`demo`], [`demo_tour`], [`demo_twin`], [`demo_twin_build`]: the
//!   command line, `check-config`, and the one-command demo (its guided first look, and the 3D
//!   twin as a child process that joins when its background build is done).
pub mod api;
pub mod broker;
pub mod config;
pub mod forward;
pub mod ingest;
pub mod metrics;
pub mod owner;
pub mod parking;
pub mod publish;
pub mod run;
pub mod shared;
pub mod state;
pub mod store;
pub mod transport;

pub use run::Gateway;
pub mod alerts;
pub mod check;
pub mod cli;
pub mod demo;
pub mod demo_tour;
pub mod demo_twin;
pub mod demo_twin_build;
