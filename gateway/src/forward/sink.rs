//! The InfluxDB client of one target (`influxdb2`, rustls, no OpenSSL): one POST to
//! `/api/v2/write?org=…&bucket=…&precision=ms` per batch, and what its outcome means for the
//! batch. The crate has no retry and no buffer; `task.rs` retries and the store buffers.

use std::time::Duration;

use influxdb2::api::write::TimestampPrecision;
use influxdb2::RequestError;

use super::config::{ForwardTarget, Token};

/// What to do with a batch after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (2xx): advance the cursor.
    Accepted,
    /// Failed for a reason that may pass (server down, overloaded, token or bucket not yet
    /// right): retry the same batch after a backoff. The reason labels the failure metric.
    Retry(&'static str),
    /// The server refused the request as too large (413): send smaller batches.
    TooLarge,
    /// The server refused the points themselves (400, 422, …): retrying cannot help, so the
    /// batch is dropped, counted and logged rather than blocking the target forever.
    Rejected(String),
}

/// One target's client.
pub struct Sink {
    client: influxdb2::Client,
    org: String,
    bucket: String,
    timeout: Duration,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("org", &self.org)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl Sink {
    /// A client for `t` (its URL already validated) with `token`.
    pub fn new(t: &ForwardTarget, token: &Token) -> Result<Self, String> {
        let client =
            influxdb2::ClientBuilder::new(t.url.as_str(), t.org.as_str(), token.0.as_str())
                .build()
                .map_err(|e| format!("[[forward]] \"{}\": {e}", t.name))?;
        Ok(Sink {
            client,
            org: t.org.clone(),
            bucket: t.bucket.clone(),
            timeout: t.timeout,
        })
    }

    /// Sends one batch of line protocol.
    pub async fn write(&self, body: String) -> Outcome {
        let req = self.client.write_line_protocol_with_precision(
            &self.org,
            &self.bucket,
            body,
            TimestampPrecision::Milliseconds,
        );
        match tokio::time::timeout(self.timeout, req).await {
            Err(_) => Outcome::Retry("timeout"),
            Ok(Ok(())) => Outcome::Accepted,
            Ok(Err(e)) => classify(&e),
        }
    }
}

fn classify(e: &RequestError) -> Outcome {
    match e {
        RequestError::ReqwestProcessing { source } => {
            if source.is_timeout() {
                Outcome::Retry("timeout")
            } else if source.is_connect() {
                Outcome::Retry("connect")
            } else {
                Outcome::Retry("request")
            }
        }
        RequestError::Http { status, text } => by_status(status.as_u16(), text),
        RequestError::Serializing { .. } | RequestError::Deserializing { .. } => {
            Outcome::Retry("response")
        }
    }
}

/// The outcome of an HTTP status other than 204.
pub fn by_status(status: u16, text: &str) -> Outcome {
    match status {
        200..=299 => Outcome::Accepted,
        401 | 403 => Outcome::Retry("auth"),
        404 => Outcome::Retry("not_found"),
        408 => Outcome::Retry("timeout"),
        413 => Outcome::TooLarge,
        429 => Outcome::Retry("throttled"),
        400..=499 => {
            let mut t: String = text.chars().take(300).collect();
            t.insert_str(0, &format!("HTTP {status}: "));
            Outcome::Rejected(t)
        }
        500..=599 => Outcome::Retry("http_5xx"),
        _ => Outcome::Retry("http_other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_retry_shrink_or_drop() {
        assert_eq!(by_status(204, ""), Outcome::Accepted);
        assert_eq!(by_status(401, ""), Outcome::Retry("auth"));
        assert_eq!(
            by_status(404, "bucket not found"),
            Outcome::Retry("not_found")
        );
        assert_eq!(by_status(503, ""), Outcome::Retry("http_5xx"));
        assert_eq!(by_status(429, ""), Outcome::Retry("throttled"));
        assert_eq!(by_status(413, ""), Outcome::TooLarge);
        assert!(
            matches!(by_status(400, "field type conflict"), Outcome::Rejected(t) if t.contains("conflict"))
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_failure() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = ForwardTarget::new("x", &format!("http://127.0.0.1:{port}"), "o", "b");
        let s = Sink::new(&t, &Token::default()).unwrap();
        assert_eq!(
            s.write("m f=1i 1\n".into()).await,
            Outcome::Retry("connect")
        );
    }
}
