//! `kubectl-metalpool`: parse flags, resolve them, run, print the error as one line, exit with
//! the contract's code.

use std::io::Write;
use std::process::ExitCode;

use clap::error::ErrorKind;
use kubectl_metalpool::error::{Error, exit};
use kubectl_metalpool::settings::{Environment, Settings};
use kubectl_metalpool::{app, cli};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "__complete") {
        return shell_completion(&args[1..]);
    }
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let result = Settings::resolve(&cli, Environment::current())
        .and_then(|settings| app::run(&settings, &mut out, &mut err))
        .and_then(|code| {
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

/// Cobra's protocol: the words typed so far, the last one under the cursor.
fn shell_completion(words: &[String]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match app::shell_completion(words, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// Help and version go to stdout; a usage error is one line on stderr, as every failure.
fn usage_error(e: &clap::Error) -> ExitCode {
    let line = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let names: Vec<String> = cli::grammar()
                .subcommands
                .into_iter()
                .map(|s| s.name)
                .filter(|n| n != "help")
                .collect();
            format!("a command is needed: {} (see --help)", names.join(", "))
        }
        _ => format!("{} (see --help)", cli::one_line(e)),
    };
    eprintln!("error: {}", Error::Usage(line));
    ExitCode::from(exit::USAGE as u8)
}
