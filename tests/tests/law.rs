//! The law exactly (issue 10), end to end over gRPC on both databases: events count only while
//! a limit runs and in the order they happened (docs/design.md §2), calendar-day limits follow Civil
//! Code Art. 203, the calendar knows 2005-12-31, and the catalogue is versioned.
//!
//! Times are local (Asia/Shanghai). The story matter M-FOOD promises 2 working days here and
//! the law allows 20: accepted Monday 2024-03-04, the promised limit is due 03-06 24:00 and the
//! statutory one 04-01 24:00 (March 2024 has no holidays).

use egov_approval::testing::fixtures::*;
use egov_domain::record::RecordBody;
use egov_proto::approval::v1 as apb;
use egov_proto::approval::v1::{DeadlineClockKind, DeadlineClockStatus};
use egov_store::Backend;
use egov_tests::*;

const CASE: &str = "ZJ-LAW-1";

fn promising(days: u32) -> apb::Matter {
    matter(MATTER, DEPARTMENT, days, STATUTORY_DAYS)
}

async fn start(backend: Backend) -> Platforms {
    Platforms::start_with(
        backend,
        "2024-03-04 09:00",
        Default::default(),
        vec![promising(2)],
    )
    .await
}

fn accepted_monday() -> Vec<apb::Record> {
    vec![
        rec(
            CASE,
            1,
            "2024-03-04 10:00",
            application(MATTER, DEPARTMENT, REGION),
        ),
        rec(CASE, 2, "2024-03-04 10:00", acceptance()),
    ]
}

fn extension(working_days: u32) -> RecordBody {
    RecordBody::Extension {
        working_days,
        approver: "head-1".into(),
        reason: "a site visit is needed".into(),
    }
}

async fn get_case(w: &mut Platforms, case_no: &str) -> apb::Case {
    w.approval
        .client
        .get_case(apb::GetCaseRequest {
            case_no: case_no.into(),
            view: 0,
        })
        .await
        .expect("get case")
        .into_inner()
        .case
        .expect("a case")
}

fn clock(case: &apb::Case, kind: DeadlineClockKind) -> apb::DeadlineClock {
    case.clocks
        .iter()
        .find(|c| c.kind() == kind)
        .unwrap_or_else(|| panic!("no {kind:?} clock in {case:#?}"))
        .clone()
}

fn last_day(c: &apb::DeadlineClock) -> String {
    let d = c.last_day.as_ref().expect("last_day");
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// The warnings raised once the clock is at local time `t` and the workers have caught up,
/// as sorted lines.
async fn warnings_at(w: &mut Platforms, t: &str) -> Vec<String> {
    w.at(t);
    w.supervision().settled().await;
    sorted_lines(&w.listed().await)
}

fn of_rule(lines: &[String], rule: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains(&format!(" {rule} ")))
        .cloned()
        .collect()
}

/// Item 1: a suspension that starts on the promised limit's last day (03-06 11:00, 13 hours
/// left) counts: 03-07 and 03-08 are added, the limit is due 03-08 24:00, and the decision at
/// 03-08 17:00 is on time. No promised_limit_passed.
async fn item1_a_suspension_on_the_last_day_counts(backend: Backend) {
    let mut w = start(backend).await;
    let mut records = accepted_monday();
    records.push(rec(
        CASE,
        3,
        "2024-03-06 11:00",
        suspension("2024-03-08 17:00"),
    ));
    w.push_at("2024-03-06 11:00", records).await;
    let case = get_case(&mut w, CASE).await;
    let promised = clock(&case, DeadlineClockKind::Promised);
    assert_eq!(promised.status(), DeadlineClockStatus::Paused);
    assert_eq!(last_day(&promised), "2024-03-08");

    w.push_at(
        "2024-03-08 17:00",
        vec![
            rec(CASE, 4, "2024-03-08 16:00", suspension_ended()),
            rec(CASE, 5, "2024-03-08 17:00", decision(true)),
        ],
    )
    .await;
    let case = get_case(&mut w, CASE).await;
    let promised = clock(&case, DeadlineClockKind::Promised);
    assert_eq!(promised.status(), DeadlineClockStatus::StoppedOnTime);
    assert_eq!(last_day(&promised), "2024-03-08");
    assert_eq!(promised.suspended_days, 2);
    assert_eq!(
        promised.explanation,
        "accepted 2024-03-04, 2 working days; 2 working days suspended -> due 2024-03-08 24:00"
    );
    let got = warnings_at(&mut w, "2024-03-20 00:00").await;
    assert!(
        of_rule(&got, "promised_limit_passed").is_empty(),
        "{got:#?}"
    );
}

