//! `"5min"`-style durations in configuration files (`humantime`), for serde's `with`:
//! `#[serde(with = "crate::duration")]`, or `crate::duration::optional` for an `Option`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration written as text, e.g. `"5s"`, `"2min"`, `"24h"`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "\"{s}\" is not a duration ({e}); write e.g. \"200ms\", \"5s\", \"2min\", \"24h\""
        ))
    })
}

/// An optional duration written as text.
pub mod optional {
    use std::time::Duration;

    use serde::Deserializer;

    /// As [`super::deserialize`], present.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::deserialize(d).map(Some)
    }
}
