//! The twin joins a running demo: `scripts/demo.sh` builds the gateway first, starts the demo,
//! and builds the 3D twin (Bevy, minutes on a small machine) in the background into a log
//! whose last line it ends with `twin build exit status: N`. The demo follows that log, shows
//! the build's progress, and starts the twin as soon as the build succeeds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::demo_twin::{self as dt, TwinLaunch, TwinPlan};

/// The last line `scripts/demo.sh` appends to the build log.
pub const DONE_PREFIX: &str = "twin build exit status: ";

/// About how long a first debug build of the twin takes on 2 cores beside the running demo
/// (BENCHMARKS.md, "First ten minutes").
pub const FIRST_BUILD: &str = "about 345 crates and 20 min on 2 cores beside the demo";

/// Where a background build stands, read from its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildState {
    /// Still building: crates compiled so far.
    Running {
        /// `Compiling` lines seen.
        compiled: usize,
    },
    /// Finished with this exit status.
    Finished {
        /// 0 for success.
        status: i32,
    },
}

/// Reads the state from the log's text.
pub fn state(log: &str) -> BuildState {
    if let Some(status) = log
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(DONE_PREFIX))
    {
        return BuildState::Finished {
            status: status.trim().parse().unwrap_or(-1),
        };
    }
    BuildState::Running {
        compiled: log
            .lines()
            .filter(|l| l.trim_start().starts_with("Compiling "))
            .count(),
    }
}

/// What the demo needs to start the twin.
#[derive(Debug, Clone)]
pub struct Joiner {
    /// Window, snapshots or off.
    pub plan: TwinPlan,
    /// The binary given with `--twin-bin`, if any.
    pub bin: Option<PathBuf>,
    /// The twin's command line.
    pub launch: TwinLaunch,
    /// The twin's own log.
    pub log: PathBuf,
    /// The background build's log (`--twin-build-log`), if one runs.
    pub build_log: Option<PathBuf>,
}

impl Joiner {
    /// The banner line for the twin at start.
    pub fn banner(&self) -> String {
        match (&self.plan, &self.build_log) {
            (TwinPlan::Off, _) => "off (--twin off)".into(),
            (_, Some(log)) => format!(
                "building in the background; a first build is {FIRST_BUILD} (log: {}); it joins the demo when ready",
                log.display()
            ),
            (_, None) => "starting".into(),
        }
    }

    /// Waits for the build (if any), starts the twin, and keeps it until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        if self.plan == TwinPlan::Off {
            return;
        }
        if let Some(log) = &self.build_log {
            let started = Instant::now();
            let mut last_report = Instant::now();
            loop {
                let text = tokio::fs::read_to_string(log).await.unwrap_or_default();
                match state(&text) {
                    BuildState::Finished { status: 0 } => break,
                    BuildState::Finished { status } => {
                        println!(
                            "  twin     the build failed (exit status {status}); see {}. The demo runs on without it.",
                            log.display()
                        );
                        return;
                    }
                    BuildState::Running { compiled } => {
                        if last_report.elapsed() >= Duration::from_secs(120) {
                            last_report = Instant::now();
                            println!(
                                "  twin     still building: {compiled} crates compiled, {} min so far (a first build is {FIRST_BUILD})",
                                started.elapsed().as_secs() / 60
                            );
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
        let Some(bin) = dt::find_twin(self.bin.as_deref()).filter(|b| b.is_file()) else {
            println!("  twin     not found: build it with `cargo build -p twin` (add `--features window` for a window), or pass --twin-bin");
            return;
        };
        let (plan, launch, log) = (self.plan, self.launch.clone(), self.log.clone());
        let started = tokio::task::spawn_blocking(move || dt::start(&bin, plan, &launch, &log))
            .await
            .expect("starting the twin does not panic");
        let _child = match started {
            Ok(Some(child)) => {
                println!(
                    "  twin     joined: {}",
                    describe(&child, &self.launch, &self.log)
                );
                child
            }
            Ok(None) => return,
            Err(e) => {
                println!("  twin     failed to start: {e}");
                return;
            }
        };
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    }
}

fn describe(child: &dt::TwinChild, launch: &TwinLaunch, log: &Path) -> String {
    let what = match child.plan {
        TwinPlan::Window => "a window".to_string(),
        _ => format!(
            "a snapshot every {} s into {}",
            launch.every_s,
            launch.snapshot.display()
        ),
    };
    format!("{what}   (log: {})", log.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_says_how_far_the_build_is_and_how_it_ended() {
        assert_eq!(state(""), BuildState::Running { compiled: 0 });
        let log = "   Compiling bevy_ecs v0.19.1\n   Compiling bevy_app v0.19.1\nwarning: x\n";
        assert_eq!(state(log), BuildState::Running { compiled: 2 });
        let done = format!("{log}    Finished `dev` profile\n{DONE_PREFIX}0\n");
        assert_eq!(state(&done), BuildState::Finished { status: 0 });
        let failed = format!("{log}error: linking failed\n{DONE_PREFIX}101\n");
        assert_eq!(state(&failed), BuildState::Finished { status: 101 });
    }
}
