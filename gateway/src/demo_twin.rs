//! The twin beside `gateway demo`: a window on the display when there is one, otherwise PNG
//! snapshots rewritten on an interval (headless `twin --screenshot … --every`).
//!
//! The twin is its own binary (`twin/`, Bevy): the demo finds it beside its own executable
//! (`cargo build -p twin` puts both in the same target folder) or on `PATH`, runs it as a child
//! process against the demo's broker, and stops it when the demo stops.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How the demo shows the twin (`--twin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TwinMode {
    /// A window when a display is present (`DISPLAY` or `WAYLAND_DISPLAY`), else snapshots.
    Auto,
    /// A window (needs a display and a twin built with `--features window`).
    Window,
    /// Off-screen PNG snapshots on an interval, for machines without a display.
    Snapshots,
    /// No twin.
    Off,
}

/// What to start, decided from the mode and the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwinPlan {
    /// An on-screen window.
    Window,
    /// Snapshots into a file.
    Snapshots,
    /// Nothing.
    Off,
}

/// Picks the plan: `auto` means a window exactly when a display is present.
pub fn plan(mode: TwinMode, display: bool) -> TwinPlan {
    match mode {
        TwinMode::Auto if display => TwinPlan::Window,
        TwinMode::Auto | TwinMode::Snapshots => TwinPlan::Snapshots,
        TwinMode::Window => TwinPlan::Window,
        TwinMode::Off => TwinPlan::Off,
    }
}

/// Whether this process can open a window (an X11 or Wayland display is named).
pub fn display_present() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Everything the twin's command line needs.
#[derive(Debug, Clone)]
pub struct TwinLaunch {
    /// The district file the gateway runs.
    pub district: PathBuf,
    /// The demo's MQTT broker.
    pub broker: SocketAddr,
    /// Where snapshots go (PNG, rewritten in place; a `.json` manifest beside it).
    pub snapshot: PathBuf,
    /// Seconds between snapshots.
    pub every_s: f64,
    /// The twin's reader identity and the file holding its password, if the broker needs
    /// them.
    pub login: Option<(String, PathBuf)>,
}

/// The twin's arguments for a plan (empty for [`TwinPlan::Off`]).
pub fn args(plan: TwinPlan, l: &TwinLaunch) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        "--config".into(),
        l.district.clone().into(),
        "--broker".into(),
        l.broker.to_string().into(),
    ];
    if let Some((user, password_file)) = &l.login {
        a.push("--username".into());
        a.push(user.into());
        a.push("--password-file".into());
        a.push(password_file.into());
    }
    match plan {
        TwinPlan::Off => return Vec::new(),
        TwinPlan::Window => {}
        TwinPlan::Snapshots => {
            a.push("--screenshot".into());
            a.push(l.snapshot.clone().into());
            a.push("--every".into());
            a.push(l.every_s.to_string().into());
            a.push("--max-fps".into());
            a.push("2".into());
        }
    }
    a
}

/// The twin binary: `explicit`, else `twin` beside this executable, else on `PATH`.
pub fn find_twin(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let name = format!("twin{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(&name)));
    beside.filter(|p| p.is_file()).or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(&name))
                .find(|p| p.is_file())
        })
    })
}

/// A running twin; killed when dropped.
pub struct TwinChild {
    child: Child,
    /// What it is doing, for the banner.
    pub plan: TwinPlan,
}

impl Drop for TwinChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the twin for `plan`, logging into `log`. A window that fails to open within two
/// seconds (no `window` feature, or no usable display) falls back to snapshots.
pub fn start(
    bin: &Path,
    plan: TwinPlan,
    l: &TwinLaunch,
    log: &Path,
) -> std::io::Result<Option<TwinChild>> {
    if plan == TwinPlan::Off {
        return Ok(None);
    }
    let spawn = |plan: TwinPlan| -> std::io::Result<Child> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        Command::new(bin)
            .args(args(plan, l))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
    };
    let mut child = spawn(plan)?;
    if plan == TwinPlan::Window {
        std::thread::sleep(Duration::from_secs(2));
        if let Some(status) = child.try_wait()? {
            tracing::warn!(%status, log = %log.display(), "the twin's window did not open; writing snapshots instead");
            child = spawn(TwinPlan::Snapshots)?;
            return Ok(Some(TwinChild {
                child,
                plan: TwinPlan::Snapshots,
            }));
        }
    }
    Ok(Some(TwinChild { child, plan }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch() -> TwinLaunch {
        TwinLaunch {
            district: "d.toml".into(),
            broker: "127.0.0.1:1883".parse().unwrap(),
            snapshot: "data/demo/twin.png".into(),
            every_s: 30.0,
            login: None,
        }
    }

    #[test]
    fn auto_opens_a_window_only_with_a_display() {
        assert_eq!(plan(TwinMode::Auto, true), TwinPlan::Window);
        assert_eq!(plan(TwinMode::Auto, false), TwinPlan::Snapshots);
        assert_eq!(plan(TwinMode::Snapshots, true), TwinPlan::Snapshots);
        assert_eq!(plan(TwinMode::Off, true), TwinPlan::Off);
    }

    #[test]
    fn snapshot_arguments_name_the_file_and_interval() {
        let a: Vec<String> = args(TwinPlan::Snapshots, &launch())
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(
            a,
            [
                "--config",
                "d.toml",
                "--broker",
                "127.0.0.1:1883",
                "--screenshot",
                "data/demo/twin.png",
                "--every",
                "30",
                "--max-fps",
                "2"
            ]
        );
        let w = args(TwinPlan::Window, &launch());
        assert_eq!(w.len(), 4, "a window takes only the feed's arguments");
        assert!(args(TwinPlan::Off, &launch()).is_empty());
        let with_login = TwinLaunch {
            login: Some(("twin".into(), "data/demo/twin.secret".into())),
            ..launch()
        };
        let a: Vec<String> = args(TwinPlan::Window, &with_login)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(
            a[4..],
            [
                "--username",
                "twin",
                "--password-file",
                "data/demo/twin.secret"
            ]
        );
    }
}
