//! The gateway's stop signals: `watch` channels of `bool` that turn true once (ingest first,
//! then everything else; see [`crate::Gateway::shutdown`]).

use tokio::sync::watch;

/// Resolves once the stop signal is true, or its sender is gone.
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}
