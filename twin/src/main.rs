//! `twin`: the district's live 3D twin (see `twin --help`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = twin::cli::Args::parse();
    let mut app = match twin::app::build(&args) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("twin: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    match app.run() {
        bevy::app::AppExit::Success => std::process::ExitCode::SUCCESS,
        bevy::app::AppExit::Error(c) => std::process::ExitCode::from(c.get()),
    }
}
