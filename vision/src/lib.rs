//! # footfall-vision: people counting from plain camera video
//!
//! Turns an ordinary camera's video (a file, or an RTSP/HTTP stream) into the footfall line
//! readings a counting camera publishes (`{"ts":…,"seq":n,"in":i,"out":o}` on
//! `district/{d}/sensors/footfall/{device}`), so the gateway cannot tell the two apart; and
//! renders synthetic camera views with known truth to measure how well it counts.
//!
//! ## Layout
//! Pure logic, built and tested without OpenCV:
//! - [`geometry`]: points, boxes, the counting line or polygon and its `in` direction.
//! - [`assign`]: the Hungarian method with gating.
//! - [`tracker`]: tracks with constant-velocity prediction, coasting, merges and splits.
//! - [`count`]: line crossings with hysteresis, per track and direction.
//! - [`flux`]: counting by flow through the line, for crowds that cannot be told apart.
//! - [`blobs`]: joining the fragments of one person, blobs to detections.
//! - [`sizes`]: the perspective size model that tells how many people a blob holds.
//! - [`health`]: frame-rate and stream-state accounting, and the health message.
//! - [`ledger`]: the publishing state machine: pending counts, the reading in flight, `seq`.
//! - [`synth`]: the synthetic scene model, its presets and truth, and a pure-Rust renderer.
//! - [`eval`]: scoring counts against truth (per direction and per crossing event).
//! - [`config`]: the counter's own TOML configuration and command-line overrides.
//!
//! I/O at the edges:
//! - [`publish`]: the MQTT side (rumqttc on its own thread, reconnect with backoff).
//! - `cv` (feature `vision`): frame sources with reopen, MOG2 background subtraction with
//!   shadow removal, morphology and contours, the optional HOG detector, the per-frame
//!   pipeline, annotated output and video writing.
//! - `service` (feature `vision`): the running counter: video thread → bounded channel →
//!   publisher thread.

pub mod assign;
pub mod blobs;
pub mod config;
pub mod count;
pub mod eval;
pub mod flux;
pub mod geometry;
pub mod health;
pub mod ledger;
pub mod publish;
pub mod sizes;
pub mod synth;
pub mod tracker;

#[cfg(feature = "vision")]
pub mod cv;
#[cfg(feature = "vision")]
pub mod service;
