//! How the checker prints: the same marks as the lessons (✓ ✗), colors only
//! on a terminal and never with NO_COLOR, and output trimmed to fit a screen.

use std::io::IsTerminal;
use std::sync::OnceLock;

use owo_colors::OwoColorize;

fn colors() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
}

pub fn good(text: &str) -> String {
    if colors() { text.green().to_string() } else { text.to_string() }
}

pub fn bad(text: &str) -> String {
    if colors() { text.red().bold().to_string() } else { text.to_string() }
}

pub fn dim(text: &str) -> String {
    if colors() { text.dimmed().to_string() } else { text.to_string() }
}

pub fn heading(text: &str) -> String {
    if colors() { text.bold().cyan().to_string() } else { text.to_string() }
}

pub fn command(text: &str) -> String {
    if colors() { text.bold().to_string() } else { text.to_string() }
}

pub const PASS: &str = "✓";
pub const FAIL: &str = "✗";

/// At most `max_lines` lines of `text`, each cut to `max_width` characters,
/// with a last line that says how much was left out.
pub fn trim_lines(text: &str, max_lines: usize, max_width: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown: Vec<String> = lines.iter().take(max_lines).map(|line| cut(line, max_width)).collect();
    if lines.len() > max_lines {
        shown.push(format!("… {} more lines not shown", lines.len() - max_lines));
    }
    shown
}

fn cut(line: &str, max_width: usize) -> String {
    match line.char_indices().nth(max_width) {
        Some((end, _)) => format!("{} …", &line[..end]),
        None => line.to_string(),
    }
}

/// A byte count for messages: "512 bytes", "12.5 KiB", "3.0 MiB".
pub fn bytes(count: usize) -> String {
    match count {
        n if n < 1024 => format!("{n} bytes"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}

/// Seconds for messages: "0.8 s".
pub fn seconds(duration: std::time::Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_long_output_and_says_so() {
        let text = (1..=30).map(|n| n.to_string()).collect::<Vec<_>>().join("\n");
        let shown = trim_lines(&text, 3, 80);
        assert_eq!(shown, vec!["1", "2", "3", "… 27 more lines not shown"]);
        assert_eq!(trim_lines("ééééé", 1, 2), vec!["éé …"]);
        assert_eq!(bytes(2048), "2.0 KiB");
    }
}
