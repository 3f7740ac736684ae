//! `egov accountability record|list`: accountability decisions and the register (docs/design.md
//! §3.4), through the supervision platform's `AccountabilityService`. A decision is recorded by
//! the credential's principal; the list pages through the whole register for an export.

use std::process::ExitCode;

use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::accountability_service_client::AccountabilityServiceClient;
use egov_runtime::access::Authed;

use crate::cli::{
    AccountabilityCommand, AccountabilityListArgs, AccountabilityRecordArgs, ClientArgs, MeasureArg,
};
use crate::client;
use crate::output::{Table, json_line, local_time};
use crate::settings::Target;

async fn connect(
    client: &ClientArgs,
) -> anyhow::Result<(Target, AccountabilityServiceClient<Authed>)> {
    let target = Target::from_args(client)?;
    let c = AccountabilityServiceClient::new(client::connect(&target).await?);
    Ok((target, c))
}

pub async fn run(command: AccountabilityCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccountabilityCommand::Record(a) => record(a).await,
        AccountabilityCommand::List(a) => list(a).await,
    }
}

fn measure(m: MeasureArg) -> pb::AccountabilityMeasure {
    match m {
        MeasureArg::AdmonitionTalk => pb::AccountabilityMeasure::AdmonitionTalk,
        MeasureArg::CirculatedCriticism => pb::AccountabilityMeasure::CirculatedCriticism,
        MeasureArg::EfficiencyWarning => pb::AccountabilityMeasure::EfficiencyWarning,
        MeasureArg::RemovalFromPost => pb::AccountabilityMeasure::RemovalFromPost,
    }
}

fn measure_name(m: pb::AccountabilityMeasure) -> &'static str {
    match m {
        pb::AccountabilityMeasure::AdmonitionTalk => "admonition_talk",
        pb::AccountabilityMeasure::CirculatedCriticism => "circulated_criticism",
        pb::AccountabilityMeasure::EfficiencyWarning => "efficiency_warning",
        pb::AccountabilityMeasure::RemovalFromPost => "removal_from_post",
        pb::AccountabilityMeasure::Unspecified => "",
    }
}

/// "warning 42" or "complaint 17".
fn grounds_of(d: &pb::AccountabilityDecision) -> String {
    use pb::accountability_decision::Basis;
    match &d.basis {
        Some(Basis::WarningId(id)) => format!("warning {id}"),
        Some(Basis::ComplaintId(id)) => format!("complaint {id}"),
        None => String::new(),
    }
}

async fn record(a: AccountabilityRecordArgs) -> anyhow::Result<ExitCode> {
    use pb::record_accountability_request::Basis;
    let (target, mut c) = connect(&a.client).await?;
    let basis = match (&a.warning, &a.complaint) {
        (Some(w), _) => Basis::WarningId(w.clone()),
        (None, Some(c)) => Basis::ComplaintId(c.clone()),
        (None, None) => anyhow::bail!("give --warning ID or --complaint ID"),
    };
    let d = c
        .record_accountability(pb::RecordAccountabilityRequest {
            basis: Some(basis),
            department: a.department.clone().unwrap_or_default(),
            person: a.person.clone().unwrap_or_default(),
            measure: measure(a.measure).into(),
            decided_on: a.decided_on.clone(),
            grounds: a.grounds.clone(),
        })
        .await
        .map_err(|s| client::call_failed(&target, "recording the decision", s))?
        .into_inner()
        .decision
        .unwrap_or_default();
    if a.json {
        println!("{}", json_line(&d));
    } else {
        let who = if d.person.is_empty() {
            format!("department {}", d.department)
        } else {
            format!("{} of {}", d.person, d.department)
        };
        println!(
            "decision {} recorded: {} ({}) for {who}, dated {}, on {}",
            d.id,
            d.measure_name,
            measure_name(d.measure()),
            d.decided_on,
            grounds_of(&d)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A CSV field, quoted when it needs to be.
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

const CSV_HEADER: &str = "id,decided_on,department,region,person,measure,measure_name,grounds_of,\
grounds,office,recorded_by,recorded_at";

fn csv_row(d: &pb::AccountabilityDecision) -> String {
    [
        d.id.clone(),
        d.decided_on.clone(),
        d.department.clone(),
        d.region.clone(),
        d.person.clone(),
        measure_name(d.measure()).to_owned(),
        d.measure_name.clone(),
        grounds_of(d),
        d.grounds.clone(),
        d.office.clone(),
        d.recorded_by.clone(),
        local_time(d.recorded_at.as_ref()),
    ]
    .iter()
    .map(|f| csv(f))
    .collect::<Vec<_>>()
    .join(",")
}

async fn list(a: AccountabilityListArgs) -> anyhow::Result<ExitCode> {
    let (target, mut c) = connect(&a.client).await?;
    let mut request = pb::ListAccountabilityRequest {
        region: a.region.clone().unwrap_or_default(),
        department: a.department.clone().unwrap_or_default(),
        measures: a.measure.iter().map(|m| measure(*m).into()).collect(),
        from: a.from.clone().unwrap_or_default(),
        to: a.to.clone().unwrap_or_default(),
        page_size: 1000,
        page_token: String::new(),
    };
    // The whole register matching the filters: an export is not a first page.
    let mut decisions = Vec::new();
    loop {
        let r = c
            .list_accountability(request.clone())
            .await
            .map_err(|s| client::call_failed(&target, "listing the register", s))?
            .into_inner();
        decisions.extend(r.decisions);
        if r.next_page_token.is_empty() {
            break;
        }
        request.page_token = r.next_page_token;
    }
    if a.json {
        for d in &decisions {
            println!("{}", json_line(d));
        }
    } else if a.csv {
        println!("{CSV_HEADER}");
        for d in &decisions {
            println!("{}", csv_row(d));
        }
    } else {
        let mut t = Table::new(&["ID", "DATE", "DEPT", "PERSON", "MEASURE", "FOR", "GROUNDS"]);
        for d in &decisions {
            t.row(vec![
                d.id.clone(),
                d.decided_on.clone(),
                d.department.clone(),
                d.person.clone(),
                d.measure_name.clone(),
                grounds_of(d),
                d.grounds.chars().take(40).collect(),
            ]);
        }
        print!("{}", t.render());
        if decisions.is_empty() {
            println!("(no decision in the register matches)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_is_one_csv_line_whatever_its_grounds_say() {
        let d = pb::AccountabilityDecision {
            id: "3".into(),
            basis: Some(pb::accountability_decision::Basis::WarningId("42".into())),
            department: "market".into(),
            region: "330106".into(),
            office: "330106".into(),
            person: "王五".into(),
            measure: pb::AccountabilityMeasure::RemovalFromPost.into(),
            measure_name: "调离岗位".into(),
            decided_on: "2026-04-02".into(),
            grounds: "charged \"sampling\",\ntwice".into(),
            recorded_at: None,
            recorded_by: "office-330106".into(),
        };
        assert_eq!(
            csv_row(&d),
            "3,2026-04-02,market,330106,王五,removal_from_post,调离岗位,warning 42,\
             \"charged \"\"sampling\"\",\ntwice\",330106,office-330106,-"
        );
        assert_eq!(CSV_HEADER.split(',').count(), 12);
    }
}
