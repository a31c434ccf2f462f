//! What has been counted and what has been published: the publishing state machine, with no
//! I/O (the MQTT task in [`crate::publish`] drives it).
//!
//! A footfall reading carries the counts *since the previous reading*, so a reading that is lost
//! loses people. The ledger never loses them:
//! - crossings are added to the *pending* counts as they happen;
//! - at each interval the pending counts become one reading (`seq` n, the time of the tick),
//!   which is *in flight* until the broker acknowledges it (QoS 1 PUBACK for its packet id);
//! - only one reading is in flight at a time; ticks while it is unacknowledged leave the counts
//!   pending, so they are merged (summed) into the next reading, never dropped;
//! - after a reconnect the reading in flight is sent again with the same `seq` and `ts`, which
//!   the gateway's duplicate check ((device, seq, ts)) drops if the first copy did arrive.
//!
//! What is lost: counts held in memory when the process dies (at most one interval plus what
//! was waiting on a broker outage). A reading never exceeds the contract's
//! [`district::contract::reading::MAX_COUNT`]; a larger backlog goes out over several readings.

use district::contract::reading::MAX_COUNT;
use serde::Serialize;

/// One reading to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Sequence number.
    pub seq: u64,
    /// Event time, epoch milliseconds.
    pub ts_ms: i64,
    /// People in since the previous reading.
    pub ins: u32,
    /// People out since the previous reading.
    pub outs: u32,
}

#[derive(Serialize)]
struct Wire<'a> {
    ts: &'a str,
    seq: u64,
    #[serde(rename = "in")]
    ins: u32,
    #[serde(rename = "out")]
    outs: u32,
}

impl Report {
    /// The payload in the contract's format; `ts` is the report time already formatted
    /// (RFC 3339 with offset).
    pub fn payload(&self, ts: &str) -> Vec<u8> {
        serde_json::to_vec(&Wire {
            ts,
            seq: self.seq,
            ins: self.ins,
            outs: self.outs,
        })
        .expect("a reading always serialises")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InFlight {
    report: Report,
    pkid: Option<u16>,
}

/// The ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    pending_in: u64,
    pending_out: u64,
    next_seq: u64,
    inflight: Option<InFlight>,
    published: u64,
    acked: u64,
}

impl Ledger {
    /// A ledger whose first reading has sequence number `first_seq`.
    pub fn new(first_seq: u64) -> Self {
        Ledger {
            pending_in: 0,
            pending_out: 0,
            next_seq: first_seq,
            inflight: None,
            published: 0,
            acked: 0,
        }
    }

    /// Adds counted crossings.
    pub fn add(&mut self, ins: u64, outs: u64) {
        self.pending_in += ins;
        self.pending_out += outs;
    }

    /// The interval has elapsed at `ts_ms`: returns the reading to publish now, or `None` while
    /// the previous one is unacknowledged (its counts stay pending).
    pub fn tick(&mut self, ts_ms: i64) -> Option<Report> {
        if self.inflight.is_some() {
            return None;
        }
        let ins = self.pending_in.min(MAX_COUNT as u64);
        let outs = self.pending_out.min(MAX_COUNT as u64);
        self.pending_in -= ins;
        self.pending_out -= outs;
        let report = Report {
            seq: self.next_seq,
            ts_ms,
            ins: ins as u32,
            outs: outs as u32,
        };
        self.next_seq += 1;
        self.published += 1;
        self.inflight = Some(InFlight { report, pkid: None });
        Some(report)
    }

    /// The client wrote the reading in flight with packet id `pkid`.
    pub fn written(&mut self, pkid: u16) {
        if let Some(f) = &mut self.inflight {
            if f.pkid.is_none() {
                f.pkid = Some(pkid);
            }
        }
    }

    /// The broker acknowledged packet `pkid`; true when that was the reading in flight.
    pub fn acked(&mut self, pkid: u16) -> bool {
        match self.inflight {
            Some(f) if f.pkid == Some(pkid) => {
                self.inflight = None;
                self.acked += 1;
                true
            }
            _ => false,
        }
    }

    /// The connection was re-established: the reading to send again, if one is in flight.
    pub fn reconnected(&mut self) -> Option<Report> {
        self.inflight.as_mut().map(|f| {
            f.pkid = None;
            f.report
        })
    }

    /// People counted but not yet acknowledged by the broker (pending plus in flight).
    pub fn unpublished(&self) -> u64 {
        let f = self
            .inflight
            .map(|f| f.report.ins as u64 + f.report.outs as u64)
            .unwrap_or(0);
        self.pending_in + self.pending_out + f
    }

    /// Whether a reading is waiting for its acknowledgement.
    pub fn in_flight(&self) -> bool {
        self.inflight.is_some()
    }

    /// Readings handed out, and readings acknowledged.
    pub fn stats(&self) -> (u64, u64) {
        (self.published, self.acked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use district::contract::reading::{decode, Measurement};
    use district::DeviceKind;

    #[test]
    fn counts_are_merged_while_a_reading_is_unacknowledged() {
        let mut l = Ledger::new(1);
        l.add(3, 1);
        let r = l.tick(1_000).unwrap();
        assert_eq!((r.seq, r.ins, r.outs), (1, 3, 1));
        l.written(7);
        l.add(2, 0);
        assert_eq!(l.tick(2_000), None, "one reading in flight at a time");
        l.add(1, 4);
        assert!(!l.acked(8), "someone else's ack");
        assert!(l.acked(7));
        let r = l.tick(3_000).unwrap();
        assert_eq!((r.seq, r.ins, r.outs), (2, 3, 4));
        assert_eq!(l.unpublished(), 7);
    }

    #[test]
    fn a_reconnect_resends_the_same_reading() {
        let mut l = Ledger::new(10);
        l.add(5, 5);
        let r = l.tick(1_000).unwrap();
        l.written(1);
        l.add(1, 0);
        let again = l.reconnected().unwrap();
        assert_eq!(again, r);
        // The old packet id no longer acknowledges it; the new one does.
        assert!(!l.acked(1));
        l.written(2);
        assert!(l.acked(2));
        assert_eq!(l.reconnected(), None);
        assert_eq!(l.unpublished(), 1);
    }

    #[test]
    fn zero_readings_are_heartbeats_and_large_backlogs_are_split() {
        let mut l = Ledger::new(1);
        let r = l.tick(1).unwrap();
        assert_eq!((r.ins, r.outs), (0, 0));
        l.written(1);
        l.acked(1);
        l.add(MAX_COUNT as u64 + 5, 0);
        let r = l.tick(2).unwrap();
        assert_eq!(r.ins, MAX_COUNT);
        l.written(2);
        l.acked(2);
        assert_eq!(l.tick(3).unwrap().ins, 5);
    }

    #[test]
    fn the_payload_is_the_contracts_footfall_line_reading() {
        let r = Report {
            seq: 812,
            ts_ms: 0,
            ins: 12,
            outs: 9,
        };
        let p = r.payload("2026-11-22T10:00:05+08:00");
        assert_eq!(
            std::str::from_utf8(&p).unwrap(),
            r#"{"ts":"2026-11-22T10:00:05+08:00","seq":812,"in":12,"out":9}"#
        );
        let d = decode(DeviceKind::Footfall, &p).unwrap();
        assert_eq!(d.seq, Some(812));
        assert_eq!(d.value, Measurement::Line { ins: 12, outs: 9 });
    }
}
