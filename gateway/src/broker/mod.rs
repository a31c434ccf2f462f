//! The embedded MQTT broker (rumqttd) and MQTT client options shared by the gateway's sessions.

mod embedded;
mod options;

pub use embedded::{start_embedded, EmbeddedBroker};
pub use options::client_options;
