//! `kubectl-metalpool`: parse flags, run, print the error as one line, exit with the
//! contract's code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use kubectl_metalpool::app;
use kubectl_metalpool::cli::Cli;

fn main() -> ExitCode {
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
