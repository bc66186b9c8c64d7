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

fn read_yaml(relative: &str) -> Value {
    read_manifest(&root().join(relative))
}

fn cargo_tag() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// Renders .krew.yaml as krew-release-bot does (its Go template with two forms):
/// `{{ .TagName }}` is the tag, and `{{ addURIAndSha "URL" .TagName | indent N }}` becomes
/// `uri: URL` and, on the next line, `sha256: SHA` indented by N spaces, where URL has its own
/// `{{ .TagName }}` replaced. `sha_of` gives an archive's sha256 from its URL. The leading
/// `{{- /* … */ -}}` comment disappears with the line break after it.
fn render_template(template: &str, tag: &str, sha_of: impl Fn(&str) -> String) -> String {
    const TAG: &str = "{{ .TagName }}";
    let body = match template.split_once("*/ -}}\n") {
        Some((comment, rest)) if comment.starts_with("{{- /*") => rest,
        _ => template,
    };
    let mut out = String::new();
    for line in body.lines() {
        let pad = line.len() - line.trim_start().len();
        let rendered = match line.trim_start().strip_prefix("{{ addURIAndSha \"") {
            Some(call) => {
                let (url, rest) = call.split_once('"').expect("a quoted URL");
                let indent: usize = rest
                    .strip_prefix(" .TagName | indent ")
                    .and_then(|r| r.strip_suffix(" }}"))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("unexpected addURIAndSha call: {line}"));
                let url = url.replace(TAG, tag);
                format!(
                    "{}uri: {url}\n{}sha256: {}",
                    &line[..pad],
                    " ".repeat(indent),
                    sha_of(&url)
                )
            }
            None => line.replace(TAG, tag),
        };
        out.push_str(&rendered);
        out.push('\n');
    }
    assert!(
        !out.contains("{{"),
        "a template form krew-release-bot would not render this way:\n{out}"
    );
    out
}

/// The template rendered for this version, with a distinct stand-in sha256 per archive.
fn rendered_template() -> Value {
    let template = std::fs::read_to_string(root().join(".krew.yaml")).unwrap();
    let text = render_template(&template, &cargo_tag(), |url| {
        format!(
            "{:0>64x}",
            url.len() * 7919 + url.bytes().map(usize::from).sum::<usize>()
        )
    });
    serde_saphyr::from_str(&text).unwrap()
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
        && text.bytes().any(|b| b != b'0')
}

/// A line that shows how to run the plugin: krew-index wants commands in `--help`, not in
/// the description or the caveats.
fn is_usage_line(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("kubectl metalpool") || line.starts_with("$ ")
}

/// krew-index's rules for the text fields: a tagline of at most 50 characters, a description
/// wrapped at 80 columns without commands, caveats only for the extra steps (the completion
/// helper, the RBAC pointer) and short.
fn text_violations(spec: &Value, errors: &mut Vec<String>) {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let short = text(&spec["shortDescription"]);
    if short.is_empty() || short.chars().count() > 50 {
        errors.push(format!(
            "shortDescription {short:?} must be 1-50 characters"
        ));
    }
    let description = text(&spec["description"]);
    if description.trim().is_empty() {
        errors.push("description is empty".into());
    }
    for line in description.lines() {
        if line.chars().count() > 80 {
            errors.push(format!("description line over 80 columns: {line:?}"));
        }
        if is_usage_line(line) {
            errors.push(format!("description shows usage: {line:?}"));
        }
    }
    let caveats = text(&spec["caveats"]);
    for needed in ["kubectl_complete-metalpool", "rbac.yaml"] {
        if !caveats.contains(needed) {
            errors.push(format!("caveats must point to {needed}"));
        }
    }
    if caveats.lines().count() > 8 {
        errors.push("caveats longer than 8 lines".into());
    }
    for line in caveats.lines() {
        if line.chars().count() > 80 {
            errors.push(format!("caveats line over 80 columns: {line:?}"));
        }
        if is_usage_line(line) {
            errors.push(format!("caveats show usage: {line:?}"));
        }
    }
}

