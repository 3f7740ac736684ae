//! `egov status`: whether the platforms at --target answer, for people and health checks.
//! Exit code 0 when at least one platform answers there (a deployment may serve one per port).

use std::process::ExitCode;

use egov_proto::approval::v1 as pb;
use egov_proto::supervision::v1 as spb;
use tonic::Code;

use crate::cli::StatusArgs;
use crate::client;
use crate::settings::Target;

pub async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.client)?;
    let channel = client::connect(&target).await?;
    let approval = client::approval_on(channel.clone())
        .list_matters(pb::ListMattersRequest {
            page_size: 1,
            ..Default::default()
        })
        .await;
    let supervision = client::supervision_on(channel)
        .list_warnings(spb::ListWarningsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await;
    let mut answering = 0;
    for (name, result) in [
        ("approval platform", approval.map(|_| ())),
        ("supervision platform", supervision.map(|_| ())),
    ] {
        let state = match result {
            Ok(()) => {
                answering += 1;
                "ok".to_owned()
            }
            Err(s) if s.code() == Code::Unimplemented => "not served here".to_owned(),
            Err(s) => format!("failing: {} ({:?})", s.message(), s.code()),
        };
        println!("{name:<21} at {target}: {state}");
    }
    Ok(if answering > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
