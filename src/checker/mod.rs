//! The checker: list the exercises, verify one against its hidden tests, watch
//! it, show hints and solutions, reset it, and prove the tests themselves.
//!
//! How a verification works, end to end:
//! 1. `compile` builds the crate checker/harness with the learner's lib.rs
//!    inside it as a module, next to the hidden tests (one `cargo build`).
//! 2. `sandbox` starts the harness once per hidden test, each in its own
//!    process group with resource limits and a time limit, collects its output
//!    and verdict, and kills and reaps whatever is left of the group.
//! 3. `verify` prints one line per test, with the learner's own output, and
//!    records the result in the progress file.

mod actions;
mod args;
mod catalog;
mod compile;
mod doctor;
mod hints;
mod lock;
mod progress;
mod sandbox;
mod selftest;
mod style;
mod verify;
mod watch;
mod wrong;

use std::process::ExitCode;

use args::Command;

/// Why a command could not do its job.
#[derive(Debug)]
pub enum Problem {
    /// The command line was wrong: exit status 2.
    Usage { error: String, hint: String },
    /// Something went wrong while doing it: exit status 1.
    Failed { error: String, hint: Option<String> },
}

impl Problem {
    pub fn usage(error: impl Into<String>, hint: impl Into<String>) -> Problem {
        Problem::Usage { error: error.into(), hint: hint.into() }
    }

    pub fn failed(error: impl Into<String>) -> Problem {
        Problem::Failed { error: error.into(), hint: None }
    }

    pub fn with_hint(self, hint: impl Into<String>) -> Problem {
        match self {
            Problem::Usage { error, .. } => Problem::Usage { error, hint: hint.into() },
            Problem::Failed { error, .. } => Problem::Failed { error, hint: Some(hint.into()) },
        }
    }
}

/// What a command ended with: success, an unmet check (exit status 1, the
/// command has already said why), or a problem to print.
pub type Outcome = Result<bool, Problem>;

pub fn main() -> ExitCode {
    let result = args::parse(std::env::args().skip(1)).and_then(|parsed| {
        if matches!(parsed.command, Command::Help) {
            print!("{}", args::HELP);
            return Ok(true);
        }
        // The doctor looks at the machine, not the exercises: it runs anywhere.
        if matches!(parsed.command, Command::Doctor) {
            return doctor::doctor();
        }
        let workbook = catalog::Workbook::locate(parsed.exercises_dir())?;
        run(parsed.command, &workbook)
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Problem::Usage { error, hint }) => {
            eprintln!("error: {error}");
            eprintln!("hint: {hint}");
            ExitCode::from(2)
        }
        Err(Problem::Failed { error, hint }) => {
            eprintln!("error: {error}");
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, workbook: &catalog::Workbook) -> Outcome {
    match command {
        Command::Help => {
            print!("{}", args::HELP);
            Ok(true)
        }
        Command::List { json: false } => actions::list(workbook),
        Command::List { json: true } => actions::list_json(workbook),
        Command::Doctor => doctor::doctor(),
        Command::Verify { exercise, options } => verify::verify_command(workbook, exercise, &options),
        Command::Watch { exercise, options, manual } => watch::watch(workbook, exercise, &options, manual),
        Command::Hint { exercise, all } => actions::hint(workbook, exercise, all),
        Command::Solution { exercise, force } => actions::solution(workbook, exercise, force),
        Command::Reset { exercise } => actions::reset(workbook, exercise),
        Command::Selftest { exercises, options } => selftest::selftest(workbook, &exercises, &options),
    }
}
