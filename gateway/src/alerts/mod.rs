//! Alerts: the pure engine ([`engine`]), the rules that read the live state ([`rules`]), the
//! delivery to MQTT, the store and webhooks ([`delivery`], [`webhook`]) and the task that runs
//! them ([`task`]).

pub mod engine;
pub mod model;

pub use engine::{ActionError, Engine, Policy};
pub use model::{Alert, Condition, Transition};
