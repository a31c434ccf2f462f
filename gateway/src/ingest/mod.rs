//! Ingest: the MQTT session on a broker ([`source`]), validation against the district
//! ([`validate`]) and admission of one message ([`admit`], shared with the device port), the
//! broker path's pipeline into the store ([`pipeline`]), and the store's verdicts applied to the live
//! state ([`commit`]); rejects as dead letters ([`deadletter`]).

pub mod admit;
pub mod commit;
pub mod deadletter;
pub mod pipeline;
pub mod source;
pub mod validate;

pub use validate::{Limits, Reject};
