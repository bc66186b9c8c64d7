//! Packaging: the krew manifest passes krew's validation rules, the archive is what krew
//! installs, and the real kubectl finds the plugin, runs it and completes its arguments.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-metalpool");
const PLATFORMS: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_manifest(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn is_semver_with_v(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let core = rest.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("kubectl")
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// krew's rules for a Plugin manifest (`krew install --manifest` and the index's checks),
/// as a list of violations. `built` names the platforms whose archive must be real.
fn violations(path: &Path, manifest: &Value, built: &[(&str, &str)]) -> Vec<String> {
    let mut errors = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            errors.push(what);
        }
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    check(
        manifest["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2",
        "apiVersion".into(),
    );
    check(manifest["kind"] == "Plugin", "kind".into());
    let name = text(&manifest["metadata"]["name"]);
    check(is_plugin_name(&name), format!("name {name:?}"));
    check(
        path.file_stem().and_then(|s| s.to_str()) == Some(name.as_str()),
        "file name must be <name>.yaml".into(),
    );
    let spec = &manifest["spec"];
    let version = text(&spec["version"]);
    check(
        is_semver_with_v(&version),
        format!("version {version:?} is not v-prefixed semver"),
    );
    check(
        text(&spec["homepage"]).starts_with("https://"),
        "homepage".into(),
    );
    let short = text(&spec["shortDescription"]);
    check(
        !short.is_empty() && short.chars().count() <= 50,
        format!("shortDescription {short:?} must be 1-50 characters"),
    );
    check(
        !text(&spec["description"]).trim().is_empty(),
        "description".into(),
    );
    check(
        text(&spec["caveats"]).contains("kubectl_complete-metalpool"),
        "caveats must explain completion".into(),
    );
    let platforms = spec["platforms"].as_array().cloned().unwrap_or_default();
    check(!platforms.is_empty(), "platforms".into());
    let mut seen = BTreeSet::new();
    for platform in &platforms {
        let labels = &platform["selector"]["matchLabels"];
        let (os, arch) = (text(&labels["os"]), text(&labels["arch"]));
        check(
            !os.is_empty() && !arch.is_empty(),
            "a selector needs os and arch".into(),
        );
        check(
            seen.insert((os.clone(), arch.clone())),
            format!("{os}/{arch} twice"),
        );
        let uri = text(&platform["uri"]);
        check(
            uri.starts_with("https://") && (uri.ends_with(".tar.gz") || uri.ends_with(".zip")),
            format!("uri {uri}"),
        );
        check(
            uri.contains(&version) && uri.contains(&format!("_{os}_{arch}.")),
            format!("uri {uri} must name {version} {os} {arch}"),
        );
        let sha = text(&platform["sha256"]);
        check(is_sha256(&sha), format!("{os}/{arch}: sha256 {sha:?}"));
        if built.contains(&(os.as_str(), arch.as_str())) {
            check(
                sha.bytes().any(|b| b != b'0'),
                format!("{os}/{arch}: sha256 not filled in"),
            );
        }
        let bin = text(&platform["bin"]);
        check(
            !bin.is_empty() && !bin.contains("..") && !bin.starts_with('/'),
            format!("bin {bin:?}"),
        );
        check(
            (os == "windows") == bin.ends_with(".exe"),
            format!("{os}: bin {bin}"),
        );
    }
    for (os, arch) in PLATFORMS {
        check(
            seen.contains(&(os.to_string(), arch.to_string())),
            format!("missing platform {os}/{arch}"),
        );
    }
    errors
}

#[test]
fn the_manifest_template_passes_krew_validation() {
    let path = root().join("krew/metalpool.yaml");
    let errors = violations(&path, &read_manifest(&path), &[]);
    assert!(errors.is_empty(), "{errors:?}");
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(cargo.contains(&format!(
            "version = \"{}\"",
            read_manifest(&path)["spec"]["version"]
                .as_str()
                .unwrap()
                .trim_start_matches('v')
        )));
}

#[test]
fn the_validation_rules_catch_bad_manifests() {
    let path = root().join("krew/metalpool.yaml");
    let good = read_manifest(&path);
    let mut bad = good.clone();
    bad["spec"]["version"] = Value::String("0.1.0".into());
    bad["spec"]["shortDescription"] = Value::String("x".repeat(51));
    bad["spec"]["platforms"][0]["sha256"] = Value::String("abc".into());
    bad["spec"]["platforms"][4]["bin"] = Value::String("kubectl-metalpool".into());
    bad["spec"]["platforms"][1]["selector"]["matchLabels"]["arch"] = Value::String("amd64".into());
    let errors = violations(&path, &bad, &[("linux", "amd64")]);
    for expected in [
        "version",
        "shortDescription",
        "sha256",
        "windows: bin",
        "linux/amd64 twice",
        "missing platform linux/arm64",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected} not caught: {errors:?}"
        );
    }
    assert!(
        !violations(&path, &good, &[("linux", "amd64")]).is_empty(),
        "the template's sha256 is not filled in"
    );
}

