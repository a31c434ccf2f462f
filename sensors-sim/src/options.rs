//! Options of a run: [`SimOptions`] for callers of the library (the gateway's `demo`), and
//! [`Cli`], the command line that fills them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use clap::Parser;
use district::clock::Clock;

/// How fast simulated time runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Simulated seconds per wall second (paced against the clock).
    Factor(f64),
    /// As fast as the broker accepts; simulated time is then driven by the simulator itself.
    Max,
}

impl Default for Speed {
    fn default() -> Self {
        Speed::Factor(1.0)
    }
}

impl FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => Ok(Speed::Factor(x)),
            _ => Err(format!("\"{s}\" is neither a positive number (simulated seconds per wall second) nor `max`")),
        }
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Speed::Factor(x) => write!(f, "{x}"),
            Speed::Max => f.write_str("max"),
        }
    }
}

/// Everything a run needs. `Default` gives the command line's defaults (with an empty
/// `config`, which must be set).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// District file (TOML; the GeoJSON it names is read from beside it).
    pub config: PathBuf,
    /// MQTT broker, `HOST:PORT` (default `127.0.0.1:1883`).
    pub broker: String,
    /// Seed of all randomness (default 1): the same seed gives the same messages.
    pub seed: u64,
    /// Simulated seconds per wall second, or [`Speed::Max`] (default 1).
    pub speed: Speed,
    /// Simulated start (default: the clock's now), rounded down to a whole second.
    pub start: Option<DateTime<FixedOffset>>,
    /// Stop after this much simulated time (default: run until shut down).
    pub duration: Option<Duration>,
    /// Replicas of the district (default 1: the district as is).
    pub scale: usize,
    /// Cap on publishes per wall second (default none).
    pub rate: Option<u32>,
    /// Scenario file.
    pub scenario: Option<PathBuf>,
    /// Ground truth as JSON Lines, appended.
    pub truth: Option<PathBuf>,
    /// Counter error probability (default 0: exact counters).
    pub counter_error: f64,
    /// QoS of readings, 0 or 1 (default 1; the truth is always QoS 1).
    pub qos: u8,
    /// MQTT client id (default `sensors-sim-<seed>`).
    pub client_id: Option<String>,
    /// TLS and credentials (default: plain TCP, anonymous).
    pub security: district::client::ClientSecurity,
    /// Injected malformed messages as JSON Lines, appended.
    pub injected: Option<PathBuf>,
    /// Generate without connecting to a broker.
    pub dry_run: bool,
    /// Wall time between progress lines (default 5 s).
    pub progress_every: Duration,
    /// Wall time to wait at the end for the broker to acknowledge everything (default 30 s).
    pub flush_timeout: Duration,
    /// Stops the run, after flushing what was handed to the client, when it turns `true` (a
    /// dropped sender is ignored).
    pub shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    /// Updated with the simulated time (epoch ms) up to which every message has been handed to
    /// the MQTT client: the run's clock when the speed is `max`.
    pub sim_now: Option<Arc<AtomicI64>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            config: PathBuf::new(),
            broker: "127.0.0.1:1883".into(),
            seed: 1,
            speed: Speed::default(),
            start: None,
            duration: None,
            scale: 1,
            rate: None,
            scenario: None,
            truth: None,
            counter_error: 0.0,
            qos: 1,
            client_id: None,
            security: Default::default(),
            injected: None,
            dry_run: false,
            progress_every: Duration::from_secs(5),
            flush_timeout: Duration::from_secs(30),
            shutdown: None,
            sim_now: None,
        }
    }
}

impl SimOptions {
    /// The MQTT client id: `--client-id`, else `sensors-sim-SEED` in the username's
    /// namespace (`{username}-sensors-sim-SEED` with `--username`).
    pub fn client_id(&self) -> String {
        self.client_id.clone().unwrap_or_else(|| {
            self.security
                .client_id(&format!("sensors-sim-{}", self.seed))
        })
    }

    /// The clock these options describe: simulated from `start` (or now) at `speed`; the wall
    /// clock when neither is given. With `--speed max` the clock only supplies the default
    /// start; the simulator then runs ahead of it.
    pub fn clock(&self) -> Clock {
        match (self.start, self.speed) {
            (None, Speed::Factor(1.0)) => Clock::wall(),
            (start, Speed::Factor(x)) => {
                Clock::simulated(start.map_or_else(Utc::now, |s| s.with_timezone(&Utc)), x)
            }
            (start, Speed::Max) => {
                Clock::simulated(start.map_or_else(Utc::now, |s| s.with_timezone(&Utc)), 1.0)
            }
        }
    }
}

