//! `cargo workbook selftest`: prove the hidden tests themselves. For each exercise:
//!
//! - every hidden test passes on the reference solution;
//! - every hidden test fails on the untouched exercise (no test passes by doing nothing);
//! - every plausible wrong answer (checker/wrong/) fails, at least in the tests it names;
//! - the learner's file is the untouched one (checker/pristine/), and the
//!   exercise has hints and a book page.
//!
//! All variants of one exercise are built into one harness, so the whole
//! selftest costs ten builds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use super::args::RunOptions;
use super::catalog::{Exercise, Workbook};
use super::compile::Source;
use super::hints;
use super::lock;
use super::sandbox::{self, Limits};
use super::style::{self, FAIL, PASS};
use super::verify::{self, Judgement, TestId};
use super::wrong::{self, WrongAnswer};
use super::{Outcome, Problem};

const UNTOUCHED: &str = "untouched";
const SOLUTION: &str = "solution";

pub fn selftest(workbook: &Workbook, exercises: &[&'static Exercise], options: &RunOptions) -> Outcome {
    let started = Instant::now();
    let _lock = lock::exclusive(&workbook.target_dir().join("workbook-harness.lock"))?;
    sandbox::prepare_to_supervise();
    let limits = Limits::new(options.timeout);
    let mut failures = 0;
    for exercise in exercises {
        let problems = prove(workbook, exercise, options, limits)?;
        for problem in &problems {
            println!("  {} {problem}", style::bad(FAIL));
        }
        failures += problems.len();
    }
    println!();
    let elapsed = style::seconds(started.elapsed());
    if failures == 0 {
        println!("{}", style::good(&format!("{PASS} selftest: {} exercises proven in {elapsed}", exercises.len())));
    } else {
        println!("{}", style::bad(&format!("{FAIL} selftest: {failures} problems (in {elapsed})")));
    }
    Ok(failures == 0)
}

/// Check one exercise; returns what is wrong with it (nothing, ideally).
fn prove(
    workbook: &Workbook,
    exercise: &Exercise,
    options: &RunOptions,
    limits: Limits,
) -> Result<Vec<String>, Problem> {
    println!("{}", style::heading(&format!("Exercise {} · {}", exercise.id(), exercise.name)));
    let mut problems = check_files(workbook, exercise);
    let answers = match std::fs::read_to_string(workbook.wrong_answers(exercise)) {
        Ok(text) => wrong::parse(&text).unwrap_or_else(|e| {
            problems.push(format!("{}: {e}", workbook.show(&workbook.wrong_answers(exercise))));
            Vec::new()
        }),
        Err(e) => {
            problems.push(format!("{}: {e}", workbook.show(&workbook.wrong_answers(exercise))));
            Vec::new()
        }
    };
    let sources = match variants(workbook, exercise, &answers) {
        Ok(sources) => sources,
        Err(problem) => {
            problems.push(problem);
            return Ok(problems);
        }
    };
    let suites = verify::suites(workbook, exercise, options)?;
    let Some(harness) = verify::build(workbook, &sources, &suites)? else {
        problems.push("the variants do not compile (above)".to_string());
        return Ok(problems);
    };
    let mut results: BTreeMap<String, Vec<(TestId, Judgement)>> = BTreeMap::new();
    for test in verify::list_tests(&harness)? {
        let run = sandbox::run_test(&harness, &[&test.variant, &test.suite, &test.name], limits)?;
        let judgement = verify::judge(&run, workbook);
        results.entry(test.variant.clone()).or_default().push((test, judgement));
    }
    problems.extend(judge_variants(&results, &answers));
    Ok(problems)
}

fn check_files(workbook: &Workbook, exercise: &Exercise) -> Vec<String> {
    let mut problems = Vec::new();
    let source = workbook.source(exercise);
    let pristine = workbook.pristine(exercise);
    match (std::fs::read(&source), std::fs::read(&pristine)) {
        (Ok(a), Ok(b)) if a == b => {}
        (Ok(_), Ok(_)) => problems.push(format!(
            "{} differs from {}: after editing an exercise, copy it there (learners: selftest is not for you)",
            workbook.show(&source),
            workbook.show(&pristine)
        )),
        (Err(e), _) => problems.push(format!("{}: {e}", workbook.show(&source))),
        (_, Err(e)) => problems.push(format!("{}: {e}", workbook.show(&pristine))),
    }
    let hints = hints::count(workbook, exercise);
    if hints < 2 {
        problems.push(format!(
            "{} has {hints} hints; give at least two, gentle first",
            workbook.show(&workbook.hints(exercise))
        ));
    }
    if !workbook.book_page(exercise).is_file() {
        problems.push(format!("{} is missing", workbook.show(&workbook.book_page(exercise))));
    }
    problems
}

/// The untouched exercise, the solution, and each wrong answer written out
/// under target/ (never beside the learner's files).
fn variants(workbook: &Workbook, exercise: &Exercise, answers: &[WrongAnswer]) -> Result<Vec<Source>, String> {
    let solution_path = workbook.solution(exercise);
    let solution =
        std::fs::read_to_string(&solution_path).map_err(|e| format!("{}: {e}", workbook.show(&solution_path)))?;
    let mut sources = vec![
        Source { variant: UNTOUCHED.into(), path: workbook.pristine(exercise) },
        Source { variant: SOLUTION.into(), path: solution_path },
    ];
    let dir = workbook.target_dir().join("workbook-selftest").join(exercise.slug());
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (n, answer) in answers.iter().enumerate() {
        let text = wrong::apply(&solution, answer)?;
        let path: PathBuf = dir.join(format!("wrong-{}.rs", n + 1));
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        sources.push(Source { variant: format!("wrong-{}", n + 1), path });
    }
    Ok(sources)
}

/// Compare each variant's results with what it must show.
fn judge_variants(results: &BTreeMap<String, Vec<(TestId, Judgement)>>, answers: &[WrongAnswer]) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = Vec::new();
    let of = |variant: &str| results.get(variant).unwrap_or(&empty);
    let failed = |(_, j): &&(TestId, Judgement)| *j != Judgement::Pass;

    let solution = of(SOLUTION);
    for (test, judgement) in solution {
        if let Judgement::Fail(reasons) = judgement {
            problems.push(format!("{} fails on the solution: {}", test.name, reasons.join(" / ")));
        }
    }
    report(&format!(
        "solution: {} of {} tests pass",
        solution.len() - solution.iter().filter(failed).count(),
        solution.len()
    ));

    let untouched = of(UNTOUCHED);
    for (test, _) in untouched.iter().filter(|r| !failed(r)) {
        problems.push(format!("{} passes on the untouched exercise: it proves nothing", test.name));
    }
    report(&format!("untouched: {} of {} tests fail", untouched.iter().filter(failed).count(), untouched.len()));

    for (n, answer) in answers.iter().enumerate() {
        let runs = of(&format!("wrong-{}", n + 1));
        let caught: Vec<&str> = runs.iter().filter(failed).map(|(t, _)| t.name.as_str()).collect();
        for expected in &answer.fails {
            if !caught.contains(&expected.as_str()) {
                problems.push(format!("wrong answer '{}' is not caught by {expected}", answer.title));
            }
        }
        report(&format!(
            "wrong answer '{}': caught by {}",
            answer.title,
            if caught.is_empty() { "nothing".to_string() } else { caught.join(", ") }
        ));
    }
    if solution.is_empty() {
        problems.push("no tests ran".to_string());
    }
    problems
}

fn report(line: &str) {
    println!("  {}", style::dim(line));
}
