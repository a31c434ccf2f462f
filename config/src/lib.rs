//! # district: the district model and the wire contract
//!
//! Every other crate of the workspace (gateway, simulator, twin) reads the district through this
//! crate, and speaks MQTT through its [`contract`].
//!
//! ## Layout
//! - [`spec`]: the district file as written (TOML tables, one struct each, unknown keys refused).
//! - [`load()`]: reads a district file and the GeoJSON beside it, checks everything, and reports
//!   every problem with its file and line (or GeoJSON feature) in a [`ConfigError`].
//! - [`model`]: the validated [`District`]: zones, buildings, lots with levels and bays, devices,
//!   signs, calendar and thresholds, every reference resolved to an index.
//! - [`geometry`] and [`geojson`]: ring and polygon checks, geodesic areas, GIS export reading.
//! - [`frame`]: the one projection of the system, lon/lat to local metres.
//! - [`clock`]: wall or simulated time, shared by the simulator and the gateway.
//! - [`scale`]: replicating a district N times for load tests.
//! - [`backoff`]: retry delays (capped exponential, with jitter) for every reconnect loop.
//! - [`contract`]: MQTT topics and payloads (readings, live snapshots, signs, alerts, truth).
//! - `client` (feature `client`): the MQTT client options every client program shares: TLS
//!   (`--cafile`, `--cert`, `--key`), `--username`, `--password-file`.

pub mod backoff;
#[cfg(feature = "client")]
pub mod client;
pub mod clock;
pub mod contract;
pub mod error;
pub mod frame;
pub mod geojson;
pub mod geometry;
mod load;
pub mod model;
pub mod scale;
pub mod spec;

pub use error::{ConfigError, Place, Problem};
pub use load::{load, load_str};
pub use model::*;
