//! `egov demo`: a month of a simulated city, the README's first command. Wires the simulator
//! (`egov_sim`) to a fresh SQLite file and both platforms in this process, on the simulator's
//! clock, and prints what a newcomer should see: the city, a progress line, warnings as they
//! arrive (the first of each kind and the red cards, not a flood), a line per simulated day,
//! and at the end how often each rule of docs/design.md §3 fired and where to look next.
//!
//! The simulated clock is built here and in `egov_sim::platforms` only; `egov up` and the
//! `serve` commands have no way to reach it.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Datelike, Utc};
use egov_proto::supervision::v1 as spb;
use egov_sim::city::Profile;
use egov_sim::demo::{ALL_RULES, Demo, DemoSpec, Event, Progress, Report};
use egov_sim::platforms::InProcess;
use egov_store::{Store, StoreOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::DemoArgs;
use crate::output::{self, Table};
use crate::settings::{ConfigError, parse_listen};

/// Red cards printed per simulated day before the rest are only counted.
const RED_PER_DAY: u32 = 4;

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let listen = parse_listen(&args.listen)?;
    if !(args.speed >= 0.0 && args.speed.is_finite()) {
        return Err(ConfigError(format!(
            "--speed {}: expected simulated seconds per second, such as 3600 (0: as fast as possible)",
            args.speed
        ))
        .into());
    }
    if args.days == 0 || args.days > 366 {
        return Err(ConfigError(format!("--days {}: expected 1 to 366", args.days)).into());
    }
    if args.departments == 0 || args.departments > 500 {
        return Err(ConfigError(format!(
            "--departments {}: expected 1 to 500",
            args.departments
        ))
        .into());
    }
    let path = database_path(args.db.clone())?;
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect_with(&url, &StoreOptions::default())
        .await
        .with_context(|| format!("cannot create the demo's database {}", path.display()))?;

    let spec = DemoSpec {
        seed: args.seed,
        start: args.start,
        days: args.days,
        departments: args.departments,
        speed: (args.speed > 0.0).then_some(args.speed),
        ..DemoSpec::month(args.seed)
    };
    let demo = Demo::new(spec);
    // The console on a free local port, with a secret of this run: its query codes are
    // good while the demo serves.
    let console = egov_platform::ConsoleSettings::random_secret(([127, 0, 0, 1], 0).into());
    let secret = console.secret.clone();
    let platforms =
        InProcess::start_with_console(store, demo.start_at(), listen, Some(console)).await?;
    let target = platforms.target();
    // The local admin credential beside the demo's database (docs/design.md "Trust"): the
    // command line reads it with --data-dir while the demo keeps serving (--keep).
    if let Some(dir) = path.parent() {
        let file = dir.join(crate::settings::ADMIN_TOKEN_FILE);
        super::serve::write_secret(&file, platforms.admin_token())
            .with_context(|| format!("cannot write {}", file.display()))?;
    }

    let mut screen = Screen::new(&args, &target, &path);
    let outcome = demo.run(&platforms, |event| screen.show(event)).await;
    screen.bar.finish_and_clear();
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            platforms.stop().await;
            return Err(e.context("the demo failed"));
        }
    };
    summary(&report, &target, &path, args.keep);
    if let Err(e) = super::demo_console::announce(&platforms, &secret).await {
        platforms.stop().await;
        return Err(e);
    }
    if args.keep {
        println!(
            "Serving on {target} and the console until Ctrl-C (the clock stays at the month's end)."
        );
        let _ = tokio::signal::ctrl_c().await;
    } else {
        println!("(The console served while the demo ran; `egov demo --keep` keeps it serving.)");
    }
    platforms.stop().await;
    // A short run may leave a rule silent: the summary says so; it is not a failure.
    Ok(ExitCode::SUCCESS)
}

/// The file to create: `--db` (which must not exist yet), or egov.db in a new temporary
/// directory.
fn database_path(db: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match db {
        Some(path) if path.exists() => Err(ConfigError(format!(
            "--db {}: the file exists; the demo needs a fresh database (remove it or name \
             another file)",
            path.display()
        ))
        .into()),
        Some(path) => Ok(path),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "egov-demo-{}-{}",
                Utc::now().format("%Y%m%d-%H%M%S"),
                std::process::id()
            ));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Ok(dir.join("egov.db"))
        }
    }
}

