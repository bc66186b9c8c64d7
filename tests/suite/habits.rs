//! kubectl's habits on the built binary (`-f`): `-o name`, `-o jsonpath=`,
//! `-o custom-columns=`, `--no-headers`, `--sort-by`, `-A`, case-insensitive references,
//! `-f a,b` and `-R`.

use crate::support::run::metalpool;

fn ok(args: &[&str]) -> String {
    exits(args, 0)
}

/// Standard output of a run on the examples that exits with `code` (`why` of a pending
/// service that fits no pool is 1).
fn exits(args: &[&str], code: i32) -> String {
    let mut all = args.to_vec();
    all.extend(["-f", "examples/"]);
    let run = metalpool(&all);
    assert_eq!(run.code, code, "{args:?}: {run:#?}");
    run.stdout
}

#[test]
fn output_name() {
    let pools = ok(&["usage", "-o", "name"]);
    assert!(
        pools.starts_with("ipaddresspool.metallb.io/analytics-ips\n"),
        "{pools}"
    );
    assert_eq!(pools.lines().count(), 9);
    let namespaces = ok(&["usage", "--by-namespace", "-o", "name"]);
    assert!(namespaces.contains("namespace/team-a\n"), "{namespaces}");
    assert_eq!(
        exits(&["why", "svc/batch", "-n", "team-b", "-o", "name"], 1),
        "service/batch\n"
    );
}

#[test]
fn output_jsonpath_over_the_whole_document() {
    assert_eq!(
        ok(&["usage", "-o", "jsonpath={.metallbNamespace}"]),
        "metallb-system"
    );
    let names = ok(&["usage", "-o", "jsonpath={.pools[*].name}"]);
    assert!(
        names.starts_with("analytics-ips default-ips dev-ips "),
        "{names}"
    );
    let free = ok(&[
        "usage",
        "-o",
        r#"jsonpath={range .pools[?(@.free==0)]}{.name}{"\n"}{end}"#,
    ]);
    assert_eq!(free, "default-ips\nteam-a-ips\n");
    let why = exits(
        &[
            "why",
            "svc/batch",
            "-n",
            "team-b",
            "-o",
            "jsonpath={.state}",
        ],
        1,
    );
    assert_eq!(why, "pending");
}

#[test]
fn an_invalid_template_is_exit_2_with_one_line() {
    for output in [
        "jsonpath={.pools",
        "jsonpath={range .pools[*]}",
        "custom-columns=NAME",
        "xml",
    ] {
        let run = metalpool(&["usage", "-f", "examples/", "-o", output]);
        let line = run.failure(2);
        assert!(
            line.contains(output.split('=').next().unwrap()) || line.contains("format"),
            "{line}"
        );
    }
}

#[test]
fn output_custom_columns_over_the_main_list() {
    let table = ok(&[
        "usage",
        "-o",
        "custom-columns=NAME:.name,FREE:free,NOPE:.nothing",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "FREE", "NOPE"]
    );
    assert_eq!(
        lines[8].split_whitespace().collect::<Vec<_>>(),
        ["team-a-ips", "0", "<none>"]
    );
    let namespaces = ok(&[
        "usage",
        "--by-namespace",
        "-o",
        "custom-columns=NS:.namespace",
    ]);
    assert!(namespaces.contains("team-a\n"), "{namespaces}");
}

#[test]
fn no_headers_drops_the_header_line() {
    let with = ok(&["usage"]);
    let without = ok(&["usage", "--no-headers"]);
    assert_eq!(without, with.split_once('\n').unwrap().1);
    let custom = ok(&["usage", "--no-headers", "-o", "custom-columns=N:.name"]);
    assert!(custom.starts_with("analytics-ips\n"), "{custom}");
    let run = metalpool(&["usage", "-f", "examples/", "--no-headers", "-o", "json"]);
    run.failure(2);
}

#[test]
fn sort_by_a_field_of_the_main_list() {
    let by_free = ok(&["usage", "--sort-by=free", "-o", "jsonpath={.pools[*].free}"]);
    assert_eq!(by_free, "0 0 4 5 8 13 253 253 18446744073709551628");
    let by_used = ok(&[
        "usage",
        "--sort-by",
        "{.used}",
        "-o",
        "jsonpath={.pools[*].used}",
    ]);
    assert_eq!(by_used, "0 1 2 3 3 3 4 4 8");
    let table = ok(&["usage", "--sort-by=.free", "--no-headers"]);
    assert!(
        table.lines().last().unwrap().starts_with("production-ips"),
        "{table}"
    );
}

