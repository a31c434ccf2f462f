//! A run: load the district and scenario, build the world, and publish its messages paced
//! against the clock until the duration has passed or the shutdown signal fires.
//!
//! Pacing: publish everything due at or before the clock's now, then sleep until the next step
//! is due. A simulator that falls behind (a slow broker, `--rate`) publishes as fast as it can
//! and its readings arrive late (catching up a simulated minute at a time). With `--speed max`
//! the world is stepped ahead 10 simulated seconds at a time with no sleeping: the broker's
//! acknowledgements set the pace.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{bail, Context};
use district::clock::Clock;
use district::contract::time::format_millis;
use district::Role;
use rumqttc::QoS;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::options::{SimOptions, Speed};
use crate::publisher::Link;
use crate::scenario::Scenario;
use crate::summary::{InjectedRecord, RunSummary};
use crate::world::{What, World, WorldConfig, STEP_MS};

/// Simulated time stepped at once with `--speed max`.
const MAX_CHUNK_MS: i64 = 10_000;
/// Simulated time stepped at once when catching up with the clock (bounds the buffer).
const CATCH_UP_MS: i64 = 60_000;

/// Runs the simulator with `opts` against `clock` (see [`SimOptions::clock`]; the gateway's
/// demo passes its own) and returns what it did.
pub async fn run(opts: SimOptions, clock: Clock) -> anyhow::Result<RunSummary> {
    let base = district::load(&opts.config)
        .with_context(|| format!("loading district {}", opts.config.display()))?;
    let scenario = match &opts.scenario {
        Some(p) => Scenario::load(p, &base)?,
        None => Scenario::default(),
    };
    let start_ms = opts
        .start
        .map_or_else(|| clock.now_ms(), |s| s.timestamp_millis());
    let cfg = WorldConfig {
        seed: opts.seed,
        counter_error: opts.counter_error,
        start_ms,
    };
    let mut world = World::new(&base, opts.scale.max(1), scenario.clone(), cfg);
    let ids: Vec<String> = world.districts().map(|d| d.id.clone()).collect();
    for e in &scenario.events {
        if let Some(d) = &e.district {
            if !ids.contains(d) {
                bail!(
                    "scenario line {}: district \"{d}\" is not simulated (districts: {})",
                    e.line,
                    ids.join(", ")
                );
            }
        }
    }
    warn_unaligned(&base);
    let end_ms = opts
        .duration
        .map(|d| world.start_ms() + d.as_millis() as i64);
    let mut truth_file = opts.truth.as_deref().map(append).transpose()?;
    let mut injected_file = opts.injected.as_deref().map(append).transpose()?;
    let link = if opts.dry_run {
        None
    } else {
        Some(Link::connect_with(
            &opts.broker,
            &opts.client_id(),
            &opts.security,
        )?)
    };
    let qos = if opts.qos == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    };
    tracing::info!(
        district = %base.id, replicas = ids.len(), devices = base.devices.len() * ids.len(),
        start = %format_millis(world.start_ms()), speed = %opts.speed, broker = %opts.broker,
        "simulating"
    );

    let mut summary = RunSummary {
        delivered_all: true,
        ..RunSummary::default()
    };
    let mut shutdown = opts.shutdown.clone();
    let mut pacer = Pacer::new(opts.rate);
    let wall_start = Instant::now();
    let mut progress = Progress::new(opts.progress_every);
    let mut buf = Vec::new();
    'run: loop {
        if fired(&shutdown) {
            summary.interrupted = true;
            break;
        }
        let horizon = match opts.speed {
            Speed::Max => world.now_ms() + MAX_CHUNK_MS,
            Speed::Factor(_) => clock.now_ms().min(world.now_ms() + CATCH_UP_MS),
        };
        world.step_into(end_ms.map_or(horizon, |e| horizon.min(e)), &mut buf);
        for o in buf.drain(..) {
            let district = &ids[o.what.district() as usize];
            match o.what {
                What::Truth { .. } => {
                    if let Some(f) = truth_file.as_mut() {
                        f.write_all(&o.payload)
                            .and_then(|_| f.write_all(b"\n"))
                            .context("writing the truth file")?;
                    }
                }
                What::Injected { variety, .. } => {
                    let rec = InjectedRecord::new(&o, variety, district);
                    if let Some(f) = injected_file.as_mut() {
                        serde_json::to_writer(&mut *f, &rec)?;
                        f.write_all(b"\n")
                            .context("writing the injected-messages file")?;
                    }
                    summary.injected.push(rec);
                }
                What::Reading { .. } => {}
            }
            let this_qos = if o.retain { QoS::AtLeastOnce } else { qos };
            summary.count(&o, district, this_qos == QoS::AtLeastOnce);
            pacer.wait().await;
            if let Some(link) = &link {
                tokio::select! {
                    biased;
                    r = link.publish(o.topic, this_qos, o.retain, o.payload) => r?,
                    _ = wait_fired(&mut shutdown) => {
                        summary.interrupted = true;
                        break 'run;
                    }
                }
            }
        }
        if let Some(now) = &opts.sim_now {
            now.store(world.now_ms(), Ordering::Relaxed);
        }
        progress.tick(&world, &summary, link.as_ref());
        if end_ms.is_some_and(|e| world.now_ms() >= e) {
            break;
        }
        match opts.speed {
            Speed::Max => tokio::task::yield_now().await,
            Speed::Factor(_) => {
                let wake = clock.wall_instant_of(world.now_ms() + STEP_MS);
                tokio::select! {
                    _ = tokio::time::sleep_until(wake.into()) => {}
                    _ = wait_fired(&mut shutdown) => {}
                }
            }
        }
    }
    for f in [truth_file.as_mut(), injected_file.as_mut()]
        .into_iter()
        .flatten()
    {
        f.flush().context("flushing an output file")?;
    }
    if let Some(link) = link {
        let d = link
            .close(summary.published, summary.qos1, opts.flush_timeout)
            .await;
        summary.acked = d.acked;
        summary.delivered_all = d.complete;
        if !d.complete {
            tracing::warn!(
                written = d.written,
                acked = d.acked,
                qos1 = summary.qos1,
                "not everything was acknowledged before disconnecting"
            );
        }
    }
    summary.wall_elapsed = wall_start.elapsed();
    summary.dry_run = opts.dry_run;
    summary.sim_start = format_millis(world.start_ms());
    summary.sim_end = format_millis(world.now_ms());
    summary.sim_elapsed = Duration::from_millis((world.now_ms() - world.start_ms()).max(0) as u64);
    summary.rate_per_s = summary.published as f64 / summary.wall_elapsed.as_secs_f64().max(1e-9);
    summary.cars_turned_away = world.turned_away();
    Ok(summary)
}

