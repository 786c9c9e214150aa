//! The book never drifts from the code: every lesson has a chapter listed in the
//! summary, every `{{#include}}` names a file and anchor that exist, and every
//! chapter shows its lesson's current snapshot.

mod common;

use std::path::{Path, PathBuf};

use regex_lite::Regex;

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every markdown file the summary links to.
fn summary_chapters() -> Vec<String> {
    let summary = read(&book_src().join("SUMMARY.md"));
    Regex::new(r"\]\(([^)]+\.md)\)").unwrap().captures_iter(&summary).map(|c| c[1].to_string()).collect()
}

fn all_markdown(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read book dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(all_markdown(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}

#[test]
fn summary_lists_only_chapters_that_exist() {
    for chapter in summary_chapters() {
        assert!(book_src().join(&chapter).is_file(), "SUMMARY.md links to missing {chapter}");
    }
}

#[test]
fn every_lesson_has_a_chapter_in_the_summary() {
    let chapters = summary_chapters();
    for package in common::lesson_packages() {
        let chapter = format!("{package}.md");
        assert!(chapters.contains(&chapter), "{package} has no chapter {chapter} in SUMMARY.md");
    }
}

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let include = Regex::new(r"\{\{#include ([^:}]+)(?::([^}]*))?\}\}").unwrap();
    let mut checked = 0;
    for page in all_markdown(&book_src()) {
        let text = read(&page);
        for found in include.captures_iter(&text) {
            let target = page.parent().unwrap().join(&found[1]);
            assert!(target.is_file(), "{}: includes missing file {}", page.display(), &found[1]);
            let source = read(&target);
            match found.get(2).map(|m| m.as_str()) {
                Some(range) if range.chars().next().is_some_and(|c| c.is_ascii_digit()) => {}
                Some(anchor) => {
                    for marker in [format!("ANCHOR: {anchor}"), format!("ANCHOR_END: {anchor}")] {
                        assert!(source.contains(&marker), "{}: {} has no `{marker}`", page.display(), &found[1]);
                    }
                }
                None => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no includes found at all");
}

#[test]
fn every_lesson_chapter_shows_its_current_snapshot() {
    for package in common::lesson_packages() {
        let chapter = read(&book_src().join(format!("{package}.md")));
        let snapshot = format!("tests/snapshots/{}__output.snap", package.replace('-', "_"));
        let include = format!("{{{{#include ../../{snapshot}:5:}}}}");
        assert!(chapter.contains(&include), "{package}.md does not show its output with `{include}`");
        // Line 5 must be the first line after insta's 4-line header, or the book
        // would show part of the header or miss a line of output.
        let snap = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(&snapshot));
        let lines: Vec<&str> = snap.lines().collect();
        assert!(lines.len() > 4 && lines[0] == "---" && lines[3] == "---", "{snapshot}: header is not 4 lines");
    }
}
