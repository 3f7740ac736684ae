//! The command line's own checks: clap's consistency, and a sentence of help everywhere.

use clap::CommandFactory;

use super::*;

#[test]
fn the_command_line_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn every_argument_has_help() {
    fn check(cmd: &clap::Command, path: &str) {
        let path = format!("{path} {}", cmd.get_name());
        assert!(
            cmd.get_about().is_some() || path == " egov",
            "{path} has no help"
        );
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            assert!(arg.get_help().is_some(), "{path} --{id} has no help");
        }
        for sub in cmd.get_subcommands() {
            if sub.get_name() != "help" {
                check(sub, &path);
            }
        }
    }
    check(&Cli::command(), "");
}
