//! Store-and-forward to InfluxDB (or any server speaking its `/api/v2/write` line protocol):
//! every point is committed to the embedded store first; one task per `[[forward]]` target
//! sends it on from its own persisted cursor, in batches, retrying until the server accepts.
//!
//! ## Layout (one file per role)
//! - [`config`]: `[[forward]]` targets, token from an environment variable or a file.
//! - [`line`]: line protocol, pure: points, escaping, types.
//! - [`schema`]: measurements, tags and fields; readings, rollups and alerts to points.
//! - [`cursor`]: each target's position, persisted in the store file (`forward_cursor`).
//! - [`source`]: reading what waits from the store in order (rollups, live lane, backlog),
//!   counting what retention pruned before it was sent.
//! - [`batcher`]: a batch and when it is due (size, age).
//! - [`sink`]: the `influxdb2` client and what each response means.
//! - Retries wait with [`district::backoff::Backoff`]: capped exponential backoff with jitter.
//! - [`metrics`]: per-target counters and gauges for `/metrics`.
//! - `task`: the loop that ties them together.
//!
//! Guarantee: at least once from the store to each server; a re-sent point has the same
//! series and timestamp, so it overwrites itself (InfluxDB; VictoriaMetrics with
//! `-dedup.minScrapeInterval`). The backlog is bounded by the store's raw retention: readings
//! pruned before they were sent are counted in `gateway_forward_lost_total`; rollups are kept
//! far longer (`rollup_retention`).

pub mod batcher;
pub mod config;
pub mod cursor;
pub mod line;
pub mod metrics;
pub mod schema;
pub mod sink;
pub mod source;
mod task;

use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::ForwardTarget;
pub use metrics::ForwardMetrics;

use crate::shared::Shared;

/// Checks the targets (their tables are part of the store's schema).
pub fn check(targets: &[ForwardTarget]) -> anyhow::Result<()> {
    config::validate_all(targets).map_err(anyhow::Error::msg)?;
    for t in targets {
        t.token().map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// Starts one forwarding task per target; they stop when `shutdown` turns true.
pub fn spawn(
    targets: &[ForwardTarget],
    shared: &Arc<Shared>,
    data_dir: &Path,
    store: &crate::store::StoreTx,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let districts: Vec<_> = shared.districts.iter().map(|h| h.model.clone()).collect();
    let mut tasks = Vec::new();
    for t in targets {
        let m = Arc::new(ForwardMetrics::new(&t.name));
        metrics::register(shared, m.clone());
        let task = task::Task {
            target: t.clone(),
            token: t.token().map_err(anyhow::Error::msg)?,
            db: data_dir.join(crate::store::schema::FILE),
            districts: districts.clone(),
            clock: shared.clock,
            metrics: m,
            store: store.clone(),
        };
        let shared = shared.clone();
        let rx = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            task.run(rx).await;
            metrics::unregister(&shared);
        }));
    }
    Ok(tasks)
}
