//! Withdrawn warnings (issue 14, item 3; docs/design.md §3.2), end to end over gRPC on
//! PostgreSQL and SQLite: a case whose records arrive more than the grace apart gets a card on
//! incomplete records; a record dated before the card's deadline that arrives later disproves
//! it, and the card is withdrawn by "system" with the record named, shown again on the warning
//! stream, and counted in no score (open and closed periods alike); a later record that does
//! not disprove it leaves it; a yellow card's red card is withdrawn with it.
//!
//! The story matter (M-FOOD, market department) promises 10 and the law allows 20 working
//! days; a certificate is due 10 working days after an approval. March 2024 has no holidays.

use chrono::Duration;
use egov_approval::testing::fixtures::*;
use egov_platform::testing::{PATIENCE, connect};
use egov_proto::approval::v1 as apb;
use egov_proto::supervision::v1 as pb;
use egov_proto::supervision::v1::scores_service_client::ScoresServiceClient;
use egov_runtime::access::Authed;
use egov_store::Backend;
use egov_supervision::SupervisionOptions;
use egov_tests::*;

/// Approved Tue 03-05 10:00 and completed, the certificate due 03-19 24:00; sent on 03-25
/// after an outage, all but the certificate record.
fn approved_without_certificate(c: &str) -> Vec<apb::Record> {
    vec![
        rec(
            c,
            1,
            "2024-03-04 09:00",
            application(MATTER, DEPARTMENT, REGION),
        ),
        rec(c, 2, "2024-03-04 10:00", acceptance()),
        rec(c, 3, "2024-03-05 10:00", decision(true)),
        rec(c, 4, "2024-03-05 10:30", completion()),
    ]
}

/// The certificate issued at local time `at` (record 5 of the case).
fn certificate_at(c: &str, at: &str) -> apb::Record {
    rec(c, 5, at, certificate())
}

/// The case pushed at 03-25 10:00, more than the grace before the rest: the certificate card
/// is raised on the records that came (the grace after their write).
async fn card_on_incomplete_records(w: &mut Platforms, c: &str) -> pb::Warning {
    w.push_at("2024-03-25 10:00", approved_without_certificate(c))
        .await;
    w.clock.advance(Duration::seconds(4));
    let card = w.next().await;
    assert_eq!(
        (
            card.case_no.as_str(),
            card.rule(),
            card.level(),
            card.state()
        ),
        (
            c,
            pb::WarningRule::CertificateOverdue,
            pb::WarningLevel::YellowCard,
            pb::WarningState::Raised
        ),
        "{}",
        line(&card)
    );
    assert_eq!(deadline_text(due_at(&card)), "2024-03-19 24:00");
    card
}

async fn get(w: &mut Platforms, id: &str) -> pb::Warning {
    w.supervision()
        .client
        .get_warning(pb::GetWarningRequest { id: id.into() })
        .await
        .expect("get warning")
        .into_inner()
        .warning
        .expect("a warning")
}

async fn scores_client(w: &mut Platforms) -> ScoresServiceClient<Authed> {
    let s = w.supervision();
    ScoresServiceClient::new(connect(s.addr, Some(s.admin_token())).await)
}

/// The market department's yellow and red cards in `period`, once the scores follower caught
/// up, and the period's late changes.
async fn cards_counted(w: &mut Platforms, period: &str) -> (i64, i64, u64) {
    let s = w.supervision().supervision.clone();
    egov_supervision::scores::follower::settle(&s, PATIENCE)
        .await
        .expect("the scores follower catches up");
    let scores = scores_client(w)
        .await
        .get_scores(pb::GetScoresRequest {
            period: period.into(),
            region: String::new(),
        })
        .await
        .expect("scores")
        .into_inner();
    let market = scores
        .departments
        .iter()
        .find(|d| d.department == DEPARTMENT)
        .and_then(|d| d.indicators.clone())
        .unwrap_or_default();
    (market.yellow_cards, market.red_cards, scores.late_changes)
}