/// krew's rules for a Plugin manifest (`krew install --manifest` and the index's checks),
/// as a list of violations. `platforms` are exactly the os/arch pairs it must list.
fn violations(path: &Path, manifest: &Value, platforms: &[(&str, &str)]) -> Vec<String> {
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
        version == cargo_tag(),
        format!("version {version} but Cargo.toml is {}", cargo_tag()),
    );
    check(
        text(&spec["homepage"]) == env!("CARGO_PKG_REPOSITORY"),
        "homepage must be the repository of Cargo.toml".into(),
    );
    let listed = spec["platforms"].as_array().cloned().unwrap_or_default();
    check(!listed.is_empty(), "platforms".into());
    let mut seen = BTreeSet::new();
    for platform in &listed {
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
        check(
            platforms.contains(&(os.as_str(), arch.as_str())),
            format!("{os}/{arch} is not a platform of this manifest"),
        );
        let uri = text(&platform["uri"]);
        check(
            uri.starts_with("https://") && (uri.ends_with(".tar.gz") || uri.ends_with(".zip")),
            format!("uri {uri}"),
        );
        check(
            uri.contains(&version) && uri.ends_with(&format!("_{version}_{os}_{arch}.tar.gz")),
            format!("uri {uri} must name {version} {os} {arch}"),
        );
        let sha = text(&platform["sha256"]);
        check(is_sha256(&sha), format!("{os}/{arch}: sha256 {sha:?}"));
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
    for (os, arch) in platforms {
        check(
            seen.contains(&(os.to_string(), arch.to_string())),
            format!("missing platform {os}/{arch}"),
        );
    }
    text_violations(spec, &mut errors);
    errors
}

/// The krew-index file name of the rendered template.
fn index_path() -> PathBuf {
    root().join("metalpool.yaml")
}

#[test]
fn the_release_template_renders_to_a_valid_manifest() {
    let manifest = rendered_template();
    let errors = violations(&index_path(), &manifest, &PLATFORMS);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(manifest["spec"]["version"], cargo_tag());
    let caveats = manifest["spec"]["caveats"].as_str().unwrap();
    assert!(
        caveats.contains(&format!(
            "/metalpool/{}/kubectl_complete-metalpool",
            cargo_tag()
        )),
        "the caveats name krew's directory of this version: {caveats}"
    );
}

#[test]
fn the_renderer_follows_krew_release_bot() {
    // krew-release-bot's own example: addURIAndSha at column 6, piped to `indent 6`.
    let template = "{{- /*\n  note\n*/ -}}\nspec:\n  version: {{ .TagName }}\n  platforms:\n    - bin: x\n      {{ addURIAndSha \"https://h/{{ .TagName }}/x_{{ .TagName }}.tar.gz\" .TagName | indent 6 }}\n";
    let rendered = render_template(template, "v1.2.3", |url| format!("sha-of-{url}"));
    assert_eq!(
        rendered,
        "spec:\n  version: v1.2.3\n  platforms:\n    - bin: x\n      uri: https://h/v1.2.3/x_v1.2.3.tar.gz\n      sha256: sha-of-https://h/v1.2.3/x_v1.2.3.tar.gz\n"
    );
}

#[test]
fn the_validation_rules_catch_bad_manifests() {
    let good = rendered_template();
    let mut bad = good.clone();
    bad["spec"]["version"] = Value::String("0.1.0".into());
    bad["spec"]["shortDescription"] = Value::String("x".repeat(51));
    bad["spec"]["platforms"][0]["sha256"] = Value::String("abc".into());
    bad["spec"]["platforms"][2]["sha256"] = Value::String("0".repeat(64));
    bad["spec"]["platforms"][4]["bin"] = Value::String("kubectl-metalpool".into());
    bad["spec"]["platforms"][1]["selector"]["matchLabels"]["arch"] = Value::String("amd64".into());
    bad["spec"]["description"] = Value::String(format!(
        "{}\nExamples:\n  kubectl metalpool usage\n",
        "y".repeat(81)
    ));
    bad["spec"]["caveats"] = Value::String("Usage:\n$ kubectl metalpool why svc/x\n".into());
    let errors = violations(&index_path(), &bad, &PLATFORMS);
    for expected in [
        "version \"0.1.0\" is not",
        "but Cargo.toml is",
        "shortDescription",
        "linux/amd64: sha256",
        "darwin/amd64: sha256",
        "windows: bin",
        "linux/amd64 twice",
        "missing platform linux/arm64",
        "description line over 80 columns",
        "description shows usage",
        "caveats must point to kubectl_complete-metalpool",
        "caveats must point to rbac.yaml",
        "caveats show usage",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected} not caught: {errors:?}"
        );
    }
    let mut long = good.clone();
    long["spec"]["caveats"] = Value::String(format!(
        "kubectl_complete-metalpool rbac.yaml{}",
        "\nmore".repeat(8)
    ));
    assert!(
        violations(&index_path(), &long, &PLATFORMS)
            .iter()
            .any(|e| e.contains("caveats longer than 8 lines"))
    );
    assert!(
        violations(&index_path(), &good, &PLATFORMS[..1])
            .iter()
            .any(|e| e.contains("linux/arm64 is not a platform")),
        "a platform the manifest may not list"
    );
}

