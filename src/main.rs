//! `kubectl-metalpool`: parse flags, resolve them, run, print the error as one line, exit with
//! the contract's code.

use std::io::Write;
use std::process::ExitCode;

use kubectl_metalpool::cli::Early;
use kubectl_metalpool::error::exit;
use kubectl_metalpool::render::text::escape_controls;
use kubectl_metalpool::settings::{Environment, Settings};
use kubectl_metalpool::{app, cli};

/// jemalloc, not the system's allocator, for the binary only (Cargo.toml says where and why):
/// reading a cluster makes millions of small allocations, and glibc's malloc and free were a
/// third of the plugin's CPU.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: freed pages go back to the system at once (no
/// decay). Reading frees memory in waves (page buffers, the objects of a file); pages kept
/// for reuse would raise the peak, which matters more here than the calls to return them.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 34] = b"dirty_decay_ms:0,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "__complete") {
        return shell_completion(&args[1..]);
    }
    let cli = match cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        // Help and version go to stdout; a usage error is one line on stderr, as every
        // failure.
        Err(Early::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(Early::Usage(line)) => {
            eprintln!("error: {}", escape_controls(&line));
            return ExitCode::from(exit::USAGE as u8);
        }
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
            let _ = writeln!(err, "error: {}", escape_controls(&e.to_string()));
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