#[test]
fn all_namespaces_for_usage_by_namespace() {
    assert_eq!(
        ok(&["usage", "--by-namespace", "-A"]),
        ok(&["usage", "--by-namespace"])
    );
    assert_eq!(
        ok(&["usage", "--by-namespace", "--all-namespaces", "-o", "json"]),
        ok(&["usage", "--by-namespace", "-o", "json"])
    );
    metalpool(&["usage", "-A", "-f", "examples/"]).failure(2);
}

#[test]
fn service_references_are_case_insensitive() {
    let expected = exits(&["why", "svc/batch", "-n", "team-b", "-o", "json"], 1);
    for reference in ["Service/batch", "SERVICES/batch", "Svc/batch", "batch"] {
        let run = metalpool(&[
            "why",
            reference,
            "-n",
            "team-b",
            "-f",
            "examples/",
            "-o",
            "json",
        ]);
        assert_eq!(run.stdout, expected, "{reference}");
    }
}

#[test]
fn filename_comma_lists_and_recursive() {
    let whole = ok(&["usage", "-o", "json"]);
    let run = metalpool(&[
        "usage",
        "-f",
        "examples/tiers,examples/multi-tenant",
        "-R",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, whole);
}

/// `ips`: `-o name` is the address, custom columns and `--sort-by` run over the addresses;
/// `check`: over the findings, `-o name` naming each finding's object as kubectl does.
#[test]
fn ips_and_check_lists_take_the_same_habits() {
    let addresses = ok(&["ips", "-o", "name"]);
    let first = addresses.lines().next().expect("held addresses");
    assert!(first.parse::<std::net::IpAddr>().is_ok(), "{addresses}");
    let by_ip = ok(&[
        "ips",
        "--sort-by=.pool",
        "-o",
        "custom-columns=POOL:.pool,IP:.ip",
    ]);
    let pools: Vec<&str> = by_ip
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut sorted = pools.clone();
    sorted.sort();
    assert_eq!(pools, sorted, "{by_ip}");

    let objects = exits(&["check", "-o", "name"], 1);
    assert!(objects.contains("service/batch\n"), "{objects}");
    assert!(
        objects.contains("ipaddresspool.metallb.io/analytics-ips\n"),
        "{objects}"
    );
    let codes = exits(
        &["check", "--no-headers", "-o", "custom-columns=CODE:.code"],
        1,
    );
    assert!(codes.lines().any(|l| l == "pool-not-found"), "{codes}");
}

/// Help like kubectl's: a command's help shows its own flags and examples and points to
/// `options` for the global ones, which `options` lists; `-h` and `--help` agree.
#[test]
fn help_shows_a_commands_own_flags_and_options_the_global_ones() {
    let help = metalpool(&["usage", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--by-namespace"), "{}", help.stdout);
    assert!(help.stdout.contains("Examples:"));
    assert!(
        !help.stdout.contains("--kubeconfig"),
        "global flags are in options: {}",
        help.stdout
    );
    assert!(help.stdout.contains("kubectl metalpool options"));
    assert_eq!(metalpool(&["usage", "-h"]).stdout, help.stdout);
    let options = metalpool(&["options"]);
    assert_eq!(options.code, 0);
    for flag in [
        "--kubeconfig",
        "--namespace",
        "--output",
        "--metallb-version",
    ] {
        assert!(options.stdout.contains(flag), "{flag}: {}", options.stdout);
    }
    // Hidden from help, global flags still work after the command.
    assert_eq!(
        exits(
            &[
                "why",
                "svc/batch",
                "-n",
                "team-b",
                "-o",
                "jsonpath={.state}"
            ],
            1
        ),
        "pending"
    );
}

#[test]
fn version_names_the_plugin_and_the_metallb_release_found() {
    let client = metalpool(&["version", "--client"]);
    assert_eq!(
        client.stdout,
        format!("kubectl-metalpool v{}\n", env!("CARGO_PKG_VERSION"))
    );
    let found = metalpool(&[
        "version",
        "-f",
        "examples/",
        "--metallb-version",
        "v0.14.8",
        "-o",
        "json",
    ])
    .json_with_code(0);
    assert_eq!(found["metallbVersion"]["version"], "v0.14.8");
    assert_eq!(found["metallbVersion"]["source"], "flag");
    assert_eq!(
        found["pluginVersion"],
        format!("v{}", env!("CARGO_PKG_VERSION"))
    );
}
