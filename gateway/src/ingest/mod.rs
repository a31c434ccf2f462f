//! Ingest: the MQTT session ([`source`]), validation against the district ([`validate`]),
//! the pipeline into the store ([`pipeline`]), and the store's verdicts applied to the live
//! state ([`commit`]); rejects as dead letters ([`deadletter`]).

pub mod commit;
pub mod deadletter;
pub mod pipeline;
pub mod source;
pub mod validate;

pub use validate::{Limits, Reject};
