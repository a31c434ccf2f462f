//! What a run did: counts per kind and per district, the rate reached, what the broker
//! acknowledged, and every malformed message injected.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use district::contract::time::format_millis;

use crate::malformed::Variety;
use crate::world::{Outgoing, What};

/// A malformed message as injected (also one line of `--injected FILE`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InjectedRecord {
    /// Topic.
    pub topic: String,
    /// Payload size, bytes.
    pub payload_len: usize,
    /// Variety name (`bad_json`, …).
    pub variety: &'static str,
    /// The reason the gateway should give (`malformed`, `out_of_range`, `unknown_device`,
    /// `oversized`, `clock_skew`, `missing_field`, `bad_timestamp`).
    pub expected_reason: &'static str,
    /// District (replica) id.
    pub district: String,
    /// Simulated time it was sent, RFC 3339 UTC.
    pub sim_time: String,
    /// The exact payload, as text (every variety is valid UTF-8).
    pub payload: String,
}

impl InjectedRecord {
    pub(crate) fn new(o: &Outgoing, v: Variety, district: &str) -> Self {
        InjectedRecord {
            topic: o.topic.clone(),
            payload_len: o.payload.len(),
            variety: v.name(),
            expected_reason: v.expected_reason(),
            district: district.to_string(),
            sim_time: format_millis(o.ts_ms),
            payload: String::from_utf8_lossy(&o.payload).into_owned(),
        }
    }
}

/// The summary of a run, printed by `sensors-sim` on exit.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunSummary {
    /// Messages handed to the MQTT client (generated, with `dry_run`), truth included.
    pub published: u64,
    /// Per kind: `footfall`, `parking`, `air`, `energy`, `fire`, `truth`, `malformed`.
    pub per_kind: BTreeMap<String, u64>,
    /// Per district id (replica), everything included.
    pub per_district: BTreeMap<String, u64>,
    /// Malformed messages injected by the scenario.
    pub malformed_injected: u64,
    /// QoS 1 messages handed over (truth included).
    pub qos1: u64,
    /// QoS 1 messages the broker acknowledged.
    pub acked: u64,
    /// Every publish was written and every QoS 1 message acknowledged before disconnecting.
    pub delivered_all: bool,
    /// Simulated start and end (RFC 3339 UTC).
    pub sim_start: String,
    /// Simulated time reached.
    pub sim_end: String,
    /// Simulated time covered.
    pub sim_elapsed: Duration,
    /// Wall time of the run, the final flush included.
    pub wall_elapsed: Duration,
    /// Messages per wall second (published and, at QoS 1, acknowledged).
    pub rate_per_s: f64,
    /// Generated without a broker.
    pub dry_run: bool,
    /// Cars turned away from full lots.
    pub cars_turned_away: u64,
    /// Stopped by the shutdown signal (Ctrl-C) rather than by `duration`.
    pub interrupted: bool,
    /// Every malformed message injected, in order.
    pub injected: Vec<InjectedRecord>,
}

impl RunSummary {
    /// Counts one message.
    pub(crate) fn count(&mut self, o: &Outgoing, district: &str, qos1: bool) {
        self.published += 1;
        if qos1 {
            self.qos1 += 1;
        }
        let kind = match o.what {
            What::Reading { kind, .. } => kind.as_str(),
            What::Truth { .. } => "truth",
            What::Injected { .. } => {
                self.malformed_injected += 1;
                "malformed"
            }
        };
        match self.per_kind.get_mut(kind) {
            Some(n) => *n += 1,
            None => {
                self.per_kind.insert(kind.to_string(), 1);
            }
        }
        match self.per_district.get_mut(district) {
            Some(n) => *n += 1,
            None => {
                self.per_district.insert(district.to_string(), 1);
            }
        }
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulated {} → {} ({}) in {:.1} s wall",
            self.sim_start,
            self.sim_end,
            humantime::format_duration(self.sim_elapsed),
            self.wall_elapsed.as_secs_f64()
        )?;
        let verb = if self.dry_run {
            "generated (dry run)"
        } else {
            "published"
        };
        writeln!(
            f,
            "{verb} {} messages ({:.0} msg/s)",
            self.published, self.rate_per_s
        )?;
        let kinds: Vec<String> = self
            .per_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(f, "  by kind: {}", kinds.join(", "))?;
        if self.per_district.len() <= 5 {
            let ds: Vec<String> = self
                .per_district
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            writeln!(f, "  by district: {}", ds.join(", "))?;
        } else {
            let (lo, hi) = (
                self.per_district.values().min(),
                self.per_district.values().max(),
            );
            writeln!(
                f,
                "  by district: {} districts, {}–{} each",
                self.per_district.len(),
                lo.unwrap_or(&0),
                hi.unwrap_or(&0)
            )?;
        }
        writeln!(f, "  malformed injected: {}", self.malformed_injected)?;
        writeln!(
            f,
            "  cars turned away from full lots: {}",
            self.cars_turned_away
        )?;
        if self.dry_run {
            let stop = if self.interrupted {
                ", interrupted"
            } else {
                ""
            };
            return write!(f, "nothing sent (dry run){stop}");
        }
        write!(
            f,
            "QoS 1 acknowledged: {}/{}{}{}",
            self.acked,
            self.qos1,
            if self.delivered_all {
                " (all delivered)"
            } else {
                " (NOT all delivered)"
            },
            if self.interrupted {
                ", interrupted"
            } else {
                ""
            }
        )
    }
}
