//! Alerts: the pure engine ([`engine`]) and the rules that read the live state ([`rules`]),
//! their configuration ([`config`]), webhook formats ([`webhook`]), the alert tables
//! ([`db`]), the webhook worker ([`delivery`]) and each district's desk ([`desk`]: engine and
//! rule memory, held by the district's owner).

pub mod config;
pub mod db;
pub mod delivery;
pub mod desk;
pub mod engine;
pub mod model;
pub mod rules;
pub mod webhook;

pub use engine::{ActionError, Engine, Policy};
pub use model::{Alert, Condition, Transition};
