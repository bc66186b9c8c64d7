//! Hostile input: every string a cluster object or a manifest holds reaches the terminal
//! with its control characters escaped, in every table, page and stderr line; JSON keeps it
//! exact.

use std::process::Command;

use crate::support::run::{self, Run};

const FIXTURE: &str = "tests/fixtures/offline/hostile.yaml";

/// The plugin on the hostile fixture.
fn metalpool(args: &[&str]) -> Run {
    run::metalpool(&[args, &["-f", FIXTURE]].concat())
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

mod mutated {
    //! The bundled examples with control characters planted in random string fields: every
    //! report, in every human view, shows them escaped and nothing panics. Bounded: a fixed
    //! number of cases, each a few milliseconds.

    use kubectl_metalpool::render::{self, Format, View};
    use kubectl_metalpool::report;
    use kubectl_metalpool::settings::{MetallbFlags, ServiceRef};
    use kubectl_metalpool::source::files::{self, Namespaces};
    use proptest::prelude::*;
    use serde_json::Value;

    const PLANTED: [&str; 5] = [
        "\u{1b}]0;x\u{7}",
        "\u{1b}[2J",
        "\r",
        "\u{202e}",
        "\u{9b}31m",
    ];

    /// The examples as one JSON List (the dump's format), read once.
    fn examples() -> Value {
        let namespaces = Namespaces {
            metallb: "metallb-system".into(),
            default: "default".into(),
        };
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let snapshot = files::read(&[root], &namespaces).expect("the examples read");
        serde_json::to_value(report::dump::build(&snapshot)).unwrap()
    }

    /// Every string of `value`, as paths of keys and indices.
    fn strings(value: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
        match value {
            Value::String(_) => out.push(path.clone()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Value::from(i));
                    strings(item, path, out);
                    path.pop();
                }
            }
            Value::Object(fields) => {
                for (key, item) in fields {
                    path.push(Value::from(key.clone()));
                    strings(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn at<'a>(value: &'a mut Value, path: &[Value]) -> &'a mut Value {
        path.iter().fold(value, |v, step| match step {
            Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
            Value::String(k) => &mut v[k.as_str()],
            _ => unreachable!("paths hold keys and indices"),
        })
    }

    fn assert_inert(what: &str, text: &[u8]) {
        let text = String::from_utf8_lossy(text);
        for bad in ['\u{1b}', '\u{7}', '\r', '\u{202e}', '\u{9b}'] {
            assert!(!text.contains(bad), "{what} printed {bad:?} raw: {text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn planted_controls_never_reach_the_terminal(
            picks in proptest::collection::vec((any::<proptest::sample::Index>(), 0..PLANTED.len()), 1..12)
        ) {
            let mut document = examples();
            let mut paths = Vec::new();
            strings(&document, &mut Vec::new(), &mut paths);
            for (index, planted) in &picks {
                let path = index.get(&paths);
                // The kind and apiVersion decide how an object is read: left as they are.
                if matches!(path.last(), Some(Value::String(k)) if k == "kind" || k == "apiVersion") {
                    continue;
                }
                let field = at(&mut document, path);
                let text = format!("{}{}", field.as_str().unwrap(), PLANTED[*planted]);
                *field = Value::String(text);
            }
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("cluster.json");
            std::fs::write(&file, document.to_string()).unwrap();
            let namespaces = Namespaces { metallb: "metallb-system".into(), default: "default".into() };
            // Unreadable input is a clean error, never a panic; readable input renders inert.
            let Ok(snapshot) = files::read(&[file], &namespaces) else { return Ok(()) };
            let model = kubectl_metalpool::model::Model::build(&snapshot, &MetallbFlags::default(), Vec::new());
            let view = View { wide: true, color: false, no_headers: false, now: jiff::Timestamp::now() };
            let mut out = Vec::new();
            let mut err = Vec::new();
            for format in [Format::Table, Format::Wide] {
                render::emit(&mut out, &mut err, &format, &report::usage::build(&model), &view).unwrap();
                render::emit(&mut out, &mut err, &format, &report::usage::build_by_namespace(&model, None), &view).unwrap();
                render::emit(&mut out, &mut err, &format, &report::check::build(&model, None, 90, false), &view).unwrap();
                if let Ok(ips) = report::ips::build(&model, &[], Some(3)) {
                    render::emit(&mut out, &mut err, &format, &ips, &view).unwrap();
                }
            }
            for service in &snapshot.services {
                let target = ServiceRef { namespace: service.metadata.namespace.to_string(), name: service.metadata.name.to_string() };
                if let Ok(why) = report::why::build(&model, &target) {
                    render::emit(&mut out, &mut err, &Format::Table, &why, &view).unwrap();
                }
            }
            assert_inert("stdout", &out);
            assert_inert("stderr", &err);
        }
    }
}

/// Objects of kinds the plugin skips are passed over however they are made: nested far
/// deeper than any read object may be, or large, in YAML and JSON, in a `-f` directory
/// beside the manifests that matter.
#[test]
fn skipped_objects_never_stop_a_run_however_deep_or_large() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "pool.yaml",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: metallb-system}\nspec: {addresses: [10.0.0.0/30]}\n",
    );
    let deep = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
    write(
        "deep.json",
        &format!(
            "{{\"apiVersion\": \"example.com/v1\", \"kind\": \"Widget\", \"metadata\": {{\"name\": \"w\"}}, \"spec\": {}}}",
            deep(5_000)
        ),
    );
    write(
        "deep.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  x: {}\n",
            deep(5_000)
        ),
    );
    let mut block = String::from("apiVersion: v1\ndata:\n");
    for key in 0..20_000 {
        block.push_str(&format!("  key-{key}: |\n    {}\n", "x".repeat(200)));
    }
    block.push_str("kind: ConfigMap\nmetadata: {name: large}\n");
    write("large.yaml", &block);
    let list = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {{\"name\": \"s\"}}, \"data\": {{\"x\": {}}}}}]}}",
        deep(5_000)
    );
    write("list.json", &list);
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-metalpool"))
        .args(["usage", "-o", "json", "-f"])
        .arg(dir.path())
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .expect("run kubectl-metalpool");
    let run = Run::from_output(out);
    let usage = run.json_with_code(0);
    assert_eq!(usage["pools"][0]["name"], "p", "{usage:#}");
}
