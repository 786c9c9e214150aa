//! The command line, parsed by hand: a dozen words do not need a parser crate
//! (and its share of every cold build).

use std::path::PathBuf;
use std::time::Duration;

use super::Problem;
use super::catalog::{self, Exercise};

pub const HELP: &str = "\
cargo workbook: the exercises of the Virtual Memory Workbook

Usage: cargo workbook COMMAND [EXERCISE] [OPTIONS]

Commands:
  list [--json]        every exercise, its state and your progress (--json: for instructors' scripts)
  doctor               what this machine lets the lessons show, lesson by lesson
  verify [N]           build exercise N with your code and run its hidden tests
                       (no N: the next exercise you have not solved)
  watch [N]            verify, then again every time you save (stops when all are done)
  hint N               the next hint for exercise N (gentle first); --all for all of them
  solution N           the reference solution, once you have solved N
  reset N              restore exercise N as it was; your version is saved first
  selftest [N...]      for maintainers: prove the hidden tests pass on the solutions and
                       fail on the untouched exercises and on plausible wrong answers

EXERCISE may be written 3, 03, 03-mmap, mmap or lesson-03-mmap.

Options:
  --tests DIR          verify/watch/selftest: also run an instructor's tests from DIR/NN-name.rs
  --timeout SECS       verify/watch/selftest: time limit of each test (default 10)
  --manual             watch: re-verify when you press Enter instead of on save
                       (for WSL on /mnt/c, network drives: where saving is not noticed)
  --all                hint: show every hint
  --json               list: print the progress as JSON
  --force              solution: show it even if the exercise is not solved (instructors)
  --exercises DIR      use the exercise folders in DIR instead of exercises/ (for
                       instructors grading a copy; progress is kept beside DIR)
  -h, --help           print this help

Files: your progress is in .workbook/progress, backups of reset exercises in
.workbook/backups/. The book's \"How the exercises work\" page explains it all.
";

/// Options shared by the commands that run tests.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// An instructor's folder of extra tests, `DIR/NN-name.rs`.
    pub tests_dir: Option<PathBuf>,
    /// Wall-clock limit of one test.
    pub timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions { tests_dir: None, timeout: Duration::from_secs(10) }
    }
}

#[derive(Debug)]
pub enum Command {
    Help,
    List { json: bool },
    Doctor,
    Verify { exercise: Option<&'static Exercise>, options: RunOptions },
    Watch { exercise: Option<&'static Exercise>, options: RunOptions, manual: bool },
    Hint { exercise: &'static Exercise, all: bool },
    Solution { exercise: &'static Exercise, force: bool },
    Reset { exercise: &'static Exercise },
    Selftest { exercises: Vec<&'static Exercise>, options: RunOptions },
}

/// The command with `--exercises DIR`, which every command accepts.
pub struct Parsed {
    pub command: Command,
    pub exercises_dir: Option<PathBuf>,
}

impl Parsed {
    pub fn exercises_dir(&self) -> Option<PathBuf> {
        self.exercises_dir.clone()
    }
}

/// The words and flags of a command line, before they are given a meaning.
#[derive(Default)]
struct Words {
    positional: Vec<String>,
    tests_dir: Option<PathBuf>,
    timeout: Option<Duration>,
    exercises_dir: Option<PathBuf>,
    manual: bool,
    all: bool,
    force: bool,
    json: bool,
    help: bool,
    /// Every flag given, to refuse those the command does not take.
    flags: Vec<String>,
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, Problem> {
    let words = split(args)?;
    let exercises_dir = words.exercises_dir.clone();
    let command = if words.help { Command::Help } else { interpret(words)? };
    Ok(Parsed { command, exercises_dir })
}

fn split(args: impl IntoIterator<Item = String>) -> Result<Words, Problem> {
    let mut words = Words::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if !arg.starts_with('-') || arg == "-" {
            words.positional.push(arg);
            continue;
        }
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline_value.clone().or_else(|| args.next()).ok_or_else(|| {
                Problem::usage(format!("{flag} needs a {what}"), format!("for example: {flag} {}", example(what)))
            })
        };
        match flag.as_str() {
            "-h" | "--help" => words.help = true,
            "--manual" => words.manual = true,
            "--all" => words.all = true,
            "--force" => words.force = true,
            "--json" => words.json = true,
            "--tests" => words.tests_dir = Some(PathBuf::from(value("folder")?)),
            "--exercises" => words.exercises_dir = Some(PathBuf::from(value("folder")?)),
            "--timeout" => words.timeout = Some(seconds(&value("number of seconds")?)?),
            _ => return Err(unknown_flag(&arg)),
        }
        words.flags.push(flag);
    }
    Ok(words)
}

fn example(what: &str) -> &'static str {
    if what == "folder" { "private-tests/" } else { "30" }
}

fn seconds(text: &str) -> Result<Duration, Problem> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 3600.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(Problem::usage(
            format!("--timeout takes a number of seconds between 0 and 3600, not '{text}'"),
            "for example: --timeout 30",
        )),
    }
}

fn unknown_flag(flag: &str) -> Problem {
    Problem::usage(format!("unknown option '{flag}'"), "run `cargo workbook --help` to see the commands and options")
}

fn interpret(words: Words) -> Result<Command, Problem> {
    let Some((name, rest)) = words.positional.split_first() else {
        only_flags(&words, "", &[])?;
        return Ok(Command::Help);
    };
    let options = RunOptions {
        tests_dir: words.tests_dir.clone(),
        timeout: words.timeout.unwrap_or(RunOptions::default().timeout),
    };
    let command = match name.as_str() {
        "help" => Command::Help,
        "list" => {
            no_more(name, rest)?;
            Command::List { json: words.json }
        }
        "doctor" => {
            no_more(name, rest)?;
            Command::Doctor
        }
        "verify" => Command::Verify { exercise: optional_exercise(name, rest)?, options },
        "watch" => Command::Watch { exercise: optional_exercise(name, rest)?, options, manual: words.manual },
        "hint" => Command::Hint { exercise: required_exercise(name, rest)?, all: words.all },
        "solution" => Command::Solution { exercise: required_exercise(name, rest)?, force: words.force },
        "reset" => Command::Reset { exercise: required_exercise(name, rest)? },
        "selftest" => Command::Selftest { exercises: every_exercise(rest)?, options },
        _ => {
            return Err(Problem::usage(
                format!("unknown command '{name}'"),
                "the commands are list, doctor, verify, watch, hint, solution, reset and selftest (see --help)",
            ));
        }
    };
    let allowed: &[&str] = match name.as_str() {
        "verify" | "selftest" => &["--tests", "--timeout"],
        "watch" => &["--tests", "--timeout", "--manual"],
        "hint" => &["--all"],
        "solution" => &["--force"],
        "list" => &["--json"],
        _ => &[],
    };
    only_flags(&words, name, allowed)?;
    Ok(command)
}

/// Refuse a flag the command does not take (`--exercises` and `--help` go with any).
fn only_flags(words: &Words, command: &str, allowed: &[&str]) -> Result<(), Problem> {
    let refused = words.flags.iter().find(|f| !allowed.contains(&f.as_str()) && *f != "--exercises");
    match refused {
        Some(flag) if command.is_empty() => {
            Err(Problem::usage(format!("'{flag}' needs a command"), "run `cargo workbook --help` to see the commands"))
        }
        Some(flag) => Err(Problem::usage(
            format!("'{command}' does not take {flag}"),
            "run `cargo workbook --help` to see which options go with which command",
        )),
        None => Ok(()),
    }
}

fn no_more(command: &str, rest: &[String]) -> Result<(), Problem> {
    match rest.first() {
        Some(extra) => Err(Problem::usage(
            format!("'{command}' takes no argument, but got '{extra}'"),
            "run `cargo workbook --help` to see the commands",
        )),
        None => Ok(()),
    }
}

fn optional_exercise(command: &str, rest: &[String]) -> Result<Option<&'static Exercise>, Problem> {
    match rest {
        [] => Ok(None),
        [id] => exercise(id).map(Some),
        [_, extra, ..] => Err(Problem::usage(
            format!("'{command}' takes one exercise, but got '{extra}' too"),
            format!("for example: cargo workbook {command} 03"),
        )),
    }
}

fn required_exercise(command: &str, rest: &[String]) -> Result<&'static Exercise, Problem> {
    match optional_exercise(command, rest)? {
        Some(exercise) => Ok(exercise),
        None => Err(Problem::usage(
            format!("'{command}' needs an exercise"),
            format!("for example: cargo workbook {command} 03 (cargo workbook list shows them all)"),
        )),
    }
}

