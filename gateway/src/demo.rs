//! `gateway demo`: the embedded broker, the gateway, the simulator and the API in one process.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use district::clock::Clock;

use crate::config::GatewayConfig;

/// Options of the demo.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Embedded broker address (live topics, signs, alerts: where the twin and dashboards
    /// subscribe).
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub mqtt_addr: SocketAddr,
    /// Device port address (where the simulated devices publish their readings).
    #[arg(long, default_value = "127.0.0.1:1884")]
    pub device_addr: SocketAddr,
    /// API address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// Data folder (default: ./data/demo). The demo starts it afresh each run: the simulated
    /// day restarts, so yesterday's demo readings would otherwise collide with today's.
    #[arg(long, default_value = "data/demo")]
    pub data_dir: PathBuf,
    /// District file (default: the example Hubin district).
    #[arg(long)]
    pub district: Option<PathBuf>,
    /// Simulated seconds per wall second.
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// Simulated start, RFC 3339 with offset (default: today 09:00 in the district's time zone).
    #[arg(long)]
    pub start: Option<String>,
    /// Simulator scenario file (fires, crowd surges, pollution, silent devices, malformed
    /// bursts). Default: the drill shipped with the simulator (`sensors-sim/scenarios/drill.toml`).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Stop after this much simulated time (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<String>,
    /// The 3D twin beside the demo: `auto` opens its window when a display is present and
    /// otherwise rewrites a PNG snapshot (`DATA_DIR/twin.png`) every `--twin-every` seconds.
    #[arg(long, value_enum, default_value = "auto")]
    pub twin: crate::demo_twin::TwinMode,
    /// The twin binary (default: `twin` beside this executable, else on PATH).
    #[arg(long)]
    pub twin_bin: Option<PathBuf>,
    /// Seconds between the twin's snapshots.
    #[arg(long, default_value_t = 30.0)]
    pub twin_every: f64,
    /// The log of a background build of the twin (`scripts/demo.sh` writes one): the demo
    /// starts at once, shows the build's progress, and starts the twin when the log's last
    /// line reports success.
    #[arg(long)]
    pub twin_build_log: Option<PathBuf>,
}

/// The demo's own API account.
pub const DEMO_ACCOUNT: &str = "demo";

/// The file in the data folder that holds the demo's token (mode 0600), for scripts.
pub const DEMO_TOKEN_FILE: &str = "demo.token";

/// The demo's MQTT identities: the simulator publishes for every device as a bridge; the
/// twin and the security desk read.
pub const DEMO_SIM: &str = "sim";
/// The twin's reader identity in the demo.
pub const DEMO_TWIN: &str = "twin";
/// The security desk's reader identity in the demo (`mosquitto_sub` in the tour).
pub const DEMO_DESK: &str = "desk";

/// Where the demo's MQTT identities and their secrets are (files of the data folder, mode
/// 0600).
struct DemoLogins {
    passwd: std::path::PathBuf,
    sim: std::path::PathBuf,
    twin: std::path::PathBuf,
    desk: std::path::PathBuf,
}

/// Makes the demo's MQTT identities with new secrets in the data folder (`devices.passwd`,
/// and each secret in `{id}.secret`), so the demo runs with authentication on, as
/// `gateway run` does by default.
fn demo_identities(
    data_dir: &std::path::Path,
    d: &district::District,
) -> anyhow::Result<DemoLogins> {
    use crate::auth::provision;
    std::fs::create_dir_all(data_dir)?;
    let passwd = data_dir.join("devices.passwd");
    let secret_file = |id: &str, identity| -> anyhow::Result<std::path::PathBuf> {
        let secret = provision::upsert(&passwd, identity)?;
        let f = data_dir.join(format!("{id}.secret"));
        crate::auth::file::write_private(&f, format!("{secret}\n").as_bytes())?;
        Ok(f)
    };
    let sim = secret_file(
        DEMO_SIM,
        provision::bridge_for(DEMO_SIM, std::slice::from_ref(d))?,
    )?;
    let twin = secret_file(DEMO_TWIN, provision::reader(DEMO_TWIN)?)?;
    let desk = secret_file(DEMO_DESK, provision::reader(DEMO_DESK)?)?;
    Ok(DemoLogins {
        passwd,
        sim,
        twin,
        desk,
    })
}

