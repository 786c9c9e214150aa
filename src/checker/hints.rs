//! Hints live in checker/hints/NN-name.md, one block per hint between mdBook
//! anchors, so the book folds the very same text away in `<details>`:
//!
//! ```text
//! <!-- ANCHOR: hint1 -->
//! The gentlest nudge.
//! <!-- ANCHOR_END: hint1 -->
//! ```

use super::catalog::{Exercise, Workbook};

/// The hints of an exercise, gentlest first. Empty when the file is missing.
pub fn load(workbook: &Workbook, exercise: &Exercise) -> Vec<String> {
    std::fs::read_to_string(workbook.hints(exercise)).map(|text| parse(&text)).unwrap_or_default()
}

pub fn count(workbook: &Workbook, exercise: &Exercise) -> usize {
    load(workbook, exercise).len()
}

/// hint1, hint2, ... in order, until one is missing.
pub fn parse(text: &str) -> Vec<String> {
    (1..)
        .map_while(|n| {
            let start_marker = format!("<!-- ANCHOR: hint{n} -->");
            let end_marker = format!("<!-- ANCHOR_END: hint{n} -->");
            let start = text.find(&start_marker)? + start_marker.len();
            let end = start + text[start..].find(&end_marker)?;
            Some(text[start..end].trim().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hints_in_order_until_one_is_missing() {
        let text = "# Hints\n<!-- ANCHOR: hint1 -->\nfirst\n<!-- ANCHOR_END: hint1 -->\n\n<!-- ANCHOR: hint2 -->\n  second\n  line\n<!-- ANCHOR_END: hint2 -->\n<!-- ANCHOR: hint4 -->x<!-- ANCHOR_END: hint4 -->";
        assert_eq!(parse(text), vec!["first".to_string(), "second\n  line".to_string()]);
        assert!(parse("no hints").is_empty());
        assert!(parse("<!-- ANCHOR: hint1 --> never closed").is_empty());
    }
}
