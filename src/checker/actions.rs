//! The small commands: `list`, `hint`, `solution`, `reset`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::catalog::{EXERCISES, Exercise, Workbook};
use super::hints;
use super::progress::{Progress, Verdict};
use super::style;
use super::{Outcome, Problem};

/// Where an exercise stands, as `list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotStarted,
    Failing,
    Done,
    /// The learner's lib.rs is gone (`reset` brings it back).
    Missing,
}

pub fn state(workbook: &Workbook, progress: &Progress, exercise: &Exercise) -> State {
    let Ok(current) = std::fs::read(workbook.source(exercise)) else { return State::Missing };
    match progress.record(exercise).verdict {
        Verdict::Done => State::Done,
        Verdict::Failing => State::Failing,
        Verdict::None if std::fs::read(workbook.pristine(exercise)).is_ok_and(|p| p == current) => State::NotStarted,
        Verdict::None => State::Failing,
    }
}

pub fn list(workbook: &Workbook) -> Outcome {
    let progress = Progress::load(&workbook.progress_file());
    println!("{}", style::heading("Exercises of the Virtual Memory Workbook"));
    println!();
    let mut done = 0;
    for exercise in &EXERCISES {
        let state = state(workbook, &progress, exercise);
        let shown = match state {
            State::NotStarted => style::dim("not started"),
            State::Failing => style::bad("failing"),
            State::Done => style::good("done"),
            State::Missing => style::bad("file missing: `reset` restores it"),
        };
        done += usize::from(state == State::Done);
        println!("  {}  {:<9} {:<50} {shown}", exercise.id(), exercise.name, exercise.task);
    }
    println!();
    let bar: String = (0..EXERCISES.len()).map(|i| if i < done { '■' } else { '□' }).collect();
    println!("Progress: {done} of {} done  {bar}", EXERCISES.len());
    match progress.next_unsolved() {
        Some(next) => println!(
            "Next: edit {}, then {}",
            workbook.show(&workbook.source(next)),
            style::command(&format!("cargo workbook verify {}", next.id()))
        ),
        None => println!("{}", style::good("All done!")),
    }
    Ok(true)
}

/// `list --json`: the same states for an instructor's script, one object with
/// the exercises in order and the overall count. Written by hand (no serde):
/// a few fields, and `json_string` escapes every string that goes in.
pub fn list_json(workbook: &Workbook) -> Outcome {
    let progress = Progress::load(&workbook.progress_file());
    let mut done = 0;
    let mut entries = Vec::new();
    for exercise in &EXERCISES {
        let state = state(workbook, &progress, exercise);
        done += usize::from(state == State::Done);
        entries.push(format!(
            "    {{\"id\": {}, \"name\": {}, \"task\": {}, \"state\": {}}}",
            json_string(&exercise.id()),
            json_string(exercise.name),
            json_string(exercise.task),
            json_string(state_word(state))
        ));
    }
    println!("{{");
    println!("  \"exercises\": [\n{}\n  ],", entries.join(",\n"));
    println!("  \"done\": {done},");
    println!("  \"total\": {}", EXERCISES.len());
    println!("}}");
    Ok(true)
}

fn state_word(state: State) -> &'static str {
    match state {
        State::NotStarted => "not started",
        State::Failing => "failing",
        State::Done => "done",
        State::Missing => "missing",
    }
}

/// `text` as a JSON string: quotes, backslashes and control characters escaped.
pub fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn hint(workbook: &Workbook, exercise: &Exercise, all: bool) -> Outcome {
    let hints = hints::load(workbook, exercise);
    if hints.is_empty() {
        return Err(Problem::failed(format!(
            "exercise {} has no hints ({} is missing)",
            exercise.id(),
            workbook.show(&workbook.hints(exercise))
        )));
    }
    let mut progress = Progress::load(&workbook.progress_file());
    let seen = progress.record(exercise).hints_seen;
    let shown: Vec<usize> = if all { (1..=hints.len()).collect() } else { vec![(seen + 1).min(hints.len())] };
    for &n in &shown {
        println!(
            "{}",
            style::heading(&format!("Exercise {} · {} — hint {n} of {}", exercise.id(), exercise.name, hints.len()))
        );
        println!();
        println!("{}", hints[n - 1]);
        println!();
    }
    let last = *shown.last().unwrap_or(&1);
    if last < hints.len() {
        println!("{}", style::dim(&format!("Run `cargo workbook hint {}` again for the next hint.", exercise.id())));
    } else if !all {
        println!(
            "{}",
            style::dim(&format!(
                "That was the last hint; `cargo workbook hint {} --all` shows them all.",
                exercise.id()
            ))
        );
    }
    progress.set_hints_seen(exercise, seen.max(last));
    progress.save()?;
    Ok(true)
}

