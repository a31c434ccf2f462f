//! MQTT client options for the gateway's sessions.

use std::time::Duration;

use rumqttc::MqttOptions;

use crate::config::BrokerConfig;

/// Options for a gateway session to `host:port` named `client_id`.
pub fn client_options(
    cfg: &BrokerConfig,
    host: &str,
    port: u16,
    client_id: &str,
) -> anyhow::Result<MqttOptions> {
    let mut o = MqttOptions::new(client_id, host, port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(cfg.max_packet_bytes + 1024, cfg.max_packet_bytes + 1024);
    o.set_inflight(cfg.max_inflight);
    o.set_request_channel_capacity(10_000);
    if let Some((u, p)) = cfg.credentials()? {
        o.set_credentials(u, p);
    }
    Ok(o)
}