/// Item 2: a 10-day extension approved 03-11, after the promised limit passed on 03-06,
/// does not revive it: the decision on 03-12 is late, the promised limit passed is raised,
/// and the late extension is itself an extension-abuse anomaly. The statutory limit, still
/// running on 03-11, is extended.
async fn item2_a_late_extension_does_not_revive_the_limit(backend: Backend) {
    let mut w = start(backend).await;
    w.push_at("2024-03-04 10:00", accepted_monday()).await;
    // The promised limit passes at 03-06 24:00, and the supervisor is told then.
    warnings_at(&mut w, "2024-03-07 00:00").await;
    w.at("2024-03-11 15:00");
    w.push(vec![rec(CASE, 3, "2024-03-11 15:00", extension(10))])
        .await;
    w.push_at(
        "2024-03-12 10:00",
        vec![rec(CASE, 4, "2024-03-12 10:00", decision(true))],
    )
    .await;
    let case = get_case(&mut w, CASE).await;
    let promised = clock(&case, DeadlineClockKind::Promised);
    assert_eq!(promised.status(), DeadlineClockStatus::StoppedLate);
    assert_eq!(last_day(&promised), "2024-03-06");
    assert_eq!(promised.extension_days, 0);
    assert_eq!(
        promised.explanation,
        "accepted 2024-03-04, 2 working days; extension of 2024-03-11 came after the promised \
         limit passed on 2024-03-06 24:00: not applied -> due 2024-03-06 24:00"
    );
    let statutory = clock(&case, DeadlineClockKind::Statutory);
    assert_eq!(statutory.extension_days, 10);
    assert_eq!(statutory.status(), DeadlineClockStatus::StoppedOnTime);

    let got = warnings_at(&mut w, "2024-03-20 00:00").await;
    assert_eq!(
        of_rule(&got, "promised_limit_passed"),
        vec![format!(
            "{CASE} promised_limit_passed yellow_card, due 2024-03-06 24:00, raised 2024-03-07 00:00"
        )],
        "{got:#?}"
    );
    assert_eq!(
        of_rule(&got, "extension_abuse"),
        vec![format!(
            "{CASE} extension_abuse yellow_card, no deadline, raised 2024-03-11 15:00"
        )],
        "{got:#?}"
    );
}

/// Item 3: a suspension 03-08..03-15, after the promised due of 03-06, then an extension on
/// 03-18: each is judged against the due as it stood, so neither counts for the promised
/// limit (due 03-06, the decision of 03-19 late), while the statutory limit takes both.
async fn item3_events_count_in_time_order(backend: Backend) {
    let mut w = start(backend).await;
    let mut records = accepted_monday();
    records.extend([
        rec(CASE, 3, "2024-03-08 10:00", suspension("2024-03-15 17:00")),
        rec(CASE, 4, "2024-03-15 16:00", suspension_ended()),
        rec(CASE, 5, "2024-03-18 10:00", extension(10)),
        rec(CASE, 6, "2024-03-19 10:00", decision(true)),
    ]);
    // Pushed late, all at once: the case is replayed in time order all the same.
    w.push_at("2024-03-19 10:00", records).await;
    let case = get_case(&mut w, CASE).await;
    let promised = clock(&case, DeadlineClockKind::Promised);
    assert_eq!(last_day(&promised), "2024-03-06");
    assert_eq!(promised.status(), DeadlineClockStatus::StoppedLate);
    assert_eq!((promised.suspended_days, promised.extension_days), (0, 0));
    assert_eq!(
        promised.explanation,
        "accepted 2024-03-04, 2 working days; suspension of 2024-03-08 came after the promised \
         limit passed on 2024-03-06 24:00: not counted; extension of 2024-03-18 came after the \
         promised limit passed on 2024-03-06 24:00: not applied -> due 2024-03-06 24:00"
    );
    let statutory = clock(&case, DeadlineClockKind::Statutory);
    assert_eq!(
        (statutory.suspended_days, statutory.extension_days),
        (5, 10)
    );
    assert_eq!(last_day(&statutory), "2024-04-23");
    let got = warnings_at(&mut w, "2024-03-25 00:00").await;
    assert_eq!(of_rule(&got, "promised_limit_passed").len(), 1, "{got:#?}");
    assert_eq!(of_rule(&got, "extension_abuse").len(), 1, "{got:#?}");
}

