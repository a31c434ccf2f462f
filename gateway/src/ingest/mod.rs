//! Ingest: the MQTT session ([`source`]), validation against the district ([`validate`]) and
//! the pipeline into the live state and the store ([`pipeline`]).

pub mod pipeline;
pub mod source;
pub mod validate;

pub use validate::{Limits, Reject};
