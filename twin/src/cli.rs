//! The command line.

use std::path::PathBuf;

use clap::Parser;

/// `twin`: the district's live 3D twin for the control room's big screen.
#[derive(Debug, Clone, Parser)]
#[command(name = "twin", version, about, long_about = LONG_ABOUT)]
pub struct Args {
    /// District file (TOML; the GeoJSON it names is read from beside it).
    #[arg(long)]
    pub config: PathBuf,
    /// MQTT broker the gateway publishes to, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub broker: String,
    /// TLS (`--cafile`, `--cert`, `--key`) and credentials for the broker.
    #[command(flatten)]
    pub security: district::client::ClientSecurity,
    /// District id in the topics (default: the file's id).
    #[arg(long)]
    pub district_id: Option<String>,
    /// No broker: make up plausible live data (for benchmarks and a look without a gateway).
    #[arg(long)]
    pub synthetic: bool,
    /// Render off-screen and save a PNG (with `OUT.json` beside it), then exit.
    #[arg(long, value_name = "OUT.png")]
    pub screenshot: Option<PathBuf>,
    /// With --screenshot: keep running and rewrite the PNG every SECONDS (snapshots for a
    /// machine without a display).
    #[arg(long, value_name = "SECONDS")]
    pub every: Option<f64>,
    /// Off-screen image size, WIDTHxHEIGHT (also the window size when not fullscreen).
    #[arg(long, default_value = "1920x1080", value_parser = parse_size)]
    pub size: (u32, u32),
    /// With --screenshot: capture no earlier than SECONDS after start.
    #[arg(long, default_value_t = 3.0)]
    pub after: f64,
    /// With --screenshot: give up after SECONDS (exit status 1).
    #[arg(long, default_value_t = 300.0)]
    pub timeout: f64,
    /// Fullscreen on the current display at its resolution (big-screen mode; needs the
    /// `window` feature).
    #[arg(long)]
    pub fullscreen: bool,
    /// Language shown first: zh or en.
    #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
    pub lang: String,
    /// Camera: `tour` (automatic, flies to new critical alerts) or `overview` (fixed, north up).
    #[arg(long, default_value = "tour", value_parser = ["tour", "overview"])]
    pub view: String,
    /// Font file for the labels (default: the first CJK font found, e.g. Debian's
    /// fonts-wqy-microhei).
    #[arg(long)]
    pub font: Option<PathBuf>,
    /// Seconds without any message before everything shows as stale.
    #[arg(long, default_value_t = 120.0)]
    pub stale_after: f64,
    /// Draw the district N times side by side (benchmarks of a larger district; with
    /// --synthetic every copy gets its own data).
    #[arg(long, default_value_t = 1)]
    pub tile: usize,
    /// Measure frame times for SECONDS (after --bench-warmup), print a JSON summary, exit.
    #[arg(long, value_name = "SECONDS")]
    pub bench: Option<f64>,
    /// Warm-up before measuring.
    #[arg(long, default_value_t = 5.0)]
    pub bench_warmup: f64,
    /// Also write the benchmark summary here.
    #[arg(long)]
    pub bench_out: Option<PathBuf>,
    /// Render off-screen without capturing (soak runs); runs until killed.
    #[arg(long)]
    pub headless: bool,
    /// Anti-aliasing samples per pixel (MSAA): 1 (off), 2, 4 or 8. At 3840×2160 each step
    /// costs GPU fill rate; see BENCHMARKS.md.
    #[arg(long, default_value_t = 2, value_parser = parse_msaa)]
    pub msaa: u32,
    /// Cap the frame rate of off-screen modes (0: as fast as it goes).
    #[arg(long)]
    pub max_fps: Option<f64>,
}

const LONG_ABOUT: &str = "The district's live 3D twin: zones coloured by crowd level, car parks \
with every bay, alert beacons, air and energy, KPIs and alerts on a HUD, fed over MQTT by the \
gateway's retained live topics.\n\nWith --screenshot it renders off-screen (no display, no GPU \
needed: Mesa's software Vulkan works) and exits. Without it, it opens a window (build with \
--features window), tours the district, and flies to new critical alerts.";

/// Parses an MSAA sample count: 1, 2, 4 or 8.
pub fn parse_msaa(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n @ (1 | 2 | 4 | 8)) => Ok(n),
        _ => Err(format!("\"{s}\": MSAA samples are 1, 2, 4 or 8")),
    }
}

/// Parses `3840x2160`.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("\"{s}\" is not WIDTHxHEIGHT"))?;
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("bad width in \"{s}\""))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in \"{s}\""))?;
    if !(16..=16384).contains(&w) || !(16..=16384).contains(&h) {
        return Err(format!("\"{s}\": each side must be 16–16384 px"));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("3840x2160"), Ok((3840, 2160)));
        assert_eq!(parse_size("1280X720"), Ok((1280, 720)));
        assert!(parse_size("4k").is_err());
        assert!(parse_size("0x10").is_err());
        assert_eq!(parse_msaa("2"), Ok(2));
        assert!(parse_msaa("3").is_err());
    }

    #[test]
    fn the_documented_command_line_parses() {
        let a = Args::try_parse_from([
            "twin",
            "--config",
            "d.toml",
            "--broker",
            "127.0.0.1:1883",
            "--screenshot",
            "out.png",
            "--size",
            "3840x2160",
            "--after",
            "10",
            "--lang",
            "en",
        ])
        .unwrap();
        assert_eq!(a.size, (3840, 2160));
        assert_eq!(a.lang, "en");
        assert!(Args::try_parse_from(["twin", "--config", "d.toml", "--lang", "fr"]).is_err());
    }
}
