//! The embedded MQTT broker (rumqttd), its TLS front ([`tls_front`]) and MQTT client options
//! shared by the gateway's sessions.

mod embedded;
mod options;
pub mod tls_front;

pub use embedded::{start_embedded, EmbeddedBroker};
pub use options::client_options;
