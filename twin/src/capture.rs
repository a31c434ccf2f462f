//! Capture plugin (headless mode): the camera renders into an off-screen image; once the
//! requested time has passed, live data has arrived (or stopped being waited for) and enough
//! frames have been drawn for text and pipelines to settle, one frame is read back and saved as
//! PNG, with a JSON manifest beside it (`out.png.json`): the camera's view-projection matrix,
//! the HUD panels' rectangles and where each label went, so tests can find things on the image
//! without guessing. Then the app exits. Pipelines compile synchronously in this mode (see
//! `app.rs`), so the first frames are complete, not just the sky.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::ui::UiGlobalTransform;
use serde::Serialize;

use crate::bigscreen::{CameraTarget, TwinCamera};
use crate::colors;
use crate::hud::{AlertPanel, KpiPanel, LegendPanel};
use crate::live::Live;
use crate::world_labels::{Placed, WorldLabel};

/// What to capture.
#[derive(Resource, Clone, Debug)]
pub struct CaptureSpec {
    /// PNG path.
    pub path: PathBuf,
    /// Width and height, px.
    pub size: UVec2,
    /// Wait at least this long after start.
    pub after: Duration,
    /// Frames to draw after data arrived before capturing.
    pub settle_frames: u32,
    /// Give up waiting for data after this long (capture anyway, showing "no data").
    pub data_timeout: Duration,
    /// Keep running and capture again this long after each capture (PNG replaced atomically).
    pub every: Option<Duration>,
    /// Fail if no capture is saved by then.
    pub timeout: Duration,
}

#[derive(Resource)]
struct CaptureState {
    image: Handle<Image>,
    started: Instant,
    frames_with_data: u32,
    requested: bool,
    saved: Option<Result<(), String>>,
    next_at: Duration,
    captures: u32,
}

/// The manifest written next to the PNG.
#[derive(Serialize, Debug)]
pub struct Manifest {
    /// Image size.
    pub width: u32,
    /// Image size.
    pub height: u32,
    /// Clip-from-world matrix, column-major (world → NDC after dividing by w; NDC y up).
    pub clip_from_world: [f32; 16],
    /// Camera position.
    pub eye: [f32; 3],
    /// HUD KPI panel, px `[x, y, w, h]` from the top-left.
    pub hud_kpis: [f32; 4],
    /// HUD alert panel.
    pub hud_alerts: [f32; 4],
    /// HUD legend.
    pub hud_legend: [f32; 4],
    /// Every label shown, px `[x, y, w, h]`.
    pub labels: Vec<[f32; 4]>,
    /// Palette in use (sRGB bytes).
    pub palette: Palette,
    /// Messages received by then.
    pub messages: u64,
    /// Zones with live data by then.
    pub zones_with_data: usize,
    /// Open alerts by then.
    pub open_alerts: usize,
    /// Seconds from start to capture.
    pub after_s: f32,
    /// Frames drawn.
    pub frames: u32,
}

/// Overlay colours, for tests and the legend.
#[derive(Serialize, Debug)]
pub struct Palette {
    /// Crowd levels: normal, busy, crowded, critical.
    pub crowd: [[u8; 3]; 4],
    /// No data / stale.
    pub no_data: [u8; 3],
    /// Alert severities: info, low, medium, high, critical.
    pub severity: [[u8; 3]; 5],
}

/// The palette of this build.
pub fn palette() -> Palette {
    use district::contract::alert::Severity as S;
    Palette {
        crowd: colors::crowd_legend().map(|(_, c)| colors::bytes(c)),
        no_data: colors::bytes(colors::NO_DATA),
        severity: [S::Info, S::Low, S::Medium, S::High, S::Critical]
            .map(|s| colors::bytes(colors::severity(s))),
    }
}

