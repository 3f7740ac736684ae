//! One module per command; [`run`] dispatches the parsed command line to them. Each command
//! returns its exit code; errors are printed by `main` (exit 2 for invalid settings, 1 for
//! everything else).

use std::process::ExitCode;

use crate::cli::{
    Command, MattersCommand, RegistryCommand, RulesCommand, ScoresCommand, ServeCommand,
};
use jurisdiction::Registry;

pub mod accountability;
pub mod accounts;
pub mod audit;
pub mod case;
pub mod complaints;
pub mod demo;
pub mod demo_console;
pub mod import;
pub mod jurisdiction;
pub mod lines;
pub mod matters;
pub mod rules;
pub mod sample;
pub mod scores;
pub mod serve;
pub mod simulate;
pub mod status;
pub mod tokens;
pub mod warnings;
pub mod webhook;

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Up(args) => serve::up(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::Approval(ServeCommand::Serve(args)) => serve::approval(args).await,
        Command::Supervision(ServeCommand::Serve(args)) => serve::supervision(args).await,
        Command::Matters(MattersCommand::Import(args)) => matters::import(args).await,
        Command::Matters(MattersCommand::List(args)) => matters::list(args).await,
        Command::Matters(MattersCommand::History(args)) => matters::history(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Watch(args) => warnings::watch(args).await,
        Command::Case(args) => case::run(args).await,
        Command::Warnings(args) => warnings::list(args).await,
        Command::Warning(command) => warnings::transition(command).await,
        Command::Webhook(command) => webhook::run(command).await,
        Command::Status(args) => status::run(args).await,
        Command::Audit(args) => audit::list(args).await,
        Command::Verify(args) => audit::verify(args).await,
        Command::Tokens(command) => tokens::run(command).await,
        Command::Accounts(command) => accounts::run(command).await,
        Command::Rules(RulesCommand::Show(args)) => rules::show(args).await,
        Command::Rules(RulesCommand::Set(args)) => rules::set(args).await,
        Command::Scores(args) => match args.command {
            None => scores::show(args.show).await,
            Some(ScoresCommand::Close(a)) => scores::close(a).await,
            Some(ScoresCommand::Recompute(a)) => scores::recompute(a).await,
            Some(ScoresCommand::Versions(a)) => scores::versions(a).await,
            Some(ScoresCommand::Department(a)) => scores::department(a).await,
        },
        Command::Complaints(command) => complaints::run(command).await,
        Command::Accountability(command) => accountability::run(command).await,
        Command::Regions(RegistryCommand::Import(args)) => {
            jurisdiction::import(Registry::Regions, args).await
        }
        Command::Regions(RegistryCommand::List(args)) => {
            jurisdiction::list(Registry::Regions, args).await
        }
        Command::Departments(RegistryCommand::Import(args)) => {
            jurisdiction::import(Registry::Departments, args).await
        }
        Command::Departments(RegistryCommand::List(args)) => {
            jurisdiction::list(Registry::Departments, args).await
        }
    }
}