/// krew's os/arch of a Rust target triple, as krew/package.sh maps it.
fn krew_platform(triple: &str) -> Option<(&'static str, &'static str)> {
    let (arch, rest) = triple.split_once('-')?;
    let os = if rest.contains("-linux-") {
        "linux"
    } else if rest == "apple-darwin" {
        "darwin"
    } else if rest.starts_with("pc-windows-") {
        "windows"
    } else {
        return None;
    };
    let arch = match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        _ => return None,
    };
    Some((os, arch))
}

fn steps_of(workflow: &Value, job: &str) -> Vec<Value> {
    workflow["jobs"][job]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("job {job} has no steps"))
}

fn runs(steps: &[Value]) -> String {
    steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_release_workflow_builds_exactly_the_platforms_krew_lists() {
    let workflow = read_yaml(".github/workflows/release.yml");
    let include = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .cloned()
        .unwrap();
    let targets: Vec<String> = include
        .iter()
        .map(|entry| entry["target"].as_str().unwrap().to_string())
        .collect();
    let built: BTreeSet<(&str, &str)> = targets
        .iter()
        .map(|t| krew_platform(t).unwrap_or_else(|| panic!("{t}: no krew platform")))
        .collect();
    assert_eq!(
        built.len(),
        targets.len(),
        "a platform built twice: {targets:?}"
    );
    let manifest = rendered_template();
    let listed: BTreeSet<(&str, &str)> = manifest["spec"]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let labels = &p["selector"]["matchLabels"];
            (
                labels["os"].as_str().unwrap(),
                labels["arch"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(built, listed);
    assert_eq!(listed, PLATFORMS.into_iter().collect());
    for target in targets.iter().filter(|t| t.contains("-linux-")) {
        assert!(
            target.ends_with("-linux-musl"),
            "{target}: not a static musl build"
        );
    }
    assert_eq!(workflow["on"]["push"]["tags"][0], "v*");
    // The archives come from krew/package.sh, and the index from krew-release-bot.
    let publish = steps_of(&workflow, "publish");
    assert!(runs(&publish).contains("krew/package.sh --target"));
    assert!(runs(&publish).contains("sha256sum"));
    assert!(publish.iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("softprops/action-gh-release@"))
    }));
    assert!(steps_of(&workflow, "krew-index").iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("rajatjindal/krew-release-bot@"))
    }));
}

#[test]
fn the_pull_request_workflow_runs_the_checks_of_ci_run() {
    let workflow = read_yaml(".github/workflows/ci.yml");
    assert!(
        workflow["on"]
            .as_object()
            .unwrap()
            .contains_key("pull_request"),
        "runs on pull requests"
    );
    let commands = runs(&steps_of(&workflow, "test"));
    let ci_run = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    for check in [
        "cargo fmt --check",
        "cargo clippy --locked --all-targets -- -D warnings",
        "cargo test --locked",
    ] {
        assert!(commands.contains(check), "ci.yml lacks {check}");
        assert!(ci_run.contains(check), ".ci/run lacks {check}");
    }
    assert!(runs(&steps_of(&workflow, "workflows")).contains(".ci/actionlint"));
    assert!(ci_run.contains(".ci/actionlint"));
}

#[test]
fn the_changelog_has_this_version() {
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    let headings: Vec<&str> = changelog.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(headings.first(), Some(&"## [Unreleased]"), "{headings:?}");
    assert!(
        headings
            .iter()
            .any(|h| h.starts_with(&format!("## [{}] - ", env!("CARGO_PKG_VERSION")))),
        "no entry for {}: {headings:?}",
        env!("CARGO_PKG_VERSION")
    );
}

