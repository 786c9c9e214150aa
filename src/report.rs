//! How every lesson prints: a title, numbered steps, and evidence lines that
//! pair a claim with the value the lesson measured and say whether it held.
//!
//! ```text
//! Step 2. Touch every page
//!   ✓ Rss of the region after touching: 100 MiB (104857600 bytes, 25600 pages)
//! ```
//! Colors only when stdout is a terminal and `NO_COLOR` is not set.

use std::cell::Cell;
use std::fmt::Display;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::OnceLock;

use owo_colors::OwoColorize;

use crate::child::{ChildRun, flush_stdio};
use crate::cli;

/// A running lesson: counts its steps and the claims that held or failed.
pub struct Lesson {
    options: cli::Options,
    step: Cell<u32>,
    held: Cell<u32>,
    failed: Cell<u32>,
}

impl Lesson {
    /// Read the command line (`--help`, `--pause`) and print the lesson's title.
    pub fn start(package: &str, title: &str, about: &str) -> Lesson {
        let options = cli::options_or_exit(package, &format!("{title}\n\n{about}"));
        // Rust ignores SIGPIPE, so `lesson | head` would end in a "Broken pipe" panic.
        // The default action ends the lesson quietly when the reader goes away, like `cat`.
        // SAFETY: setting a signal's disposition to SIG_DFL before any threads exist.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        println!("{}", paint(title, Style::Title));
        println!("{about}");
        Lesson { options, step: Cell::new(0), held: Cell::new(0), failed: Cell::new(0) }
    }

    /// Begin the next numbered step.
    pub fn step(&self, title: &str) {
        self.step.set(self.step.get() + 1);
        println!();
        println!("{}", paint(&format!("Step {}. {title}", self.step.get()), Style::Heading));
    }

    /// A line of explanation.
    pub fn say(&self, text: impl Display) {
        println!("  {text}");
    }

    /// A measured value that is shown but not claimed (it differs between machines).
    pub fn show(&self, label: &str, value: impl Display) {
        println!("  {} {label}: {value}", paint("·", Style::Dim));
    }

    /// A claim, the value measured for it, and whether the claim held.
    /// Returns `held`, so a lesson can explain a claim that did not hold.
    pub fn check(&self, claim: &str, measured: impl Display, held: bool) -> bool {
        let counter = if held { &self.held } else { &self.failed };
        counter.set(counter.get() + 1);
        let mark = if held { paint("✓", Style::Good) } else { paint("✗", Style::Bad) };
        println!("  {mark} {claim}: {measured}");
        held
    }

    /// A raw line from the kernel, such as a line of /proc/self/maps.
    pub fn quote(&self, prefix: &str, line: impl Display) {
        println!("    {} {}", paint(prefix, Style::Dim), line);
    }

    /// What a child process printed, indented under its step.
    pub fn child_output(&self, run: &ChildRun) {
        if run.output.is_empty() {
            println!("    {}", paint(&format!("child {} printed nothing", "│"), Style::Dim));
        }
        for line in run.output.lines() {
            println!("    {} {line}", paint("child │", Style::Dim));
        }
    }

    /// With `--pause`, stop so the learner can inspect this process from another
    /// terminal. Never waits when standard input is not a terminal.
    pub fn pause(&self, moment: &str, inspect: &[String]) {
        if !self.options.pause {
            return;
        }
        let pid = std::process::id();
        println!();
        println!("  {} {moment} (pid {pid})", paint("⏸ paused:", Style::Heading));
        for command in inspect {
            println!("    look from another terminal:  {command}");
        }
        if !cli::can_wait_for_enter() {
            println!("    (not waiting: standard input is not a terminal)");
            return;
        }
        print!("    press Enter to go on ");
        flush_stdio();
        let _ = std::io::stdin().read_line(&mut String::new());
    }

    /// Whether `--pause` was given.
    pub fn pausing(&self) -> bool {
        self.options.pause
    }

    /// Print the tally. Exit status 0 only when every claim held.
    pub fn finish(self) -> ExitCode {
        let (held, failed) = (self.held.get(), self.failed.get());
        println!();
        if failed == 0 {
            let claims = if held == 1 { "The one claim" } else { &format!("All {held} claims") };
            println!("{}", paint(&format!("{claims} held on this machine."), Style::Good));
            ExitCode::SUCCESS
        } else {
            let total = held + failed;
            println!("{}", paint(&format!("{failed} of {total} claims did not hold on this machine."), Style::Bad));
            println!("Please report the output above: the lesson expected something this kernel did differently.");
            ExitCode::FAILURE
        }
    }
}

/// A size as the workbook prints it: `100 MiB (104857600 bytes, 25600 pages)`.
pub fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    let page = crate::sys::page_size();
    let (pages, rest) = (bytes / page, bytes % page);
    let pages = match (pages, rest) {
        (1, 0) => "1 page".to_string(),
        (n, 0) => format!("{n} pages"),
        (n, 1) => format!("{n} pages + 1 byte"),
        (n, r) => format!("{n} pages + {r} bytes"),
    };
    const GIB: usize = 1024 * MIB;
    match bytes {
        b if b >= GIB && b % GIB == 0 => format!("{} GiB ({b} bytes, {pages})", b / GIB),
        b if b >= MIB && b % MIB == 0 => format!("{} MiB ({b} bytes, {pages})", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB ({b} bytes, {pages})", b / KIB),
        1 => format!("1 byte ({pages})"),
        b => format!("{b} bytes ({pages})"),
    }
}

/// An address, always in hex with a 0x prefix.
pub fn addr(address: usize) -> String {
    format!("{address:#x}")
}

#[derive(Clone, Copy)]
enum Style {
    Title,
    Heading,
    Good,
    Bad,
    Dim,
}

fn paint(text: &str, style: Style) -> String {
    if !colors_enabled() {
        return text.to_string();
    }
    match style {
        Style::Title => text.bold().underline().to_string(),
        Style::Heading => text.bold().cyan().to_string(),
        Style::Good => text.green().to_string(),
        Style::Bad => text.red().bold().to_string(),
        Style::Dim => text.dimmed().to_string(),
    }
}

/// Colors only for a person at a terminal who has not asked for none (https://no-color.org).
fn colors_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        !no_color && std::io::stdout().is_terminal()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_name_bytes_units_and_pages() {
        let page = crate::sys::page_size();
        let mib = 1024 * 1024;
        assert_eq!(size(100 * mib), format!("100 MiB ({} bytes, {} pages)", 100 * mib, 100 * mib / page));
        assert_eq!(size(page), format!("{} KiB ({page} bytes, 1 page)", page / 1024));
        assert_eq!(size(1), "1 byte (0 pages + 1 byte)");
        assert!(size(48 << 30).starts_with("48 GiB (51539607552 bytes, "));
        assert!(size(3 * page + 2).ends_with("3 pages + 2 bytes)"));
    }
}
