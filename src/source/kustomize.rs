//! `-k DIR`: a kustomization rendered as `kubectl apply -k` renders it, by the `kubectl` on
//! `PATH` (`kubectl kustomize DIR`), then read like `-f`.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The manifests `kubectl kustomize dir` prints.
pub fn render(dir: &Path) -> Result<String> {
    let place = format!("-k {}", dir.display());
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::input(
                &place,
                "kubectl is not on PATH: -k renders the kustomization with kubectl kustomize",
            ),
            _ => Error::input(&place, format!("cannot run kubectl kustomize: {e}")),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no message");
        return Err(Error::input(
            &place,
            format!("kubectl kustomize failed: {said}"),
        ));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| Error::input(&place, "kubectl kustomize printed text that is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs the real kubectl (the test suite's live tests need it too).
    #[test]
    fn a_kustomization_renders_and_a_broken_one_is_one_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "namespace: metallb-system\nresources: [pool.yaml]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("pool.yaml"),
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\nspec: {addresses: [10.0.0.0/30]}\n",
        )
        .unwrap();
        let text = render(dir.path()).unwrap();
        assert!(text.contains("namespace: metallb-system"), "{text}");
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "resources: [missing.yaml]\n",
        )
        .unwrap();
        let e = render(dir.path()).unwrap_err().to_string();
        assert!(e.contains("kubectl kustomize failed"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
