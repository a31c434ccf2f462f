//! The counter's own health: frame rate, stream state, reconnects, and the message it
//! publishes (retained) on `district/{d}/vision/{device}/health`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// The state of the video source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamState {
    /// Opening the source for the first time.
    Connecting,
    /// Frames are arriving.
    Streaming,
    /// The source failed; reopening with backoff.
    Reconnecting,
    /// A file ended (files are not reopened unless looping).
    Ended,
    /// The counter is shutting down, or its process is gone (the MQTT last will).
    Offline,
}

/// Frames per second over a sliding window of timestamps.
#[derive(Debug, Clone)]
pub struct FpsMeter {
    window_s: f64,
    stamps: VecDeque<f64>,
}

impl FpsMeter {
    /// A meter averaging over the last `window_s` seconds.
    pub fn new(window_s: f64) -> Self {
        FpsMeter {
            window_s,
            stamps: VecDeque::new(),
        }
    }

    /// Records a frame at time `t` (seconds, any origin, increasing).
    pub fn tick(&mut self, t: f64) {
        self.stamps.push_back(t);
        while self.stamps.front().is_some_and(|f| t - f > self.window_s) {
            self.stamps.pop_front();
        }
    }

    /// Frames per second at time `now`: frames in the window over the window's span.
    pub fn fps(&self, now: f64) -> f64 {
        let recent: Vec<f64> = self
            .stamps
            .iter()
            .copied()
            .filter(|s| now - s <= self.window_s)
            .collect();
        if recent.len() < 2 {
            return 0.0;
        }
        let span = now.max(*recent.last().unwrap()) - recent[0];
        if span <= 0.0 {
            0.0
        } else {
            (recent.len() - 1) as f64 / span
        }
    }
}

/// The health message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// When, RFC 3339 with offset.
    pub ts: String,
    /// The counter's device id.
    pub device: String,
    /// Stream state.
    pub state: StreamState,
    /// Frames processed per second (recent window).
    pub fps: f64,
    /// The source's nominal frame rate, when it says.
    pub source_fps: Option<f64>,
    /// Frames processed since start.
    pub frames: u64,
    /// Times the source was reopened.
    pub reconnects: u64,
    /// Mean processing time per frame, milliseconds (recent window).
    pub frame_ms: f64,
    /// People being tracked now.
    pub tracks: usize,
    /// Counted since start.
    pub in_total: u64,
    /// Counted since start.
    pub out_total: u64,
    /// Counts waiting to be published (merged into the next reading, never dropped).
    pub unpublished: u64,
    /// Whether the background model is relearning after a sudden lighting change.
    pub relearning: bool,
    /// The last source error, if any.
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_over_a_window() {
        let mut m = FpsMeter::new(2.0);
        for i in 0..100 {
            m.tick(i as f64 * 0.1);
        }
        assert!((m.fps(9.9) - 10.0).abs() < 1e-9);
        // Nothing for 5 s: the rate falls to zero.
        assert_eq!(m.fps(15.0), 0.0);
    }

    #[test]
    fn health_serialises_with_snake_case_state() {
        let h = Health {
            ts: "2026-11-22T10:00:00+08:00".into(),
            device: "fc-07".into(),
            state: StreamState::Reconnecting,
            fps: 0.0,
            source_fps: Some(25.0),
            frames: 10,
            reconnects: 1,
            frame_ms: 12.5,
            tracks: 0,
            in_total: 3,
            out_total: 2,
            unpublished: 0,
            relearning: false,
            last_error: Some("no frame".into()),
        };
        let j = serde_json::to_value(&h).unwrap();
        assert_eq!(j["state"], "reconnecting");
        let back: Health = serde_json::from_value(j).unwrap();
        assert_eq!(back, h);
    }
}
