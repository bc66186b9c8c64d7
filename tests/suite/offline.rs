//! The built binary on manifests (`-f`): answers, output formats, exit codes and errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub(crate) use crate::support::run::metalpool;
use crate::support::run::{Run, metalpool_with_stdin};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares with `tests/golden/<name>.json`; `UPDATE_GOLDEN=1` rewrites it (review the diff).
pub(crate) fn assert_golden(name: &str, actual: &Value) {
    let path = root().join("tests/golden").join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &pretty).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    let expected: Value = serde_json::from_str(&expected).unwrap();
    if &expected != actual {
        panic!(
            "{} differs from the golden file; actual:\n{pretty}",
            path.display()
        );
    }
}

fn pool<'a>(usage: &'a Value, name: &str) -> &'a Value {
    usage["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("pool {name}"))
}

fn verdict<'a>(why: &'a Value, name: &str) -> &'a Value {
    why["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("pool {name}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------
// usage

#[test]
fn usage_on_the_examples() {
    let run = metalpool(&["usage", "-f", "examples/", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let usage = run.json();
    assert_golden("usage-examples", &usage);
    assert_eq!(usage["metallbNamespace"], "metallb-system");
    let team_a = pool(&usage, "team-a-ips");
    assert_eq!(
        (
            team_a["total"].as_u64(),
            team_a["used"].as_u64(),
            team_a["free"].as_u64()
        ),
        (Some(8), Some(8), Some(0))
    );
    // Two services share 10.10.50.2: it counts once.
    let internal = pool(&usage, "internal-ips");
    assert_eq!(internal["used"], 3);
    assert_eq!(internal["services"].as_array().unwrap().len(), 4);
    // avoidBuggyIPs: a /24 gives 254.
    assert_eq!(pool(&usage, "dev-ips")["total"], 254);
    // The /64 is exact, not capped like MetalLB's own counters.
    // Exact integers in the JSON text (a JSON reader with f64 numbers would round them).
    assert!(
        run.stdout.contains("\"total\": 18446744073709551632,"),
        "production-ips total"
    );
    assert!(
        run.stdout.contains("\"total\": 18446744073709551616,"),
        "production-ips IPv6 total"
    );
    assert_eq!(pool(&usage, "premium-ips")["autoAssign"], false);
    assert_eq!(pool(&usage, "default-ips")["allocation"], "pinned-to-all");
    assert!(
        pool(&usage, "dev-ips")["advertisedBy"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn usage_table_looks_like_kubectl() {
    let run = metalpool(&["usage", "-f", "examples/"]);
    assert_eq!(run.code, 0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME   "), "{}", lines[0]);
    // The numbers first, the shortened lists last; auto-assign and priority are in -o wide.
    let headers: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        headers,
        [
            "NAME",
            "SIZE",
            "USED",
            "FREE",
            "USE%",
            "SCOPE",
            "ADVERTISED-BY",
            "ADDRESSES"
        ]
    );
    assert_eq!(lines.len(), 10, "a header and nine pools");
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    assert!(
        run.stdout.contains("1.84e19"),
        "a huge count stays readable"
    );
    assert!(lines.iter().all(|l| !l.ends_with(' ')));
    // On stderr so the table stays clean: the release assumed (nothing in the examples
    // shows it), then the examples' one warning.
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    assert!(
        warnings[0].starts_with("Warning: answers follow MetalLB v0.16.1"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].starts_with("Warning: ")
            && warnings[1].contains("pool dev-ips")
            && warnings[1].ends_with("(not-advertised)"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_wide_and_yaml() {
    let wide = metalpool(&["usage", "-f", "examples/", "-o", "wide"]);
    let header = wide.stdout.lines().next().unwrap();
    for column in ["AUTO-ASSIGN", "PRIORITY", "IPV6-USED", "METALLB-STATUS"] {
        assert!(header.contains(column), "{column}: {header}");
    }
    // Wide gives every list whole.
    assert!(wide.stdout.contains("172.16.0.0/28,2001:db8:100::/64"));
    assert!(wide.stdout.contains("ns:payments-prod,shop-prod"));
    assert!(!wide.stdout.contains(" more"));
    assert!(wide.stdout.contains("1/1.84e19"));
    let yaml = metalpool(&["usage", "-f", "examples/", "-o", "yaml"]);
    assert_eq!(yaml.code, 0);
    let from_yaml: Value = serde_saphyr::from_str(&yaml.stdout).unwrap();
    let from_json = metalpool(&["usage", "-f", "examples/", "-o", "json"]).json();
    assert_eq!(from_yaml["pools"][0]["name"], from_json["pools"][0]["name"]);
    assert_eq!(
        from_yaml["pools"].as_array().unwrap().len(),
        from_json["pools"].as_array().unwrap().len()
    );
}

#[test]
fn usage_of_named_pools_shows_them_and_their_warnings_only() {
    // `field` of every entry of the report's `list`.
    let each = |report: &Value, list: &str, field: &str| -> Vec<String> {
        report[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry[field].as_str().unwrap().to_string())
            .collect()
    };
    let names = |report: &Value| each(report, "pools", "name");
    let codes = |report: &Value| each(report, "warnings", "code");
    // dev-ips is announced by no advertisement: its warning names it.
    let all = metalpool(&["usage", "-f", "examples/", "-o", "json"]).json();
    assert!(codes(&all).contains(&"not-advertised".to_string()));

    let two = metalpool(&[
        "usage",
        "premium-ips",
        "team-a-ips",
        "-f",
        "examples/",
        "-o",
        "json",
    ]);
    assert_eq!(two.code, 0, "{}", two.stderr);
    let two = two.json();
    assert_eq!(names(&two), ["premium-ips", "team-a-ips"]);
    assert!(codes(&two).is_empty(), "{}", two["warnings"]);

    let dev = metalpool(&["usage", "dev-ips", "-f", "examples/", "-o", "json"]).json();
    assert_eq!(names(&dev), ["dev-ips"]);
    assert_eq!(dev["warnings"][0]["code"], "not-advertised");
    assert_eq!(dev["warnings"][0]["pool"], "dev-ips");

    let table = metalpool(&["usage", "premium-ips", "-f", "examples/"]);
    assert_eq!(table.code, 0);
    assert_eq!(
        table.stderr,
        "Warning: answers follow MetalLB v0.16.1, the newest release modelled: nothing read shows which release runs (give --metallb-version)\n",
        "no warning of the pools shown; the release assumed"
    );

    let unknown = metalpool(&["usage", "premium-ip", "-f", "examples/"]);
    assert_one_line_error(
        &unknown,
        2,
        &["no pool named premium-ip", "did you mean premium-ips?"],
    );
}

#[test]
fn usage_by_namespace() {
    let run = metalpool(&["usage", "--by-namespace", "-f", "examples/", "-o", "json"]);
    assert_eq!(run.code, 0);
    let report = run.json();
    assert_golden("usage-by-namespace", &report);
    // Beyond 2^64 a JSON Value holds only a float: the exact integer is checked as text
    // (production-ips's free IPv6 /64 minus one, plus the free IPv4 of every pool that
    // serves a production namespace).
    assert!(
        run.stdout.contains("\"headroom\": 18446744073709552147,"),
        "{}",
        run.stdout
    );
    let table = metalpool(&["usage", "--by-namespace", "-n", "quiet", "-f", "examples/"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("HEADROOM"), "{}", table.stdout);
    assert!(
        table.stdout.lines().nth(1).unwrap().starts_with("quiet "),
        "a namespace asked for that holds nothing is shown: {}",
        table.stdout
    );
    let team_a = report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["namespace"] == "team-a")
        .unwrap();
    assert_eq!(
        team_a["addresses"], 10,
        "8 in team-a-ips and 2 in default-ips"
    );
    let filtered = metalpool(&[
        "usage",
        "--by-namespace",
        "-n",
        "team-b",
        "-f",
        "examples/",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(filtered["namespaces"].as_array().unwrap().len(), 1);
    let table = metalpool(&["usage", "--by-namespace", "-f", "examples/"]);
    assert!(table.stdout.starts_with("NAMESPACE"));
}

#[test]
fn huge_ipv6_pool_is_exact_and_metallb_objects_default_to_its_namespace() {
    let run = metalpool(&[
        "usage",
        "-f",
        "tests/fixtures/offline/huge-ipv6.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(pool(&run.json(), "v6-huge")["used"], 1);
    assert!(
        run.stdout
            .contains("\"total\": 79228162514264337593543950336,"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\"free\": 79228162514264337593543950335,")
    );
}

/// `(pool, code)` of every warning of an answer.
fn pool_warnings(answer: &Value) -> Vec<(String, String)> {
    answer["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["pool"].as_str().unwrap_or_default().to_string(),
                w["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn accepted_pools_with_surprises_are_warned_about() {
    const FIXTURE: &str = "tests/fixtures/offline/pool-warnings.yaml";
    let usage = metalpool(&["usage", "-f", FIXTURE, "-o", "json"]).json_with_code(0);
    let mut warnings = pool_warnings(&usage);
    warnings.sort();
    assert_eq!(
        warnings,
        [
            ("by-label".to_string(), "namespaces-unknown".to_string()),
            ("masked".to_string(), "host-bits-masked".to_string()),
            ("mixed".to_string(), "mixed-family-range".to_string()),
        ]
    );
    assert_eq!(pool(&usage, "masked")["total"], 256, "the whole /24");
    assert_eq!(pool(&usage, "mixed")["total"], 4, "only the /30");

    let table = metalpool(&["usage", "-f", FIXTURE, "--metallb-version", "latest"]);
    assert_eq!(table.code, 0, "{table:#?}");
    let mut codes: Vec<&str> = table
        .stderr
        .lines()
        .map(|l| {
            assert!(l.starts_with("Warning: pool "), "{l}");
            l.rsplit_once(" (").expect("a code").1.trim_end_matches(')')
        })
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "host-bits-masked",
            "mixed-family-range",
            "namespaces-unknown"
        ]
    );

    // With a Namespace object the selector can be evaluated: the warning goes.
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {environment: production}}\n";
    let known = metalpool_with_stdin(
        &["usage", "-f", FIXTURE, "-f", "-", "-o", "json"],
        Some(namespace),
    )
    .json_with_code(0);
    assert!(
        !pool_warnings(&known)
            .iter()
            .any(|(_, code)| code == "namespaces-unknown"),
        "{known:#}"
    );
}

#[test]
fn invalid_configuration_is_reported_not_hidden() {
    let run = metalpool(&[
        "usage",
        "-f",
        "tests/fixtures/offline/invalid-config.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0);
    let usage = run.json();
    assert_eq!(usage["configValid"], false);
    let errors = strings(&usage["configErrors"]);
    assert!(
        errors[0].contains("invalid CIDR \"192.0.2.7\""),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("overlaps with already defined CIDR \"10.0.0.0/24\""))
    );
    let codes: Vec<&str> = usage["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"pool-outside-metallb-namespace"));
    let table = metalpool(&["usage", "-f", "tests/fixtures/offline/invalid-config.yaml"]);
    assert!(
        table
            .stderr
            .contains("Warning: MetalLB rejects this configuration"),
        "{}",
        table.stderr
    );
    let why = metalpool(&[
        "why",
        "web",
        "-f",
        "tests/fixtures/offline/invalid-config.yaml",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(why["outcome"]["reasons"][0]["code"], "config-invalid");
}

#[test]
fn metallb_namespace_flag() {
    let run = metalpool(&[
        "usage",
        "-f",
        "examples/",
        "--metallb-namespace",
        "metallb",
        "-o",
        "json",
    ]);
    let usage = run.json();
    assert!(usage["pools"].as_array().unwrap().is_empty());
    assert_eq!(usage["metallbNamespace"], "metallb");
    let table = metalpool(&["usage", "-f", "examples/", "--metallb-namespace", "metallb"]);
    assert!(
        table
            .stdout
            .contains("No IPAddressPool in namespace metallb")
    );
    assert!(table.stderr.contains("pool-outside-metallb-namespace"));
}

// ---------------------------------------------------------------------------------------
// why

#[test]
fn why_pending_services_of_the_examples() {
    let cases = [
        (
            "team-b",
            "batch",
            1,
            vec!["pool-exhausted", "namespace-not-allowed"],
        ),
        (
            "trading",
            "risk-engine",
            1,
            vec!["requested-ip-not-in-any-pool"],
        ),
        ("web", "legacy-app", 1, vec!["requested-ip-not-in-any-pool"]),
        ("dev", "preview-2", 1, vec!["pool-not-found"]),
    ];
    for (ns, name, code, reasons) in cases {
        let run = metalpool(&[
            "why",
            &format!("svc/{name}"),
            "-n",
            ns,
            "-f",
            "examples/",
            "-o",
            "json",
        ]);
        assert_eq!(run.code, code, "{ns}/{name}: {}", run.stderr);
        let why = run.json();
        assert_golden(&format!("why-{ns}-{name}"), &why);
        assert_eq!(why["state"], "pending");
        assert_eq!(why["outcome"]["fits"], false);
        let codes: Vec<&str> = why["outcome"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, reasons, "{ns}/{name}");
        assert_eq!(
            why["pools"].as_array().unwrap().len(),
            9,
            "one entry per pool"
        );
    }
}

#[test]
fn why_overflow_into_plain_pools_is_a_random_choice() {
    let run = metalpool(&[
        "why",
        "app-9",
        "-n",
        "team-a",
        "-f",
        "examples/",
        "-o",
        "json",
    ]);
    assert_eq!(
        run.code, 0,
        "pending but would fit: not a problem MetalLB cannot solve"
    );
    let why = run.json();
    assert_golden("why-team-a-app-9", &why);
    assert_eq!(
        strings(&why["outcome"]["pools"]),
        ["dev-ips", "internal-ips", "public-ips"]
    );
    assert!(why["outcome"]["ips"].as_array().unwrap().is_empty());
    assert_eq!(
        verdict(&why, "team-a-ips")["reasons"][0]["code"],
        "pool-exhausted"
    );
    assert_eq!(
        verdict(&why, "default-ips")["reasons"][0]["code"],
        "pool-exhausted"
    );
    assert_eq!(
        verdict(&why, "premium-ips")["reasons"][0]["code"],
        "auto-assign-disabled"
    );
    assert_eq!(
        verdict(&why, "team-b-ips")["reasons"][0]["code"],
        "namespace-not-allowed"
    );
    assert_eq!(verdict(&why, "public-ips")["ips"][0], "203.0.113.3");
    let codes: Vec<&str> = why["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"not-advertised"),
        "dev-ips is a possible pick and nobody announces it"
    );
}

#[test]
fn why_allocated_service() {
    let run = metalpool(&[
        "why",
        "service/storefront",
        "-n",
        "shop-prod",
        "-f",
        "examples/",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0);
    let why = run.json();
    assert_eq!(why["state"], "allocated");
    assert_eq!(why["pool"], "production-ips");
    assert_eq!(why["family"], "dual");
    assert_eq!(strings(&why["ips"]), ["172.16.0.0", "2001:db8:100::"]);
    assert_eq!(
        strings(&why["outcome"]["ips"]),
        ["172.16.0.0", "2001:db8:100::"],
        "its own addresses come back first"
    );
}

#[test]
fn why_not_managed_service() {
    let why = metalpool(&[
        "why",
        "internal-cache",
        "-n",
        "team-a",
        "-f",
        "examples/",
        "-o",
        "json",
    ]);
    assert_eq!(why.code, 0);
    let why = why.json();
    assert_eq!(why["state"], "not-managed");
    assert_eq!(why["outcome"]["reasons"][0]["code"], "not-load-balancer");
}

#[test]
fn why_table() {
    let run = metalpool(&["why", "svc/batch", "-n", "team-b", "-f", "examples/"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("State:       pending"));
    assert_eq!(
        page_line(&run.stdout, "MetalLB:"),
        "MetalLB:     Failed to allocate IP for \"team-b/batch\": no available IPs in pool team-a-ips"
    );
    for line in run.stdout.lines() {
        assert!(
            line.chars().count() <= 80,
            "the page fits 80 columns: {line}"
        );
    }
    assert!(run.stdout.contains("team-a-ips   no"));
    let yaml = metalpool(&[
        "why",
        "svc/batch",
        "-n",
        "team-b",
        "-f",
        "examples/",
        "-o",
        "yaml",
    ]);
    let parsed: Value = serde_saphyr::from_str(&yaml.stdout).unwrap();
    assert_eq!(parsed["state"], "pending");
}

/// The item of a `why` page starting with `label`, its wrapped lines joined again (the page
/// wraps prose at 80 columns and continues it deeper than the next item starts).
fn page_line(page: &str, label: &str) -> String {
    let mut lines = page.lines().skip_while(|l| !l.starts_with(label));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{page}"));
    let continued = if first.starts_with(' ') || label.is_empty() {
        first.len() - first.trim_start().len() + 2
    } else if label.ends_with(':') {
        15
    } else {
        2
    };
    let mut item = first.to_string();
    for line in
        lines.take_while(|l| l.len() - l.trim_start().len() == continued && !l.trim().is_empty())
    {
        item.push(' ');
        item.push_str(line.trim_start());
    }
    item
}

#[test]
fn why_table_states_and_outcomes() {
    let why = |namespace: &str, name: &str| {
        let run = metalpool(&["why", name, "-n", namespace, "-f", "examples/"]);
        assert_eq!(run.code, 0, "{run:#?}");
        run.stdout
    };

    let allocated = why("shop-prod", "storefront");
    assert_eq!(
        page_line(&allocated, "State:"),
        "State:       allocated 172.16.0.0, 2001:db8:100:: from pool production-ips"
    );
    assert_eq!(
        page_line(&allocated, "Outcome:"),
        "Outcome:     pool production-ips, address 172.16.0.0, 2001:db8:100:: (if it were allocated again now)"
    );

    let random = why("team-a", "app-9");
    assert_eq!(
        page_line(&random, "State:"),
        "State:       pending (no EXTERNAL-IP)"
    );
    assert_eq!(
        page_line(&random, "Outcome:"),
        "Outcome:     one of dev-ips, internal-ips, public-ips (MetalLB picks at random among them)",
        "a pending service is not said to be allocated again"
    );

    let requested = why("web", "web-frontend");
    assert_eq!(
        page_line(&requested, "not requested"),
        "not requested (the service asks for pool public-ips): analytics-ips, default-ips, dev-ips, internal-ips, premium-ips, production-ips, team-a-ips, team-b-ips"
    );
    let rows: Vec<&str> = requested
        .lines()
        .skip_while(|l| !l.starts_with("POOL "))
        .skip(1)
        .take_while(|l| !l.starts_with("not requested"))
        .collect();
    assert_eq!(
        rows.len(),
        1,
        "only the requested pool has a row: {requested}"
    );
    assert!(rows[0].starts_with("public-ips "), "{requested}");
}

#[test]
fn appendix_b_through_the_binary() {
    let why = |name: &str, ns: &str| {
        let dir = if ns == "apps" {
            "tests/fixtures/offline/appendix-b/sharing"
        } else {
            "tests/fixtures/offline/appendix-b/pinned"
        };
        metalpool(&["why", name, "-n", ns, "-f", dir, "-o", "json"]).json()
    };
    assert_eq!(
        strings(&why("s2", "apps")["outcome"]["ips"]),
        ["10.0.0.0"],
        "same key, other port: shared"
    );
    assert_eq!(
        strings(&why("s3", "apps")["outcome"]["ips"]),
        ["10.0.0.1"],
        "port conflict moves it on"
    );
    assert_eq!(
        strings(&why("s5", "apps")["outcome"]["ips"]),
        ["10.0.0.1"],
        "another backend cannot share .0"
    );
    assert_eq!(
        strings(&why("second", "team-a")["outcome"]["pools"]),
        ["b"],
        "d is full, b has priority 5"
    );
    assert_eq!(
        strings(&why("other", "team-b")["outcome"]["pools"]),
        ["c"],
        "team-b falls back to the plain pool"
    );
}

// ---------------------------------------------------------------------------------------
// input and errors

#[test]
fn stdin_and_kubectl_list_dumps() {
    let pools = std::fs::read_to_string(
        root().join("tests/fixtures/offline/appendix-b/pinned/pinned.json"),
    )
    .unwrap();
    let run = metalpool_with_stdin(&["usage", "-f", "-", "-o", "json"], Some(&pools));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["pools"].as_array().unwrap().len(), 4);
    let yaml_list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n  metadata: {name: p, namespace: metallb-system}\n  spec: {addresses: [10.0.0.0/24]}\n";
    let run = metalpool_with_stdin(&["usage", "-f", "-", "-o", "json"], Some(yaml_list));
    assert_eq!(pool(&run.json(), "p")["total"], 256);
}

fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn assert_one_line_error(run: &Run, code: i32, needles: &[&str]) {
    assert_eq!(run.code, code, "stderr: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} missing from {}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("{ "),
        "{}",
        run.stderr
    );
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let (_dir, path) = temp_file(
        "broken.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  labels: [unclosed\n",
    );
    let run = metalpool(&["usage", "-f", path.to_str().unwrap()]);
    assert_one_line_error(&run, 2, &["broken.yaml:"]);
    let line: String = run
        .stderr
        .split("broken.yaml:")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!line.is_empty(), "a line number: {}", run.stderr);
}

#[test]
fn malformed_json_names_the_file_and_line() {
    let (_dir, path) = temp_file("dump.json", "{\n  \"kind\": \"List\",\n  \"items\": [\n}\n");
    let run = metalpool(&["usage", "-f", path.to_str().unwrap()]);
    assert_one_line_error(&run, 2, &["dump.json:4:"]);
}

#[test]
fn wrongly_typed_field_names_file_line_object_and_field() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: metallb-system}\nspec:\n  addresses: [10.0.0.0/24]\n  autoAssign: maybe\n";
    let (_dir, path) = temp_file("pools.yaml", text);
    let run = metalpool(&["usage", "-f", path.to_str().unwrap()]);
    assert_one_line_error(
        &run,
        2,
        &[
            "pools.yaml:10:",
            "IPAddressPool metallb-system/p",
            "spec.autoAssign",
        ],
    );
}

#[test]
fn missing_file_and_empty_directory() {
    let run = metalpool(&["usage", "-f", "no/such/file.yaml"]);
    assert_one_line_error(&run, 2, &["no/such/file.yaml"]);
    let dir = tempfile::tempdir().unwrap();
    let run = metalpool(&["usage", "-f", dir.path().to_str().unwrap()]);
    assert_one_line_error(&run, 2, &["no .yaml, .yml or .json file"]);
}

#[test]
fn unknown_service_and_bad_arguments() {
    let run = metalpool(&["why", "svc/nope", "-n", "team-a", "-f", "examples/"]);
    assert_one_line_error(&run, 2, &["service team-a/nope not found"]);
    let run = metalpool(&["why", "app-1", "-f", "examples/"]);
    assert_one_line_error(
        &run,
        2,
        &["service default/app-1 not found", "namespace team-a"],
    );
    let run = metalpool(&["why", "deploy/x", "-f", "examples/"]);
    assert_one_line_error(&run, 2, &["svc/NAME"]);
    let run = metalpool(&["usage", "--bogus"]);
    assert_eq!(run.code, 2);
}

#[test]
fn help_and_version() {
    let run = metalpool(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("kubectl metalpool why svc/web -n team-a")
    );
    let run = metalpool(&["--version"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn files_in_a_directory_are_read_recursively_and_only_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::write(nested.join("pool.yml"), "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: deep, namespace: metallb-system}\nspec: {addresses: [10.0.0.0/30]}\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not: [yaml").unwrap();
    let usage = metalpool(&["usage", "-f", dir.path().to_str().unwrap(), "-o", "json"]).json();
    assert_eq!(pool(&usage, "deep")["total"], 4);
}

#[test]
fn output_to_a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-metalpool"))
        .args(["usage", "-f", "examples/", "-o", "json"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(Path::new(env!("CARGO_BIN_EXE_kubectl-metalpool")).exists());
}

#[test]
fn dump_reads_back_to_the_same_answers() {
    let dump = metalpool(&["dump", "-f", "examples/"]);
    assert_eq!(dump.code, 0, "{}", dump.stderr);
    assert!(dump.stdout.starts_with("apiVersion: v1\n"));
    let direct = metalpool(&["usage", "-f", "examples/", "-o", "json"]);
    let again = metalpool_with_stdin(&["usage", "-f", "-", "-o", "json"], Some(&dump.stdout));
    assert_eq!(again.json(), direct.json());
    let why_direct = metalpool(&[
        "why",
        "batch",
        "-n",
        "team-b",
        "-f",
        "examples/",
        "-o",
        "json",
    ]);
    let why_again = metalpool_with_stdin(
        &["why", "batch", "-n", "team-b", "-f", "-", "-o", "json"],
        Some(&dump.stdout),
    );
    assert_eq!(why_again.json(), why_direct.json());
    let as_json = metalpool(&["dump", "-f", "examples/", "-o", "json"]).json();
    assert_eq!(as_json["kind"], "List");
}

#[test]
fn metallb_status_is_shown_and_checked_against_metallbs_own_count() {
    let run = metalpool(&[
        "usage",
        "-f",
        "tests/fixtures/offline/status-and-events.yaml",
        "-o",
        "json",
    ]);
    let usage = run.json();
    assert_eq!(
        pool(&usage, "v6")["metallbStatus"]["availableIPv6"].as_i64(),
        Some(i64::MAX)
    );
    // MetalLB counts a /64 as 2^63-1 (exact: 2^64): that is what a correct status says, so
    // it disagrees with nothing.
    assert!(
        run.stdout.contains("\"total\": 18446744073709551616"),
        "{}",
        run.stdout
    );
    assert!(
        !usage["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "status-disagrees"),
        "{usage}"
    );
    let wide = metalpool(&[
        "usage",
        "-f",
        "tests/fixtures/offline/status-and-events.yaml",
        "-o",
        "wide",
    ]);
    assert!(
        wide.stdout.contains("v4 1/1 v6 0/9.22e18"),
        "{}",
        wide.stdout
    );
}

#[test]
fn why_shows_events_and_explains_old_metallb_messages() {
    let run = metalpool(&[
        "why",
        "wants-v6",
        "-n",
        "apps",
        "-f",
        "tests/fixtures/offline/status-and-events.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1);
    let why = run.json();
    assert_eq!(why["outcome"]["reasons"][0]["code"], "pool-exhausted");
    let event = &why["events"][0];
    assert_eq!(event["reason"], "AllocationFailed");
    assert_eq!(event["count"], 4);
    assert!(
        event["explanation"]
            .as_str()
            .unwrap()
            .contains("no free address of the service's IP family")
    );
    let table = metalpool(&[
        "why",
        "wants-v6",
        "-n",
        "apps",
        "-f",
        "tests/fixtures/offline/status-and-events.yaml",
    ]);
    assert!(table.stdout.contains("Events:"));
    assert!(table.stdout.contains("AllocationFailed"));
}

/// The plugin's output as a terminal shows it (`script` gives it a pseudo-terminal).
fn on_a_terminal(args: &str, no_color_env: bool) -> String {
    let mut command = Command::new("script");
    command
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_kubectl-metalpool")),
            "/dev/null",
        ])
        .current_dir(root())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    if no_color_env {
        command.env("NO_COLOR", "1");
    }
    String::from_utf8_lossy(&command.output().expect("script (util-linux)").stdout).into_owned()
}

#[test]
fn colours_on_a_terminal_unless_told_otherwise() {
    let coloured = on_a_terminal("usage -f examples/", false);
    assert!(
        coloured.contains("\u{1b}[31m100%"),
        "a full pool in red: {coloured}"
    );
    assert!(
        coloured.contains("\u{1b}[32m18%"),
        "a pool with room in green"
    );
    assert!(
        !on_a_terminal("usage -f examples/", true).contains('\u{1b}'),
        "NO_COLOR"
    );
    assert!(
        !on_a_terminal("usage -f examples/ --no-color", false).contains('\u{1b}'),
        "--no-color"
    );
    let why = on_a_terminal("why svc/batch -n team-b -f examples/", false);
    assert!(why.contains("\u{1b}[31mno\u{1b}[39m"), "{why}");
}

// ---------------------------------------------------------------------------------------
// Releases: the same service under each MetalLB release checked (Appendix C)

/// team-b/batch asks `metallb.io/address-pool: team-a-ips`, a pool of another team that is
/// full: up to v0.14.8 the key is not read (automatic allocation, `annotation-ignored`);
/// v0.14.9, v0.15.3 and v0.16.1 word the failure each their own way. The model is built for
/// each release directly (the command line chooses the release with `--metallb-version`).
#[test]
fn why_answers_as_each_release_does() {
    use kubectl_metalpool::metallb::release::{MetallbVersion, Release, VersionSource};
    use kubectl_metalpool::model::Model;
    use kubectl_metalpool::report::why;
    use kubectl_metalpool::settings::{MetallbFlags, ServiceRef};
    use kubectl_metalpool::source::files::{self, Namespaces};

    let namespaces = Namespaces {
        metallb: "metallb-system".to_string(),
        default: "default".to_string(),
    };
    let snapshot = files::read(&[root().join("examples")], &namespaces).unwrap();
    let target = ServiceRef {
        namespace: "team-b".to_string(),
        name: "batch".to_string(),
    };
    let mut errors = Vec::new();
    for release in Release::CHECKED {
        let version = MetallbVersion {
            version: release,
            source: VersionSource::Flag,
        };
        let model = Model::build_for(&snapshot, &MetallbFlags::default(), version, Vec::new());
        let report = serde_json::to_value(why::build(&model, &target).unwrap()).unwrap();
        assert_golden(&format!("why-team-b-batch-{release}"), &report);
        let ignored = report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "annotation-ignored");
        assert_eq!(ignored, release <= Release::V0_14_8, "{release}");
        errors.push(report["outcome"]["metallbError"].clone());
    }
    assert_eq!(
        errors[2..],
        [
            "Failed to allocate IP for \"team-b/batch\": no available IPs in pool team-a-ips for ipv4 IPFamily",
            "Failed to allocate IP for \"team-b/batch\": [\"<nil>\"] is not allowed in config",
            "Failed to allocate IP for \"team-b/batch\": no available IPs in pool team-a-ips",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Which MetalLB release, from the manifests

const RELEASE_BASE: &str = r#"
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: metallb-system}
spec: {addresses: [192.0.2.0/29]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: public, namespace: metallb-system}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, clusterIP: 10.96.0.10, ports: [{port: 80}]}
"#;

/// A controller Deployment with this image and these extra labels.
fn controller_manifest(image: &str, labels: &str) -> String {
    format!(
        r#"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller
  namespace: metallb-system
  labels: {{app: metallb, component: controller{labels}}}
spec:
  template:
    spec:
      containers:
      - name: controller
        image: "{image}"
"#
    )
}

/// A MetalLB CRD as its release ships it, reduced to the names and the fingerprint fields.
fn crd_manifest(plural: &str, schema: &str) -> String {
    format!(
        r#"
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.metallb.io}}
spec:
  group: metallb.io
  names: {{plural: {plural}, kind: Thing}}
  scope: Namespaced
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: "a long text a real CRD carries"
        properties: {schema}
"#
    )
}

/// The CRDs of v0.16: the pool status counters and L2 serviceSelectors.
fn crds_0_16() -> String {
    [
        crd_manifest(
            "ipaddresspools",
            "{status: {type: object, properties: {assignedIPv4: {type: integer}}}}",
        ),
        crd_manifest(
            "l2advertisements",
            "{spec: {type: object, properties: {serviceSelectors: {type: array, items: {type: object}}}}}",
        ),
        crd_manifest("configurationstates", "{}"),
    ]
    .concat()
}

fn release_of(manifests: &str, extra: &[&str]) -> (Value, Vec<String>) {
    let (_dir, file) = temp_file("cluster.yaml", manifests);
    let path = file.to_str().unwrap();
    let mut args = vec!["usage", "-o", "json", "-f", path];
    args.extend(extra);
    let usage = metalpool(&args);
    assert_eq!(usage.code, 0, "{}", usage.stderr);
    let usage = usage.json();
    let why = metalpool(
        &[
            &["why", "svc/web", "-n", "shop", "-o", "json", "-f", path][..],
            extra,
        ]
        .concat(),
    );
    assert_eq!(why.json()["metallbVersion"], usage["metallbVersion"]);
    let codes = usage["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_string())
        .collect();
    (usage["metallbVersion"].clone(), codes)
}

fn release(version: &str, source: &str) -> Value {
    serde_json::json!({"version": version, "source": source})
}

#[test]
fn the_release_from_a_controller_deployment_in_the_manifests() {
    let digest = "sha256:9c1b4e7a2f0d3c5b8a6e1f4d7c0b3a5e8f2d6c9b1a4e7f0d3c6b9a2e5f8d1c4b";
    let tagged = controller_manifest("quay.io/metallb/controller:v0.13.9", "");
    assert_eq!(
        release_of(&(RELEASE_BASE.to_string() + &tagged), &[]).0,
        release("v0.13.9", "image")
    );
    let pinned = controller_manifest(&format!("quay.io/metallb/controller:v0.15.3@{digest}"), "");
    assert_eq!(
        release_of(&(RELEASE_BASE.to_string() + &pinned), &[]).0,
        release("v0.15.3", "image")
    );
    let helm = controller_manifest(
        &format!("quay.io/metallb/controller@{digest}"),
        ", helm.sh/chart: metallb-0.14.8, app.kubernetes.io/version: v0.14.8",
    );
    assert_eq!(
        release_of(&(RELEASE_BASE.to_string() + &helm), &[]).0,
        release("v0.14.8", "helm-labels")
    );
}

#[test]
fn the_release_from_crds_in_the_manifests_else_the_newest() {
    let (found, _) = release_of(&(RELEASE_BASE.to_string() + &crds_0_16()), &[]);
    assert_eq!(
        found,
        release("v0.16.0", "crds"),
        "the oldest release they allow"
    );
    assert_eq!(
        release_of(RELEASE_BASE, &[]).0,
        release("v0.16.1", "default")
    );
    let (_dir, file) = temp_file("cluster.yaml", RELEASE_BASE);
    let table = metalpool(&["usage", "-f", file.to_str().unwrap()]);
    assert!(
        table
            .stderr
            .starts_with("Warning: answers follow MetalLB v0.16.1, the newest release modelled"),
        "{}",
        table.stderr
    );
}

#[test]
fn the_flag_wins_and_crds_newer_than_the_controller_are_a_warning() {
    let older = controller_manifest("quay.io/metallb/controller:v0.14.8", "");
    let manifests = RELEASE_BASE.to_string() + &older + &crds_0_16();
    let (found, codes) = release_of(&manifests, &[]);
    assert_eq!(found, release("v0.14.8", "image"));
    assert_eq!(codes, ["metallb-version-mismatch"]);
    let (found, codes) = release_of(&manifests, &["--metallb-version", "v0.15.3"]);
    assert_eq!(found, release("v0.15.3", "flag"));
    assert!(codes.is_empty(), "{codes:?}");
    let (found, _) = release_of(RELEASE_BASE, &["--metallb-version", "latest"]);
    assert_eq!(found, release("v0.16.1", "flag"));
    let (_dir, file) = temp_file("cluster.yaml", RELEASE_BASE);
    assert_one_line_error(
        &metalpool(&[
            "usage",
            "-f",
            file.to_str().unwrap(),
            "--metallb-version",
            "0.13",
        ]),
        2,
        &["v0.13.9 to v0.16.1"],
    );
}

// ---------------------------------------------------------------------------------------
// ips and check

#[test]
fn ips_of_the_examples() {
    let run = metalpool(&["ips", "-f", "examples/", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_golden("ips-examples", &report);
    let shared = report["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ip"] == "10.10.50.2")
        .unwrap();
    assert_eq!(shared["state"], "shared");
    assert_eq!(
        strings(&shared["services"]),
        ["internal-tools/dns-tcp", "internal-tools/dns-udp"]
    );

    let table = metalpool(&["ips", "-f", "examples/"]);
    assert_eq!(table.code, 0);
    assert!(
        table
            .stdout
            .starts_with("ADDRESS          POOL             SERVICES"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.lines().all(|l| l.len() <= 120));
}

#[test]
fn ips_free_of_the_examples() {
    let run = metalpool(&["ips", "--free", "-f", "examples/", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_golden("ips-free-examples", &report);
    let free: Vec<&Value> = report["free"].as_array().unwrap().iter().collect();
    let public = free.iter().find(|f| f["pool"] == "public-ips").unwrap();
    assert_eq!(public["count"], 13);
    assert_eq!(strings(&public["ranges"]), ["203.0.113.3-203.0.113.15"]);
    assert_eq!(
        strings(&public["next"]),
        [
            "203.0.113.3",
            "203.0.113.4",
            "203.0.113.5",
            "203.0.113.6",
            "203.0.113.7"
        ]
    );
    // production-ips: 13 IPv4 and 2^64 - 1 IPv6, exact (beyond what a JSON Value holds).
    assert!(
        run.stdout.contains("\"count\": 18446744073709551628,"),
        "{}",
        run.stdout
    );
    let table = metalpool(&["ips", "--free", "-f", "examples/"]);
    let widest = table.stdout.lines().map(|l| l.chars().count()).max();
    assert!(widest <= Some(120), "{}", table.stdout);
    let three = metalpool(&[
        "ips",
        "dev-ips",
        "--free=3",
        "-f",
        "examples/",
        "-o",
        "json",
    ]);
    let dev = &three.json()["free"][0];
    assert_eq!(
        strings(&dev["next"]),
        ["192.168.200.2", "192.168.200.3", "192.168.200.4"]
    );
    assert!(three.json()["addresses"].as_array().unwrap().len() == 1);
}

#[test]
fn ips_looks_up_one_address() {
    let lookup = |ip: &str| {
        let run = metalpool(&["ips", ip, "-f", "examples/", "-o", "json"]);
        assert_eq!(
            run.code, 0,
            "{ip}: exit 0 whether held or not: {}",
            run.stderr
        );
        run.json()
    };
    let shared = lookup("10.10.50.2");
    assert_golden("ips-lookup-10.10.50.2", &shared);
    let buggy = lookup("192.168.200.255");
    assert_eq!(buggy["state"], "free");
    assert_eq!(buggy["pool"], "dev-ips");
    assert!(buggy["reason"].as_str().unwrap().contains("avoidBuggyIPs"));
    let manual = lookup("198.51.100.14");
    assert!(
        manual["reason"]
            .as_str()
            .unwrap()
            .contains("autoAssign false")
    );
    assert_eq!(lookup("203.0.113.50")["state"], "not-in-any-pool");

    assert_one_line_error(
        &metalpool(&["ips", "10.0.0.300", "-f", "examples/"]),
        2,
        &["not a valid IP address"],
    );
}

#[test]
fn check_finds_exactly_the_planted_problems() {
    let run = metalpool(&["check", "-f", "examples/", "-o", "json"]);
    assert_eq!(run.code, 1, "errors are planted: {}", run.stderr);
    let report = run.json();
    assert_golden("check-examples", &report);
    let found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["object"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let planted = [
        ("pool-not-found", "preview-2"),
        ("service-pending", "batch"),
        ("requested-ip-not-in-any-pool", "risk-engine"),
        ("requested-ip-not-in-any-pool", "legacy-app"),
        ("namespace-unknown", "analytics-ips"),
        ("pool-nearly-full", "default-ips"),
        ("not-advertised", "dev-ips"),
        ("pool-nearly-full", "team-a-ips"),
        ("service-pending-would-fit", "reporting"),
        ("service-pending-would-fit", "app-9"),
    ];
    let planted: Vec<(String, String)> = planted
        .iter()
        .map(|(c, n)| (c.to_string(), n.to_string()))
        .collect();
    assert_eq!(found, planted);
    assert_eq!(report["summary"]["errors"], 4);
    let table = metalpool(&["check", "-f", "examples/"]);
    assert_eq!(table.code, 1);
    assert!(table.stdout.starts_with("Errors (4):"), "{}", table.stdout);
    let widest = table.stdout.lines().map(|l| l.chars().count()).max();
    assert!(widest <= Some(120), "{}", table.stdout);
}

#[test]
fn check_writes_junit_for_ci() {
    let run = metalpool(&["check", "-f", "examples/", "-o", "junit"]);
    assert_eq!(run.code, 1);
    let xml = &run.stdout;
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    let cases = xml.matches("<testcase ").count();
    let failures = xml.matches("<failure ").count();
    assert_eq!(failures, 4, "one failure per error");
    assert!(
        xml.contains(&format!("tests=\"{cases}\" failures=\"4\"")),
        "{xml}"
    );
    // Every opened element is closed.
    assert_eq!(
        xml.matches("<testcase ").count(),
        xml.matches("</testcase>").count() + xml.matches("\"/>").count()
    );
    assert!(xml.contains("name=\"dev/preview-2\" file=\"examples/tiers/services.yaml\""));
    assert_one_line_error(
        &metalpool(&["usage", "-f", "examples/", "-o", "junit"]),
        2,
        &["only for check"],
    );
}

#[test]
fn check_strict_fails_on_warnings_only() {
    let dir = tempfile::tempdir().unwrap();
    let clean = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: metallb-system}\nspec: {addresses: [10.0.0.0/24]}\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2, namespace: metallb-system}\n";
    let path = dir.path().join("clean.yaml");
    std::fs::write(&path, clean).unwrap();
    let path = path.to_str().unwrap();
    assert_eq!(metalpool(&["check", "-f", path]).code, 0);
    assert_eq!(metalpool(&["check", "--strict", "-f", path]).code, 0);
    // Without the advertisement: a warning only.
    let warned = dir.path().join("warned.yaml");
    std::fs::write(&warned, clean.split("---").next().unwrap()).unwrap();
    let warned = warned.to_str().unwrap();
    let run = metalpool(&["check", "-f", warned]);
    assert_eq!(run.code, 0, "a warning is not an error");
    assert!(run.stdout.contains("not-advertised"));
    assert_eq!(metalpool(&["check", "--strict", "-f", warned]).code, 1);
}

// ---------------------------------------------------------------------------------------
// A GitOps repository as found: duplicates, kustomizations and Helm charts

/// An object defined twice is read once (the last definition) and said, with both places;
/// a directory holding a kustomization and a Helm template are not read as manifests, and
/// said; the rest is read. `check` reports each as a warning at its place.
#[test]
fn duplicates_kustomizations_and_helm_templates_are_said_not_misread() {
    let repo = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = repo.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let pool = |cidr: &str| {
        format!(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: p, namespace: metallb-system}}\nspec: {{addresses: [{cidr}]}}\n"
        )
    };
    write("base/a.yaml", &pool("10.0.0.0/30"));
    write(
        "base/b.yaml",
        &format!(
            "{}---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {{name: all, namespace: metallb-system}}\n",
            pool("10.0.1.0/30")
        ),
    );
    write("overlay/kustomization.yaml", "resources: [../base]\n");
    write("overlay/patch.yaml", &pool("192.168.0.0/16"));
    write(
        "chart/templates/pool.yaml",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: {{ .Values.name }}\n",
    );
    let dir = repo.path().to_str().unwrap();

    let usage = metalpool(&["usage", "-f", dir, "-o", "json"]).json_with_code(0);
    let pools = usage["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 1, "the patch and the template are not read");
    assert_eq!(
        pools[0]["addresses"][0], "10.0.1.0/30",
        "the last definition"
    );

    let check = metalpool(&["check", "-f", dir, "-o", "json"]).json_with_code(0);
    let found: Vec<(String, String, Option<u64>)> = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "duplicate-object" || f["code"] == "not-rendered")
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let relative = file.strip_prefix(dir).unwrap().trim_start_matches('/');
            (
                f["code"].as_str().unwrap().to_string(),
                relative.to_string(),
                f["line"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "duplicate-object".to_string(),
                "base/b.yaml".to_string(),
                Some(1)
            ),
            (
                "not-rendered".to_string(),
                "chart/templates/pool.yaml".to_string(),
                None
            ),
            ("not-rendered".to_string(), "overlay".to_string(), None),
        ],
        "{check:#}"
    );
    assert!(
        check["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["level"] != "error"),
        "warnings only"
    );

    // -k renders a kustomization as kubectl apply -k would, then reads it like -f.
    write(
        "rendered/kustomization.yaml",
        "namespace: metallb-system\nresources: [pool.yaml]\n",
    );
    write(
        "rendered/pool.yaml",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: k}\nspec: {addresses: [172.16.0.0/30]}\n",
    );
    let rendered = repo.path().join("rendered");
    let usage =
        metalpool(&["usage", "-k", rendered.to_str().unwrap(), "-o", "json"]).json_with_code(0);
    assert_eq!(usage["pools"][0]["name"], "k");
    let broken = repo.path().join("overlay");
    let run = metalpool(&["usage", "-k", broken.to_str().unwrap()]);
    assert!(
        run.failure(2).contains("kubectl kustomize failed"),
        "{run:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Legacy AddressPools (read by MetalLB up to v0.13.x)

const LEGACY_POOL: &str = r#"
apiVersion: metallb.io/v1beta1
kind: AddressPool
metadata: {name: old, namespace: metallb-system}
spec: {protocol: layer2, addresses: [192.0.2.0/30]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, clusterIP: 10.96.0.10, ports: [{port: 80}]}
"#;

#[test]
fn a_legacy_address_pool_is_a_pool_on_0_13_and_ignored_after() {
    let (_dir, file) = temp_file("legacy.yaml", LEGACY_POOL);
    let path = file.to_str().unwrap();
    let run = |command: &[&str], release: &str| {
        let mut args = command.to_vec();
        args.extend(["-o", "json", "-f", path, "--metallb-version", release]);
        let run = metalpool(&args);
        // `why` of a service that cannot be served exits 1.
        assert!(
            run.code == 0 || command[0] == "why" && run.code == 1,
            "{}",
            run.stderr
        );
        run.json()
    };
    let codes = |report: &Value| -> Vec<String> {
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_string())
            .collect()
    };

    let usage = run(&["usage"], "v0.13.9");
    let pool = &usage["pools"][0];
    assert_eq!(pool["name"], "old");
    assert_eq!(pool["legacyProtocol"], "layer2");
    assert_eq!(strings(&pool["advertisedBy"]), ["L2:AddressPool/old"]);
    assert_eq!(pool["total"], 4, "no avoidBuggyIPs in a legacy pool");
    assert!(codes(&usage).contains(&"legacy-pool-read".to_string()));
    let why = run(&["why", "svc/web", "-n", "shop"], "v0.13.9");
    assert_eq!(strings(&why["outcome"]["pools"]), ["old"]);
    assert_eq!(strings(&why["outcome"]["ips"]), ["192.0.2.0"]);

    let usage = run(&["usage"], "v0.14.8");
    assert_eq!(usage["pools"].as_array().unwrap().len(), 0);
    assert!(codes(&usage).contains(&"legacy-pool-ignored".to_string()));
    let why = run(&["why", "svc/web", "-n", "shop"], "v0.14.8");
    assert_eq!(why["outcome"]["reasons"][0]["code"], "no-pools", "{why}");

    // check names the AddressPool itself, at its place in the file.
    let check = metalpool(&[
        "check",
        "-o",
        "json",
        "-f",
        path,
        "--metallb-version",
        "v0.14.8",
    ]);
    let finding = check.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "legacy-pool-ignored")
        .cloned()
        .expect("a legacy-pool-ignored finding");
    assert_eq!(finding["level"], "warning");
    assert_eq!(finding["object"]["kind"], "AddressPool");
    assert_eq!(finding["line"], 2);
}

/// The findings of `check -f path` with `code`: `(file name, line, message)`.
fn findings_of(path: &Path, code: &str) -> Vec<(String, Option<u64>, String)> {
    let check = metalpool(&["check", "-f", path.to_str().unwrap(), "-o", "json"]).json();
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| {
            let file = Path::new(f["file"].as_str().unwrap());
            (
                file.file_name().unwrap().to_string_lossy().into_owned(),
                f["line"].as_u64(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_misspelt_kind_or_api_version_gets_a_did_you_mean_at_its_place() {
    let text = "apiVersion: metallb.io/v1beta1\nkind: IPAdressPool\nmetadata: {name: typo, namespace: metallb-system}\nspec: {addresses: [10.0.0.0/30]}\n---\napiVersion: metallb.io/v1beta3\nkind: IPAddressPool\nmetadata: {name: future, namespace: metallb-system}\nspec: {addresses: [10.0.1.0/30]}\n---\napiVersion: v1\nkind: Servce\nmetadata: {name: web, namespace: shop}\nspec: {type: LoadBalancer}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\n";
    let (_dir, path) = temp_file("typos.yaml", text);
    let mut found = findings_of(&path, "unknown-kind");
    found.sort_by_key(|(_, line, _)| *line);
    let summary: Vec<(String, Option<u64>, bool)> = found
        .iter()
        .map(|(file, line, message)| (file.clone(), *line, message.contains("did you mean")))
        .collect();
    let at = |line| ("typos.yaml".to_string(), Some(line), true);
    assert_eq!(summary, [at(1), at(6), at(11)], "{found:#?}");
    assert!(
        found[0].2.contains("did you mean IPAddressPool?"),
        "{found:#?}"
    );
    assert!(
        found[1].2.contains("did you mean metallb.io/v1beta1?"),
        "{found:#?}"
    );
    assert!(found[2].2.contains("did you mean Service?"), "{found:#?}");
    // As every command warns of it: the misspelt pool is missing, the other one is read.
    let usage = metalpool(&["usage", "-f", path.to_str().unwrap(), "-o", "json"]).json();
    let names: Vec<&str> = usage["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["future"]);
    assert!(
        usage["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "unknown-kind"),
        "{usage:#}"
    );
}

#[test]
fn objects_of_a_list_carry_their_own_line() {
    let pool = |indent: &str| {
        format!(
            "{indent}- apiVersion: metallb.io/v1beta1\n{indent}  kind: IPAddressPool\n{indent}  metadata: {{name: p, namespace: metallb-system}}\n{indent}  spec: {{addresses: [10.0.0.0/30]}}\n"
        )
    };
    let yaml = format!(
        "apiVersion: v1\nitems:\n{}{}kind: List\n",
        pool(""),
        pool("")
    );
    let (_dir, path) = temp_file("list.yaml", &yaml);
    let lines: Vec<Option<u64>> = findings_of(&path, "duplicate-object")
        .into_iter()
        .map(|(_, line, _)| line)
        .collect();
    assert_eq!(lines, [Some(7)], "the second item's line");
    let json = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n{\"apiVersion\": \"metallb.io/v1beta1\", \"kind\": \"IPAddressPool\",\n \"metadata\": {\"name\": \"p\", \"namespace\": \"metallb-system\"}},\n\n{\"apiVersion\": \"metallb.io/v1beta1\", \"kind\": \"IPAddressPool\", \"metadata\": {\"name\": \"p\", \"namespace\": \"metallb-system\"}}]}\n";
    let (_dir, path) = temp_file("list.json", json);
    let lines: Vec<Option<u64>> = findings_of(&path, "duplicate-object")
        .into_iter()
        .map(|(_, line, _)| line)
        .collect();
    assert_eq!(lines, [Some(5)], "the second item's line");
}