/// What the demo prints while it runs.
struct Screen {
    bar: ProgressBar,
    every_warning: bool,
    /// (rule, level) pairs already shown once.
    shown: HashSet<(i32, i32)>,
    red_today: u32,
    red_held: u32,
    /// The counts at the start of the current simulated day.
    day_start: Progress,
    target: String,
    path: PathBuf,
    speed: f64,
    seed: u64,
}

impl Screen {
    fn new(args: &DemoArgs, target: &str, path: &std::path::Path) -> Screen {
        Screen {
            bar: ProgressBar::hidden(),
            every_warning: args.every_warning,
            shown: HashSet::new(),
            red_today: 0,
            red_held: 0,
            day_start: Progress::default(),
            target: target.to_owned(),
            path: path.to_owned(),
            speed: args.speed,
            seed: args.seed,
        }
    }

    fn show(&mut self, event: Event<'_>) {
        match event {
            Event::Ready {
                city,
                traffic,
                registered,
            } => {
                let mut profiles: BTreeMap<Profile, usize> = BTreeMap::new();
                for d in &city.departments {
                    *profiles.entry(d.profile).or_default() += 1;
                }
                let profiles: Vec<String> = profiles
                    .iter()
                    .map(|(p, n)| format!("{n} {}", p.as_str()))
                    .collect();
                let backlog = traffic
                    .cases
                    .iter()
                    .filter(|c| c.records[0].occurred_at < traffic.start)
                    .count();
                let registry = match registered.jurisdictions {
                    Some((regions, departments)) => {
                        format!("{regions} regions and {departments} departments registered")
                    }
                    None => "no region registry on this platform".to_owned(),
                };
                println!("egov demo: a month of a simulated city");
                println!(
                    "  city:      {} departments of Hangzhou (3301) and its districts ({}), {} \
                     matters; handlers {}",
                    city.departments.len(),
                    registry,
                    registered.matters,
                    profiles.join(", ")
                );
                println!(
                    "  traffic:   {} cases ({backlog} still open from before the start, re-synced \
                     first), {} records, {} .. {}",
                    traffic.cases.len(),
                    traffic.records.len(),
                    day(traffic.start),
                    day(traffic.end - chrono::Duration::seconds(1)),
                );
                println!(
                    "  platforms: approval + supervision on {}, SQLite {}",
                    self.target,
                    self.path.display()
                );
                let pace = if self.speed > 0.0 {
                    format!(
                        "{} simulated hours a second (--speed {})",
                        self.speed / 3600.0,
                        self.speed
                    )
                } else {
                    "as fast as the platforms settle (--speed 0)".to_owned()
                };
                println!("  clock:     the simulator's, {pace}; seed {}", self.seed);
                println!(
                    "Warnings as they are raised (the first of each kind, and red cards; \
                     --every-warning for all):"
                );
                self.bar = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                    let bar = ProgressBar::new(traffic.records.len() as u64);
                    bar.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar
                } else {
                    ProgressBar::hidden()
                };
            }
            Event::Raised(w) => {
                let first = self.shown.insert((w.rule, w.level));
                let red = w.level() == spb::WarningLevel::RedCard;
                if red {
                    self.red_today += 1;
                }
                let print = self.every_warning || first || (red && self.red_today <= RED_PER_DAY);
                if print {
                    let tag = if first && !self.every_warning {
                        "first "
                    } else {
                        "      "
                    };
                    self.bar
                        .suspend(|| println!("  {tag}{}", output::warning_line(w)));
                } else if red {
                    self.red_held += 1;
                }
            }
            Event::Tick(p) => {
                self.bar.set_message(status(p));
            }
            Event::Day(p) => {
                let yesterday = p.now - chrono::Duration::hours(1);
                let line = format!(
                    "{} {}  +{} records, +{} cases  +{} reminders, +{} yellow, +{} red{}  \
                     workflow: {} acknowledged, {} answered, {} closed, {} escalated",
                    day(yesterday),
                    weekday(yesterday),
                    p.records_sent - self.day_start.records_sent,
                    p.cases - self.day_start.cases,
                    p.at_level(spb::WarningLevel::Reminder)
                        - self.day_start.at_level(spb::WarningLevel::Reminder),
                    p.at_level(spb::WarningLevel::YellowCard)
                        - self.day_start.at_level(spb::WarningLevel::YellowCard),
                    p.at_level(spb::WarningLevel::RedCard)
                        - self.day_start.at_level(spb::WarningLevel::RedCard),
                    if self.red_held > 0 {
                        format!(" ({} red not shown)", self.red_held)
                    } else {
                        String::new()
                    },
                    p.workflow.acknowledged,
                    p.workflow.answered,
                    p.workflow.closed,
                    p.workflow.escalated + p.workflow.escalated_by_system,
                );
                self.bar.suspend(|| println!("{line}"));
                self.day_start = p.clone();
                self.red_today = 0;
                self.red_held = 0;
            }
        }
    }
}

