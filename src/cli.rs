//! The command line every lesson shares: `--help` and `--pause`.

use std::io::IsTerminal;

/// What a lesson was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Stop at the key moments so the learner can inspect the process from another terminal.
    pub pause: bool,
}

/// Why the arguments were not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    Help,
    Unknown(String),
}

/// Parse the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, ArgsError> {
    let mut options = Options::default();
    for arg in args {
        match arg.as_str() {
            "--pause" => options.pause = true,
            "-h" | "--help" => return Err(ArgsError::Help),
            _ => return Err(ArgsError::Unknown(arg)),
        }
    }
    Ok(options)
}

/// Parse `std::env::args()`; print help or a one-line error and exit as a CLI should.
pub fn options_or_exit(package: &str, about: &str) -> Options {
    match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(ArgsError::Help) => {
            println!("{about}\n");
            println!("Usage: cargo run -p {package} [-- --pause]\n");
            println!("Options:");
            println!("  --pause     stop at key steps, print the pid and a command to inspect it");
            println!("              (only when standard input is a terminal)");
            println!("  -h, --help  print this help");
            std::process::exit(0);
        }
        Err(ArgsError::Unknown(arg)) => {
            eprintln!("error: unknown argument '{arg}'");
            eprintln!("hint: run `cargo run -p {package} -- --help` to see the options");
            std::process::exit(2);
        }
    }
}

/// True when a pause can wait for the learner to press Enter.
pub fn can_wait_for_enter() -> bool {
    std::io::stdin().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn understands_pause_help_and_nothing_else() {
        assert_eq!(parse(args(&[])), Ok(Options { pause: false }));
        assert_eq!(parse(args(&["--pause"])), Ok(Options { pause: true }));
        assert_eq!(parse(args(&["--pause", "-h"])), Err(ArgsError::Help));
        assert_eq!(parse(args(&["--paws"])), Err(ArgsError::Unknown("--paws".into())));
        assert_eq!(parse(args(&["100"])), Err(ArgsError::Unknown("100".into())));
    }
}
