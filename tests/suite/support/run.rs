//! What one run of the plugin printed and how it exited, with the checks the contract asks
//! of every failure. Used by the offline and the live tests alike.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The built plugin on `args`, from the repository's root, with no kubeconfig: what a user
/// gets offline.
pub fn metalpool(args: &[&str]) -> Run {
    metalpool_with_stdin(args, None)
}

/// [`metalpool`] with `stdin` on its standard input (empty when `None`).
pub fn metalpool_with_stdin(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-metalpool"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl-metalpool");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    Run::from_output(child.wait_with_output().unwrap())
}

/// One finished run of the plugin.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().expect("exit code"),
            stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Standard output as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    /// `json()` after asserting the exit code.
    pub fn json_with_code(&self, code: i32) -> Value {
        assert_eq!(self.code, code, "{self:#?}");
        self.json()
    }

    /// Asserts a failure as the contract wants it: the exit code, nothing on stdout, and one
    /// `error:` line on stderr without panic text. Returns that line.
    pub fn failure(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "{self:#?}");
        self.error_line()
    }

    /// `failure` without a particular exit code.
    pub fn error_line(&self) -> &str {
        assert!(self.stdout.is_empty(), "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "{self:#?}"
        );
        lines[0]
    }
}
