//! The gateway's own configuration file (TOML): which districts, which broker, limits, store,
//! API. Every field has a default; `gateway/gateway.example.toml` shows them all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why the gateway configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GatewayConfigError {
    /// Unreadable file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Bad TOML or a bad value; `line` is 1-based.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// Line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The whole gateway configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Instance id (appears in the status topic and the store); default `gateway-1`.
    pub instance: String,
    /// District files to serve (relative to this file). Default: none (give `--district`).
    pub districts: Vec<PathBuf>,
    /// The MQTT broker: live topics for subscribers, and readings from devices that publish
    /// to it (or to the external broker).
    pub broker: BrokerConfig,
    /// The device port: devices publish straight to the gateway, acknowledged after commit.
    pub devices: crate::transport::DevicesConfig,
    /// Ingest limits.
    pub ingest: IngestConfig,
    /// Live topic publishing.
    pub publish: PublishConfig,
    /// Embedded store.
    pub store: StoreConfig,
    /// HTTP API.
    pub http: HttpConfig,
    /// Alert rules and delivery.
    pub alerts: crate::alerts::config::AlertsConfig,
    /// InfluxDB targets (`[[forward]]`, repeatable): every reading and rollup is forwarded
    /// from the store to each, with its own cursor, batches and retries. Default: none.
    pub forward: Vec<crate::forward::ForwardTarget>,
    /// Parking guidance: signs, reservations.
    pub parking: crate::parking::ParkingConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            instance: "gateway-1".into(),
            districts: Vec::new(),
            broker: BrokerConfig::default(),
            devices: Default::default(),
            ingest: IngestConfig::default(),
            publish: PublishConfig::default(),
            store: StoreConfig::default(),
            http: HttpConfig::default(),
            alerts: Default::default(),
            forward: Vec::new(),
            parking: Default::default(),
        }
    }
}

/// Embedded broker (default) or an external one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// `embedded` (rumqttd in this process) or `external`.
    pub mode: BrokerMode,
    /// Embedded: MQTT 3.1.1 listener address, plaintext. Default `127.0.0.1:1883`. With
    /// `[devices] credentials` the gateway's front listens here and screens what each
    /// identity publishes, and rumqttd listens on a loopback port chosen at each start
    /// (see docs/ARCHITECTURE.md, "Device identity on the device port").
    pub listen: SocketAddr,
    /// External: broker host. Default `127.0.0.1`.
    pub host: String,
    /// External: broker port. Default 1883.
    pub port: u16,
    /// Client id of the gateway's ingest session (persistent with an external broker).
    /// Default `smart-district-gateway`.
    pub client_id: String,
    /// Username for the external broker, or required of clients by the embedded one.
    pub username: Option<String>,
    /// Password (see `username`). Prefer `password_file`.
    pub password: Option<String>,
    /// File holding the password (trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// Largest MQTT packet, bytes, on both ends. Default 65,536 (readings above the gateway's
    /// 4,096-byte reading limit reach it and are dead-lettered; larger packets are refused by
    /// the broker).
    pub max_packet_bytes: usize,
    /// QoS 1 messages in flight per connection (embedded broker and gateway session). Default 2,000.
    pub max_inflight: u16,
    /// Most client connections the embedded broker accepts. Default 10,000.
    pub max_connections: usize,
    /// Embedded: TLS for subscribers, `{ cert, key, client_ca, require_client_cert }` (paths
    /// relative to this file), served on `tls_listen` by the gateway in front of the broker
    /// (rumqttd's own TLS is not used: see docs/ARCHITECTURE.md, "TLS"), screened as on
    /// `listen` with `[devices] credentials`. `listen` stays plaintext: without `[devices]
    /// credentials` the gateway's own sessions use it, so keep it on the loopback. With `client_ca`,
    /// clients may (with `require_client_cert`: must) present a certificate signed by it; the
    /// broker's username and password still apply. Default: none.
    pub tls: Option<crate::tls::TlsConfig>,
    /// Embedded, with `tls`: where subscribers connect over TLS. Default `127.0.0.1:8884`
    /// (port 0 picks a free port).
    pub tls_listen: SocketAddr,
}

/// Which broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerMode {
    /// rumqttd inside the gateway.
    Embedded,
    /// Any MQTT 3.1.1 broker (mosquitto, EMQX).
    External,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            mode: BrokerMode::Embedded,
            listen: "127.0.0.1:1883".parse().expect("valid"),
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "smart-district-gateway".into(),
            username: None,
            password: None,
            password_file: None,
            max_packet_bytes: 65_536,
            max_inflight: 2000,
            max_connections: 10_000,
            tls: None,
            tls_listen: "127.0.0.1:8884".parse().expect("valid"),
        }
    }
}

impl BrokerConfig {
    /// `(username, password)` when both are configured: what the gateway's sessions give an
    /// external broker, and what the embedded broker and the device port require.
    pub fn credentials(&self) -> std::io::Result<Option<(String, String)>> {
        Ok(match (&self.username, self.password()?) {
            (Some(u), Some(p)) => Some((u.clone(), p)),
            _ => None,
        })
    }

