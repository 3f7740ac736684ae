//! `egov simulate`: the demo's city sending records to platforms already running, on the wall
//! clock, at a chosen rate, for load tests (`egov_sim::load`); prints a line a second and the
//! rate achieved at the end.

use std::process::ExitCode;
use std::time::Duration;

use egov_sim::load::{self, LoadSpec};

use crate::cli::SimulateArgs;
use crate::settings::{ConfigError, Target};

pub async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let supervision = args
        .supervision
        .as_deref()
        .map(|s| {
            Target::parse(s).map(|t| t.with_token(target.token().map(str::to_owned))).map_err(|_| {
                ConfigError(format!(
                    "--supervision {s:?}: expected the platform's URL, such as http://127.0.0.1:50051"
                ))
            })
        })
        .transpose()?;
    let rate = parse_rate(&args.rate)?;
    let duration = parse_duration(&args.duration)?;
    if args.departments == 0 || args.departments > 500 {
        return Err(ConfigError(format!(
            "--departments {}: expected 1 to 500",
            args.departments
        ))
        .into());
    }
    let spec = LoadSpec {
        seed: args.seed,
        departments: args.departments,
        rate,
        duration,
        open_cases: args.open_cases.max(1),
        run_id: chrono::Utc::now().format("%Y%m%d%H%M%S").to_string(),
    };
    let approval = load::connect(target.as_str(), target.token()).await?;
    let supervision = match &supervision {
        Some(t) => Some(load::connect(t.as_str(), t.token()).await?),
        None => None,
    };
    println!(
        "Sending the simulated city's records to {target} at {rate} a second for {}s \
         (seed {}, {} departments, run {}):",
        duration.as_secs(),
        spec.seed,
        spec.departments,
        spec.run_id
    );
    let report = load::run(approval, supervision, &spec, |p| {
        let warnings = p
            .warnings
            .map_or(String::new(), |n| format!(", {n} warnings raised"));
        println!(
            "  {:>4}s  {} sent, {} stored, {} refused, {} cases{warnings}",
            p.elapsed.as_secs(),
            p.sent,
            p.stored,
            p.rejected,
            p.cases
        );
    })
    .await?;
    let p = &report.progress;
    println!(
        "Done: {} records in {:.1}s, {:.0} records a second answered (asked for {rate}); \
         answer time median {:.1} ms, 99th percentile {:.1} ms; {} refused (completions sent \
         before their decision, on purpose){}.",
        p.stored + p.rejected,
        p.elapsed.as_secs_f64(),
        report.achieved_rate,
        report.latency_p50.as_secs_f64() * 1000.0,
        report.latency_p99.as_secs_f64() * 1000.0,
        p.rejected,
        p.warnings.map_or(String::new(), |n| format!(
            "; {n} warnings raised meanwhile"
        )),
    );
    Ok(ExitCode::SUCCESS)
}

/// `500`, `500/s`.
fn parse_rate(text: &str) -> Result<f64, ConfigError> {
    let number = text.trim().trim_end_matches("/s");
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n),
        _ => Err(ConfigError(format!(
            "--rate {text:?}: expected records a second, such as 500 or 500/s"
        ))),
    }
}

/// `90s`, `5m`, `1h`, or seconds.
fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let factor = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => 0.0,
    };
    match number.parse::<f64>() {
        Ok(n) if n > 0.0 && factor > 0.0 && (n * factor).is_finite() => {
            Ok(Duration::from_secs_f64(n * factor))
        }
        _ => Err(ConfigError(format!(
            "--duration {text:?}: expected a time such as 90s, 5m or 1h"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_durations() {
        assert_eq!(parse_rate("500/s").unwrap(), 500.0);
        assert_eq!(parse_rate("2.5").unwrap(), 2.5);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert!(parse_duration("5 days").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
