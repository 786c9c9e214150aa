//! `cargo workbook doctor` and `cargo workbook list --json`, end to end: the
//! checker's binary run as a learner or an instructor runs it.

mod common;
use common::run_workbook as workbook;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The page size as the doctor prints it, computed here independently.
fn page_size_words() -> String {
    // SAFETY: sysconf takes a plain integer.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    assert!(page > 0);
    format!("{} KiB", page / 1024)
}

#[test]
fn doctor_describes_the_machine_and_every_lesson() {
    let run = workbook(&["doctor"], &[]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr, "");
    let out = &run.stdout;
    for section in ["Your machine, as the workbook's lessons see it", "What each lesson will show you here, and why"] {
        assert!(out.contains(section), "no section {section:?} in:\n{out}");
    }
    let line = |name: &str| out.lines().find(|l| l.trim_start().starts_with(name)).map(str::to_string);
    let system = line("system").expect("a system line");
    assert!(system.contains("Linux") && system.ends_with(std::env::consts::ARCH), "{system}");
    let page = line("page size").expect("a page size line");
    assert!(page.contains(&page_size_words()), "{page} vs {}", page_size_words());
    for fact in ["huge pages (THP)", "overcommit", "ulimit -l", "user", "pagemap frames", "core dumps", "ASLR", "Rust"]
    {
        assert!(line(fact).is_some(), "no {fact:?} line in:\n{out}");
    }
    for lesson in ["01 segv", "04 paging", "06 cow", "08 mlock", "10 elf"] {
        assert!(line(lesson).is_some(), "no prediction for {lesson} in:\n{out}");
    }
    assert!(out.trim_end().ends_with("The workbook can run here."), "{out}");
}

#[test]
fn doctor_refuses_what_it_does_not_take() {
    for args in [&["doctor", "--bogus"][..], &["doctor", "3"][..]] {
        let run = workbook(args, &[]);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{:?}", run.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        assert!(lines[1].starts_with("hint: "), "{}", lines[1]);
    }
}

#[test]
fn list_json_gives_every_exercise_and_the_totals() {
    // A learner's copy with untouched exercises: every one "not started".
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("doctor-list-json");
    let _ = std::fs::remove_dir_all(&dir);
    let pristine = Path::new(ROOT).join("checker/pristine");
    let mut slugs: Vec<String> = std::fs::read_dir(&pristine)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    slugs.sort();
    assert_eq!(slugs.len(), 10);
    for slug in &slugs {
        let src = dir.join("exercises").join(slug).join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::copy(pristine.join(format!("{slug}.rs")), src.join("lib.rs")).unwrap();
    }
    let exercises = dir.join("exercises").display().to_string();
    let run = workbook(&["list", "--json", "--exercises", &exercises], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let json = run.stdout.trim();
    assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
    assert!(json.contains("\"done\": 0,") && json.contains("\"total\": 10"), "{json}");
    assert_eq!(json.matches("\"state\": \"not started\"").count(), 10, "{json}");
    for slug in &slugs {
        let (id, name) = slug.split_once('-').unwrap();
        assert!(json.contains(&format!("{{\"id\": \"{id}\", \"name\": \"{name}\", ")), "{slug} in {json}");
    }
    assert_balanced(json);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A small structural check of JSON: brackets balance outside strings, and
/// every string ends (escapes skipped).
fn assert_balanced(json: &str) {
    let mut stack = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, c) => assert!(c >= ' ', "raw control character in a string"),
            (false, _, '"') => in_string = true,
            (false, _, '{' | '[') => stack.push(c),
            (false, _, '}') => assert_eq!(stack.pop(), Some('{')),
            (false, _, ']') => assert_eq!(stack.pop(), Some('[')),
            _ => {}
        }
    }
    assert!(!in_string && stack.is_empty(), "unbalanced JSON: {json}");
}
