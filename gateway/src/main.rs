//! `gateway`: the smart-district gateway's command line.
//!
//! - `gateway run --config FILE [--district FILE]... [--start T --speed N] [--scale N]`
//! - `gateway check-config FILE...`
//! - `gateway demo [...]`: broker, gateway, simulator and API in one process.
//! - `gateway credentials add | rotate | revoke | list | import | mosquitto-acl`: the device
//!   port's identities.
//! - `gateway users add | rotate | revoke | list`: the HTTP API's accounts.
//! - `gateway certs init | client`: a local CA and certificates for trying TLS out.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gateway::cli;
use gateway::config::GatewayConfig;

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "Smart-district MQTT gateway: embedded broker, validated ingest, live district state, store and HTTP API"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway server.
    Run {
        /// Gateway configuration (TOML; see gateway/gateway.example.toml). Optional: defaults apply.
        #[arg(long)]
        config: Option<PathBuf>,
        /// District file to serve (repeatable); added to the config's `districts`.
        #[arg(long = "district")]
        districts: Vec<PathBuf>,
        /// Simulated clock start, RFC 3339 with offset (with --speed: the simulator's clock).
        #[arg(long)]
        start: Option<String>,
        /// Simulated seconds per wall second (default 1 when --start is given).
        #[arg(long)]
        speed: Option<f64>,
        /// Replicate each district N times (ids suffixed -001 … -N), as the simulator does.
        #[arg(long, default_value_t = 1)]
        scale: usize,
        /// Override the data folder.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Override the embedded broker's listen address.
        #[arg(long)]
        mqtt_addr: Option<std::net::SocketAddr>,
        /// Override the API's listen address.
        #[arg(long)]
        http_addr: Option<std::net::SocketAddr>,
        /// Override the device port's listen address (`[devices] listen`; port 0 picks one).
        #[arg(long)]
        device_addr: Option<std::net::SocketAddr>,
        /// Override `[devices] credentials`: the device identities' password file (made with
        /// `gateway credentials`), required of every MQTT client of the device port and the
        /// embedded broker.
        #[arg(long, value_name = "FILE")]
        credentials: Option<PathBuf>,
    },
    /// Validate district and gateway configuration files: print what was found, or every
    /// problem with its file and line, and exit non-zero on any problem.
    CheckConfig {
        /// District files (`.toml` with `[district]`) and gateway configs.
        files: Vec<PathBuf>,
    },
    /// Everything in one process: embedded broker, gateway, simulator, API.
    Demo(gateway::demo::DemoArgs),
    /// Manage device identities: who may connect to the device port (and to an external
    /// mosquitto) and what each may publish.
    Credentials(gateway::auth::cli::CredentialsArgs),
    /// Manage the HTTP API's accounts: bearer tokens and their roles (viewer, operator,
    /// parking-app, admin).
    Users(gateway::users::cli::UsersArgs),
    // About and help text: on `CertsArgs`.
    Certs(gateway::tls::cli::CertsArgs),
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match &args.command {
        Command::Demo(a) => {
            if let Err(e) = cli::init_demo_logging(&a.data_dir.join("gateway.log")) {
                eprintln!(
                    "error: cannot write the demo's log into {}: {e}",
                    a.data_dir.display()
                );
                return std::process::ExitCode::FAILURE;
            }
        }
        _ => cli::init_logging(),
    }
    let result = match args.command {
        Command::CheckConfig { files } => return gateway::check::check(&files),
        Command::Run {
            config,
            districts,
            start,
            speed,
            scale,
            data_dir,
            mqtt_addr,
            http_addr,
            device_addr,
            credentials,
        } => run(
            config,
            credentials,
            districts,
            start,
            speed,
            scale,
            data_dir,
            [mqtt_addr, http_addr, device_addr],
        ),
        Command::Demo(a) => runtime().and_then(|rt| rt.block_on(gateway::demo::demo(a))),
        Command::Credentials(a) => {
            gateway::auth::cli::run(a, &mut std::io::stdout().lock()).map_err(Into::into)
        }
        Command::Certs(a) => gateway::tls::cli::run(a, &mut std::io::stdout().lock()),
        Command::Users(a) => a.path().and_then(|path| {
            gateway::users::cli::run(&path, a.command, &mut std::io::stdout().lock())
                .map_err(Into::into)
        }),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

#[allow(clippy::too_many_arguments)]
fn run(
    config: Option<PathBuf>,
    credentials: Option<PathBuf>,
    districts: Vec<PathBuf>,
    start: Option<String>,
    speed: Option<f64>,
    scale: usize,
    data_dir: Option<PathBuf>,
    [mqtt_addr, http_addr, device_addr]: [Option<std::net::SocketAddr>; 3],
) -> anyhow::Result<()> {
    let mut cfg = match &config {
        Some(p) => GatewayConfig::load(p)?,
        None => GatewayConfig::default(),
    };
    cfg.districts.extend(districts);
    if credentials.is_some() {
        cfg.devices.credentials = credentials;
    }
    if let Some(d) = data_dir {
        cfg.store.data_dir = d;
    }
    if let Some(a) = mqtt_addr {
        cfg.broker.listen = a;
    }
    if let Some(a) = http_addr {
        cfg.http.listen = a;
    }
    if let Some(a) = device_addr {
        cfg.devices.listen = a;
    }
    let districts = cli::load_districts(&cfg.districts, scale)?;
    let clock = cli::clock(start.as_deref(), speed)?;
    runtime()?.block_on(async move {
        let gw = gateway::Gateway::start(cfg, districts, clock).await?;
        tokio::signal::ctrl_c().await?;
        tracing::info!("shutting down: draining the pipeline and flushing the store");
        gw.shutdown().await;
        Ok(())
    })
}