/// Every `v<major>.<minor>.<patch>` written in the install guide is this version (but for
/// MetalLB's own releases, named as such).
#[test]
fn the_install_guide_names_this_version() {
    let guide = std::fs::read_to_string(root().join("docs/install.md")).unwrap();
    let mut found = 0;
    for (at, _) in guide.match_indices('v') {
        if guide[..at].ends_with("MetalLB ") {
            continue;
        }
        let rest = &guide[at + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let candidate = rest[..end].trim_end_matches('.');
        if candidate.split('.').count() == 3 && candidate.split('.').all(|p| !p.is_empty()) {
            assert_eq!(format!("v{candidate}"), cargo_tag(), "in docs/install.md");
            found += 1;
        }
    }
    assert!(found > 0, "docs/install.md names no version");
    assert!(guide.contains(&format!("kubectl-metalpool {}", env!("CARGO_PKG_VERSION"))));
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
    let sum = sum.split_whitespace().next().unwrap();
    assert_eq!(
        manifest["spec"]["platforms"][0]["sha256"].as_str().unwrap(),
        sum
    );
    // What package.sh renders is what krew-release-bot renders from the same archive, less
    // the platforms not built.
    let template = std::fs::read_to_string(root().join(".krew.yaml")).unwrap();
    let mut bot: Value = serde_saphyr::from_str(&render_template(&template, &cargo_tag(), |_| {
        sum.to_string()
    }))
    .unwrap();
    bot["spec"]["platforms"] = Value::Array(vec![bot["spec"]["platforms"][0].clone()]);
    assert_eq!(manifest, bot);
    // A second platform packed into the same directory is added to the manifest.
    let arm = Command::new(root().join("krew/package.sh"))
        .args([
            "--target",
            "aarch64-unknown-linux-musl",
            "--binary",
            BIN,
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        arm.status.success(),
        "{}",
        String::from_utf8_lossy(&arm.stderr)
    );
    let both = read_manifest(&manifest_path);
    let errors = violations(&manifest_path, &both, &PLATFORMS[..2]);
    assert!(errors.is_empty(), "{errors:?}");
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

/// kubectl's habits through the real `kubectl metalpool` dispatch: `-o name`, `-o jsonpath=`,
/// `-o custom-columns=`, `--no-headers`, `--sort-by`, `-A`, `-f a,b`, `-R` and `Service/x`
/// reach the plugin intact and print as kubectl would.
#[test]
fn kubectl_habits_through_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let path = plugin_path(dir.path());
    let run = |args: &[&str]| {
        let mut all = vec!["metalpool"];
        all.extend(args);
        let (ok, stdout, stderr) = kubectl(&path, dir.path(), &all);
        assert!(ok, "{args:?}: {stderr}");
        stdout
    };
    let names = run(&["usage", "-f", "examples/", "-o", "name"]);
    assert_eq!(names.lines().count(), 9, "{names}");
    assert!(
        names
            .lines()
            .all(|l| l.starts_with("ipaddresspool.metallb.io/"))
    );
    assert!(names.contains("ipaddresspool.metallb.io/team-a-ips\n"));
    let jsonpath = run(&[
        "usage",
        "-f",
        "examples/",
        "-o",
        r#"jsonpath={range .pools[*]}{.name}={.free}{"\n"}{end}"#,
    ]);
    assert!(jsonpath.contains("team-b-ips=5\n"), "{jsonpath}");
    assert!(jsonpath.contains("production-ips=18446744073709551628\n"));
    let table = run(&["usage", "-f", "examples/", "--no-headers"]);
    assert_eq!(table.lines().count(), 9, "{table}");
    assert!(table.starts_with("analytics-ips "), "{table}");
    let service = run(&[
        "why",
        "Service/storefront",
        "-n",
        "shop-prod",
        "-f",
        "examples/",
        "-o",
        "name",
    ]);
    assert_eq!(service, "service/storefront\n");
    let columns = run(&[
        "usage",
        "-f",
        "examples/multi-tenant/pools.yaml,examples/multi-tenant/services.yaml",
        "-R",
        "--sort-by=.free",
        "-o",
        "custom-columns=POOL:.name,FREE:.free",
    ]);
    let rows: Vec<Vec<&str>> = columns
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["POOL", "FREE"], "{columns}");
    let free: Vec<u128> = rows[1..].iter().map(|r| r[1].parse().unwrap()).collect();
    assert!(free.windows(2).all(|w| w[0] <= w[1]), "sorted: {columns}");
    let every = run(&[
        "usage",
        "--by-namespace",
        "-A",
        "-f",
        "examples/",
        "-o",
        "name",
    ]);
    assert!(every.contains("namespace/team-a\n"), "{every}");
}
