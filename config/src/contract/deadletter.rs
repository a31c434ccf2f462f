//! A rejected message on `district/{d}/deadletter`.

use serde::{Deserialize, Serialize};

/// The most payload bytes kept in a dead letter.
pub const MAX_DEADLETTER_PAYLOAD: usize = 1024;

/// A rejected message and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The topic it arrived on.
    pub topic: String,
    /// Stable reason code (`malformed`, `unknown_device`, `out_of_range`, ...).
    pub reason: String,
    /// Details in words.
    pub detail: String,
    /// The payload as text (lossy UTF-8), cut to [`MAX_DEADLETTER_PAYLOAD`] bytes.
    pub payload: String,
    /// The payload's full size in bytes.
    pub bytes: usize,
    /// Whether `payload` was cut.
    pub truncated: bool,
    /// When the gateway received it (gateway clock).
    pub received_at: String,
}

impl DeadLetter {
    /// A dead letter for `payload`, cut to the limit on a character boundary.
    pub fn new(
        topic: &str,
        reason: &str,
        detail: String,
        payload: &[u8],
        received_at: String,
    ) -> Self {
        let cut = payload.len().min(MAX_DEADLETTER_PAYLOAD);
        let mut text = String::from_utf8_lossy(&payload[..cut]).into_owned();
        if text.len() > MAX_DEADLETTER_PAYLOAD {
            let mut end = MAX_DEADLETTER_PAYLOAD;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        DeadLetter {
            topic: topic.to_string(),
            reason: reason.to_string(),
            detail,
            payload: text,
            bytes: payload.len(),
            truncated: cut < payload.len(),
            received_at,
        }
    }
}
