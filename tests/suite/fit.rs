//! Tables fit the terminal: every default page of the bundled examples (usage, why, check, ips
//! and the example plans) fits 120 columns, and at 80 columns the default `usage` table wraps
//! only in its shortened lists.

use crate::support::run::metalpool;

fn width(line: &str) -> usize {
    line.chars().count()
}

/// Every Service of the examples, as `(namespace, name)`.
fn example_services() -> Vec<(String, String)> {
    let dump = metalpool(&["dump", "-o", "json", "-f", "examples/"]).json_with_code(0);
    let services: Vec<(String, String)> = dump["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["kind"] == "Service")
        .map(|item| {
            let meta = &item["metadata"];
            (
                meta["namespace"].as_str().unwrap().to_string(),
                meta["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(services.len() > 20, "{services:?}");
    services
}

#[test]
fn every_default_table_of_the_examples_fits_120_columns() {
    let mut pages = vec![
        (
            "usage".to_string(),
            metalpool(&["usage", "-f", "examples/"]),
        ),
        (
            "usage --by-namespace".to_string(),
            metalpool(&["usage", "--by-namespace", "-f", "examples/"]),
        ),
    ];
    for (namespace, name) in example_services() {
        let run = metalpool(&["why", &name, "-n", &namespace, "-f", "examples/"]);
        pages.push((format!("why {namespace}/{name}"), run));
    }
    pages.push((
        "check".to_string(),
        metalpool(&["check", "-f", "examples/"]),
    ));
    pages.push(("ips".to_string(), metalpool(&["ips", "-f", "examples/"])));
    for entry in std::fs::read_dir("example-plans").unwrap() {
        let proposal = entry.unwrap().path();
        if proposal.is_dir() {
            let proposal = proposal.to_str().unwrap().to_string();
            let run = metalpool(&["plan", "-f", &proposal, "--base", "examples/"]);
            pages.push((format!("plan -f {proposal}"), run));
        }
    }
    for (what, run) in pages {
        assert!(!run.stdout.is_empty(), "{what}: {run:#?}");
        for line in run.stdout.lines() {
            assert!(
                width(line) <= 120,
                "{what}: {} columns: {line}",
                width(line)
            );
        }
    }
}

#[test]
fn why_pages_of_the_examples_fit_80_columns() {
    for (namespace, name) in example_services() {
        let run = metalpool(&["why", &name, "-n", &namespace, "-f", "examples/"]);
        for line in run.stdout.lines() {
            assert!(width(line) <= 80, "why {namespace}/{name}: {line}");
        }
    }
}

/// The rule at 80 columns: everything before the first list column (SCOPE) fits in 80, and a
/// list column holds one item or one item shortened with a count (`a,+1 more`), never a
/// whole list. What wraps is then only the tail of a line made of shortened lists.
#[test]
fn the_default_usage_table_wraps_only_in_its_shortened_lists_at_80() {
    let run = metalpool(&["usage", "-f", "examples/"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    let header = lines[0];
    let lists_start = header.find("SCOPE").expect("a SCOPE column");
    assert_eq!(
        header[lists_start..].split_whitespace().collect::<Vec<_>>(),
        ["SCOPE", "ADVERTISED-BY", "ADDRESSES"],
        "the lists come last"
    );
    assert!(lists_start <= 80, "{header}");
    let mut shortened = 0;
    for line in &lines[1..] {
        assert!(
            line[..lists_start].trim_end().len() <= 80,
            "the numbers fit: {line}"
        );
        // Columns are at least three spaces apart; a cell holds at most single spaces.
        for cell in line[lists_start..].split("   ").map(str::trim) {
            if let Some((first, more)) = cell.split_once(",+") {
                assert!(!first.contains(','), "one item before the count: {cell}");
                assert!(more.ends_with(" more"), "{cell}");
                shortened += 1;
            } else {
                assert!(
                    !cell.contains(','),
                    "a whole list in the default table: {cell}"
                );
            }
        }
    }
    assert!(
        shortened >= 2,
        "the examples have lists to shorten: {}",
        run.stdout
    );
}
