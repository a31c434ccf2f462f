//! The embedded broker's front: QoS 1 readings through the screening front against the same
//! publisher straight into rumqttd, with a subscriber on rumqttd counting both, in one
//! process and run.
//!
//! `cargo run --release -p gateway --example bench_broker_front -- [MESSAGES]` (default
//! 100,000). Prints messages/s of each path, their ratio, and the front's cost per message.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::auth::{provision, Authenticator, Identity, Role};
use gateway::broker::front::{self, FrontPass, Guard};
use gateway::config::BrokerConfig;
use gateway::metrics::Metrics;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

const DEVICES: usize = 10;

fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn options(id: &str, port: u16, login: (&str, &str)) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_inflight(1000);
    o.set_max_packet_size(1 << 16, 1 << 16);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_credentials(login.0, login.1);
    o
}

/// Publishes `n` readings at QoS 1 as `login` to `port`; returns once `seen` has counted
/// them all: the elapsed time.
async fn run(
    port: u16,
    client_id: &str,
    login: (&str, &str),
    n: u64,
    seen: &AtomicU64,
) -> Duration {
    let (client, mut el) = AsyncClient::new(options(client_id, port, login), 10_000);
    let poll = tokio::spawn(async move {
        while el.poll().await.is_ok() {}
        panic!("the publisher's connection ended");
    });
    let start_count = seen.load(Relaxed);
    let started = Instant::now();
    for i in 0..n {
        let topic = format!("district/bench/sensors/footfall/d-{}", i as usize % DEVICES);
        let payload = format!(r#"{{"ts":{i},"in":1,"out":0}}"#);
        client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }
    while seen.load(Relaxed) - start_count < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    poll.abort();
    took
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("bench-broker-front-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("devices.passwd");
    let devices: BTreeSet<String> = (0..DEVICES).map(|i| format!("d-{i}")).collect();
    provision::upsert_with(
        &file,
        Identity::new("bench", Role::Bridge, devices)?,
        "bench-secret",
    )?;
    let cfg = BrokerConfig {
        listen: free_addr(),
        username: Some("gw".into()),
        password: Some("gw-secret".into()),
        ..Default::default()
    };
    let pass = FrontPass {
        ids: Arc::new(Authenticator::open(&file)?),
        token: gateway::auth::secret::new_secret(),
    };
    let broker = gateway::broker::start_embedded(&cfg, Some(pass.clone()))?;
    let guard = Arc::new(Guard::new(&cfg, pass, Arc::new(Metrics::default()))?);
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let fronts = front::start(&cfg, broker.addr, Some(guard), stop_rx).await?;
    let front_port = fronts.plain.expect("the screening front").port();

    // The subscriber, on rumqttd itself, counts every reading.
    let seen = Arc::new(AtomicU64::new(0));
    let (sub, mut el) = AsyncClient::new(
        options("gw-sub", broker.addr.port(), ("gw", "gw-secret")),
        100,
    );
    sub.subscribe("district/bench/sensors/#", QoS::AtMostOnce)
        .await?;
    let counter = seen.clone();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    let mut subscribed_tx = Some(subscribed_tx);
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    counter.fetch_add(1, Relaxed);
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("the subscriber's connection ended: {e}"),
            }
        }
    });
    subscribed.await?;

    // A warm-up on each path, then the measured runs.
    run(
        broker.addr.port(),
        "gw-warm",
        ("gw", "gw-secret"),
        1_000,
        &seen,
    )
    .await;
    run(
        front_port,
        "bench-warm",
        ("bench", "bench-secret"),
        1_000,
        &seen,
    )
    .await;
    let direct = run(broker.addr.port(), "gw-pub", ("gw", "gw-secret"), n, &seen).await;
    let fronted = run(front_port, "bench-pub", ("bench", "bench-secret"), n, &seen).await;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{n} QoS 1 readings, {DEVICES} devices\n\
         straight into rumqttd: {:>9.0} msg/s\n\
         through the front:     {:>9.0} msg/s ({:.2} of straight)\n\
         front's cost:          {:>9.2} µs per message",
        rate(direct),
        rate(fronted),
        rate(fronted) / rate(direct),
        (fronted.as_secs_f64() - direct.as_secs_f64()) * 1e6 / n as f64,
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
