//! Assembles the Bevy app from the command line: Bevy's plugins for the mode (window, or
//! off-screen), the feed (MQTT or synthetic), and the twin's plugins.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use bevy::app::ScheduleRunnerPlugin;
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::window::ExitCondition;

use crate::bigscreen::{BigScreenPlugin, ViewMode};
use crate::capture::{CapturePlugin, CaptureSpec};
use crate::cli::Args;
use crate::feed::{self, Inbox};
use crate::hud::{find_cjk_font, HudPlugin, Lang};
use crate::live::LiveFeedPlugin;
use crate::model::Layout;
use crate::stale::StalePolicy;

/// Builds the app; `run()` it.
pub fn build(args: &Args) -> anyhow::Result<App> {
    let district = district::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let layout = Arc::new(Layout::new(&district).tiled(args.tile));
    let district_id = args
        .district_id
        .clone()
        .unwrap_or_else(|| district.id.clone());

    let offscreen = args.screenshot.is_some() || args.bench.is_some() || args.headless;
    if !offscreen && !cfg!(feature = "window") {
        anyhow::bail!(
            "this twin was built without the `window` feature: use --screenshot/--headless/--bench, \
             or build the big-screen binary with `cargo build -p twin --release --features window`"
        );
    }

    let inbox = Arc::new(Mutex::new(Inbox::default()));
    if args.synthetic {
        crate::synthetic::spawn((*layout).clone(), inbox.clone(), Duration::from_secs(3));
    } else {
        feed::spawn_mqtt(&args.broker, &args.security, &district_id, inbox.clone())?;
    }

    let font = match find_cjk_font(args.font.as_deref()) {
        Some(p) => {
            Some(std::fs::read(&p).with_context(|| format!("reading font {}", p.display()))?)
        }
        None => {
            eprintln!("twin: no CJK font found (install fonts-wqy-microhei or pass --font); Chinese labels will not render");
            None
        }
    };

    let mut app = App::new();
    let (w, h) = args.size;
    let render = RenderPlugin {
        // A capture must show a complete frame: compile every pipeline before drawing with it.
        synchronous_pipeline_compilation: args.screenshot.is_some(),
        ..default()
    };
    let log = LogPlugin {
        filter: "info,wgpu=error,naga=warn,bevy_render=warn,offset_allocator=warn".into(),
        ..default()
    };
    let headless_window = WindowPlugin {
        primary_window: None,
        exit_condition: ExitCondition::DontExit,
        ..default()
    };
    let fps = args
        .max_fps
        .unwrap_or(if args.every.is_some() || args.headless {
            10.0
        } else {
            0.0
        });
    let wait = if fps > 0.0 {
        Duration::from_secs_f64(1.0 / fps)
    } else {
        Duration::ZERO
    };
    if offscreen {
        let plugins = DefaultPlugins.set(render).set(log).set(headless_window);
        #[cfg(feature = "window")]
        let plugins = plugins.disable::<bevy::winit::WinitPlugin>();
        app.add_plugins((plugins, ScheduleRunnerPlugin::run_loop(wait)));
    } else {
        #[cfg(feature = "window")]
        {
            use bevy::window::{MonitorSelection, WindowMode};
            let window = Window {
                title: format!("{} {} · 数字孪生 twin", layout.names.zh, layout.names.en),
                mode: if args.fullscreen {
                    WindowMode::BorderlessFullscreen(MonitorSelection::Current)
                } else {
                    WindowMode::Windowed
                },
                resolution: (w, h).into(),
                ..default()
            };
            app.add_plugins(DefaultPlugins.set(render).set(log).set(WindowPlugin {
                primary_window: Some(window),
                ..default()
            }));
        }
    }

    let view = if args.view == "overview" {
        ViewMode::Overview
    } else {
        ViewMode::Tour
    };
    app.add_plugins((
        crate::scene::ScenePlugin {
            layout: layout.clone(),
        },
        LiveFeedPlugin {
            inbox,
            policy: StalePolicy {
                feed_silence: Duration::from_secs_f64(args.stale_after.max(1.0)),
                ..default()
            },
        },
        HudPlugin {
            font,
            lang: Lang {
                zh: args.lang == "zh",
            },
        },
        crate::world_labels::WorldLabelsPlugin,
        crate::crowd::CrowdPlugin,
        crate::parking::ParkingPlugin,
        crate::alerts::AlertsPlugin,
        crate::air::AirPlugin,
        crate::energy::EnergyPlugin,
        BigScreenPlugin {
            mode: view,
            msaa: args.msaa,
        },
    ));
    if let Some(path) = &args.screenshot {
        app.add_plugins(CapturePlugin {
            spec: CaptureSpec {
                path: path.clone(),
                size: UVec2::new(w, h),
                after: Duration::from_secs_f64(args.after.max(0.0)),
                settle_frames: 3,
                data_timeout: Duration::from_secs_f64((args.after * 2.0).max(20.0)),
                every: args.every.map(|s| Duration::from_secs_f64(s.max(0.5))),
                timeout: Duration::from_secs_f64(args.timeout.max(1.0)),
            },
        });
    } else if offscreen {
        // Bench or headless: render into an off-screen image nobody reads.
        let image = app
            .world_mut()
            .resource_mut::<Assets<Image>>()
            .add(crate::capture::target_image(UVec2::new(w, h)));
        app.insert_resource(crate::bigscreen::CameraTarget(Some(image)));
    }
    if let Some(secs) = args.bench {
        app.add_plugins(crate::bench::BenchPlugin {
            spec: crate::bench::BenchSpec {
                warmup: Duration::from_secs_f64(args.bench_warmup),
                duration: Duration::from_secs_f64(secs),
                out: args.bench_out.clone(),
                label: format!(
                    "{} ×{} at {w}×{h}: {} zones, {} buildings, {} bays",
                    district.id,
                    args.tile.max(1),
                    layout.zones.len(),
                    layout.buildings.len(),
                    layout.lots.iter().map(|l| l.bay_count).sum::<usize>()
                ),
            },
        });
    }
    Ok(app)
}
