//! `egov scores`: performance scores and rankings per period and region (docs/design.md §4), as a
//! table, CSV or JSON; and `egov scores close|recompute|versions|department`. All through the
//! supervision platform's `ScoresService`.

use std::fmt::Write as _;
use std::process::ExitCode;

use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_runtime::access::Authed;

use crate::cli::{ScoresDepartmentArgs, ScoresPeriodArgs, ScoresShowArgs, ScoresVersionsArgs};
use crate::client;
use crate::output::{Table, json_line, local_time};
use crate::settings::Target;

async fn connect(target: &Target) -> anyhow::Result<ScoresServiceClient<Authed>> {
    Ok(ScoresServiceClient::new(client::connect(target).await?)
        .max_decoding_message_size(16 * 1024 * 1024))
}

/// A rate as a percentage with one decimal ("87.5%"), "-" without data. Rounded once, half
/// up, from the exact numerator and denominator: rounding the basis points (already rounded)
/// again would turn 87.4499% (8745 bp) into 87.5%. A ratio carrying only basis points is shown
/// exactly ("87.45%").
fn percent(r: Option<&pb::Ratio>) -> String {
    match r {
        Some(r) if r.denominator > 0 => {
            let (n, d) = (i128::from(r.numerator), i128::from(r.denominator));
            // Half up, for either sign of the numerator.
            let tenths = (2 * 1_000 * n + d).div_euclid(2 * d);
            let sign = if tenths < 0 { "-" } else { "" };
            let t = tenths.abs();
            format!("{sign}{}.{}%", t / 10, t % 10)
        }
        Some(r) if r.basis_points != 0 => {
            let sign = if r.basis_points < 0 { "-" } else { "" };
            let bp = r.basis_points.abs();
            format!("{sign}{}.{:02}%", bp / 100, bp % 100)
        }
        _ => "-".into(),
    }
}

/// A rate as a fraction with four decimals ("0.8750"), empty without data: for CSV.
fn fraction(r: Option<&pb::Ratio>) -> String {
    match r {
        Some(r) if r.denominator > 0 => {
            format!("{}.{:04}", r.basis_points / 10_000, r.basis_points % 10_000)
        }
        _ => String::new(),
    }
}

/// Money as yuan with two decimals.
fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

fn flags(d: &pb::DepartmentScore) -> String {
    let mut f = String::new();
    if d.bottom_two {
        f.push_str("bottom-two ");
    }
    if d.leadership_review {
        f.push_str("leadership-review ");
    }
    if d.late_changes > 0 {
        let _ = write!(f, "late:{} ", d.late_changes);
    }
    f.trim_end().to_owned()
}

/// A grade by its configuration name; empty for a department not ranked.
pub(crate) fn grade(g: pb::Grade) -> &'static str {
    match g {
        pb::Grade::Unspecified => "",
        pb::Grade::Excellent => "excellent",
        pb::Grade::Good => "good",
        pb::Grade::Pass => "pass",
        pb::Grade::Fail => "fail",
    }
}

/// A CSV field, quoted when it needs to be.
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

const CSV_HEADER: &str = "period,rank,department,region,score,accepted,completed,on_time,early,\
on_time_rate,early_rate,average_used_share,satisfaction_rate,bad_review_rate,ratings,reminders,\
yellow_cards,red_cards,anomalies,irregular_fees,corrected_in_time,corrected_in_time_rate,\
fees_yuan,catalogue_speed_up,bottom_two,leadership_review,late_changes,grade";

fn csv_row(period: &str, rank: String, d: &pb::DepartmentScore) -> String {
    let i = d.indicators.clone().unwrap_or_default();
    let speed_up = i.catalogue.as_ref().and_then(|c| c.speed_up.as_ref());
    [
        csv(period),
        rank,
        csv(&d.department),
        csv(&d.region),
        d.score.clone(),
        i.accepted.to_string(),
        i.completed.to_string(),
        i.on_time.to_string(),
        i.early.to_string(),
        fraction(i.on_time_rate.as_ref()),
        fraction(i.early_rate.as_ref()),
        fraction(i.average_used_share.as_ref()),
        fraction(i.satisfaction_rate.as_ref()),
        fraction(i.bad_review_rate.as_ref()),
        i.ratings.to_string(),
        i.reminders.to_string(),
        i.yellow_cards.to_string(),
        i.red_cards.to_string(),
        i.anomalies.to_string(),
        i.irregular_fees.to_string(),
        i.corrected_in_time.to_string(),
        fraction(i.corrected_in_time_rate.as_ref()),
        yuan(i.fees_fen),
        fraction(speed_up),
        d.bottom_two.to_string(),
        d.leadership_review.to_string(),
        d.late_changes.to_string(),
        grade(d.grade()).to_owned(),
    ]
    .join(",")
}

