//! Running the real `kubectl` against a loopback [`ApiServer`].

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use tempfile::TempDir;

use super::apiserver::{ApiServer, KubeconfigContext};

/// The `kubectl` on `PATH`. Panics when there is none: the tests that use it
/// check behaviour against the real client and must not pass without it.
pub fn kubectl_binary() -> PathBuf {
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
        .expect(
            "kubectl not found on PATH: these tests drive the real kubectl client \
             (v1.32) against a loopback API server, so kubectl must be installed",
        )
}

/// A kubeconfig for one server plus a scratch home, for running kubectl.
pub struct Kubectl {
    binary: PathBuf,
    dir: TempDir,
    kubeconfig: PathBuf,
    runs: AtomicUsize,
}

/// What one kubectl run printed and how it exited.
#[derive(Debug)]
pub struct KubectlOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl KubectlOutput {
    /// Stdout parsed as JSON; panics (showing both streams) unless the run
    /// succeeded with valid JSON.
    pub fn json(&self) -> Value {
        assert!(self.success, "kubectl failed: {self:#?}");
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("kubectl printed invalid JSON ({error}): {self:#?}"))
    }

    /// Asserts the run failed and returns its stderr.
    pub fn failure(&self) -> &str {
        assert!(!self.success, "kubectl unexpectedly succeeded: {self:#?}");
        &self.stderr
    }
}

impl Kubectl {
    /// Writes a kubeconfig for `server` with `context` into a fresh
    /// temporary directory.
    pub fn new(server: &ApiServer, context: &KubeconfigContext) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("kubectl-metalpool-kubectl-")
            .tempdir()
            .expect("temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig, context);
        Kubectl {
            binary: kubectl_binary(),
            dir,
            kubeconfig,
            runs: AtomicUsize::new(0),
        }
    }

    /// A kubeconfig with the default context.
    pub fn for_server(server: &ApiServer) -> Self {
        Kubectl::new(server, &KubeconfigContext::default())
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Runs `kubectl --kubeconfig <ours> --cache-dir <fresh> <args>` with a
    /// scratch `HOME` and no `KUBECONFIG`, so nothing from the machine's own
    /// configuration or discovery cache leaks in.
    pub fn run(&self, args: &[&str]) -> KubectlOutput {
        let run = self.runs.fetch_add(1, Ordering::Relaxed);
        let cache_dir = self.dir.path().join(format!("cache-{run}"));
        let output = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&cache_dir)
            .arg("--request-timeout=60s")
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", self.dir.path())
            .output()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", self.binary.display()));
        KubectlOutput {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
