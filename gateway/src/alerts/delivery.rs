//! Webhook delivery: a worker sends what the district owners queued with their alert
//! transitions (persisted in the store, so it survives a kill -9), retrying with capped
//! exponential backoff and jitter until delivered or expired, and records each attempt
//! through the store's writer. Reads run on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::db::AlertDb;
use crate::store::StoreTx;

/// Backoff after `attempts` failures: 1 s doubling to 5 min, with ±20 % jitter from `salt`.
pub fn backoff_ms(attempts: u32, salt: u64) -> i64 {
    let base = 1000i64
        .saturating_mul(1i64 << attempts.min(20))
        .min(300_000);
    let jitter = (salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) % 41; // 0..=40
    base * (80 + jitter as i64) / 100
}

fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs the delivery worker until `shutdown`.
pub async fn run(
    db: Arc<AlertDb>,
    store: StoreTx,
    wake: Arc<Notify>,
    metrics: Arc<crate::metrics::Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    loop {
        let reading = db.clone();
        let due = tokio::task::spawn_blocking(move || reading.due(wall_ms(), 50))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        for d in &due {
            let now = wall_ms();
            let id = d.id;
            if now > d.expires {
                let _ = store
                    .write(move |c| super::db::failed(c, id, "expired", None))
                    .await;
                continue;
            }
            let result = client
                .post(&d.url)
                .header("content-type", "application/json")
                .body(d.body.clone())
                .send()
                .await
                // Robots' URLs carry their access tokens: never in an error kept or logged.
                .map_err(|e| e.without_url().to_string())
                .and_then(|r| {
                    if r.status().is_success() {
                        Ok(())
                    } else {
                        Err(format!("HTTP {}", r.status()))
                    }
                });
            match result {
                Ok(()) => {
                    metrics
                        .webhooks_delivered
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let _ = store.write(move |c| super::db::delivered(c, id, now)).await;
                }
                Err(e) => {
                    metrics
                        .webhook_failures
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let next = now + backoff_ms(d.attempts, d.id as u64);
                    tracing::warn!(webhook = %d.webhook, attempt = d.attempts + 1, error = %e, "webhook delivery failed; will retry");
                    let retry = (next <= d.expires).then_some(next);
                    let _ = store
                        .write(move |c| super::db::failed(c, id, &e, retry))
                        .await;
                }
            }
        }
        if !due.is_empty() {
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = shutdown.changed() => if *shutdown.borrow() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap_with_jitter() {
        assert!((800..=1200).contains(&backoff_ms(0, 7)));
        assert!((1600..=2400).contains(&backoff_ms(1, 7)));
        assert!(backoff_ms(30, 7) <= 360_000);
        assert_ne!(backoff_ms(3, 1), backoff_ms(3, 2));
    }
}