/// Line and entrance counters whose interval does not divide a minute report crossings that
/// straddle the truth's minutes: their sums match the truth only at their own report times.
fn warn_unaligned(d: &district::District) {
    for dev in &d.devices {
        let counter = matches!(dev.role, Role::FootfallLine { .. } | Role::Entrance { .. });
        let ms = dev.interval.as_millis();
        if counter && (ms == 0 || 60_000 % ms != 0) {
            tracing::warn!(device = %dev.id, interval = ?dev.interval, "counter interval does not divide a minute: its counts add up to the truth only at its own reports");
        }
    }
}

fn append(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(BufWriter::new(f))
}

fn fired(rx: &Option<watch::Receiver<bool>>) -> bool {
    rx.as_ref().is_some_and(|rx| *rx.borrow())
}

/// Resolves once the shutdown signal is `true`; never when there is none or its sender is gone.
async fn wait_fired(rx: &mut Option<watch::Receiver<bool>>) {
    match rx {
        Some(rx) => {
            if rx.wait_for(|&v| v).await.is_err() {
                std::future::pending::<()>().await
            }
        }
        None => std::future::pending().await,
    }
}

/// The `--rate` cap: at most `rate` publishes per wall second.
struct Pacer {
    rate: Option<u32>,
    window: Instant,
    sent: u32,
}

impl Pacer {
    fn new(rate: Option<u32>) -> Self {
        Pacer {
            rate,
            window: Instant::now(),
            sent: 0,
        }
    }

    async fn wait(&mut self) {
        let Some(rate) = self.rate else { return };
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.window = Instant::now();
            self.sent = 0;
        }
        if self.sent >= rate {
            tokio::time::sleep_until(self.window + Duration::from_secs(1)).await;
            self.window = Instant::now();
            self.sent = 0;
        }
        self.sent += 1;
    }
}

/// A progress line every few wall seconds.
struct Progress {
    every: Duration,
    next: Instant,
    last: (Instant, u64),
}

impl Progress {
    fn new(every: Duration) -> Self {
        let now = Instant::now();
        Progress {
            every,
            next: now + every,
            last: (now, 0),
        }
    }

    fn tick(&mut self, world: &World, s: &RunSummary, link: Option<&Link>) {
        let now = Instant::now();
        if now < self.next {
            return;
        }
        let rate = (s.published - self.last.1) as f64 / (now - self.last.0).as_secs_f64().max(1e-9);
        tracing::info!(
            sim_time = %format_millis(world.now_ms()),
            published = s.published,
            rate = format!("{rate:.0}/s"),
            acked = link.map_or(0, |l| l.acked()),
            "progress"
        );
        self.last = (now, s.published);
        self.next = now + self.every;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_rate_cap_spreads_publishes_over_wall_seconds() {
        let mut free = Pacer::new(None);
        let start = Instant::now();
        for _ in 0..10_000 {
            free.wait().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "no cap, no waiting"
        );
        let mut p = Pacer::new(Some(100));
        let start = Instant::now();
        for _ in 0..150 {
            p.wait().await;
        }
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
    }
}