/// The story: a certificate-overdue card, then the certificate record (dated 03-12,
/// before the deadline) one second later: the card is withdrawn, with the record named, on
/// the stream and in its history, and no longer counted. The period was closed meanwhile: the
/// withdrawal is noted late there, and counts nowhere once recomputed.
async fn a_card_disproved_by_a_later_record_is_withdrawn(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let c = "W-CERT";
    let card = card_on_incomplete_records(&mut w, c).await;
    assert_eq!(cards_counted(&mut w, "2024-03").await, (1, 0, 0));
    // March is over on 04-01: closed with the card in it.
    w.at("2024-04-02 09:00");
    w.supervision().settled().await;
    scores_client(&mut w)
        .await
        .close_period(pb::ClosePeriodRequest {
            period: "2024-03".into(),
            actor: "analyst".into(),
            reason: "month end".into(),
        })
        .await
        .expect("March is closed");

    w.clock.advance(Duration::seconds(1));
    w.push(vec![certificate_at(c, "2024-03-12 10:00")]).await;
    let withdrawn = w.next().await;
    assert_eq!(withdrawn.id, card.id);
    assert_eq!(withdrawn.state(), pb::WarningState::Withdrawn);
    let why = withdrawn.withdrawal.clone().expect("the withdrawal");
    assert_eq!(why.event_id, "W-CERT-5");
    assert_eq!(
        why.reason,
        "record W-CERT-5 (occurred 2024-03-12 10:00): certificate clock stopped on time at \
         2024-03-12 10:00"
    );
    let history = get(&mut w, &card.id).await.history;
    let last = history.last().expect("a transition");
    assert_eq!(
        (last.state(), last.actor.as_str(), last.note.as_str()),
        (pb::WarningState::Withdrawn, "system", why.reason.as_str())
    );
    // A department may no longer act on it.
    let refused = w
        .supervision()
        .client
        .acknowledge_warning(pb::AcknowledgeWarningRequest {
            input: Some(pb::WarningTransitionInput {
                id: card.id.clone(),
                reason: "seen".into(),
                ..Default::default()
            }),
        })
        .await
        .expect_err("a withdrawn card is final");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    // Closed March keeps its snapshot and notes the change; a recomputation drops the card.
    assert_eq!(cards_counted(&mut w, "2024-03").await, (1, 0, 1));
    scores_client(&mut w)
        .await
        .recompute_period(pb::RecomputePeriodRequest {
            period: "2024-03".into(),
            actor: "analyst".into(),
            reason: "late records".into(),
        })
        .await
        .expect("March is recomputed");
    assert_eq!(cards_counted(&mut w, "2024-03").await.0, 0);
    // Nothing else was raised: one warning, listed in its new state, and found by it.
    w.supervision().settled().await;
    let all = w.listed().await;
    assert_eq!(all.len(), 1, "{:?}", lines(&all));
    assert_eq!(all[0].state(), pb::WarningState::Withdrawn);
    let listed = w
        .supervision()
        .list_all(pb::ListWarningsRequest {
            states: vec![pb::WarningState::Withdrawn.into()],
            ..Default::default()
        })
        .await;
    assert_eq!(
        listed.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        [card.id.as_str()]
    );
}

/// Later records that do not disprove the card leave it: the certificate issued after the
/// deadline (the clock stopped late), a rating. In an open period it keeps counting.
async fn a_later_record_that_does_not_disprove_the_card_leaves_it(backend: Backend) {
    let mut w = Platforms::start(backend, "2024-03-04 09:00").await;
    let c = "W-LATE";
    let card = card_on_incomplete_records(&mut w, c).await;
    w.clock.advance(Duration::seconds(1));
    w.push(vec![
        certificate_at(c, "2024-03-21 10:00"),
        rec(c, 6, "2024-03-22 10:00", rating(1)),
    ])
    .await;
    w.quiet().await;
    let now = get(&mut w, &card.id).await;
    assert_eq!(now.state(), pb::WarningState::Raised);
    assert_eq!(now.withdrawal, None);
    assert_eq!(cards_counted(&mut w, "2024-03").await, (1, 0, 0));
}

/// A yellow card acknowledged but not answered in time gives a red card; the record that
/// disproves the yellow card withdraws both, the red card naming its yellow card.
async fn a_yellow_card_and_its_red_card_are_withdrawn_together(backend: Backend) {
    let mut w =
        Platforms::start_with_options(backend, "2024-03-04 09:00", SupervisionOptions::default())
            .await;
    let c = "W-RED";
    let yellow = card_on_incomplete_records(&mut w, c).await;
    w.supervision()
        .client
        .acknowledge_warning(pb::AcknowledgeWarningRequest {
            input: Some(pb::WarningTransitionInput {
                id: yellow.id.clone(),
                reason: "looking into it".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("acknowledged");
    // The correction due stamp and the acknowledgement show on the stream.
    let mut red = None;
    w.at("2024-04-05 09:00");
    for _ in 0..8 {
        let next = w.next().await;
        if next.level() == pb::WarningLevel::RedCard {
            red = Some(next);
            break;
        }
    }
    let red = red.expect("the yellow card's passed correction due gives a red card");
    assert_eq!(red.rule(), pb::WarningRule::CertificateOverdue);
    assert_eq!(cards_counted(&mut w, "2024-03").await.0, 1);

    w.push(vec![certificate_at(c, "2024-03-12 10:00")]).await;
    let mut withdrawn = std::collections::BTreeMap::new();
    while withdrawn.len() < 2 {
        let next = w.next().await;
        if next.state() == pb::WarningState::Withdrawn {
            withdrawn.insert(next.id.clone(), next);
        }
    }
    let yellow_now = &withdrawn[&yellow.id];
    let red_now = &withdrawn[&red.id];
    let why = yellow_now.withdrawal.clone().expect("why");
    assert_eq!(why.event_id, "W-RED-5");
    let red_why = red_now.withdrawal.clone().expect("why");
    assert_eq!(red_why.event_id, "W-RED-5");
    assert_eq!(
        red_why.reason,
        format!("yellow card {} withdrawn: {}", yellow.id, why.reason)
    );
    let history = get(&mut w, &yellow.id).await.history;
    let states: Vec<pb::WarningState> = history.iter().map(|t| t.state()).collect();
    assert_eq!(
        states,
        [
            pb::WarningState::Raised,
            pb::WarningState::Acknowledged,
            pb::WarningState::Withdrawn
        ]
    );
    let (yellows, reds, _) = cards_counted(&mut w, "2024-03").await;
    let (april_yellows, april_reds, _) = cards_counted(&mut w, "2024-04").await;
    assert_eq!((yellows, reds, april_yellows, april_reds), (0, 0, 0, 0));
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
    a_card_disproved_by_a_later_record_is_withdrawn,
    a_later_record_that_does_not_disprove_the_card_leaves_it,
    a_yellow_card_and_its_red_card_are_withdrawn_together,
);
