//! The outbox: retained live topics, dead letters and the gateway status, over the gateway's
//! own MQTT session, and the same updates to WebSocket clients.

mod live;

pub use live::{run, PublishSettings};

use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions};

/// A clean MQTT session whose event loop is polled on its own task, reconnecting with a
/// capped backoff (rumqttc alone reconnects without delay).
pub fn spawn_session(mut opts: MqttOptions, capacity: usize) -> AsyncClient {
    opts.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(opts, capacity);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match eventloop.poll().await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "MQTT session lost; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    });
    client
}