/// The off-screen render target.
pub fn target_image(size: UVec2) -> Image {
    let mut image = Image::new_fill(
        Extent3d {
            width: size.x,
            height: size.y,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    );
    image.texture_descriptor.usage |=
        TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC | TextureUsages::TEXTURE_BINDING;
    image
}

fn rect_px(c: &ComputedNode, t: &UiGlobalTransform) -> [f32; 4] {
    let r = Rect::from_center_size(t.translation, c.size);
    [r.min.x, r.min.y, r.width(), r.height()]
}

#[allow(clippy::too_many_arguments)]
fn step(
    mut commands: Commands,
    spec: Res<CaptureSpec>,
    mut state: ResMut<CaptureState>,
    live: Res<Live>,
    ui_scale: Res<UiScale>,
    frames: Res<bevy::diagnostic::FrameCount>,
    camera: Query<(&Camera, &GlobalTransform), With<TwinCamera>>,
    kpis: Query<(&ComputedNode, &UiGlobalTransform), With<KpiPanel>>,
    alerts: Query<(&ComputedNode, &UiGlobalTransform), With<AlertPanel>>,
    legend: Query<(&ComputedNode, &UiGlobalTransform), With<LegendPanel>>,
    labels: Query<&Placed, With<WorldLabel>>,
    mut exit: MessageWriter<AppExit>,
) {
    let elapsed = state.started.elapsed();
    if let Some(result) = state.saved.take() {
        state.requested = false;
        match (result, spec.every) {
            (Ok(()), Some(every)) => {
                state.captures += 1;
                state.next_at = elapsed + every;
            }
            (Ok(()), None) => {
                exit.write(AppExit::Success);
                state.requested = true;
            }
            (Err(e), _) => {
                error!("capture failed: {e}");
                exit.write(AppExit::error());
                state.requested = true;
            }
        }
        return;
    }
    if state.requested {
        return;
    }
    if state.captures == 0 && elapsed > spec.timeout {
        error!("no capture after {:.0} s: giving up", elapsed.as_secs_f32());
        exit.write(AppExit::error());
        state.requested = true;
        return;
    }
    if live.received > 0 || elapsed > spec.data_timeout {
        state.frames_with_data += 1;
    }
    if elapsed < spec.after.max(state.next_at) || state.frames_with_data < spec.settle_frames {
        return;
    }
    let Ok((cam, cam_t)) = camera.single() else {
        return;
    };
    let clip_from_world = cam.clip_from_view() * cam_t.affine().inverse();
    let k = ui_scale.0;
    let manifest = Manifest {
        width: spec.size.x,
        height: spec.size.y,
        clip_from_world: clip_from_world.to_cols_array(),
        eye: cam_t.translation().to_array(),
        hud_kpis: kpis
            .single()
            .map(|(c, t)| rect_px(c, t))
            .unwrap_or_default(),
        hud_alerts: alerts
            .single()
            .map(|(c, t)| rect_px(c, t))
            .unwrap_or_default(),
        hud_legend: legend
            .single()
            .map(|(c, t)| rect_px(c, t))
            .unwrap_or_default(),
        labels: labels
            .iter()
            .filter_map(|p| p.0)
            .map(|r| [r.min.x * k, r.min.y * k, r.width() * k, r.height() * k])
            .collect(),
        palette: palette(),
        messages: live.received,
        zones_with_data: live.zones.len(),
        open_alerts: live.alerts.as_ref().map_or(0, |a| a.alerts.len()),
        after_s: elapsed.as_secs_f32(),
        frames: frames.0,
    };
    let json_path = PathBuf::from(format!("{}.json", spec.path.display()));
    if let Err(e) = write_atomic(
        &json_path,
        &serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
    ) {
        state.saved = Some(Err(format!("{}: {e}", json_path.display())));
        return;
    }
    let path = spec.path.clone();
    commands
        .spawn(Screenshot::image(state.image.clone()))
        .observe(
            move |shot: On<ScreenshotCaptured>, mut st: ResMut<CaptureState>| {
                let result = shot
                    .image
                    .clone()
                    .try_into_dynamic()
                    .map_err(|e| e.to_string())
                    .and_then(|img| {
                        let mut png = std::io::Cursor::new(Vec::new());
                        img.to_rgb8()
                            .write_to(&mut png, image::ImageFormat::Png)
                            .map_err(|e| e.to_string())?;
                        write_atomic(&path, png.get_ref())
                            .map_err(|e| format!("{}: {e}", path.display()))
                    });
                if result.is_ok() {
                    info!("capture saved to {}", path.display());
                }
                st.saved = Some(result);
            },
        );
    state.requested = true;
    info!(
        "capturing after {:.1} s, frame {}, {} messages",
        elapsed.as_secs_f32(),
        frames.0,
        live.received
    );
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The capture plugin.
pub struct CapturePlugin {
    /// What to capture.
    pub spec: CaptureSpec,
}

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        let image = app
            .world_mut()
            .resource_mut::<Assets<Image>>()
            .add(target_image(self.spec.size));
        app.insert_resource(CameraTarget(Some(image.clone())))
            .insert_resource(self.spec.clone())
            .insert_resource(CaptureState {
                image,
                started: Instant::now(),
                frames_with_data: 0,
                requested: false,
                saved: None,
                next_at: Duration::ZERO,
                captures: 0,
            })
            .add_systems(Last, step);
    }
}
