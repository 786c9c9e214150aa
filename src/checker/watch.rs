//! `cargo workbook watch`: verify, then verify again whenever the learner saves.
//!
//! Saving is noticed by polling the modification times of the exercise's
//! files a few times a second: no file-watching crate, and it works where
//! inotify does not (WSL on /mnt/c, network filesystems, some containers).
//! `--manual` re-verifies when the learner presses Enter instead.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use super::Outcome;
use super::args::RunOptions;
use super::catalog::{Exercise, Workbook};
use super::progress::Progress;
use super::style;
use super::verify;

const POLL: Duration = Duration::from_millis(300);
/// Editors often write a file in several steps: wait until it is quiet this long.
const SETTLE: Duration = Duration::from_millis(250);

/// What the learner typed: a line (Enter), or the end of input.
enum Key {
    Line(String),
    End,
}

pub fn watch(workbook: &Workbook, exercise: Option<&'static Exercise>, options: &RunOptions, manual: bool) -> Outcome {
    let keys = read_keys();
    let mut progress = Progress::load(&workbook.progress_file());
    let Some(mut exercise) = exercise.or_else(|| progress.next_unsolved()) else {
        println!("{}", style::good("All ten exercises are done: nothing to watch."));
        return Ok(true);
    };
    loop {
        // Taken before verifying, so a save made while the tests run (or before
        // the "Watching" line appears) still counts as a change.
        let before_verify = snapshot(&workbook.source_dir(exercise));
        let passed = verify::verify(workbook, exercise, options, &mut progress)?;
        if passed {
            match progress.next_unsolved_after(exercise) {
                Some(next) => {
                    println!();
                    println!(
                        "{}",
                        style::heading(&format!(
                            "On to exercise {}: {}",
                            next.id(),
                            workbook.show(&workbook.source(next))
                        ))
                    );
                    exercise = next;
                    continue;
                }
                None => {
                    println!("{}", style::good("All ten exercises are done!"));
                    return Ok(true);
                }
            }
        }
        print_waiting(workbook, exercise, manual);
        let again = if manual {
            wait_for_enter(&keys)
        } else {
            wait_for_change(&workbook.source_dir(exercise), before_verify, &keys)
        };
        if !again {
            println!("Stopped watching.");
            return Ok(true);
        }
        println!();
    }
}

fn print_waiting(workbook: &Workbook, exercise: &Exercise, manual: bool) {
    println!();
    if manual {
        println!(
            "Edit {}, then press Enter to verify again (q and Enter to stop).",
            workbook.show(&workbook.source(exercise))
        );
    } else {
        println!(
            "Watching {} for changes: save to verify again. Enter verifies now; q and Enter stops.",
            workbook.show(&workbook.source_dir(exercise))
        );
        println!(
            "{}",
            style::dim(
                "(If saving does not start a run, as on WSL's /mnt/c or a network drive: cargo workbook watch --manual)"
            )
        );
    }
}

/// Lines typed by the learner, read on a thread of their own so that watching
/// files and waiting for Enter can happen at once.
fn read_keys() -> Receiver<Key> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if sender.send(Key::Line(line)).is_err() {
                return;
            }
        }
        let _ = sender.send(Key::End);
    });
    receiver
}

/// True to verify again, false to stop (q, or input closed).
fn wait_for_enter(keys: &Receiver<Key>) -> bool {
    match keys.recv() {
        Ok(Key::Line(line)) => !is_quit(&line),
        Ok(Key::End) | Err(_) => false,
    }
}

fn is_quit(line: &str) -> bool {
    matches!(line.trim(), "q" | "quit" | "exit")
}

/// Wait until a file under `dir` differs from `last` (or the learner presses
/// Enter). True to verify again, false to stop.
fn wait_for_change(dir: &Path, mut last: Vec<(PathBuf, SystemTime, u64)>, keys: &Receiver<Key>) -> bool {
    let mut stdin_open = true;
    loop {
        if stdin_open {
            match keys.recv_timeout(POLL) {
                Ok(Key::Line(line)) => return !is_quit(&line),
                // Without a terminal (input closed) keep watching files only.
                Ok(Key::End) | Err(RecvTimeoutError::Disconnected) => stdin_open = false,
                Err(RecvTimeoutError::Timeout) => {}
            }
        } else {
            std::thread::sleep(POLL);
        }
        let now = snapshot(dir);
        if now != last {
            settle(dir, now);
            return true;
        }
        last = now;
    }
}

/// Wait until nothing has changed for `SETTLE`, so one save makes one run.
fn settle(dir: &Path, mut seen: Vec<(PathBuf, SystemTime, u64)>) {
    loop {
        std::thread::sleep(SETTLE);
        let now = snapshot(dir);
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// Every file under `dir` with its modification time and size, sorted.
fn snapshot(dir: &Path) -> Vec<(PathBuf, SystemTime, u64)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                files.push((entry.path(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len()));
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_changes_the_snapshot() {
        let dir = std::env::temp_dir().join(format!("workbook-watch-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("nested")).unwrap();
        std::fs::write(dir.join("lib.rs"), "a").unwrap();
        let before = snapshot(&dir);
        assert_eq!(before.len(), 1);
        std::fs::write(dir.join("nested/more.rs"), "b").unwrap();
        assert_ne!(snapshot(&dir), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
