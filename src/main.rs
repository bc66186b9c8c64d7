//! `kubectl-metalpool`: parse flags, run, print the error as one line, exit with the
//! contract's code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use kubectl_metalpool::cli::Cli;
use kubectl_metalpool::{app, complete};

fn main() -> ExitCode {
    // Shell completion (cobra's protocol): the words typed so far, unparsed.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "__complete") {
        let mut out = std::io::stdout().lock();
        return match complete::complete(&args[1..], &mut out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(1),
        };
    }
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let result = app::run(&cli, &mut out, &mut err).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
