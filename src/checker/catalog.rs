//! The ten exercises, the ways to name one, and where each one's files live.

use std::path::{Path, PathBuf};

use super::Problem;

/// One exercise: it goes with the lesson of the same number and name.
#[derive(Debug, PartialEq, Eq)]
pub struct Exercise {
    pub number: u8,
    /// The lesson's short name: "mmap" for lesson-03-mmap.
    pub name: &'static str,
    /// What the learner writes, in a few words.
    pub task: &'static str,
}

impl Exercise {
    /// "03-mmap": the name of its folder and of its files in checker/.
    pub fn slug(&self) -> String {
        format!("{:02}-{}", self.number, self.name)
    }

    /// "03": how the checker's messages name it.
    pub fn id(&self) -> String {
        format!("{:02}", self.number)
    }

    /// "lesson-03-mmap".
    pub fn lesson(&self) -> String {
        format!("lesson-{}", self.slug())
    }
}

pub const EXERCISES: [Exercise; 10] = [
    Exercise { number: 1, name: "segv", task: "make an address fault, and report how" },
    Exercise { number: 2, name: "maps", task: "parse a line of /proc/self/maps, odd cases too" },
    Exercise { number: 3, name: "mmap", task: "ask the kernel for whole pages" },
    Exercise { number: 4, name: "paging", task: "count the page faults of touching memory" },
    Exercise { number: 5, name: "filemap", task: "append to a file through a shared mapping" },
    Exercise { number: 6, name: "cow", task: "what parent and child see after a write" },
    Exercise { number: 7, name: "mprotect", task: "a buffer with a guard page" },
    Exercise { number: 8, name: "mlock", task: "lock a secret, within the limit" },
    Exercise { number: 9, name: "smaps", task: "Rss and Pss of a region" },
    Exercise { number: 10, name: "elf", task: "the PT_LOAD segment and maps line of an address" },
];

/// The exercise named by `id`: `3`, `03`, `03-mmap`, `mmap`, `lesson-03-mmap`
/// or `exercise-03-mmap`, in any case.
pub fn find(id: &str) -> Option<&'static Exercise> {
    let id = id.trim().to_ascii_lowercase();
    let id = id.strip_prefix("lesson-").or_else(|| id.strip_prefix("exercise-")).unwrap_or(&id);
    let (number, name) = match id.split_once('-') {
        Some((number, name)) => (Some(number), Some(name)),
        None if id.bytes().all(|b| b.is_ascii_digit()) => (Some(id), None),
        None => (None, Some(id)),
    };
    let number: Option<u8> = match number {
        Some(digits) => Some(digits.parse().ok()?),
        None => None,
    };
    EXERCISES.iter().find(|e| number.is_none_or(|n| n == e.number) && name.is_none_or(|n| n == e.name))
}

/// Where everything is: the repository, the learner's exercises, the state.
#[derive(Debug, Clone)]
pub struct Workbook {
    /// The repository: Cargo.toml, checker/, solutions/.
    pub root: PathBuf,
    /// The learner's exercise folders, `exercises/` unless `--exercises` says otherwise.
    pub exercises_dir: PathBuf,
    /// Progress and backups: `.workbook/` beside the exercises folder.
    pub state_dir: PathBuf,
}

impl Workbook {
    pub fn locate(exercises_dir: Option<PathBuf>) -> Result<Workbook, Problem> {
        let root = find_root().ok_or_else(|| {
            Problem::failed("cannot find the workbook (a folder with Cargo.toml and checker/hidden/)")
                .with_hint("run `cargo workbook` inside your copy of the Virtual Memory Workbook")
        })?;
        let exercises_dir = match exercises_dir {
            None => root.join("exercises"),
            Some(dir) => dir.canonicalize().map_err(|e| {
                Problem::usage(
                    format!("--exercises {}: {e}", dir.display()),
                    "give a folder that holds NN-name/src/lib.rs",
                )
            })?,
        };
        let state_dir = exercises_dir.parent().unwrap_or(&root).join(".workbook");
        Ok(Workbook { root, exercises_dir, state_dir })
    }

    /// The learner's file: `exercises/03-mmap/src/lib.rs`.
    pub fn source(&self, exercise: &Exercise) -> PathBuf {
        self.source_dir(exercise).join("lib.rs")
    }

    pub fn source_dir(&self, exercise: &Exercise) -> PathBuf {
        self.exercises_dir.join(exercise.slug()).join("src")
    }

    /// The exercise as it was before anybody edited it, for `reset`.
    pub fn pristine(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("checker/pristine").join(format!("{}.rs", exercise.slug()))
    }

    pub fn solution(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("solutions").join(format!("{}.rs", exercise.slug()))
    }

    pub fn hidden_tests(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("checker/hidden").join(format!("{}.rs", exercise.slug()))
    }

    pub fn hints(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("checker/hints").join(format!("{}.md", exercise.slug()))
    }

    pub fn wrong_answers(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("checker/wrong").join(format!("{}.txt", exercise.slug()))
    }

    pub fn book_page(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("book/src/exercises").join(format!("{}.md", exercise.slug()))
    }

    pub fn progress_file(&self) -> PathBuf {
        self.state_dir.join("progress")
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.state_dir.join("backups")
    }

    /// Cargo's target folder, where the harness is built.
    pub fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => std::env::current_dir().map(|cwd| cwd.join(&dir)).unwrap_or_else(|_| PathBuf::from(dir)),
            None => self.root.join("target"),
        }
    }

    /// `path` relative to where the learner is, or to the repository, for messages.
    pub fn show(&self, path: &Path) -> String {
        let cwd = std::env::current_dir().unwrap_or_else(|_| self.root.clone());
        for base in [&cwd, &self.root] {
            if let Ok(relative) = path.strip_prefix(base)
                && !relative.as_os_str().is_empty()
            {
                return relative.display().to_string();
            }
        }
        path.display().to_string()
    }
}

/// The repository: where `cargo run` says the package is, or the first folder
/// upwards from here that looks like the workbook, or where this was built.
fn find_root() -> Option<PathBuf> {
    let looks_right = |dir: &Path| dir.join("Cargo.toml").is_file() && dir.join("checker/hidden").is_dir();
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)
        && looks_right(&dir)
    {
        return Some(dir);
    }
    let cwd = std::env::current_dir().ok()?;
    if let Some(dir) = cwd.ancestors().find(|dir| looks_right(dir)) {
        return Some(dir.to_path_buf());
    }
    let built_in = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    looks_right(&built_in).then_some(built_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_of_naming_an_exercise() {
        for id in ["3", "03", "003", "03-mmap", "3-mmap", "mmap", "MMAP", "lesson-03-mmap", "exercise-03-mmap"] {
            assert_eq!(find(id).map(|e| e.number), Some(3), "{id}");
        }
        assert_eq!(find("10").map(|e| e.name), Some("elf"));
        for id in ["", "0", "11", "03-elf", "map", "lesson-", "-", "3-", "999999999999", "💥"] {
            assert_eq!(find(id), None, "{id}");
        }
    }

    #[test]
    fn slugs_and_lessons() {
        let e = find("7").unwrap();
        assert_eq!((e.slug(), e.id(), e.lesson()), ("07-mprotect".into(), "07".into(), "lesson-07-mprotect".into()));
    }
}