/// Gives the demo's operator account a new token in the data folder's users file (adding
/// the account on the first start) and keeps the token in [`DEMO_TOKEN_FILE`]; the token.
fn demo_token(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let users = crate::users::file::default_path(None, data_dir);
    let token = crate::users::cli::upsert(&users, DEMO_ACCOUNT, crate::users::ApiRole::Operator)?;
    crate::auth::file::write_private(
        &data_dir.join(DEMO_TOKEN_FILE),
        format!("{token}\n").as_bytes(),
    )?;
    Ok(token)
}

/// Runs the demo until Ctrl-C or `--duration`.
pub async fn demo(a: DemoArgs) -> anyhow::Result<()> {
    let path = a
        .district
        .clone()
        .unwrap_or_else(crate::cli::example_district);
    let d = district::load(&path)?;
    let start: DateTime<FixedOffset> = match &a.start {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .with_context(|| format!("--start \"{s}\" is not RFC 3339 with an offset"))?,
        None => {
            let tz = d.calendar.timezone;
            let today = Utc::now().with_timezone(&tz).date_naive();
            let nine = tz
                .from_local_datetime(&today.and_hms_opt(9, 0, 0).expect("valid time"))
                .earliest()
                .context("no 09:00 today in the district's time zone")?;
            nine.fixed_offset()
        }
    };
    let clock = Clock::simulated(start.with_timezone(&Utc), a.speed);
    if a.data_dir.join(crate::store::schema::FILE).exists() {
        for f in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(
                a.data_dir
                    .join(format!("{}{f}", crate::store::schema::FILE)),
            );
        }
    }
    let mut cfg = GatewayConfig::default();
    cfg.broker.listen = a.mqtt_addr;
    cfg.devices.listen = a.device_addr;
    cfg.http.listen = a.http_addr;
    cfg.store.data_dir = a.data_dir.clone();
    let token = demo_token(&a.data_dir)?;
    let logins = demo_identities(&a.data_dir, &d)?;
    cfg.devices.credentials = Some(logins.passwd.clone());
    let gw = crate::Gateway::start(cfg, vec![d.clone()], clock).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_rx_twin = stop_rx.clone();
    let sim = sensors_sim::SimOptions {
        config: path.clone(),
        broker: gw
            .device_addr
            .map(|d| d.to_string())
            .unwrap_or_else(|| gw.mqtt_addr.clone()),
        speed: sensors_sim::Speed::Factor(a.speed),
        start: Some(start),
        duration: a
            .duration
            .as_deref()
            .map(humantime::parse_duration)
            .transpose()
            .context("--duration")?,
        scenario: a.scenario.clone().or_else(|| {
            let drill = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../sensors-sim/scenarios/drill.toml");
            drill.exists().then_some(drill)
        }),
        shutdown: Some(stop_rx),
        security: district::client::ClientSecurity {
            username: Some(DEMO_SIM.into()),
            password_file: Some(logins.sim.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let scenario = match &sim.scenario {
        Some(p) => Some(sensors_sim::scenario::Scenario::load(p, &d)?),
        None => None,
    };
    let sim_task = tokio::spawn(sensors_sim::run(sim, clock));
    println!(
        "district demo: {} ({} / {}), simulated from {start} at {}x",
        d.id, d.names.zh, d.names.en, a.speed
    );
    let mqtt_login = format!("-u {DEMO_DESK} -P \"$(cat {})\"", logins.desk.display());
    println!(
        "  MQTT     mqtt://{}   (every topic: mosquitto_sub -p {} {mqtt_login} -t 'district/{}/#' -v)",
        gw.mqtt_addr,
        a.mqtt_addr.port(),
        d.id
    );
    println!(
        "  logins   MQTT identities in {} (new secrets on every start): \"{DEMO_SIM}\" (the simulated devices), \"{DEMO_TWIN}\" (the twin), \"{DEMO_DESK}\" (the security desk)",
        logins.passwd.display()
    );
    if let Some(dev) = gw.device_addr {
        println!("  devices  mqtt://{dev}   (the simulated devices publish here; each reading acknowledged once stored)");
    }
    println!(
        "  API      http://{}/api/v1/districts/{}/summary   .../zones .../lots .../air .../energy .../alerts, /metrics",
        gw.http_addr, d.id
    );
    println!(
        "  token    {token}   (operator \"{DEMO_ACCOUNT}\", new on every start; also in {})",
        a.data_dir.join(DEMO_TOKEN_FILE).display()
    );
    println!(
        "  WS       ws://{}/api/v1/ws?access_token=TOKEN",
        gw.http_addr
    );
    println!("  data     {}", a.data_dir.display());
    println!(
        "  log      {}   (only warnings show here)",
        a.data_dir.join("gateway.log").display()
    );
    let joiner = twin_joiner(&a, &path, gw.mqtt_addr.as_str(), &logins);
    println!("  twin     {}", joiner.banner());
    println!();
    let tour = crate::demo_tour::Tour {
        district: &d,
        http: gw.http_addr,
        mqtt_port: a.mqtt_addr.port(),
        speed: a.speed,
        scenario: scenario.as_ref(),
        data_dir: &a.data_dir,
        token: &token,
        mqtt_login: &mqtt_login,
    };
    for line in crate::demo_tour::lines(&tour) {
        println!("{line}");
    }
    println!();
    println!("Ctrl-C stops the demo.");
    let twin = tokio::spawn(joiner.run(stop_rx_twin));
    let status = tokio::spawn(print_status(gw.shared.clone(), d.clone()));
    let mut sim_task = sim_task;
    tokio::select! {
        r = tokio::signal::ctrl_c() => { r?; }
        r = &mut sim_task => {
            match r {
                Ok(Ok(summary)) => println!("simulation finished: {summary:?}"),
                Ok(Err(e)) => eprintln!("simulator stopped: {e:#}"),
                Err(e) => eprintln!("simulator task failed: {e}"),
            }
        }
    }
    status.abort();
    let _ = stop_tx.send(true);
    let _ = twin.await;
    gw.shutdown().await;
    Ok(())
}

/// Prints how the district stands every 30 s of wall time.
async fn print_status(shared: std::sync::Arc<crate::shared::Shared>, d: district::District) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
    every.tick().await;
    loop {
        every.tick().await;
        let Some(h) = shared.district(&d.id) else {
            return;
        };
        let Some((now, summary)) = h.owner.ask(|c, now| (now, c.summary(now))).await else {
            return;
        };
        let stored = shared.metrics.accepted.load(Relaxed);
        println!(
            "{}",
            crate::demo_tour::status_line(&d, now, &summary, stored)
        );
    }
}

/// What the demo's options say about the twin.
fn twin_joiner(
    a: &DemoArgs,
    district: &std::path::Path,
    broker: &str,
    logins: &DemoLogins,
) -> crate::demo_twin_build::Joiner {
    use crate::demo_twin as dt;
    let broker = broker
        .parse()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], a.mqtt_addr.port())));
    crate::demo_twin_build::Joiner {
        plan: dt::plan(a.twin, dt::display_present()),
        bin: a.twin_bin.clone(),
        launch: dt::TwinLaunch {
            district: district.to_path_buf(),
            broker,
            snapshot: a.data_dir.join("twin.png"),
            every_s: a.twin_every.max(1.0),
            login: Some((DEMO_TWIN.into(), logins.twin.clone())),
        },
        log: a.data_dir.join("twin.log"),
        build_log: a.twin_build_log.clone(),
    }
}
