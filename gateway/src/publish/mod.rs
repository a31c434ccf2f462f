//! Publishing: retained live topics, dead letters and the gateway status, over the gateway's
//! own MQTT session, and the same updates to WebSocket clients.

mod live;

pub use live::{run, PublishSettings};