    /// The password from `password` or `password_file`.
    pub fn password(&self) -> std::io::Result<Option<String>> {
        match (&self.password, &self.password_file) {
            (Some(p), _) => Ok(Some(p.clone())),
            (None, Some(f)) => Ok(Some(
                std::fs::read_to_string(f)?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
            )),
            (None, None) => Ok(None),
        }
    }
}

/// Ingest limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Readings timestamped further ahead of the gateway's clock are refused (`clock_skew`).
    /// Default `"5min"`.
    #[serde(with = "crate::duration")]
    pub max_future: Duration,
    /// State reports (a fire detector's `normal`, `fault` or `test`, a parking bay's
    /// occupancy) stamped further ahead than this are refused (`clock_skew`), so a report
    /// from the future cannot freeze a state. A fire `alarm` is never refused for its time:
    /// when implausible (beyond `max_future` or `max_late`), missing or unreadable, it is
    /// taken at arrival time, counted and logged. Default `"60s"`.
    #[serde(with = "crate::duration")]
    pub max_future_state: Duration,
    /// Readings older than this behind the clock are refused (`too_late`). Default `"24h"`.
    #[serde(with = "crate::duration")]
    pub max_late: Duration,
    /// Capacity of the queue between MQTT and the pipeline, messages. Default 20,000.
    pub queue: usize,
    /// Most dead letters published per second per district (all are counted and stored).
    /// Default 100.
    pub deadletter_per_sec: u32,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_future: Duration::from_secs(300),
            max_future_state: Duration::from_secs(60),
            max_late: Duration::from_secs(86_400),
            queue: 20_000,
            deadletter_per_sec: 100,
        }
    }
}

/// Live topic publishing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// Each live topic is published on change at most this often, wall ms. Default 1,000.
    pub min_interval_ms: u64,
    /// A minute's rollup is written once readings are this far past it (event time). Default `"5s"`.
    #[serde(with = "crate::duration")]
    pub rollup_grace: Duration,
    /// ...or once the clock is this far past it, whatever has arrived. Default `"2min"`.
    #[serde(with = "crate::duration")]
    pub rollup_close_after: Duration,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            min_interval_ms: 1000,
            rollup_grace: Duration::from_secs(5),
            rollup_close_after: Duration::from_secs(120),
        }
    }
}

/// Embedded store (SQLite, WAL).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Data folder (relative to the config file). Default `data`.
    pub data_dir: PathBuf,
    /// Raw readings are kept this long. Default `"7d"`.
    #[serde(with = "crate::duration")]
    pub raw_retention: Duration,
    /// Minute rollups are kept this long. Default `"400d"`.
    #[serde(with = "crate::duration")]
    pub rollup_retention: Duration,
    /// Most rows in one commit. A batch is committed as soon as the queue drains, so batches
    /// are small at low load and grow under load (group commit). Default 5,000.
    pub batch_rows: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            data_dir: PathBuf::from("data"),
            raw_retention: Duration::from_secs(7 * 86_400),
            rollup_retention: Duration::from_secs(400 * 86_400),
            batch_rows: 5000,
        }
    }
}

/// HTTP API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// The API's accounts (`gateway users`; relative to this file). Default: `users.toml`
    /// in the data folder. Changes apply within seconds, without a restart.
    pub users_file: Option<PathBuf>,
    /// Let callers without a token do everything, as `anonymous` (a warning is logged at
    /// every start). Default false: every call but `/healthz` needs a bearer token.
    pub allow_anonymous: bool,
    /// Open only the parking guidance reads (free spaces, signs, nearest lots, forecasts)
    /// to callers without a token. Default false.
    pub public_parking: bool,
    /// Browser origins (`https://screen.example.org`) allowed to change state and to open
    /// the WebSocket besides the API's own host. Default none: same host only.
    pub allowed_origins: Vec<String>,
    /// Requests per second each account (each address, for callers without a token) may
    /// make on average; more gets 429. Default 50.
    pub requests_per_sec: f64,
    /// Requests an account may make at once above that rate. Default 100.
    pub burst: u32,
    /// HTTPS: `{ cert, key }` (PEM; paths relative to this file). When set, the API serves
    /// HTTPS only, on `listen`; a handshake must finish within 10 s. Default: none (HTTP).
    pub tls: Option<crate::tls::CertKey>,
    /// A browser session (`POST /api/v1/login`) ends after this long without a request.
    /// Default `"30min"`.
    #[serde(with = "crate::duration")]
    pub session_idle: Duration,
    /// A browser session ends this long after the login, however busy. Default `"12h"`.
    #[serde(with = "crate::duration")]
    pub session_lifetime: Duration,
    /// Failed logins from one address, or for one user name, within `login_window` before
    /// further logins from it (or for it) get 429 until the window has passed. Default 5.
    pub login_failures: u32,
    /// The window that failed logins are counted in. Default `"15min"`.
    #[serde(with = "crate::duration")]
    pub login_window: Duration,
    /// Bearer JWTs signed by a city identity provider (Keycloak, …). Default: none (JWTs are
    /// unknown tokens).
    pub jwt: Option<JwtConfig>,
}

