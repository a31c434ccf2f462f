//! `gateway check-config`: validate files and say what was found.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::GatewayConfig;

/// Checks each file: district files (they have a `[district]` table) and gateway configs
/// (whose district files are checked too). Prints a summary or every problem.
pub fn check(files: &[PathBuf]) -> ExitCode {
    if files.is_empty() {
        eprintln!("check-config: give at least one district or gateway configuration file");
        return ExitCode::FAILURE;
    }
    let mut ok = true;
    let mut districts = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let is_district = text.lines().any(|l| l.trim() == "[district]");
        if is_district {
            districts.push(f.clone());
            continue;
        }
        match GatewayConfig::load(f) {
            Ok(cfg) => {
                let devices = if cfg.devices.enabled {
                    format!("device port {}", cfg.devices.listen)
                } else {
                    "no device port".to_string()
                };
                println!(
                    "{}: gateway config OK (broker {:?}, {devices}, {} district file(s))",
                    f.display(),
                    cfg.broker.mode,
                    cfg.districts.len()
                );
                if let Err(e) = cfg.mqtt_admission() {
                    ok = false;
                    eprintln!("{}: {e}", f.display());
                }
                for problem in tls_problems(&cfg) {
                    ok = false;
                    eprintln!("{}: {problem}", f.display());
                }
                if let Some(j) = &cfg.http.jwt {
                    if let Err(e) = crate::api::jwt::Verifier::new(j) {
                        ok = false;
                        eprintln!("{}: [http.jwt] {e}", f.display());
                    }
                }
                districts.extend(cfg.districts);
            }
            Err(e) => {
                ok = false;
                eprintln!("{e}");
            }
        }
    }
    for f in &districts {
        match district::load(f) {
            Ok(d) => {
                let sensors = d
                    .lots
                    .iter()
                    .flat_map(|l| &l.bays)
                    .filter(|b| b.sensor.is_some())
                    .count();
                println!(
                    "{}: district \"{}\" ({} / {}) OK: {} zones ({:.0} m² in all), {} buildings, {} lots ({} spaces, {} bay sensors), {} devices, {} signs, time zone {}",
                    f.display(),
                    d.id,
                    d.names.zh,
                    d.names.en,
                    d.zones.len(),
                    d.zones.iter().map(|z| z.area_m2).sum::<f64>(),
                    d.buildings.len(),
                    d.lots.len(),
                    d.parking_capacity(),
                    sensors,
                    d.devices.len(),
                    d.signs.len(),
                    d.calendar.timezone
                );
            }
            Err(e) => {
                ok = false;
                eprintln!("{e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What is wrong with the TLS settings of `cfg` (each table's files read and checked as at
/// start).
fn tls_problems(cfg: &GatewayConfig) -> Vec<String> {
    let tables = [
        ("[devices] tls", cfg.devices.tls.clone()),
        ("[broker] tls", cfg.broker.tls.clone()),
        ("[http] tls", cfg.http.tls.as_ref().map(|t| t.as_tls())),
    ];
    tables
        .into_iter()
        .filter_map(|(name, t)| {
            let e = crate::tls::server_config(&t?, &[]).err()?;
            Some(format!("{name}: {e}"))
        })
        .collect()
}
