//! The instructors' plans add up: the minutes of every row of a plan's table
//! sum to the total the page states, and the half-day plan is 3 hours. Every
//! lesson chapter ends with its speaker notes, folded.

use std::path::Path;

const BOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/book/src");

fn page(name: &str) -> String {
    std::fs::read_to_string(Path::new(BOOK).join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// The rows of the page's table, as (part, minutes), from the "Minutes" column.
fn plan_rows(text: &str) -> Vec<(String, u32)> {
    let cells = |line: &str| -> Vec<String> {
        line.trim().trim_matches('|').split('|').map(|cell| cell.trim().to_string()).collect()
    };
    let mut lines = text.lines().filter(|line| line.trim_start().starts_with('|'));
    let header = cells(lines.next().expect("a table"));
    let column = header.iter().position(|cell| cell == "Minutes").expect("a Minutes column");
    lines
        .skip(1) // the |---| line under the header
        .map(|line| {
            let row = cells(line);
            let minutes = row[column].parse().unwrap_or_else(|_| panic!("minutes of {line:?}"));
            (row[0].clone(), minutes)
        })
        .collect()
}

/// N from the page's "Total: N minutes." line.
fn stated_total(text: &str) -> u32 {
    let line = text.lines().find_map(|line| line.strip_prefix("Total: ")).expect("a 'Total: N minutes.' line");
    line.trim_end_matches(" minutes.").parse().expect("a number of minutes")
}

#[test]
fn the_half_day_plan_is_exactly_three_hours() {
    let text = page("instructors/half-day.md");
    let rows = plan_rows(&text);
    assert_eq!(rows.iter().map(|(_, m)| m).sum::<u32>(), 180, "{rows:?}");
    assert_eq!(stated_total(&text), 180);
}

#[test]
fn the_full_day_plan_adds_up_and_has_every_lesson() {
    let text = page("instructors/full-day.md");
    let rows = plan_rows(&text);
    assert_eq!(rows.iter().map(|(_, m)| m).sum::<u32>(), stated_total(&text), "{rows:?}");
    for n in 1..=10 {
        let lesson = format!("Lesson {n:02}");
        assert!(rows.iter().any(|(part, _)| part.starts_with(&lesson)), "{lesson} is not in the full-day plan");
    }
}

#[test]
fn every_lesson_chapter_ends_with_folded_speaker_notes() {
    let chapters: Vec<String> = std::fs::read_dir(BOOK)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("lesson-") && name.ends_with(".md"))
        .collect();
    assert_eq!(chapters.len(), 10);
    for chapter in chapters {
        let include = format!("{{{{#include notes/{chapter}}}}}");
        assert!(page(&chapter).trim_end().ends_with(&include), "{chapter} does not end with {include}");
        let notes = page(&format!("notes/{chapter}"));
        assert!(notes.starts_with("<details>\n<summary>Speaker notes</summary>"), "notes/{chapter}");
        assert!(notes.trim_end().ends_with("</details>"), "notes/{chapter}");
    }
}