/// `sensors-sim`: every device of a district file publishing realistic readings over MQTT.
#[derive(Debug, Parser)]
#[command(name = "sensors-sim", version, about, long_about = LONG_ABOUT)]
pub struct Cli {
    /// District file (TOML; a GeoJSON file it names is read from beside it).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// MQTT broker address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:1883")]
    pub broker: String,
    /// Seed of all randomness: the same seed (and options) gives byte-identical messages.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Simulated seconds per wall second, or `max`: as fast as the broker accepts (simulated
    /// time is then driven by the simulator, not the wall clock).
    #[arg(long, value_name = "N|max", default_value = "1")]
    pub speed: Speed,
    /// Simulated start, RFC 3339 with offset, e.g. 2026-11-21T08:00:00+08:00 [default: now].
    /// Zones start empty: start before (or with) the gateway so its line counts agree.
    #[arg(long, value_name = "DATETIME", value_parser = parse_start)]
    pub start: Option<DateTime<FixedOffset>>,
    /// Stop after this much simulated time, e.g. 90min, 2h, 1day [default: run until Ctrl-C].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Replicate the district N times (district and device ids suffixed -001 … -N), each
    /// simulated independently (seed + replica).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub scale: usize,
    /// Cap on publishes per wall second [default: no cap].
    #[arg(long, value_name = "MSG/S")]
    pub rate: Option<u32>,
    /// Scenario file (TOML `[[events]]`; see sensors-sim/scenarios/).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Append the ground truth to FILE as JSON Lines (one line per district per simulated
    /// minute: people per zone, free spaces per lot).
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Counter error probability P (0–0.5): line and entrance counters miss a crossing with
    /// probability P and count it twice with P/3; area counters are off by up to ±P. The truth
    /// stays exact.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_error_p)]
    pub counter_error: f64,
    /// QoS of readings, 0 or 1 (the truth is always QoS 1, retained).
    #[arg(long, value_name = "0|1", default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub qos: u8,
    /// MQTT client id [default: sensors-sim-SEED].
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    #[command(flatten)]
    pub security: district::client::ClientSecurity,
    /// Append every injected malformed message to FILE as JSON Lines (topic, payload_len,
    /// variety, expected_reason, payload).
    #[arg(long, value_name = "FILE")]
    pub injected: Option<PathBuf>,
    /// Generate the messages without connecting to a broker (measures the generator).
    #[arg(long)]
    pub dry_run: bool,
}

const LONG_ABOUT: &str = "\
Simulates every device of a district file (footfall line and area counters, parking bay \
sensors and entrance counters, air monitors, energy meters, fire detectors) and publishes their \
readings on district/{d}/sensors/{kind}/{device}, in simulated-time order, paced against a \
simulated clock (--start, --speed). Zones start empty and fill and empty with the day. The \
ground truth (people per zone, free spaces per lot) is published retained on \
district/{d}/sim/truth every simulated minute. Ctrl-C stops after flushing in-flight messages.";

fn parse_start(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        format!("\"{s}\": {e}; write RFC 3339 with an offset, e.g. 2026-11-21T08:00:00+08:00")
    })
}

fn parse_error_p(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=0.5).contains(&p) => Ok(p),
        _ => Err(format!("\"{s}\" is not a probability between 0 and 0.5")),
    }
}

impl From<Cli> for SimOptions {
    fn from(c: Cli) -> Self {
        SimOptions {
            config: c.config,
            broker: c.broker,
            seed: c.seed,
            speed: c.speed,
            start: c.start,
            duration: c.duration,
            scale: c.scale.max(1),
            rate: c.rate.filter(|&r| r > 0),
            scenario: c.scenario,
            truth: c.truth,
            counter_error: c.counter_error,
            qos: c.qos,
            client_id: c.client_id,
            security: c.security,
            injected: c.injected,
            dry_run: c.dry_run,
            ..SimOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_fills_the_options() {
        let c = Cli::try_parse_from([
            "sensors-sim",
            "--config",
            "d.toml",
            "--speed",
            "max",
            "--start",
            "2026-11-21T08:00:00+08:00",
            "--duration",
            "2h",
            "--scale",
            "3",
            "--counter-error",
            "0.05",
            "--qos",
            "0",
        ])
        .unwrap();
        let o = SimOptions::from(c);
        assert_eq!(o.speed, Speed::Max);
        assert_eq!(o.duration, Some(Duration::from_secs(7200)));
        assert_eq!(o.scale, 3);
        assert_eq!(o.qos, 0);
        assert_eq!(o.client_id(), "sensors-sim-1");
        assert_eq!(o.broker, "127.0.0.1:1883");
        assert!(Cli::try_parse_from(["sensors-sim", "--config", "d", "--speed", "fast"]).is_err());
        assert!(Cli::try_parse_from([
            "sensors-sim",
            "--config",
            "d",
            "--start",
            "2026-11-21T08:00:00"
        ])
        .is_err());
        assert!(Cli::try_parse_from(["sensors-sim", "--config", "d", "--qos", "2"]).is_err());
        assert!(
            Cli::try_parse_from(["sensors-sim", "--config", "d", "--counter-error", "0.9"])
                .is_err()
        );
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
    }
}
