//! # sensors_sim: a realistic simulated smart district
//!
//! Every device of a district file publishes plausible readings over MQTT, in simulated-time
//! order, paced against a [`district::clock::Clock`] (or as fast as the broker accepts), with
//! scripted scenarios, a scale knob and the ground truth the gateway is tested against.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let opts = sensors_sim::SimOptions {
//!     config: "config/districts/hubin.toml".into(),
//!     duration: Some(std::time::Duration::from_secs(3600)),
//!     speed: sensors_sim::Speed::Factor(60.0),
//!     ..Default::default()
//! };
//! let clock = opts.clock();
//! let summary = sensors_sim::run(opts, clock).await?;
//! println!("{summary}");
//! # Ok(()) }
//! ```
//!
//! ## Layout
//! The world model is pure (no I/O, no wall clock); only [`run`] and [`publisher`] do I/O.
//! - [`options`]: [`SimOptions`] for library callers and [`Cli`], the command line.
//! - [`run()`]: loads the district and scenario, paces the world against the clock, publishes,
//!   writes the truth and injected-messages files, and returns a [`RunSummary`].
//! - [`world`]: [`World`], every replica stepped second by second into time-ordered
//!   [`Outgoing`] messages; `replica` is one district and its devices.
//! - Subsystems, one per file: `people` (zone populations, line-counter crossings), `parking`
//!   (cars, bays, entrances), `air`, `energy`, `fire`; [`diurnal`] (day profiles).
//! - [`scenario`]: the scenario file format, its checks and its timed actions;
//!   [`malformed`]: the malformed varieties and the reasons the gateway should give.
//! - `schedule` (the report queue), `payload` (JSON writing), `truth`, `random` (seeded
//!   streams and distributions), [`summary`].

pub mod diurnal;
pub mod malformed;
pub mod options;
pub mod publisher;
pub mod scenario;
pub mod summary;
pub mod world;

mod air;
mod energy;
mod fire;
mod parking;
mod payload;
mod people;
mod random;
mod replica;
mod run;
mod schedule;
mod truth;

#[cfg(test)]
mod testing;

pub use options::{Cli, SimOptions, Speed};
pub use people::{Surge, SurgeSize, PEAK_SHARE};
pub use run::run;
pub use scenario::{Scenario, ScenarioError};
pub use summary::{InjectedRecord, RunSummary};
pub use world::{Outgoing, What, World, WorldConfig};
