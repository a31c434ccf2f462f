//! `[[forward]]`: one InfluxDB (or `/api/v2/write`-compatible) target per table. Every field
//! but `name`, `url`, `org` and `bucket` has a default; `gateway/gateway.example.toml` shows them.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// One forward target: where to send, how to authenticate, how to batch and retry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardTarget {
    /// Unique name: it names the target's cursor in the store and labels its metrics
    /// (`target="..."`). Renaming a target starts a new cursor (a full backfill).
    pub name: String,
    /// Base URL, e.g. `http://influxdb:8086`. A query string is kept and sent with every write
    /// (VictoriaMetrics: `?extra_label=bucket=district` adds a label).
    pub url: String,
    /// Organization (InfluxDB 2.x).
    pub org: String,
    /// Bucket.
    pub bucket: String,
    /// Environment variable holding the API token (never logged). Default: none.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the API token, trailing newline ignored (a relative path is taken from the
    /// gateway's working directory).
    /// Default: none. With neither `token_env` nor `token_file`, writes carry no token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Most points in one write request. Default 5,000.
    #[serde(default = "default_batch_points")]
    pub batch_points: usize,
    /// A batch smaller than `batch_points` is sent once its oldest point waited this long
    /// (wall time). Default `"1s"`.
    #[serde(default = "default_batch_age", with = "crate::duration")]
    pub batch_age: Duration,
    /// How often the store is checked for new rows when nothing is waiting. Default `"200ms"`.
    #[serde(default = "default_poll", with = "crate::duration")]
    pub poll: Duration,
    /// One write request may take this long before it counts as failed (`timeout`). Default `"10s"`.
    #[serde(default = "default_timeout", with = "crate::duration")]
    pub timeout: Duration,
    /// First retry delay; doubles per failed attempt up to `retry_max`, with jitter. Default `"200ms"`.
    #[serde(default = "default_retry_min", with = "crate::duration")]
    pub retry_min: Duration,
    /// Longest retry delay. Default `"30s"`.
    #[serde(default = "default_retry_max", with = "crate::duration")]
    pub retry_max: Duration,
    /// When more raw readings than this wait (after an outage), live readings are sent in a
    /// lane of their own beside the backlog, so the newest data is not stuck behind days of
    /// history. Default 50,000.
    #[serde(default = "default_live_lane_after")]
    pub live_lane_after: u64,
    /// Forward raw readings. Default true.
    #[serde(default = "yes")]
    pub readings: bool,
    /// Forward minute rollups (zone, parking_lot, aqi, building). Default true.
    #[serde(default = "yes")]
    pub rollups: bool,
    /// Seed of the retry jitter (tests); default: random per start.
    #[serde(default)]
    pub jitter_seed: Option<u64>,
}

fn default_batch_points() -> usize {
    5000
}
fn default_batch_age() -> Duration {
    Duration::from_secs(1)
}
fn default_poll() -> Duration {
    Duration::from_millis(200)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_retry_min() -> Duration {
    Duration::from_millis(200)
}
fn default_retry_max() -> Duration {
    Duration::from_secs(30)
}
fn default_live_lane_after() -> u64 {
    50_000
}
fn yes() -> bool {
    true
}

impl ForwardTarget {
    /// A target with every default (tests and programmatic use).
    pub fn new(name: &str, url: &str, org: &str, bucket: &str) -> Self {
        ForwardTarget {
            name: name.into(),
            url: url.into(),
            org: org.into(),
            bucket: bucket.into(),
            token_env: None,
            token_file: None,
            batch_points: default_batch_points(),
            batch_age: default_batch_age(),
            poll: default_poll(),
            timeout: default_timeout(),
            retry_min: default_retry_min(),
            retry_max: default_retry_max(),
            live_lane_after: default_live_lane_after(),
            readings: true,
            rollups: true,
            jitter_seed: None,
        }
    }

    /// Checks what serde cannot: a parsable http(s) URL, sane limits.
    pub fn validate(&self) -> Result<(), String> {
        let who = format!("[[forward]] \"{}\"", self.name);
        if self.name.trim().is_empty() {
            return Err("[[forward]] needs a non-empty name".into());
        }
        match url::Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(_) => {
                return Err(format!(
                    "{who}: url \"{}\" is not http(s)://HOST[:PORT]",
                    self.url
                ))
            }
            Err(e) => return Err(format!("{who}: url \"{}\": {e}", self.url)),
        }
        if self.batch_points == 0 {
            return Err(format!("{who}: batch_points must be at least 1"));
        }
        if self.retry_min.is_zero() || self.retry_max < self.retry_min {
            return Err(format!("{who}: need 0 < retry_min <= retry_max"));
        }
        Ok(())
    }

    /// The token from `token_env` or `token_file` (empty: none).
    pub fn token(&self) -> Result<Token, String> {
        if let Some(var) = &self.token_env {
            return std::env::var(var).map(Token).map_err(|_| {
                format!(
                    "[[forward]] \"{}\": environment variable {var} (token_env) is not set",
                    self.name
                )
            });
        }
        if let Some(f) = &self.token_file {
            return std::fs::read_to_string(f)
                .map(|t| Token(t.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|e| {
                    format!(
                        "[[forward]] \"{}\": token_file {}: {e}",
                        self.name,
                        f.display()
                    )
                });
        }
        Ok(Token(String::new()))
    }
}

/// Checks a list of targets: each valid, names unique.
pub fn validate_all(targets: &[ForwardTarget]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for t in targets {
        t.validate()?;
        if !seen.insert(t.name.as_str()) {
            return Err(format!("[[forward]] name \"{}\" is used twice", t.name));
        }
    }
    Ok(())
}

/// An API token. Its `Debug` never shows it.
#[derive(Clone, Default)]
pub struct Token(pub(crate) String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Token(none)"
        } else {
            "Token(***)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_and_the_token_is_never_shown() {
        let t: ForwardTarget = toml::from_str(
            "name = \"a\"\nurl = \"http://127.0.0.1:8086\"\norg = \"o\"\nbucket = \"b\"\ntoken_env = \"FWD_TEST_TOKEN_X\"\nbatch_age = \"2s\"\n",
        )
        .unwrap();
        assert_eq!(t.batch_points, 5000);
        assert_eq!(t.batch_age, Duration::from_secs(2));
        t.validate().unwrap();
        assert!(t.token().unwrap_err().contains("FWD_TEST_TOKEN_X"));
        std::env::set_var("FWD_TEST_TOKEN_X", "s3cret");
        let tok = t.token().unwrap();
        assert_eq!(format!("{tok:?}"), "Token(***)");
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn bad_urls_and_duplicate_names_are_refused() {
        let mut t = ForwardTarget::new("a", "influx:8086", "o", "b");
        assert!(t.validate().unwrap_err().contains("url"));
        t.url = "http://127.0.0.1:8428/?extra_label=x=y".into();
        t.validate().unwrap();
        let e = validate_all(&[t.clone(), t]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