/// The progress line: simulated time, records, warnings by level.
fn status(p: &Progress) -> String {
    let local = p.now.with_timezone(&output::local_zone());
    let behind = if p.behind_secs > 1.0 {
        format!("  ({:.0}s behind the pace)", p.behind_secs)
    } else {
        String::new()
    };
    format!(
        "[{} {}] records {}  cases {}  warnings: {} reminders, {} yellow, {} red{behind}",
        local.format("%Y-%m-%d %H:%M"),
        weekday(p.now),
        p.records_sent,
        p.cases,
        p.at_level(spb::WarningLevel::Reminder),
        p.at_level(spb::WarningLevel::YellowCard),
        p.at_level(spb::WarningLevel::RedCard),
    )
}

fn day(t: chrono::DateTime<Utc>) -> String {
    t.with_timezone(&output::local_zone())
        .format("%Y-%m-%d")
        .to_string()
}

fn weekday(t: chrono::DateTime<Utc>) -> String {
    t.with_timezone(&output::local_zone()).weekday().to_string()
}

/// The final summary: every rule with how often it fired, the workflow, the departments, and
/// where to look next.
fn summary(report: &Report, target: &str, path: &std::path::Path, keep: bool) {
    let p = &report.progress;
    println!();
    println!(
        "Simulated {} .. {} in {:.0?}: {} records sent ({} refused: completions sent before \
         their decision, as careless window systems do), {} cases.",
        day(report.start),
        day(report.end - chrono::Duration::seconds(1)),
        report.elapsed,
        p.records_sent,
        p.records_rejected,
        p.cases
    );
    println!();
    println!("How often each rule of docs/design.md §3 fired:");
    let mut table = Table::new(&["rule", "reminders", "yellow", "red", "total", "e.g. case"]);
    for rule in ALL_RULES {
        let n = |level| p.raised.get(&(rule, level)).copied().unwrap_or(0);
        let total = p.of_rule(rule);
        table.row(vec![
            output::rule_name(rule as i32),
            n(spb::WarningLevel::Reminder).to_string(),
            n(spb::WarningLevel::YellowCard).to_string(),
            n(spb::WarningLevel::RedCard).to_string(),
            if total == 0 {
                "0  (never fired!)".to_owned()
            } else {
                total.to_string()
            },
            report.example_case.get(&rule).cloned().unwrap_or_default(),
        ]);
    }
    table.row(vec![
        "all rules".into(),
        p.at_level(spb::WarningLevel::Reminder).to_string(),
        p.at_level(spb::WarningLevel::YellowCard).to_string(),
        p.at_level(spb::WarningLevel::RedCard).to_string(),
        p.total_raised().to_string(),
        String::new(),
    ]);
    print!("{}", table.render());
    let w = &p.workflow;
    println!(
        "Correction workflow: {} cards acknowledged, {} answered, {} closed by supervisors, {} \
         escalated by supervisors, {} escalated by the platform (unanswered red cards); {} moves \
         came too late (the warning had moved on).",
        w.acknowledged, w.answered, w.closed, w.escalated, w.escalated_by_system, w.refused
    );
    println!();
    match &report.ranking {
        Some(rows) => {
            println!(
                "The month's ranking (the scores service, docs/design.md §4; `egov scores --period {}` \
                 shows its indicators):",
                report.period
            );
            let profiles: std::collections::HashMap<&str, &str> = report
                .departments
                .iter()
                .map(|d| (d.code.as_str(), d.profile.as_str()))
                .collect();
            let mut table = Table::new(&["rank", "department", "handlers", "score", ""]);
            for r in rows {
                table.row(vec![
                    r.rank.to_string(),
                    r.department.clone(),
                    profiles
                        .get(r.department.as_str())
                        .copied()
                        .unwrap_or("")
                        .to_owned(),
                    r.score.clone(),
                    if r.bottom_two { "bottom two" } else { "" }.to_owned(),
                ]);
            }
            print!("{}", table.render());
        }
        None => {
            println!(
                "Departments by cards per 100 cases (this platform has no scores service yet):"
            );
            let mut lines = report.departments.clone();
            let per100 = |d: &egov_sim::demo::DepartmentLine| {
                (d.yellow + 3 * d.red) as f64 * 100.0 / d.cases.max(1) as f64
            };
            lines.sort_by(|a, b| per100(a).total_cmp(&per100(b)).then(a.code.cmp(&b.code)));
            let mut table = Table::new(&[
                "department",
                "handlers",
                "cases",
                "reminders",
                "yellow",
                "red",
                "cards/100 cases",
            ]);
            for d in &lines {
                table.row(vec![
                    d.code.clone(),
                    d.profile.as_str().to_owned(),
                    d.cases.to_string(),
                    d.reminders.to_string(),
                    d.yellow.to_string(),
                    d.red.to_string(),
                    format!("{:.1}", per100(d)),
                ]);
            }
            print!("{}", table.render());
        }
    }
    if !report.unexpected_rejections.is_empty() {
        println!(
            "Records refused unexpectedly (first {}):",
            report.unexpected_rejections.len()
        );
        for r in &report.unexpected_rejections {
            println!("  {r}");
        }
    }
    let silent = report.silent_rules();
    if !silent.is_empty() {
        let names: Vec<String> = silent
            .iter()
            .map(|r| output::rule_name(*r as i32))
            .collect();
        println!(
            "Rules that never fired: {} (simulate more days or departments)",
            names.join(", ")
        );
    }
    println!();
    let case = report
        .example_case
        .get(&spb::WarningRule::StatutoryLimitPassed)
        .or_else(|| report.example_case.values().next())
        .cloned()
        .unwrap_or_else(|| "HZ-20260901-0001".to_owned());
    let url = format!("sqlite://{}", path.display());
    let period = &report.period;
    let (intro, target) = if keep {
        println!("Look around while it serves (another terminal):");
        (None, target.to_owned())
    } else {
        let again = "http://127.0.0.1:50052".to_owned();
        println!("Where to look next: the city is in {}.", path.display());
        (
            Some(format!(
                "egov up --database-url {url} --listen 127.0.0.1:50052"
            )),
            again,
        )
    };
    let mut steps: Vec<(String, &str)> = Vec::new();
    if let Some(up) = intro {
        steps.push((up, "serve it again (on the wall clock)"));
    }
    steps.extend([
        (
            format!("egov case {case} --target {target}"),
            "a case: its records and deadline clocks, explained",
        ),
        (
            format!("egov warnings --level red --target {target}"),
            "the red cards",
        ),
        (
            format!("egov scores --period {period} --target {target}"),
            "the month's scores: indicators, ranking, bottom two",
        ),
        (
            format!("egov watch --target {target}"),
            "every warning of the month, then new ones",
        ),
    ]);
    let width = steps.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    for (command, what) in &steps {
        println!("  {command:<width$}  # {what}");
    }
    if !keep {
        println!(
            "  (or run the demo with --keep to look while its clock stands at the month's end)"
        );
    }
}
