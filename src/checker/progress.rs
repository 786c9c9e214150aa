//! The progress file, `.workbook/progress`: plain text the learner can read,
//! one line per exercise they have worked on.
//!
//! ```text
//! 01-segv done hints=0
//! 03-mmap failing hints=2
//! ```
//! A missing file means a fresh start. A file that cannot be read, or a line
//! in it that makes no sense, costs one warning and that line, nothing more.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Problem;
use super::catalog::{EXERCISES, Exercise};

/// What the last verification of an exercise found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Not verified yet (perhaps only hints were read).
    #[default]
    None,
    Failing,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Record {
    pub verdict: Verdict,
    /// How many hints `cargo workbook hint` has shown.
    pub hints_seen: usize,
}

#[derive(Debug)]
pub struct Progress {
    path: PathBuf,
    records: BTreeMap<String, Record>,
}

const HEADER: &str = "\
# Your progress in the Virtual Memory Workbook's exercises, kept by `cargo workbook`.
# One line per exercise: NAME done|failing|new hints=N. Delete this file to start afresh.
";

impl Progress {
    /// Read the progress file. Never fails: what cannot be read is reported
    /// in one warning line on stderr and then ignored.
    pub fn load(path: &Path) -> Progress {
        let mut progress = Progress { path: path.to_path_buf(), records: BTreeMap::new() };
        let text = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return progress,
            Err(e) => {
                eprintln!("warning: cannot read {} ({e}); starting with no progress", path.display());
                return progress;
            }
        };
        let text = String::from_utf8_lossy(&text);
        let mut bad_lines = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Some((slug, record)) => {
                    progress.records.insert(slug, record);
                }
                None => bad_lines.push(number + 1),
            }
        }
        if !bad_lines.is_empty() {
            let lines: Vec<String> = bad_lines.iter().map(|n| n.to_string()).collect();
            eprintln!(
                "warning: {} is damaged (line {}); ignoring what cannot be read, it will be rewritten",
                path.display(),
                lines.join(", ")
            );
        }
        progress
    }

    pub fn record(&self, exercise: &Exercise) -> Record {
        self.records.get(&exercise.slug()).copied().unwrap_or_default()
    }

    pub fn set_verdict(&mut self, exercise: &Exercise, passed: bool) {
        let record = self.records.entry(exercise.slug()).or_default();
        record.verdict = if passed { Verdict::Done } else { Verdict::Failing };
    }

    pub fn set_hints_seen(&mut self, exercise: &Exercise, hints: usize) {
        self.records.entry(exercise.slug()).or_default().hints_seen = hints;
    }

    /// After a reset the exercise starts over; the hints already read stay read.
    pub fn forget_verdict(&mut self, exercise: &Exercise) {
        if let Some(record) = self.records.get_mut(&exercise.slug()) {
            record.verdict = Verdict::None;
        }
    }

    pub fn done_count(&self) -> usize {
        EXERCISES.iter().filter(|e| self.record(e).verdict == Verdict::Done).count()
    }

    /// The first exercise not done yet, in order.
    pub fn next_unsolved(&self) -> Option<&'static Exercise> {
        EXERCISES.iter().find(|e| self.record(e).verdict != Verdict::Done)
    }

    /// The next exercise not done yet after `current`, going round to the start.
    pub fn next_unsolved_after(&self, current: &Exercise) -> Option<&'static Exercise> {
        let (before, after): (Vec<_>, Vec<_>) = EXERCISES.iter().partition(|e| e.number <= current.number);
        after.into_iter().chain(before).find(|e| self.record(e).verdict != Verdict::Done)
    }

    /// Write the file whole to a temporary name, then rename it over the old
    /// one, so that an interrupted write never leaves half a file.
    pub fn save(&self) -> Result<(), Problem> {
        let mut text = String::from(HEADER);
        for exercise in &EXERCISES {
            if let Some(record) = self.records.get(&exercise.slug()) {
                let verdict = match record.verdict {
                    Verdict::None => "new",
                    Verdict::Failing => "failing",
                    Verdict::Done => "done",
                };
                text.push_str(&format!("{} {verdict} hints={}\n", exercise.slug(), record.hints_seen));
            }
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let temporary = dir.join(format!(".progress.{}", std::process::id()));
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&temporary, text))
            .and_then(|()| std::fs::rename(&temporary, &self.path))
            .map_err(|e| Problem::failed(format!("cannot save progress to {}: {e}", self.path.display())))
    }
}

/// `03-mmap done hints=2` -> ("03-mmap", record). Unknown exercises are refused.
fn parse_line(line: &str) -> Option<(String, Record)> {
    let mut words = line.split_whitespace();
    let slug = words.next()?;
    EXERCISES.iter().find(|e| e.slug() == slug)?;
    let verdict = match words.next()? {
        "new" => Verdict::None,
        "failing" => Verdict::Failing,
        "done" => Verdict::Done,
        _ => return None,
    };
    let hints_seen = match words.next() {
        Some(word) => word.strip_prefix("hints=")?.parse().ok()?,
        None => 0,
    };
    if words.next().is_some() {
        return None;
    }
    Some((slug.to_string(), Record { verdict, hints_seen }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_good_lines_and_skips_bad_ones() {
        assert_eq!(
            parse_line("03-mmap done hints=2"),
            Some(("03-mmap".into(), Record { verdict: Verdict::Done, hints_seen: 2 }))
        );
        assert_eq!(
            parse_line("01-segv failing"),
            Some(("01-segv".into(), Record { verdict: Verdict::Failing, hints_seen: 0 }))
        );
        for bad in [
            "03-mmap",
            "03-mmap finished",
            "99-nope done",
            "03-mmap done hints=x",
            "03-mmap done hints=1 extra",
            "\u{0}\u{1}",
        ] {
            assert_eq!(parse_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_missing_or_damaged_file_is_a_fresh_start_and_saving_repairs_it() {
        let dir = std::env::temp_dir().join(format!("workbook-progress-test-{}", std::process::id()));
        let path = dir.join("progress");
        let fresh = Progress::load(&path);
        assert_eq!(fresh.done_count(), 0);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, b"\xff\xfe garbage\n03-mmap done hints=1\n").unwrap();
        let mut damaged = Progress::load(&path);
        assert_eq!(damaged.done_count(), 1);
        damaged.set_verdict(find_exercise("segv"), false);
        damaged.save().unwrap();
        let again = Progress::load(&path);
        assert_eq!(again.record(find_exercise("segv")).verdict, Verdict::Failing);
        assert_eq!(again.next_unsolved().map(|e| e.number), Some(1));
        assert_eq!(again.next_unsolved_after(find_exercise("mmap")).map(|e| e.number), Some(4));
        assert_eq!(again.next_unsolved_after(find_exercise("elf")).map(|e| e.number), Some(1));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn find_exercise(name: &str) -> &'static Exercise {
        super::super::catalog::find(name).unwrap()
    }
}