fn every_exercise(ids: &[String]) -> Result<Vec<&'static Exercise>, Problem> {
    if ids.is_empty() {
        return Ok(catalog::EXERCISES.iter().collect());
    }
    ids.iter().map(|id| exercise(id)).collect()
}

pub fn exercise(id: &str) -> Result<&'static Exercise, Problem> {
    catalog::find(id).ok_or_else(|| {
        Problem::usage(
            format!("unknown exercise '{id}'"),
            "exercises are 01 to 10, written as 3, 03, 03-mmap or mmap; `cargo workbook list` shows them all",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(line: &str) -> Result<Command, Problem> {
        parse(line.split_whitespace().map(String::from)).map(|p| p.command)
    }

    #[test]
    fn understands_each_command() {
        assert!(matches!(parse_words(""), Ok(Command::Help)));
        assert!(matches!(parse_words("list"), Ok(Command::List { json: false })));
        assert!(matches!(parse_words("list --json"), Ok(Command::List { json: true })));
        assert!(matches!(parse_words("doctor"), Ok(Command::Doctor)));
        assert!(matches!(parse_words("verify"), Ok(Command::Verify { exercise: None, .. })));
        assert!(matches!(parse_words("verify mmap"), Ok(Command::Verify { exercise: Some(e), .. }) if e.number == 3));
        assert!(matches!(parse_words("watch 7 --manual"), Ok(Command::Watch { manual: true, .. })));
        assert!(matches!(parse_words("hint 03-mmap --all"), Ok(Command::Hint { all: true, .. })));
        assert!(matches!(parse_words("solution 3 --force"), Ok(Command::Solution { force: true, .. })));
        assert!(matches!(parse_words("list --help"), Ok(Command::Help)));
        match parse_words("verify 3 --timeout=2.5 --tests extra") {
            Ok(Command::Verify { options, .. }) => {
                assert_eq!(options.timeout, Duration::from_millis(2500));
                assert_eq!(options.tests_dir, Some(PathBuf::from("extra")));
            }
            other => panic!("{other:?}"),
        }
        match parse_words("selftest 1 lesson-10-elf") {
            Ok(Command::Selftest { exercises, .. }) => assert_eq!(exercises.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for line in [
            "verify 11",
            "verify 3 4",
            "hint",
            "frobnicate",
            "list 3",
            "doctor 3",
            "doctor --bogus",
            "doctor --json",
            "verify --json",
            "verify --manual",
            "hint 3 --force",
            "verify --bogus",
            "verify --timeout",
            "verify --timeout -1",
            "--all",
        ] {
            assert!(matches!(parse_words(line), Err(Problem::Usage { .. })), "{line} was accepted");
        }
    }
}