/// `[http.jwt]`: how a JWT from an identity provider is verified and mapped to a role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The `iss` a token must carry, e.g. `https://sso.city.example/realms/district`.
    pub issuer: String,
    /// The `aud` a token must carry (one of its audiences), e.g. `district-gateway`.
    pub audience: String,
    /// The provider's public key, PEM (RSA or EC; relative to this file). This or `jwks`.
    pub public_key: Option<PathBuf>,
    /// The provider's keys as a JWKS JSON file (keys chosen by the token's `kid`; relative
    /// to this file). This or `public_key`. Read at start.
    pub jwks: Option<PathBuf>,
    /// Accepted signature algorithms: RS256, RS384, RS512, PS256, PS384, PS512, ES256,
    /// ES384 (never `none`, never HS*). Default `["RS256", "ES256"]`.
    #[serde(default = "JwtConfig::default_algorithms")]
    pub algorithms: Vec<String>,
    /// The claim naming the user: the audit trail's `who`. Default `preferred_username`.
    #[serde(default = "JwtConfig::default_user_claim")]
    pub user_claim: String,
    /// The claim holding the user's roles, a dotted path to a list of strings (or one
    /// string). Default `realm_access.roles` (Keycloak's realm roles).
    #[serde(default = "JwtConfig::default_roles_claim")]
    pub roles_claim: String,
    /// The provider's role names mapped to the API's roles (`viewer`, `operator`,
    /// `parking-app`, `admin`), e.g. `{ district-operator = "operator" }`. The highest
    /// mapped role wins (admin, operator, viewer, parking-app); none mapped → 403.
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, String>,
    /// Clock skew allowed on `exp` and `nbf`. Default `"30s"`.
    #[serde(with = "crate::duration", default = "JwtConfig::default_leeway")]
    pub leeway: Duration,
}

impl JwtConfig {
    fn default_algorithms() -> Vec<String> {
        vec!["RS256".into(), "ES256".into()]
    }
    fn default_user_claim() -> String {
        "preferred_username".into()
    }
    fn default_roles_claim() -> String {
        "realm_access.roles".into()
    }
    fn default_leeway() -> Duration {
        Duration::from_secs(30)
    }

    /// With its key files relative to `base`.
    pub fn resolved(mut self, base: &Path) -> Self {
        for f in [self.public_key.as_mut(), self.jwks.as_mut()]
            .into_iter()
            .flatten()
        {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        self
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".parse().expect("valid"),
            users_file: None,
            allow_anonymous: false,
            public_parking: false,
            allowed_origins: Vec::new(),
            requests_per_sec: 50.0,
            burst: 100,
            tls: None,
            session_idle: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 3600),
            login_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            jwt: None,
        }
    }
}

impl GatewayConfig {
    /// How the gateway's own MQTT listeners take clients, or why it must not start
    /// (anonymous clients without `[devices] allow_anonymous`).
    pub fn mqtt_admission(
        &self,
    ) -> Result<crate::auth::required::Admission, crate::auth::required::AnonymousRefused> {
        crate::auth::required::check(crate::auth::required::Listeners {
            device_port: self.devices.enabled,
            embedded_broker: self.broker.mode == BrokerMode::Embedded,
            identities: self.devices.credentials.is_some(),
            shared_password: self.broker.username.is_some(),
            allow_anonymous: self.devices.allow_anonymous,
        })
    }

    /// Loads a configuration file; relative paths inside it are resolved against its folder.
    pub fn load(path: &Path) -> Result<Self, GatewayConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| GatewayConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg: GatewayConfig = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1);
            GatewayConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                message: e.message().to_string(),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        cfg.districts = cfg.districts.iter().map(|d| base.join(d)).collect();
        if cfg.store.data_dir.is_relative() {
            cfg.store.data_dir = base.join(&cfg.store.data_dir);
        }
        if let Some(f) = cfg.http.users_file.as_mut() {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        if let Some(f) = cfg.broker.password_file.as_mut() {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        cfg.devices.tls = cfg.devices.tls.map(|t| t.resolved(base));
        cfg.broker.tls = cfg.broker.tls.map(|t| t.resolved(base));
        cfg.http.tls = cfg.http.tls.map(|t| t.resolved(base));
        cfg.http.jwt = cfg.http.jwt.map(|j| j.resolved(base));
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_loads_and_errors_name_the_line() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("gateway.example.toml");
        let cfg = GatewayConfig::load(&example).unwrap();
        assert_eq!(cfg.broker.mode, BrokerMode::Embedded);
        assert_eq!(cfg.ingest.max_future, Duration::from_secs(300));
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            "instance = \"x\"\n[ingest]\nmax_future = \"5 parsecs\"\n",
        )
        .unwrap();
        let e = GatewayConfig::load(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml:3") && e.contains("not a duration"),
            "{e}"
        );
    }
}
