//! Build the harness (checker/harness) with a chosen exercise source inside it.
//!
//! The harness's build script reads two environment variables (see
//! checker/harness/build.rs); cargo reruns it when they change and recompiles
//! when the learner's file changes, so a warm verify rebuilds one small crate.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Problem;
use super::catalog::Workbook;

/// A source to test: the learner's lib.rs, a solution, a wrong answer...
pub struct Source {
    pub variant: String,
    pub path: PathBuf,
}

/// A file of tests: "hidden", or "instructor" for a private folder's.
pub struct Suite {
    pub name: String,
    pub path: PathBuf,
}

pub enum Build {
    /// The harness executable.
    Built(PathBuf),
    /// The compiler's messages, paths shown relative to the workbook.
    Failed(String),
}

const PACKAGE: &str = "workbook-harness";

pub fn build_harness(workbook: &Workbook, sources: &[Source], suites: &[Suite]) -> Result<Build, Problem> {
    let lines = |items: Vec<(&str, &Path)>| -> String {
        items.iter().map(|(name, path)| format!("{name}\t{}\n", path.display())).collect()
    };
    let variants = lines(sources.iter().map(|s| (s.variant.as_str(), s.path.as_path())).collect());
    let suites = lines(suites.iter().map(|s| (s.name.as_str(), s.path.as_path())).collect());
    let colors = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let output = Command::new(cargo()?)
        .args(["build", "--quiet", "--package", PACKAGE, "--message-format=json-render-diagnostics"])
        .args(["--color", if colors { "always" } else { "never" }])
        .env("WORKBOOK_VARIANTS", variants)
        .env("WORKBOOK_SUITES", suites)
        .env("RUST_BACKTRACE", "0")
        .current_dir(&workbook.root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| cargo_missing(&e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && is_compile_error(&stderr) {
        return Ok(Build::Failed(tidy_diagnostics(&stderr, workbook)));
    }
    if !output.status.success() {
        return Err(toolchain_problem(&stderr));
    }
    match executable(&stdout) {
        Some(path) => Ok(Build::Built(path)),
        None => Err(Problem::failed(format!("cargo built {PACKAGE} but did not say where the program is"))),
    }
}

/// The cargo that runs us (cargo sets $CARGO for `cargo run`), else the one
/// on PATH; an error that says how to get one when there is none.
pub fn cargo() -> Result<PathBuf, Problem> {
    if let Some(cargo) = std::env::var_os("CARGO").map(PathBuf::from)
        && cargo.is_file()
    {
        return Ok(cargo);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("cargo")).find(|cargo| cargo.is_file()).ok_or_else(|| {
        Problem::failed("cannot find cargo, the Rust build tool, to build the tests")
            .with_hint("install Rust with rustup (https://rustup.rs), then open a new terminal and try again")
    })
}

/// True when cargo failed because the code did not compile (rustc said
/// where), not because cargo or the toolchain could not run at all.
fn is_compile_error(stderr: &str) -> bool {
    stderr.contains("error[") || stderr.contains("--> ")
}

/// Cargo failed before compiling anything: a missing toolchain, a broken
/// installation, a damaged Cargo.toml. Its first error line says which.
fn toolchain_problem(stderr: &str) -> Problem {
    let first = stderr.lines().find(|l| l.starts_with("error")).unwrap_or("(cargo printed no error)");
    Problem::failed(format!("cargo could not build the tests: {}", first.trim_start_matches("error: ")))
        .with_hint("check the Rust installation with `rustup show`; `rustup update` installs what is missing")
}

fn cargo_missing(error: &std::io::Error) -> Problem {
    Problem::failed(format!("cannot run cargo ({error})"))
        .with_hint("install Rust with rustup (https://rustup.rs), then open a new terminal and try again")
}

/// The `"executable":"..."` of the harness in cargo's JSON messages.
fn executable(json_lines: &str) -> Option<PathBuf> {
    json_lines
        .lines()
        .filter(|line| {
            line.contains(r#""reason":"compiler-artifact""#) && line.contains(&format!(r#""name":"{PACKAGE}""#))
        })
        .find_map(|line| json_string_after(line, r#""executable":""#))
        .map(PathBuf::from)
}

/// The JSON string that starts right after `key`, unescaped (paths only need `\\` and `\"`).
fn json_string_after(line: &str, key: &str) -> Option<String> {
    let start = line.find(key)? + key.len();
    let mut value = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
    None
}

/// Compiler messages with paths relative to the workbook, without cargo's
/// closing "could not compile `workbook-harness`" (the learner did not write that crate).
fn tidy_diagnostics(stderr: &str, workbook: &Workbook) -> String {
    let root = format!("{}/", workbook.root.display());
    stderr
        .lines()
        .filter(|line| !line.contains(&format!("could not compile `{PACKAGE}`")))
        .map(|line| line.replace(&root, ""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable_in_cargo_json() {
        let json = concat!(
            r#"{"reason":"compiler-artifact","package_id":"x","target":{"name":"libc"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"workbook-harness"},"executable":"/w/tar\"get/debug/workbook-harness","fresh":true}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(executable(json), Some(PathBuf::from("/w/tar\"get/debug/workbook-harness")));
        assert_eq!(executable(r#"{"reason":"build-finished","success":true}"#), None);
        assert_eq!(json_string_after(r#""executable":"unterminated"#, r#""executable":""#), None);
    }
}
