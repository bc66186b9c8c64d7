//! Hostile input: every string a cluster object or a manifest holds reaches the terminal
//! with its control characters escaped, in every table, page and stderr line; JSON keeps it
//! exact.

use std::process::Command;

use crate::support::run::Run;

const FIXTURE: &str = "tests/fixtures/offline/hostile.yaml";

fn metalpool(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-metalpool"))
        .args(args)
        .args(["-f", FIXTURE])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .expect("run kubectl-metalpool");
    Run::from_output(out)
}

/// No escape, bell, carriage return or direction override in what a terminal would show.
fn assert_inert(args: &[&str], text: &str) {
    for bad in ['\u{1b}', '\u{7}', '\r', '\u{202e}'] {
        assert!(
            !text.contains(bad),
            "{args:?} printed {bad:?} raw: {text:?}"
        );
    }
}

#[test]
fn tables_pages_and_warnings_show_escapes_never_controls() {
    let cases: [&[&str]; 5] = [
        &["usage"],
        &["usage", "-o", "wide"],
        &["usage", "--by-namespace"],
        &["why", "svc/web", "-n", "tenant"],
        &["why", "svc/holder", "-n", "tenant"],
    ];
    for args in cases {
        let run = metalpool(args);
        assert!(run.code == 0 || run.code == 1, "{args:?}: {run:#?}");
        assert_inert(args, &run.stdout);
        assert_inert(args, &run.stderr);
    }
    let page = metalpool(&["why", "svc/web", "-n", "tenant"]).stdout;
    assert!(page.contains("nope\\x1b]0;title\\x07\\u{202e}"), "{page}");
    assert!(page.contains("Allocation\\x1b[2JFailed"), "{page}");
    let usage = metalpool(&["usage"]);
    assert!(
        usage.stdout.contains("evil\\x1b]0;pwned\\x07pool"),
        "{}",
        usage.stdout
    );
}

#[test]
fn an_error_line_escapes_what_it_quotes() {
    let run = metalpool(&["why", "svc/x\u{1b}[2J", "-n", "tenant"]);
    let line = run.failure(2);
    assert!(line.contains("DNS-1035"), "{line}");
    assert_inert(&["why"], &run.stderr);
    let run = metalpool(&["usage", "no\u{1b}]0;pool\u{7}"]);
    assert!(
        run.failure(2).contains("no pool named no\\x1b]0;pool\\x07"),
        "{run:#?}"
    );
    assert_inert(&["usage"], &run.stderr);
}

/// Names that would change a request's path or query are refused before any request, with
/// the rule they break.
#[test]
fn names_that_cannot_exist_are_refused() {
    for (args, rule) in [
        (&["why", "svc/a?b=c"][..], "DNS-1035"),
        (&["why", "svc/a#b"], "DNS-1035"),
        (&["why", "svc/../../apis/x"], "DNS-1035"),
        (&["why", "..", "-n", "tenant"], "DNS-1035"),
        (&["why", "web", "-n", "../../apis"], "DNS-1123"),
        (&["usage", "--metallb-namespace", "a/b"], "DNS-1123"),
    ] {
        let run = metalpool(args);
        let line = run.failure(2);
        assert!(line.contains(rule), "{args:?}: {line}");
    }
}

#[test]
fn json_keeps_the_strings_exact() {
    let usage = metalpool(&["usage", "-o", "json"]).json_with_code(0);
    assert_eq!(usage["pools"][0]["name"], "evil\u{1b}]0;pwned\u{7}pool");
}
