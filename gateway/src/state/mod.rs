//! Live district state: pure types, no I/O. Readings go in with their event time; snapshots
//! (the contract's live payloads) and per-minute rollups come out.

pub mod air;
pub mod devices;
pub mod district;
pub mod energy;
pub mod ledger;
pub mod lot;
mod snapshot;
pub mod zone;

pub use district::{shape_fits, Applied, Dirty, DistrictState, RollupPoint};