pub async fn show(args: ScoresShowArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let period = args.period.clone().unwrap_or_default();
    let r = connect(&target)
        .await?
        .get_scores(pb::GetScoresRequest {
            period: period.clone(),
            region: args.region.clone().unwrap_or_default(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "reading the scores", s))?
        .into_inner();
    if args.json {
        println!("{}", json_line(&r));
        return Ok(ExitCode::SUCCESS);
    }
    if args.csv {
        println!("{CSV_HEADER}");
        for d in &r.departments {
            let rank = if d.ranked {
                d.rank.to_string()
            } else {
                String::new()
            };
            println!("{}", csv_row(&r.period, rank, d));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let days = match (&r.first_day, &r.last_day) {
        (Some(a), Some(b)) => format!(
            " ({:04}-{:02}-{:02} to {:04}-{:02}-{:02})",
            a.year, a.month, a.day, b.year, b.month, b.day
        ),
        _ => String::new(),
    };
    let scope = if r.region.is_empty() {
        "all regions".to_owned()
    } else {
        format!("region {}", r.region)
    };
    let state = if r.closed {
        format!(
            "closed, version {} of {}",
            r.version,
            local_time(r.computed_at.as_ref())
        )
    } else {
        "open: live from the rollups".to_owned()
    };
    println!("scores {}{days}, {scope}; {state}", r.period);
    let mut t = Table::new(&[
        "RANK",
        "DEPT",
        "REGION",
        "SCORE",
        "GRADE",
        "DONE",
        "ON-TIME",
        "EARLY",
        "USED",
        "SATISFIED",
        "BAD",
        "YELLOW",
        "RED",
        "CORRECTED",
        "FLAGS",
    ]);
    for d in &r.departments {
        let i = d.indicators.clone().unwrap_or_default();
        t.row(vec![
            if d.ranked {
                d.rank.to_string()
            } else {
                "-".into()
            },
            d.department.clone(),
            d.region.clone(),
            d.score.clone(),
            match grade(d.grade()) {
                "" => "-".to_owned(),
                g => g.to_owned(),
            },
            i.completed.to_string(),
            percent(i.on_time_rate.as_ref()),
            percent(i.early_rate.as_ref()),
            percent(i.average_used_share.as_ref()),
            percent(i.satisfaction_rate.as_ref()),
            percent(i.bad_review_rate.as_ref()),
            i.yellow_cards.to_string(),
            i.red_cards.to_string(),
            percent(i.corrected_in_time_rate.as_ref()),
            flags(d),
        ]);
    }
    if t.is_empty() {
        println!("no departments");
    } else {
        print!("{}", t.render());
    }
    if r.late_changes > 0 {
        println!(
            "{} change(s) arrived after this version was frozen (see `egov scores versions {}`; \
             `egov scores recompute {}` takes them in)",
            r.late_changes, r.period, r.period
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn close(args: ScoresPeriodArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let r = connect(&target)
        .await?
        .close_period(pb::ClosePeriodRequest {
            period: args.period.clone(),
            actor: args.actor.clone(),
            reason: args.reason.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, &format!("closing {}", args.period), s))?
        .into_inner();
    print_version(&r.version.unwrap_or_default(), args.json, "closed");
    Ok(ExitCode::SUCCESS)
}

pub async fn recompute(args: ScoresPeriodArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let r = connect(&target)
        .await?
        .recompute_period(pb::RecomputePeriodRequest {
            period: args.period.clone(),
            actor: args.actor.clone(),
            reason: args.reason.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, &format!("recomputing {}", args.period), s))?
        .into_inner();
    if args.json {
        println!("{}", json_line(&r));
    } else {
        print_version(&r.version.unwrap_or_default(), false, "recomputed");
        println!("  late changes taken in: {}", r.late_changes_included);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_version(v: &pb::PeriodVersion, json: bool, what: &str) {
    if json {
        println!("{}", json_line(v));
    } else {
        println!(
            "{} {what}: version {} at {} by {}{}",
            v.period,
            v.version,
            local_time(v.computed_at.as_ref()),
            v.actor,
            if v.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", v.reason)
            }
        );
    }
}

pub async fn versions(args: ScoresVersionsArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let r = connect(&target)
        .await?
        .list_period_versions(pb::ListPeriodVersionsRequest {
            period: args.period.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "listing the versions", s))?
        .into_inner();
    if args.json {
        println!("{}", json_line(&r));
        return Ok(ExitCode::SUCCESS);
    }
    if r.versions.is_empty() {
        println!("{} is not closed", args.period);
        return Ok(ExitCode::SUCCESS);
    }
    for v in &r.versions {
        print_version(v, false, "version");
    }
    if r.late_changes.is_empty() {
        println!("no late changes since the newest version");
    } else {
        let mut t = Table::new(&["NOTED", "DEPT", "SOURCE", "KEY", "BROUGHT BY"]);
        for l in &r.late_changes {
            t.row(vec![
                local_time(l.noted_at.as_ref()),
                l.department.clone(),
                l.source.clone(),
                l.key.clone(),
                l.detail.clone(),
            ]);
        }
        println!("late changes since the newest version:");
        print!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn department(args: ScoresDepartmentArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let r = connect(&target)
        .await?
        .get_department_indicators(pb::GetDepartmentIndicatorsRequest {
            department: args.code.clone(),
            first_period: args.from.clone().unwrap_or_default(),
            to: args.to.clone().unwrap_or_default(),
            ..Default::default()
        })
        .await
        .map_err(|s| client::call_failed(&target, &format!("reading {}", args.code), s))?
        .into_inner();
    if args.json {
        println!("{}", json_line(&r));
        return Ok(ExitCode::SUCCESS);
    }
    if args.csv {
        println!("{CSV_HEADER}");
        for p in &r.periods {
            let d = pb::DepartmentScore {
                department: r.department.clone(),
                region: r.region.clone(),
                score: p.score.clone(),
                indicators: p.indicators.clone(),
                grade: p.grade,
                ..Default::default()
            };
            println!("{}", csv_row(&p.period, String::new(), &d));
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} (region {})", r.department, r.region);
    let mut t = Table::new(&[
        "PERIOD",
        "SCORE",
        "GRADE",
        "ACCEPTED",
        "DONE",
        "ON-TIME",
        "EARLY",
        "USED",
        "SATISFIED",
        "YELLOW",
        "RED",
        "FEES",
        "STATE",
    ]);
    for p in &r.periods {
        let i = p.indicators.clone().unwrap_or_default();
        t.row(vec![
            p.period.clone(),
            p.score.clone(),
            match grade(p.grade()) {
                "" => "-".to_owned(),
                g => g.to_owned(),
            },
            i.accepted.to_string(),
            i.completed.to_string(),
            percent(i.on_time_rate.as_ref()),
            percent(i.early_rate.as_ref()),
            percent(i.average_used_share.as_ref()),
            percent(i.satisfaction_rate.as_ref()),
            i.yellow_cards.to_string(),
            i.red_cards.to_string(),
            yuan(i.fees_fen),
            if p.closed {
                format!("closed v{}", p.version)
            } else {
                "open".into()
            },
        ]);
    }
    print!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_print_as_percentages_and_fractions() {
        let r = pb::Ratio {
            numerator: 7,
            denominator: 8,
            basis_points: 8_750,
        };
        assert_eq!(percent(Some(&r)), "87.5%");
        assert_eq!(fraction(Some(&r)), "0.8750");
        let none = pb::Ratio::default();
        assert_eq!(
            (percent(Some(&none)), fraction(Some(&none))),
            ("-".into(), String::new())
        );
        let whole = pb::Ratio {
            numerator: 1,
            denominator: 1,
            basis_points: 10_000,
        };
        assert_eq!(
            (percent(Some(&whole)), fraction(Some(&whole))),
            ("100.0%".into(), "1.0000".into())
        );
        assert_eq!(
            percent(Some(&pb::Ratio {
                numerator: 2,
                denominator: 3,
                basis_points: 6_667
            })),
            "66.7%"
        );
        // 87.449%: 8745 basis points once rounded; rounded again they would say 87.5%.
        let edge = pb::Ratio {
            numerator: 87_449,
            denominator: 100_000,
            basis_points: 8_745,
        };
        assert_eq!(percent(Some(&edge)), "87.4%");
        // 87.45% exactly rounds half up.
        let half = pb::Ratio {
            numerator: 1_749,
            denominator: 2_000,
            basis_points: 8_745,
        };
        assert_eq!(percent(Some(&half)), "87.5%");
        // Basis points alone are shown exactly.
        let bp_only = pb::Ratio {
            basis_points: 8_745,
            ..pb::Ratio::default()
        };
        assert_eq!(percent(Some(&bp_only)), "87.45%");
        assert_eq!(yuan(1_250), "12.50");
        assert_eq!(csv("a,b"), "\"a,b\"");
    }
}