/// Item 4: a calendar-day limit whose last day is a rest day ends on the first working day
/// after the rest (Civil Code Art. 203): 5 calendar days from 2024-02-05 end on 02-10, inside
/// Spring Festival (02-10..02-17), so on the adjusted working Sunday 02-18.
async fn item4_a_calendar_day_limit_moves_past_a_rest_day(backend: Backend) {
    let mut m = promising(2);
    m.promised_limit = Some(apb::TimeLimit {
        amount: 5,
        unit: apb::LimitUnit::CalendarDays.into(),
    });
    let mut w =
        Platforms::start_with(backend, "2024-02-05 09:00", Default::default(), vec![m]).await;
    w.push_at(
        "2024-02-05 10:00",
        vec![
            rec(
                CASE,
                1,
                "2024-02-05 09:00",
                application(MATTER, DEPARTMENT, REGION),
            ),
            rec(CASE, 2, "2024-02-05 10:00", acceptance()),
        ],
    )
    .await;
    let case = get_case(&mut w, CASE).await;
    let promised = clock(&case, DeadlineClockKind::Promised);
    assert_eq!(last_day(&promised), "2024-02-18");
    assert_eq!(
        promised.explanation,
        "accepted 2024-02-05, 5 calendar days; the last day 2024-02-10 is a rest day: moved to \
         2024-02-18 (Civil Code Art. 203) -> due 2024-02-18 24:00"
    );
    assert!(
        w.stored_due(CASE)
            .await
            .contains(&("promised".to_owned(), local("2024-02-19 00:00")))
    );
}

/// Item 5: Saturday 2005-12-31 was an adjusted working day (Guobanfa Mingdian [2005] No. 35).
/// Received Friday 2005-12-30, the acceptance decision is due within 5 working days: 12-31,
/// (New Year 01-01..03 off) 01-04, 01-05, 01-06, 01-09.
async fn item5_saturday_2005_12_31_was_a_working_day(backend: Backend) {
    let mut w = Platforms::start_with(
        backend,
        "2005-12-30 09:00",
        Default::default(),
        vec![promising(2)],
    )
    .await;
    w.push_at(
        "2005-12-30 09:00",
        vec![rec(
            CASE,
            1,
            "2005-12-30 09:00",
            application(MATTER, DEPARTMENT, REGION),
        )],
    )
    .await;
    let case = get_case(&mut w, CASE).await;
    let acceptance = clock(&case, DeadlineClockKind::Acceptance);
    assert_eq!(last_day(&acceptance), "2006-01-09");
    assert!(
        acceptance
            .explanation
            .contains("the adjusted working day 2005-12-31 counted"),
        "{}",
        acceptance.explanation
    );
}