fn tar_listing(archive: &Path) -> Vec<String> {
    let out = Command::new("tar")
        .arg("tzf")
        .arg(archive)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn package_builds_the_archive_and_renders_the_manifest() {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(root().join("krew/package.sh"))
        .args(["--binary", BIN, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let archive = out.path().join(format!(
        "kubectl-metalpool_v{}_linux_amd64.tar.gz",
        env!("CARGO_PKG_VERSION")
    ));
    let mut listing = tar_listing(&archive);
    listing.sort();
    assert_eq!(
        listing,
        ["LICENSE", "kubectl-metalpool", "kubectl_complete-metalpool"],
        "top level of the archive"
    );
    let manifest_path = out.path().join("metalpool.yaml");
    let manifest = read_manifest(&manifest_path);
    let errors = violations(&manifest_path, &manifest, &[("linux", "amd64")]);
    assert!(errors.is_empty(), "{errors:?}");
    let sum = Command::new("sha256sum").arg(&archive).output().unwrap();
    let sum = String::from_utf8(sum.stdout).unwrap();
    assert_eq!(
        manifest["spec"]["platforms"][0]["sha256"].as_str().unwrap(),
        sum.split_whitespace().next().unwrap()
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("sha256 "));
    // The same binary packs to the same archive: the sha256 can be checked by anyone.
    let again = tempfile::tempdir().unwrap();
    let rerun = Command::new(root().join("krew/package.sh"))
        .args(["--binary", BIN, "--out"])
        .arg(again.path())
        .output()
        .unwrap();
    assert!(rerun.status.success());
    let first = std::fs::read(&archive).unwrap();
    let second = std::fs::read(again.path().join(archive.file_name().unwrap())).unwrap();
    assert!(first == second, "archives differ between two runs");
}

/// A PATH holding only the plugin, its completion helper, and kubectl's own directory.
fn plugin_path(dir: &Path) -> String {
    std::os::unix::fs::symlink(BIN, dir.join("kubectl-metalpool")).unwrap();
    std::fs::copy(
        root().join("krew/kubectl_complete-metalpool"),
        dir.join("kubectl_complete-metalpool"),
    )
    .unwrap();
    let system = std::env::var("PATH").unwrap_or_default();
    format!("{}:{system}", dir.display())
}

fn kubectl(path: &str, home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("kubectl")
        .args(args)
        .current_dir(root())
        .env("PATH", path)
        .env("HOME", home)
        .env("KUBECONFIG", home.join("no-kubeconfig"))
        .env("NO_COLOR", "1")
        .output()
        .expect("kubectl must be installed (it is on this machine and in CI)");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn kubectl_discovers_and_runs_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let path = plugin_path(dir.path());
    let (ok, stdout, stderr) = kubectl(&path, dir.path(), &["plugin", "list"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("{}/kubectl-metalpool", dir.path().display())),
        "{stdout}"
    );
    let (ok, stdout, _) = kubectl(&path, dir.path(), &["metalpool", "--help"]);
    assert!(
        ok && stdout.contains("Usage:\n  kubectl metalpool [OPTIONS] <COMMAND>"),
        "{stdout}"
    );
    let (ok, through_kubectl, stderr) = kubectl(
        &path,
        dir.path(),
        &["metalpool", "usage", "-f", "examples/", "-o", "json"],
    );
    assert!(ok, "{stderr}");
    let direct = Command::new(BIN)
        .args(["usage", "-f", "examples/", "-o", "json"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(through_kubectl, String::from_utf8(direct.stdout).unwrap());
}

#[test]
fn kubectl_completes_through_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let path = plugin_path(dir.path());
    let (_, stdout, stderr) = kubectl(&path, dir.path(), &["__complete", "metalpool", "wh"]);
    assert!(
        stdout.lines().any(|l| l.starts_with("why\t")),
        "{stdout}\n{stderr}"
    );
    let (_, stdout, _) = kubectl(
        &path,
        dir.path(),
        &[
            "__complete",
            "metalpool",
            "why",
            "-f",
            "examples/",
            "-n",
            "team-b",
            "svc/b",
        ],
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| !l.starts_with(':'))
            .collect::<Vec<_>>(),
        ["svc/batch"]
    );
    assert!(stdout.lines().any(|l| l == ":4"), "{stdout}");
    let (_, stdout, _) = kubectl(
        &path,
        dir.path(),
        &["__complete", "metalpool", "usage", "-f", "examples/", "pub"],
    );
    assert!(
        stdout.lines().any(|l| l == "public-ips"),
        "pool names: {stdout}"
    );
}

#[test]
fn bash_completion_script_completes() {
    let dir = tempfile::tempdir().unwrap();
    let path = plugin_path(dir.path());
    let script = "source <(kubectl-metalpool completion bash)
COMP_WORDS=(kubectl-metalpool why -f examples/ -n team-b svc/ba); COMP_CWORD=6
_kubectl_metalpool; printf '%s\\n' \"${COMPREPLY[@]}\"
COMP_WORDS=(kubectl-metalpool us); COMP_CWORD=1
_kubectl_metalpool; printf '%s\\n' \"${COMPREPLY[@]}\"";
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(root())
        .env("PATH", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["svc/batch", "usage"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completion_scripts_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kubectl-metalpool"),
        ("fish", "complete -c kubectl-metalpool"),
    ] {
        let out = Command::new(BIN)
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains(marker) && script.contains("__complete"),
            "{shell}"
        );
    }
    let out = Command::new(BIN)
        .args(["completion", "powershell"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
