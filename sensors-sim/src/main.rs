//! `sensors-sim`: the command line around [`sensors_sim::run`].

use clap::Parser;
use sensors_sim::{Cli, SimOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut opts = SimOptions::from(Cli::parse());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    opts.shutdown = Some(shutdown);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: stopping after flushing in-flight messages");
            let _ = stop.send(true);
        }
    });
    let clock = opts.clock();
    let summary = sensors_sim::run(opts, clock).await?;
    println!("{summary}");
    Ok(())
}
