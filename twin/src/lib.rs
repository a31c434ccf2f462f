//! # twin: the district's live 3D twin for the big screen
//!
//! A Bevy app, one plugin per concern, fed by the gateway's retained MQTT live topics.
//!
//! ## Layout
//! Pure parts (plain functions and types, unit-tested without a GPU):
//! - [`model`]: the district projected once through the system's one projection
//!   ([`district::frame::LocalFrame`]: x east → Bevy +X, y north → Bevy −Z), id lookups, tiling.
//! - [`geometry`]: triangulation with holes (geo's earcut), extrusion, fences, bay strips.
//! - [`colors`]: crowd level, heat, AQI (HJ 633), severity, bay state and power-glow colours.
//! - [`labels`]: on-screen label layout without overlaps.
//! - [`stale`]: what counts as live, stale or no data.
//! - [`tour`]: the camera tour and the alert director.
//! - [`feed`]: MQTT thread and the bounded inbox; [`synthetic`]: a stand-in feed.
//!
//! Plugins:
//! - [`scene`]: ground, zones, buildings, car parks, devices from the district file.
//! - [`live`]: inbox → [`live::Live`] resource, feed health.
//! - [`crowd`], [`parking`], [`alerts`], [`air`], [`energy`]: the overlays.
//! - [`hud`]: KPIs, clock, alert list, legend; [`world_labels`]: labels pinned to places.
//! - [`bigscreen`]: camera tour, fly-to-alert, fixed overview, operator orbit (`window`).
//! - [`capture`]: headless PNG capture with a manifest; [`bench`]: frame-time benchmark.
//!
//! [`app::build`] puts them together from the [`cli::Args`].

pub mod air;
pub mod alerts;
pub mod app;
pub mod bench;
pub mod bigscreen;
pub mod capture;
pub mod cli;
pub mod colors;
pub mod crowd;
pub mod energy;
pub mod feed;
pub mod geometry;
pub mod hud;
pub mod labels;
pub mod live;
pub mod model;
pub mod parking;
pub mod scene;
pub mod stale;
pub mod synthetic;
pub mod tour;
pub mod world_labels;
