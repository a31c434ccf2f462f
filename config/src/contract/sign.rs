//! Guidance sign frames: what a sign shows, structured and as plain text.

use serde::{Deserialize, Serialize};

use crate::model::{Arrow, Names};

/// State of one sign line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    /// Shows a free count.
    Free,
    /// Shows 满 / FULL.
    Full,
    /// The lot is closed.
    Closed,
    /// The lot's data is stale: no number is shown.
    Stale,
}

/// One line of a sign frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignLineFrame {
    /// Lot id.
    pub lot: String,
    /// Label.
    pub label: Names,
    /// Arrow.
    pub arrow: Arrow,
    /// State.
    pub state: LineState,
    /// Free spaces shown (None unless `state` is `free`).
    pub free: Option<u32>,
    /// The exact text of this line on a plain LED sign.
    pub text: String,
    /// A forecast note for signs that show one (e.g. `预计15分钟后满`), only where the gateway
    /// is configured to put forecasts on signs and the lot is expected to fill within an hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `district/{d}/signs/{sign}` (retained, QoS 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignFrame {
    /// Sign id.
    pub sign: String,
    /// When the frame was computed (gateway clock).
    pub ts: String,
    /// Lines, top to bottom.
    pub lines: Vec<SignLineFrame>,
    /// The whole plain-text rendering: each line's `text`, joined by `\n` (what a plain
    /// two-line LED sign shows, character for character). Added in contract 1.x; absent in
    /// older frames.
    #[serde(default)]
    pub text: String,
}
