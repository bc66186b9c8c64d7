//! `plan` on the built binary: the example proposals against the example cluster, a
//! proposal that changes nothing, and the outputs and exit codes of the contract.

use serde_json::Value;

use crate::offline::{assert_golden, metalpool};

fn plan(proposal: &str, extra: &[&str]) -> crate::support::run::Run {
    let mut args = vec!["plan", "--base", "examples/", "-f", proposal];
    args.extend(extra);
    metalpool(&args)
}

fn service<'a>(plan: &'a Value, key: &str) -> &'a Value {
    plan["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == key)
        .unwrap_or_else(|| panic!("service {key}"))
}

fn changes(plan: &Value) -> Vec<(String, String)> {
    plan["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_string(),
                s["change"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn renumbering_public_ips_moves_its_three_services() {
    let json = plan("example-plans/renumber-public-ips/", &["-o", "json"]).json_with_code(1);
    assert_golden("plan-renumber-public-ips", &json);
    assert_eq!(json["configValid"]["after"], true);
    let web = service(&json, "web/web-frontend");
    assert_eq!(web["change"], "moved");
    assert_eq!(web["before"]["ips"][0], "203.0.113.0");
    assert_eq!(web["after"]["ips"][0], "203.0.113.64");
    let notes = service(&json, "web/cdn-origin")["notes"].to_string();
    assert!(notes.contains("order-dependent"), "{notes}");
}

#[test]
fn a_tenant_scope_change_moves_the_tenant_and_a_priority_change_moves_nobody() {
    let json = plan("example-plans/tenant-scope/", &["-o", "json"]).json_with_code(1);
    assert_golden("plan-tenant-scope", &json);
    for (key, change) in changes(&json) {
        match key.as_str() {
            k if k.starts_with("team-a/app-") && k != "team-a/app-9" => {
                assert_eq!(change, "moved", "{key}")
            }
            k if k.starts_with("team-b/") => {
                assert!(
                    change == "kept" || change == "unchanged-pending",
                    "{key}: {change}"
                )
            }
            _ => {}
        }
    }
    let team_b = json["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "team-b-ips")
        .unwrap();
    assert!(
        team_b["notes"][0]
            .as_str()
            .unwrap()
            .contains("no service that holds an address moves"),
        "{team_b}"
    );
}

#[test]
fn an_overlapping_range_is_refused_and_nothing_changes() {
    let json = plan("example-plans/overlapping-range/", &["-o", "json"]).json_with_code(1);
    assert_golden("plan-overlapping-range", &json);
    assert_eq!(
        json["configValid"],
        serde_json::json!({"before": true, "after": false})
    );
    assert!(
        json["configErrors"][0]
            .as_str()
            .unwrap()
            .contains("overlaps")
    );
    for (key, change) in changes(&json) {
        assert!(
            change == "kept" || change == "unchanged-pending",
            "{key}: {change}"
        );
    }
}

#[test]
fn a_proposal_that_changes_nothing_keeps_every_service_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    // Each bundled setup as the base, with an empty proposal and with its own pools
    // re-applied as they are.
    for (base, same) in [
        ("examples/", "examples/tiers/pools.yaml"),
        ("examples/tiers/", "examples/tiers/pools.yaml"),
        ("examples/multi-tenant/", "examples/multi-tenant/"),
    ] {
        for proposal in [empty, same] {
            let run = metalpool(&["plan", "--base", base, "-f", proposal, "-o", "json"]);
            let json = run.json_with_code(0);
            for (key, change) in changes(&json) {
                assert!(
                    change == "kept" || change == "unchanged-pending",
                    "{base} + {proposal}: {key} is {change}"
                );
            }
        }
    }
}

#[test]
fn the_table_shows_only_what_changes_unless_wide() {
    let run = plan("example-plans/renumber-public-ips/", &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("public-ips       changed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("203.0.113.0/28 → 203.0.113.64/28"));
    assert!(run.stdout.contains("web/web-frontend"));
    assert!(
        !run.stdout.contains("team-b/orders-api"),
        "kept: shown with -o wide only"
    );
    let wide = plan("example-plans/renumber-public-ips/", &["-o", "wide"]);
    assert!(wide.stdout.contains("team-b/orders-api"));
}

#[test]
fn markdown_for_a_pull_request() {
    let run = plan("example-plans/overlapping-range/", &["-o", "markdown"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stdout.starts_with("### MetalLB plan"), "{}", run.stdout);
    assert!(run.stdout.contains(":x: MetalLB would REFUSE"));
    assert!(run.stdout.contains("| pool | change | size |"));
    let refused = metalpool(&["usage", "-f", "examples/", "-o", "markdown"]);
    assert!(refused.failure(2).contains("plan only"));
}

#[test]
fn prune_deletes_the_pools_the_proposal_lacks() {
    let json = plan(
        "example-plans/renumber-public-ips/",
        &["--prune", "-o", "json"],
    )
    .json_with_code(1);
    let removed: Vec<&str> = json["pools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["after"].is_null())
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 8, "every pool but public-ips: {removed:?}");
    // Automatic: to the one pool left. Pinned by annotation to a deleted pool: pending.
    let app = service(&json, "team-a/app-1");
    assert_eq!(app["change"], "moved");
    assert_eq!(app["after"]["pools"][0], "public-ips");
    let grafana = service(&json, "internal-tools/grafana");
    assert_eq!(grafana["change"], "lost");
    assert_eq!(grafana["after"]["reasons"][0]["code"], "pool-not-found");
}

#[test]
fn plan_needs_a_proposal() {
    let run = metalpool(&["plan", "--base", "examples/"]);
    assert!(run.failure(2).contains("needs the proposed manifests"));
}
