//! The outbox: retained live topics, dead letters and the gateway status, over the gateway's
//! own MQTT session, and the same updates to WebSocket clients.

mod live;

pub use live::{run, PublishSettings};

use std::time::Duration;

use district::backoff::Backoff;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing};

/// A clean MQTT session whose event loop is polled on its own task, reconnecting with a
/// capped backoff (rumqttc alone reconnects without delay), until the client disconnects.
pub fn spawn_session(mut opts: MqttOptions, capacity: usize) -> AsyncClient {
    opts.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(opts, capacity);
    tokio::spawn(async move {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), None);
        loop {
            match eventloop.poll().await {
                // Our own disconnect (shutdown): the session ends here, it does not reconnect.
                Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                Ok(_) => backoff.reset(),
                Err(e) => {
                    let wait = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?wait, "MQTT session lost; reconnecting");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    });
    client
}
