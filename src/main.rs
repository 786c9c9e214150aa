//! `cargo workbook`: the exercise checker of the Virtual Memory Workbook.
//!
//! `cargo workbook` is a cargo alias (in .cargo/config.toml) for
//! `cargo run --quiet --package workbook --bin workbook --`. The library in
//! lib.rs is the lessons' plumbing; the checker's own code is in src/checker/.

mod checker;

fn main() -> std::process::ExitCode {
    checker::main()
}
