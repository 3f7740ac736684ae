//! One module per command; [`run`] dispatches the parsed command line to them. Each command
//! returns its exit code; errors are printed by `main` (exit 2 for invalid settings, 1 for
//! everything else).

use std::process::ExitCode;

use crate::cli::{Command, MattersCommand, RulesCommand, ServeCommand};

pub mod case;
pub mod import;
pub mod lines;
pub mod matters;
pub mod rules;
pub mod sample;
pub mod serve;
pub mod status;
pub mod warnings;

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Up(args) => serve::up(args).await,
        Command::Approval(ServeCommand::Serve(args)) => serve::approval(args).await,
        Command::Supervision(ServeCommand::Serve(args)) => serve::supervision(args).await,
        Command::Matters(MattersCommand::Import(args)) => matters::import(args).await,
        Command::Matters(MattersCommand::List(args)) => matters::list(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Watch(args) => warnings::watch(args).await,
        Command::Case(args) => case::run(args).await,
        Command::Warnings(args) => warnings::list(args).await,
        Command::Warning(command) => warnings::transition(command).await,
        Command::Status(args) => status::run(args).await,
        Command::Rules(RulesCommand::Show(args)) => rules::show(args).await,
        Command::Rules(RulesCommand::Set(args)) => rules::set(args).await,
    }
}
