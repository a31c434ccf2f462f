//! Delivery end to end across a gateway crash, with each broker mode.
//!
//! - External broker (Debian's `mosquitto`, persistence on, `max_queued_messages 0` so it
//!   never drops a queued QoS 1 message, a high `max_inflight_messages`): the gateway holds a
//!   persistent session and acknowledges each message only after its row is committed. It is
//!   killed with SIGKILL while the simulator publishes at QoS 1, and restarted: every reading
//!   the broker acknowledged to the simulator ends up in the store exactly once: the store
//!   holds exactly the identities (device, event time, seq) the simulator generated, each
//!   once; mosquitto's redeliveries are refused by the store's identity key.
//! - Embedded broker (rumqttd in the gateway's process, nothing on disk): the same kill under
//!   load loses the readings the broker had acknowledged but the gateway had not yet stored.
//!   The test measures that figure (printed, and reported in the README).

mod support;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use district::clock::Clock;
use district::contract::reading::decode;
use district::contract::time::format_millis;
use sensors_sim::scenario::Scenario;
use sensors_sim::{SimOptions, Speed, What, World, WorldConfig};
use support::*;

/// The two tests kill processes under load: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The simulator's messages for these options, in publish order: the reading's identity, or
/// None for non-readings (truth, injected messages).
fn generated(hubin: &Path, seed: u64, start_ms: i64, duration_ms: i64) -> Vec<Option<Identity>> {
    let base = district::load(hubin).unwrap();
    let mut world = World::new(
        &base,
        1,
        Scenario::default(),
        WorldConfig {
            seed,
            counter_error: 0.0,
            start_ms,
        },
    );
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let end = start_ms + duration_ms;
    while world.now_ms() < end {
        world.step_into((world.now_ms() + 10_000).min(end), &mut buf);
        for o in buf.drain(..) {
            out.push(match o.what {
                What::Reading { kind, .. } => {
                    let device = o.topic.rsplit('/').next().unwrap().to_string();
                    let r = decode(kind, &o.payload).expect("the simulator's readings decode");
                    Some((device, r.ts_ms, r.seq))
                }
                _ => None,
            });
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_external_broker_every_acknowledged_reading_is_stored_exactly_once_across_a_kill_9()
{
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mq = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("gateway.log");
    let config = dir.path().join("gateway.toml");
    delivery_config(&config, &external_broker(mq.port, "gw-delivery-test"));
    let hubin = root().join("config/districts/hubin.toml");
    let d = district::load(&hubin).unwrap();
    // Build the gateway binary before the simulated clock starts: on a fresh machine that
    // build takes minutes, which would be days of simulated time.
    tokio::task::block_in_place(gateway_bin);
    let start = start_3_days_ago();
    // Two simulated hours at 360×: about 17,000 readings in 20 s of wall time; a restart of a
    // few seconds spans minutes of simulated time, not hours. The outcome depends on neither:
    // what is a duplicate is the store's identity key, whatever the clock says.
    let speed = 360.0;
    let duration = Duration::from_secs(2 * 3600);
    let clock = Clock::simulated(start.to_utc(), speed);
    let http = free_port();
    let launch = |at: i64| {
        GatewayProc::start(
            &config,
            &hubin,
            &data,
            free_port(),
            http,
            &format_millis(at),
            speed,
            &log,
        )
    };
    let mut gw = tokio::task::block_in_place(|| launch(clock.now_ms()));
    wait_subscribed(&gw, mq.port, &d.id).await;

    let sim = tokio::spawn(sensors_sim::run(
        SimOptions {
            security: support::identities::client_security(support::identities::BRIDGE),
            config: hubin.clone(),
            broker: format!("127.0.0.1:{}", mq.port),
            seed: 21,
            speed: Speed::Factor(speed),
            start: Some(start),
            duration: Some(duration),
            flush_timeout: Duration::from_secs(60),
            ..Default::default()
        },
        clock,
    ));
    let stored = |g: &GatewayProc| g.metric("gateway_acks_total");
    tokio::task::block_in_place(|| {
        wait_for(
            Duration::from_secs(120),
            "the gateway to store 3,000 readings",
            || (stored(&gw) >= 3_000.0).then_some(()),
        )
    });
    tokio::task::block_in_place(|| gw.kill9());
    assert!(
        !sim.is_finished(),
        "the simulator was still publishing at the kill"
    );
    let mut gw = tokio::task::block_in_place(|| launch(clock.now_ms()));

    let summary = sim.await.unwrap().unwrap();
    assert!(
        summary.delivered_all,
        "mosquitto acknowledged every message: {summary}"
    );
    let msgs = generated(
        &hubin,
        21,
        start.timestamp_millis(),
        duration.as_millis() as i64,
    );
    let want = multiset(msgs.into_iter().flatten());
    let readings: u32 = want.values().sum();
    let published: u64 = ["footfall", "parking", "air", "energy", "fire"]
        .iter()
        .map(|k| summary.per_kind.get(*k).copied().unwrap_or(0))
        .sum();
    assert_eq!(
        readings as u64, published,
        "the regenerated messages are the published ones"
    );

    // Every published reading has been decided (stored, or refused as a copy of one stored)
    // once the store holds as many as were published and mosquitto has nothing left for the
    // session: wait for the count, then stop cleanly (which drains what is in flight).
    tokio::task::block_in_place(|| wait_stored(&data, readings as usize));
    let duplicates = gw.metric("gateway_duplicates_total");
    tokio::task::block_in_place(|| gw.stop());
    assert_stored_exactly(&data, &want, "external broker, kill -9 and restart");
    eprintln!(
        "external broker: {readings} readings acknowledged by mosquitto, each stored once; {duplicates} redeliveries refused as duplicates after the restart"
    );
}

/// Kills an embedded-broker gateway with SIGKILL once it has accepted 30,000 readings from
/// the simulator publishing at `rate` (None: as fast as the broker acknowledges); returns
/// (readings acknowledged to the simulator, stored, readings per second at the kill).
async fn embedded_kill(rate: Option<u32>, seed: u64) -> (i64, i64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("gateway.log");
    let config = dir.path().join("gateway.toml");
    delivery_config(&config, "[broker]\nmode = \"embedded\"");
    let hubin = root().join("config/districts/hubin.toml");
    // Build the gateway binary before the simulated clock starts: on a fresh machine that
    // build takes minutes, which would be days of simulated time.
    tokio::task::block_in_place(gateway_bin);
    let start = start_3_days_ago();
    let clock = Clock::simulated(start.to_utc(), 1.0);
    let (mqtt, http) = (free_port(), free_port());
    let mut gw = tokio::task::block_in_place(|| {
        GatewayProc::start(
            &config,
            &hubin,
            &data,
            mqtt,
            http,
            &format_millis(clock.now_ms()),
            1.0,
            &log,
        )
    });
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let duration = Duration::from_secs(86_400);
    let sim = tokio::spawn(sensors_sim::run(
        SimOptions {
            security: support::identities::client_security(support::identities::BRIDGE),
            config: hubin.clone(),
            broker: format!("127.0.0.1:{mqtt}"),
            seed,
            speed: Speed::Max,
            rate,
            start: Some(start),
            duration: Some(duration),
            flush_timeout: Duration::from_secs(2),
            shutdown: Some(shutdown),
            ..Default::default()
        },
        clock,
    ));
    let accepted = |g: &GatewayProc| {
        g.metrics()
            .get("gateway_accepted_total")
            .copied()
            .unwrap_or(0.0)
    };
    let t0 = Instant::now();
    let at_kill = tokio::task::block_in_place(|| {
        wait_for(
            Duration::from_secs(180),
            "the gateway to accept 30,000 readings",
            || {
                let n = accepted(&gw);
                (n >= 30_000.0).then_some(n)
            },
        )
    });
    let per_s = at_kill / t0.elapsed().as_secs_f64();
    tokio::task::block_in_place(|| gw.kill9());
    let _ = stop.send(true);
    let summary = sim.await.unwrap().unwrap();
    // rumqttd acknowledges QoS 1 in arrival order on one connection: the first `acked`
    // messages in publish order are the acknowledged ones.
    let msgs = generated(
        &hubin,
        seed,
        start.timestamp_millis(),
        duration.as_millis() as i64,
    );
    let acked = msgs
        .iter()
        .take(summary.acked as usize)
        .filter(|m| m.is_some())
        .count() as i64;
    let stored = gateway::store::Reader::open(&data)
        .unwrap()
        .reading_count()
        .unwrap();
    (acked, stored, per_s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_loss_on_kill_9_is_measured() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // At a steady 2,000 readings/s (well under what the gateway ingests) the window is the
    // pipeline between the broker's acknowledgement and the commit.
    let (acked, stored, per_s) = embedded_kill(Some(2_000), 22).await;
    let lost = acked - stored;
    eprintln!("embedded broker, steady load: kill -9 at {per_s:.0} readings/s: {acked} acknowledged to the simulator, {stored} stored, {lost} lost");
    assert!(
        lost >= 0,
        "stored more than was acknowledged: {stored} > {acked}"
    );
    assert!(lost <= 5_000, "lost {lost} at a steady 2,000/s");
    // As fast as the broker acknowledges: rumqttd acknowledges into its in-memory log faster
    // than the gateway commits, so what waits in that log is lost too.
    let (acked, stored, per_s) = embedded_kill(None, 23).await;
    let lost = acked - stored;
    eprintln!("embedded broker, burst: kill -9 at {per_s:.0} readings/s: {acked} acknowledged to the simulator, {stored} stored, {lost} lost");
    assert!(
        lost >= 0,
        "stored more than was acknowledged: {stored} > {acked}"
    );
}
