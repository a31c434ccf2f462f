//! A video source that reopens itself: files, RTSP/HTTP streams, anything `VideoCapture` opens.
//!
//! A stream that fails to open, or stops delivering frames, is reopened with backoff (0.5 s
//! doubling to 30 s, reset by a frame). A file that ends is done (or starts again when
//! looping). The state is reported for the health message.

use std::time::{Duration, Instant};

use anyhow::Result;
use district::backoff::Backoff;
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio::{self, VideoCapture};

use crate::health::StreamState;

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Consecutive empty reads before a stream counts as dropped.
const EMPTY_READS: u32 = 25;

/// What a read gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// A frame is in the buffer.
    Frame,
    /// No frame now (reconnecting, or waiting out the backoff); try again.
    Retry,
    /// The file ended and is not looped.
    Ended,
}

/// A reopening source.
pub struct Source {
    uri: String,
    is_file: bool,
    looping: bool,
    cap: Option<VideoCapture>,
    state: StreamState,
    backoff: Backoff,
    next_attempt: Instant,
    empty: u32,
    reconnects: u64,
    fps: Option<f64>,
    size: Option<(i32, i32)>,
    last_error: Option<String>,
    frames: u64,
}

impl Source {
    /// A source for `uri` (opened on the first read).
    pub fn new(uri: &str, looping: bool) -> Source {
        let is_file = !uri.contains("://") && !uri.chars().all(|c| c.is_ascii_digit());
        Source {
            uri: uri.to_string(),
            is_file,
            looping,
            cap: None,
            state: StreamState::Connecting,
            backoff: Backoff::new(BACKOFF_MIN, BACKOFF_MAX, None),
            next_attempt: Instant::now(),
            empty: 0,
            reconnects: 0,
            fps: None,
            size: None,
            last_error: None,
            frames: 0,
        }
    }

    /// Opens now, failing if it cannot (for files and one-shot tools).
    pub fn open_now(uri: &str) -> Result<Source> {
        let mut s = Source::new(uri, false);
        s.try_open()?;
        Ok(s)
    }

    fn try_open(&mut self) -> Result<()> {
        let cap = if let Ok(i) = self.uri.parse::<i32>() {
            VideoCapture::new(i, videoio::CAP_ANY)?
        } else {
            VideoCapture::from_file(&self.uri, videoio::CAP_ANY)?
        };
        if !cap.is_opened()? {
            anyhow::bail!("cannot open video source {}", self.uri);
        }
        let fps = cap.get(videoio::CAP_PROP_FPS)?;
        self.fps = (fps.is_finite() && fps > 0.5 && fps < 1000.0).then_some(fps);
        let (w, h) = (
            cap.get(videoio::CAP_PROP_FRAME_WIDTH)? as i32,
            cap.get(videoio::CAP_PROP_FRAME_HEIGHT)? as i32,
        );
        self.size = (w > 0 && h > 0).then_some((w, h));
        self.cap = Some(cap);
        Ok(())
    }

    /// Reads the next frame into `frame`.
    pub fn read(&mut self, frame: &mut Mat) -> Read {
        if self.state == StreamState::Ended {
            return Read::Ended;
        }
        if self.cap.is_none() {
            if Instant::now() < self.next_attempt {
                return Read::Retry;
            }
            match self.try_open() {
                Ok(()) => {
                    tracing::info!(source = %self.uri, fps = ?self.fps, size = ?self.size, "source opened")
                }
                Err(e) => {
                    self.fail(format!("{e:#}"));
                    return Read::Retry;
                }
            }
        }
        let ok = self
            .cap
            .as_mut()
            .map(|c| c.read(frame).unwrap_or(false) && !frame.empty())
            .unwrap_or(false);
        if ok {
            self.frames += 1;
            self.empty = 0;
            self.backoff.reset();
            self.state = StreamState::Streaming;
            return Read::Frame;
        }
        if self.is_file {
            if self.looping && self.frames > 0 {
                self.cap = None;
                self.next_attempt = Instant::now();
                return Read::Retry;
            }
            if self.frames == 0 {
                self.fail("the file gave no frame".into());
                return Read::Retry;
            }
            self.state = StreamState::Ended;
            return Read::Ended;
        }
        self.empty += 1;
        if self.empty >= EMPTY_READS {
            self.fail(format!("no frame in {EMPTY_READS} reads"));
        }
        Read::Retry
    }

    fn fail(&mut self, why: String) {
        let wait = self.backoff.next_delay();
        tracing::warn!(source = %self.uri, error = %why, retry_in = ?wait, "video source failed");
        self.last_error = Some(why);
        if self.state == StreamState::Streaming {
            self.reconnects += 1;
        }
        if self.state != StreamState::Connecting || self.frames > 0 {
            self.state = StreamState::Reconnecting;
        }
        self.cap = None;
        self.empty = 0;
        self.next_attempt = Instant::now() + wait;
    }

    /// The state.
    pub fn state(&self) -> StreamState {
        self.state
    }

    /// The nominal frame rate, if the source says.
    pub fn fps(&self) -> Option<f64> {
        self.fps
    }

    /// Frame size, if known.
    pub fn size(&self) -> Option<(i32, i32)> {
        self.size
    }

    /// Times the stream was reopened after delivering frames.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// The last error.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Frames read.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames in the file, if it says.
    pub fn frame_count(&self) -> Option<u64> {
        let n = self.cap.as_ref()?.get(videoio::CAP_PROP_FRAME_COUNT).ok()?;
        (n.is_finite() && n > 0.0).then_some(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Preset, Scene};

    /// A source that cannot be opened yet keeps retrying with backoff and reports why; once the
    /// video appears it streams, and a file that ends is `Ended`, not reopened.
    #[test]
    fn retries_until_the_source_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("late.avi");
        let mut src = Source::new(&path.to_string_lossy(), false);
        let mut frame = Mat::default();
        assert_eq!(src.read(&mut frame), Read::Retry);
        assert_eq!(src.state(), StreamState::Connecting);
        assert!(src.last_error().is_some());
        // Inside the backoff nothing is tried.
        assert_eq!(src.read(&mut frame), Read::Retry);

        let mut spec = Preset::Easy.spec(160, 90, 10.0);
        spec.duration_s = 2.0;
        crate::cv::offline::write_scene(&Scene::generate(&spec, 1), &path).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut frames = 0;
        loop {
            match src.read(&mut frame) {
                Read::Frame => {
                    assert_eq!((frame.cols(), frame.rows()), (160, 90));
                    frames += 1;
                }
                Read::Retry => {
                    assert!(Instant::now() < deadline, "never opened");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Read::Ended => break,
            }
        }
        assert_eq!(frames, 20);
        assert_eq!(src.state(), StreamState::Ended);
        assert_eq!(src.fps(), Some(10.0));
        assert_eq!(src.reconnects(), 0);
        assert_eq!(src.read(&mut frame), Read::Ended);
    }
}
