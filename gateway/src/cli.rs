//! Command-line handling shared by the subcommands: loading districts, the clock, logging.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use district::clock::Clock;
use district::District;

/// Loads every district file and replicates them `scale` times (`--scale`).
pub fn load_districts(paths: &[PathBuf], scale: usize) -> anyhow::Result<Vec<District>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match district::load(p) {
            Ok(d) => out.extend(district::scale::replicate(&d, scale)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("\n"));
    }
    Ok(out)
}

/// The clock: simulated when `--start` or `--speed` is given, else wall time.
pub fn clock(start: Option<&str>, speed: Option<f64>) -> anyhow::Result<Clock> {
    if start.is_none() && speed.is_none() {
        return Ok(Clock::wall());
    }
    let start = match start {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .with_context(|| format!("--start \"{s}\" is not RFC 3339 with an offset, e.g. 2026-11-21T08:00:00+08:00"))?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    Ok(Clock::simulated(start, speed.unwrap_or(1.0)))
}

/// The log filter when `RUST_LOG` is not set.
// rustls warns of clients that send an IP address as SNI (mosquitto with `-h 127.0.0.1`).
const DEFAULT_FILTER: &str = "info,rumqttd=warn,rumqttc=warn,rustls=error";

fn env_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER))
}

/// Logging to stderr, `RUST_LOG` or `info`.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter())
        .with_writer(std::io::stderr)
        .try_init();
}

/// The demo's logging: the whole log (`RUST_LOG` or `info`) into `file`, and only the
/// gateway's own warnings and errors on the terminal (the broker's and the MQTT client's go
/// to the file only), which stays free for the demo's tour and status lines.
pub fn init_demo_logging(file: &Path) -> std::io::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let log = std::fs::File::create(file)?;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::sync::Mutex::new(log))
                .with_ansi(false)
                .with_filter(env_filter()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::EnvFilter::new(
                    "warn,rumqttd=off,rumqttc=off",
                )),
        )
        .try_init();
    Ok(())
}

/// The example district shipped with the project, for the demo.
pub fn example_district() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.join("../config/districts/hubin.toml")
}