/// Item 6: the catalogue is versioned. Case A is accepted under version 1 (statutory 20);
/// the statutory limit is then raised to 400 (version 2) and the kind changed to immediate
/// (version 3). A keeps version 1 (due 04-01, its due instants unchanged, it still replays);
/// case B, accepted after the first edit, counts from version 2. GetCase and the explanation
/// name the version; ListMatterVersions lists all three.
async fn item6_a_case_keeps_its_catalogue_version(backend: Backend) {
    let mut w = start(backend).await;
    w.push_at("2024-03-04 10:00", accepted_monday()).await;
    let statutory_due = |due: Vec<(String, chrono::DateTime<chrono::Utc>)>| {
        due.into_iter().find(|(k, _)| k == "statutory")
    };
    let due_before = statutory_due(w.stored_due(CASE).await);
    assert_eq!(
        due_before,
        Some(("statutory".into(), local("2024-04-02 00:00")))
    );

    w.at("2024-03-05 09:00");
    let mut v2 = promising(2);
    v2.statutory_limit = Some(apb::TimeLimit {
        amount: 400,
        unit: apb::LimitUnit::WorkingDays.into(),
    });
    let results = w
        .approval
        .client
        .upsert_matters(apb::UpsertMattersRequest {
            matters: vec![v2.clone()],
        })
        .await
        .expect("upsert")
        .into_inner()
        .results;
    assert_eq!(results[0].status(), apb::MatterResultStatus::Updated);

    let b = "ZJ-LAW-2";
    w.push_at(
        "2024-03-06 10:00",
        vec![
            rec(
                b,
                1,
                "2024-03-06 09:00",
                application(MATTER, DEPARTMENT, REGION),
            ),
            rec(b, 2, "2024-03-06 10:00", acceptance()),
        ],
    )
    .await;

    w.at("2024-03-07 09:00");
    let mut v3 = matter(MATTER, DEPARTMENT, 0, 0);
    v3.name = v2.name.clone();
    let results = w
        .approval
        .client
        .upsert_matters(apb::UpsertMattersRequest { matters: vec![v3] })
        .await
        .expect("upsert")
        .into_inner()
        .results;
    assert_eq!(results[0].status(), apb::MatterResultStatus::Updated);

    let a = get_case(&mut w, CASE).await;
    assert_eq!(a.catalogue_version, 1);
    let statutory = clock(&a, DeadlineClockKind::Statutory);
    assert_eq!(last_day(&statutory), "2024-04-01");
    assert_eq!(
        statutory.explanation,
        "accepted 2024-03-04, 20 working days; catalogue M-FOOD version 1 -> due 2024-04-01 24:00"
    );
    assert_eq!(statutory_due(w.stored_due(CASE).await), due_before);

    let case_b = get_case(&mut w, b).await;
    assert_eq!(case_b.catalogue_version, 2);
    let statutory = clock(&case_b, DeadlineClockKind::Statutory);
    assert_eq!(statutory.limit.as_ref().map(|l| l.amount), Some(400));
    assert!(
        statutory.explanation.contains("catalogue M-FOOD version 2"),
        "{}",
        statutory.explanation
    );

    // Both cases still take records: A under version 1 (promised/statutory), not immediate,
    // and its recomputed due instants still count 20 working days.
    w.push_at(
        "2024-03-07 10:00",
        vec![rec(CASE, 3, "2024-03-07 10:00", step_started("review"))],
    )
    .await;
    assert_eq!(statutory_due(w.stored_due(CASE).await), due_before);
    w.push_at(
        "2024-03-08 10:00",
        vec![rec(CASE, 4, "2024-03-08 10:00", decision(true))],
    )
    .await;
    let a = get_case(&mut w, CASE).await;
    assert_eq!(
        clock(&a, DeadlineClockKind::Statutory).status(),
        DeadlineClockStatus::StoppedOnTime
    );

    let versions = w
        .approval
        .client
        .list_matter_versions(apb::ListMatterVersionsRequest {
            matter_code: MATTER.into(),
        })
        .await
        .expect("versions")
        .into_inner()
        .versions;
    let summary: Vec<(i64, String, Option<u32>)> = versions
        .iter()
        .map(|v| {
            let m = v.matter.as_ref().expect("matter");
            (
                v.version,
                local_text(
                    chrono::DateTime::from_timestamp(
                        v.valid_from.as_ref().expect("valid_from").seconds,
                        0,
                    )
                    .expect("instant"),
                ),
                m.statutory_limit.as_ref().map(|l| l.amount),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "2024-03-04 09:00".to_owned(), Some(20)),
            (2, "2024-03-05 09:00".to_owned(), Some(400)),
            (3, "2024-03-07 09:00".to_owned(), Some(0)),
        ]
    );
    let unknown = w
        .approval
        .client
        .list_matter_versions(apb::ListMatterVersionsRequest {
            matter_code: "M-NONE".into(),
        })
        .await
        .expect_err("unknown matter");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Postgres).await })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(egov_store::Backend::Sqlite).await })*
        }
    };
}

on_both_databases!(
    item1_a_suspension_on_the_last_day_counts,
    item2_a_late_extension_does_not_revive_the_limit,
    item3_events_count_in_time_order,
    item4_a_calendar_day_limit_moves_past_a_rest_day,
    item5_saturday_2005_12_31_was_a_working_day,
    item6_a_case_keeps_its_catalogue_version,
);
