//! A crash mid-forward: the gateway runs as its own process (`gateway run`), forwarding to
//! VictoriaMetrics (started with `-dedup.minScrapeInterval=1ms`, so one sample per series
//! and millisecond survives, as InfluxDB overwrites a point with the same series and time).
//! While the simulator publishes and the forwarder sends, the gateway is killed with
//! SIGKILL. Before the restart the cursor is moved back 5,000 readings, which is exactly
//! what a crash between an accepted write and the cursor commit leaves behind. After the
//! restart the forwarder resumes from its saved cursor (not from the beginning), re-sends
//! those readings, and the server still holds every stored reading once, with the same
//! values: the duplicates were harmless.

mod support;

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use district::clock::Clock;
use district::contract::time::format_millis;
use sensors_sim::{SimOptions, Speed};
use support::*;

const RESEND: i64 = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_9_the_cursor_resumes_and_resent_points_overwrite_themselves() {
    let vm = Vm::start(true);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("gateway.log");
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "instance = \"crash-test\"\n\
             [ingest]\nmax_future = \"3650d\"\nmax_future_state = \"3650d\"\nmax_late = \"3650d\"\n\
             [publish]\nrollup_close_after = \"6h\"\n\
             [[forward]]\nname = \"vm\"\nurl = \"{}\"\norg = \"district\"\nbucket = \"district\"\n\
             batch_age = \"200ms\"\nretry_max = \"1s\"\n",
            vm.url()
        ),
    )
    .unwrap();
    let hubin = root().join("config/districts/hubin.toml");
    // Build the gateway binary before the simulated clock starts: on a fresh machine that
    // build takes minutes, which would be days of simulated time.
    tokio::task::block_in_place(gateway_bin);
    let start = start_3_days_ago();
    let speed = 1440.0; // a day in 60 s
    let clock = Clock::simulated(start.to_utc(), speed);
    let (mqtt, http) = (free_port(), free_port());
    let launch = |at: i64| {
        GatewayProc::start(
            &config,
            &hubin,
            &data,
            mqtt,
            http,
            &format_millis(at),
            speed,
            &log,
        )
    };
    let mut gw = tokio::task::block_in_place(|| launch(clock.now_ms()));

    let sim_now = Arc::new(AtomicI64::new(0));
    let sim = tokio::spawn(sensors_sim::run(
        SimOptions {
            security: support::identities::client_security(support::identities::BRIDGE),
            config: hubin.clone(),
            broker: format!("127.0.0.1:{mqtt}"),
            seed: 13,
            speed: Speed::Factor(speed),
            start: Some(start),
            duration: Some(Duration::from_secs(86_400)),
            flush_timeout: Duration::from_secs(60),
            sim_now: Some(sim_now.clone()),
            ..Default::default()
        },
        clock,
    ));

    // Mid-forward: points are flowing and the simulator is still publishing.
    let sent = |g: &GatewayProc| {
        g.metrics()
            .get("gateway_forward_points_total{target=\"vm\",stream=\"readings\"}")
            .copied()
            .unwrap_or(0.0)
    };
    tokio::task::block_in_place(|| {
        wait_for(
            Duration::from_secs(120),
            "the forwarder to send 20,000 readings",
            || (sent(&gw) >= 20_000.0).then_some(()),
        )
    });
    tokio::task::block_in_place(|| gw.kill9());
    assert!(
        !sim.is_finished(),
        "the simulator was still publishing at the kill"
    );

    let saved = gateway::forward::cursor::saved(&data, "vm")
        .unwrap()
        .unwrap();
    assert!(
        saved.done >= 15_000,
        "cursor saved before the kill: {}",
        saved.done
    );
    let rewound = saved.done - RESEND;
    gateway::forward::cursor::rewind(&data, "vm", rewound).unwrap();

    let mut gw = tokio::task::block_in_place(|| launch(clock.now_ms()));
    let resumed = tokio::task::block_in_place(|| {
        wait_for(
            Duration::from_secs(30),
            "the forwarder to load its cursor",
            || {
                gw.metrics()
                    .get("gateway_forward_cursor{target=\"vm\"}")
                    .copied()
                    .filter(|c| *c > 0.0)
            },
        )
    });
    assert!(
        resumed >= rewound as f64,
        "resumed from {resumed}, not from the start"
    );

    let summary = sim.await.unwrap().unwrap();
    eprintln!("simulator: {summary}");
    // The embedded broker died with the gateway: the store, not the simulator, is the truth
    // the server must match (what embedded mode loses is measured in external_broker_delivery).
    let reader_dir = data.clone();
    let (store, server) = tokio::task::block_in_place(|| {
        wait_for(
            Duration::from_secs(180),
            "the server to hold every stored reading",
            || {
                let q = gw.metrics();
                let idle = q.get("gateway_ingest_queue") == Some(&0.0)
                    && q.get("gateway_forward_backlog_readings{target=\"vm\"}") == Some(&0.0);
                if !idle {
                    return None;
                }
                let store = store_readings_collapsed(&reader_dir);
                let server = server_readings(&vm);
                (points(&server) >= points(&store.0)).then_some((store, server))
            },
        )
    });
    let resent = sent(&gw);
    tokio::task::block_in_place(|| gw.stop());
    let (store, collided) = store;
    // One sample per series and millisecond: two readings of one device in the same
    // millisecond are one point on the server (see the README's schema notes).
    assert_same_except_sums(&store, &server, &collided, "after the crash");
    // The restarted gateway sent the rewound readings again (so the server received them
    // twice) plus what arrived after the crash, not everything from the start.
    let stored: u64 = {
        let (_, n) = store_readings(&data);
        n
    };
    assert!(resent >= RESEND as f64, "re-sent {resent}");
    assert!(
        resent < stored as f64,
        "re-sent {resent} of {stored}: it resumed, not restarted"
    );
    let distinct: usize = vm
        .export("{__name__=~\".+\"}")
        .iter()
        .map(|s| s.values.len())
        .sum();
    let inserted = vm.rows_inserted() as usize;
    assert!(
        inserted >= distinct + RESEND as usize,
        "the server received the duplicates ({inserted} samples for {distinct} distinct) and kept one of each"
    );
    eprintln!("crash: {stored} readings stored; {inserted} samples received for {distinct} distinct; resumed at rowid {resumed}");
}
