//! The embedded MQTT broker (rumqttd), the gateway's front before it ([`front`]: TLS, and
//! with identities each client's packets screened by [`guard`]'s rules) and MQTT client
//! options shared by the gateway's sessions.

mod embedded;
pub mod front;
pub mod guard;
mod options;

pub use embedded::{start_embedded, EmbeddedBroker};
pub use options::client_options;