pub fn solution(workbook: &Workbook, exercise: &Exercise, force: bool) -> Outcome {
    let progress = Progress::load(&workbook.progress_file());
    if !force && progress.record(exercise).verdict != Verdict::Done {
        return Err(Problem::failed(format!(
            "exercise {} is not solved yet, so its solution stays hidden",
            exercise.id()
        ))
        .with_hint(format!(
            "solve it first (`cargo workbook verify {0}`; `cargo workbook hint {0}` helps); instructors: add --force",
            exercise.id()
        )));
    }
    let path = workbook.solution(exercise);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Problem::failed(format!("cannot read the solution {}: {e}", workbook.show(&path))))?;
    println!(
        "{}",
        style::heading(&format!("Reference solution of exercise {} ({})", exercise.id(), workbook.show(&path)))
    );
    println!();
    print!("{text}");
    Ok(true)
}

pub fn reset(workbook: &Workbook, exercise: &Exercise) -> Outcome {
    let source = workbook.source(exercise);
    let pristine_path = workbook.pristine(exercise);
    let pristine = std::fs::read(&pristine_path).map_err(|e| {
        Problem::failed(format!("cannot read the untouched exercise {}: {e}", workbook.show(&pristine_path)))
    })?;
    let current = std::fs::read(&source).ok();
    if current.as_deref() == Some(pristine.as_slice()) {
        println!("Exercise {} is untouched already: nothing to reset.", exercise.id());
        return Ok(true);
    }
    if let Some(current) = current {
        let backup = save_backup(workbook, exercise, &current)?;
        println!("Saved your version to {}", style::command(&workbook.show(&backup)));
    }
    write_file(&source, &pristine)?;
    println!("Restored {} to the untouched exercise.", workbook.show(&source));
    let mut progress = Progress::load(&workbook.progress_file());
    progress.forget_verdict(exercise);
    progress.save()?;
    Ok(true)
}

/// Save `contents` to `.workbook/backups/NN-name-YYYYMMDD-HHMMSS.rs`, never
/// over an existing backup (a second reset in the same second gets `-2`).
fn save_backup(workbook: &Workbook, exercise: &Exercise, contents: &[u8]) -> Result<PathBuf, Problem> {
    let dir = workbook.backups_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|e| Problem::failed(format!("cannot create {}: {e}", workbook.show(&dir))))?;
    let stem = format!("{}-{}", exercise.slug(), local_timestamp());
    for n in 1..1000 {
        let name = if n == 1 { format!("{stem}.rs") } else { format!("{stem}-{n}.rs") };
        let path = dir.join(name);
        match std::fs::File::create_new(&path) {
            Ok(mut file) => {
                file.write_all(contents)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| Problem::failed(format!("cannot write the backup {}: {e}", workbook.show(&path))))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Problem::failed(format!("cannot write the backup {}: {e}", workbook.show(&path)))),
        }
    }
    Err(Problem::failed(format!("too many backups named {stem} in {}", workbook.show(&dir))))
}

fn write_file(path: &Path, contents: &[u8]) -> Result<(), Problem> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Problem::failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, contents).map_err(|e| Problem::failed(format!("cannot write {}: {e}", path.display())))
}

/// The local time as YYYYMMDD-HHMMSS, for backup names that sort by time.
fn local_timestamp() -> String {
    // SAFETY: time and localtime_r fill structs we own; localtime_r is thread-safe.
    let tm = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        tm
    };
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::json_string;

    #[test]
    fn escapes_json_strings() {
        assert_eq!(json_string("plain"), r#""plain""#);
        assert_eq!(json_string("a \"q\" \\ b"), r#""a \"q\" \\ b""#);
        assert_eq!(json_string("line\nnext\u{1}"), r#""line\nnext\u0001""#);
    }
}
