//! Label selectors as MetalLB validates and evaluates them (§2.6 V5–V7, §2.5, §7.1).
//!
//! Parsing is kube's own `Selector`, matched here against a [`StringMap`]; validation adds the checks Kubernetes'
//! `LabelSelectorAsSelector` makes and kube's conversion does not (values for `In`/`NotIn`,
//! none for `Exists`/`DoesNotExist`, label key and value syntax), plus MetalLB's
//! duplicate checks.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::{Expression, Selector};

use super::release::go_quote;
use crate::snapshot::StringMap;

/// A validated selector, with its text for display.
#[derive(Clone, Debug)]
pub struct LabelMatcher {
    /// All must match; none matches everything.
    expressions: Vec<Expression>,
    pub text: String,
}

impl LabelMatcher {
    /// The match-everything selector MetalLB gives priority-only pools (§2.5).
    pub fn everything() -> LabelMatcher {
        LabelMatcher {
            expressions: Vec::new(),
            text: "<all>".to_string(),
        }
    }

    /// The label keys the selector reads: labels under other keys cannot change its answer.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.expressions.iter().map(|expression| match expression {
            Expression::In(key, _)
            | Expression::NotIn(key, _)
            | Expression::Equal(key, _)
            | Expression::NotEqual(key, _)
            | Expression::Exists(key)
            | Expression::DoesNotExist(key) => key.as_str(),
        })
    }

    pub fn matches(&self, labels: &StringMap) -> bool {
        self.expressions.iter().all(|expression| match expression {
            Expression::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
            Expression::NotIn(key, values) => labels.get(key).is_none_or(|v| !values.contains(v)),
            Expression::Equal(key, value) => labels.get(key) == Some(value.as_str()),
            Expression::NotEqual(key, value) => labels.get(key) != Some(value.as_str()),
            Expression::Exists(key) => labels.contains_key(key),
            Expression::DoesNotExist(key) => !labels.contains_key(key),
        })
    }
}

/// Converts a selector, refusing what Kubernetes refuses.
pub fn compile(selector: &LabelSelector) -> Result<LabelMatcher, String> {
    for (key, value) in selector.match_labels.iter().flatten() {
        check_key(key)?;
        check_value(value)?;
    }
    for expr in selector.match_expressions.iter().flatten() {
        check_key(&expr.key)?;
        let values = expr.values.as_deref().unwrap_or_default();
        match expr.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => {
                return Err(format!(
                    "for 'in', 'notin' operators, values set can't be empty (key {:?})",
                    expr.key
                ));
            }
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                return Err(format!(
                    "values set must be empty for exists and does not exist (key {:?})",
                    expr.key
                ));
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => return Err(format!("{other:?} is not a valid label selector operator")),
        }
        for value in values {
            check_value(value)?;
        }
    }
    let text = describe(selector);
    let expressions = Selector::try_from(selector.clone())
        .map_err(|e| e.0)?
        .into_iter()
        .collect();
    Ok(LabelMatcher { expressions, text })
}

/// MetalLB's duplicate checks over one list of selectors (V5, V6), `kind` naming the list
/// (`namespaceSelectors`, `serviceSelectors`), worded as MetalLB words them. Values are
/// compared sorted; selector `i`'s own expressions are checked, then `i` against every
/// later selector, then the next. Go: config.go `validateLabelSelectorDuplicate`,
/// `validateLabelSelectorMatchExpressions`, `validateDuplicate` (the same from v0.13.10
/// to v0.16.1).
pub fn check_duplicates(selectors: &[LabelSelector], kind: &str) -> Result<(), String> {
    let sorted: Vec<GoSelector> = selectors.iter().map(GoSelector::of).collect();
    for (i, selector) in sorted.iter().enumerate() {
        check_expressions(&selector.expressions)?;
        if sorted[i + 1..].contains(selector) {
            return Err(format!(
                "duplicate definition of {kind} {}",
                selector.go_text()
            ));
        }
    }
    Ok(())
}

/// One selector's expressions: a value given twice, then an expression given twice.
fn check_expressions(expressions: &[GoRequirement]) -> Result<(), String> {
    for (i, expr) in expressions.iter().enumerate() {
        if let Some(value) = expr.values.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!(
                "duplicate definition of match expression value in label selector {}",
                go_quote(&value[0])
            ));
        }
        if expressions[i + 1..].contains(expr) {
            return Err(format!(
                "duplicate definition of match expressions {}",
                expr.go_text()
            ));
        }
    }
    Ok(())
}

/// A selector as MetalLB compares it (its `String()`, values sorted) and prints it (Go's
/// `%q` of the struct value: `{map["k":"v"] [{"k" "In" ["a" "b"]}]}`).
#[derive(PartialEq)]
struct GoSelector {
    labels: Vec<(String, String)>,
    expressions: Vec<GoRequirement>,
}

#[derive(PartialEq)]
struct GoRequirement {
    key: String,
    operator: String,
    values: Vec<String>,
}

impl GoSelector {
    fn of(selector: &LabelSelector) -> GoSelector {
        let labels = selector
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let expressions = selector
            .match_expressions
            .iter()
            .flatten()
            .map(|e| {
                let mut values = e.values.clone().unwrap_or_default();
                values.sort();
                GoRequirement {
                    key: e.key.clone(),
                    operator: e.operator.clone(),
                    values,
                }
            })
            .collect();
        GoSelector {
            labels,
            expressions,
        }
    }

    fn go_text(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v)))
            .collect();
        let expressions: Vec<String> = self
            .expressions
            .iter()
            .map(GoRequirement::go_text)
            .collect();
        format!("{{map[{}] [{}]}}", labels.join(" "), expressions.join(" "))
    }
}

impl GoRequirement {
    fn go_text(&self) -> String {
        let values: Vec<String> = self.values.iter().map(|v| go_quote(v)).collect();
        format!(
            "{{{} {} [{}]}}",
            go_quote(&self.key),
            go_quote(&self.operator),
            values.join(" ")
        )
    }
}

/// The selector in kubectl's `-l` syntax.
pub fn describe(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for expr in selector.match_expressions.iter().flatten() {
        let values = expr.values.as_deref().unwrap_or_default().join(",");
        parts.push(match expr.operator.as_str() {
            "In" => format!("{} in ({values})", expr.key),
            "NotIn" => format!("{} notin ({values})", expr.key),
            "Exists" => expr.key.clone(),
            "DoesNotExist" => format!("!{}", expr.key),
            other => format!("{} {other} ({values})", expr.key),
        });
    }
    if parts.is_empty() {
        "<all>".to_string()
    } else {
        parts.join(",")
    }
}

/// A label name part: at most 63 characters, alphanumeric at both ends, `-_.` inside.
fn is_label_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A DNS-1123 subdomain, the optional prefix of a label key.
fn is_dns_subdomain(prefix: &str) -> bool {
    prefix.len() <= 253
        && prefix.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn check_key(key: &str) -> Result<(), String> {
    let valid = match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name(name),
        None => is_label_name(key),
    };
    if valid {
        Ok(())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(format!("invalid label value {value:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{labels, match_labels};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    /// The keys a selector reads are exactly those its answer can depend on.
    #[test]
    fn keys_are_those_the_selector_reads() {
        let mut selector = match_labels(&[("tier", "web"), ("team", "a")]);
        selector.match_expressions = Some(vec![LabelSelectorRequirement {
            key: "canary".into(),
            operator: "DoesNotExist".into(),
            values: None,
        }]);
        let m = compile(&selector).unwrap();
        let mut keys: Vec<&str> = m.keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, ["canary", "team", "tier"]);
        let with: StringMap = labels(&[("tier", "web"), ("team", "a"), ("app", "x")]);
        let other: StringMap = labels(&[("tier", "web"), ("team", "a"), ("app", "y")]);
        assert_eq!(m.matches(&with), m.matches(&other), "app is not read");
        assert_eq!(LabelMatcher::everything().keys().count(), 0);
    }

    fn expr(key: &str, op: &str, values: Option<&[&str]>) -> LabelSelector {
        LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: key.into(),
                operator: op.into(),
                values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
            }]),
            match_labels: None,
        }
    }

    #[test]
    fn match_labels_and_expressions_are_anded() {
        let mut sel = match_labels(&[("environment", "production")]);
        sel.match_expressions = expr("team", "In", Some(&["a", "b"])).match_expressions;
        let m = compile(&sel).unwrap();
        assert!(m.matches(&labels(&[("environment", "production"), ("team", "a")])));
        assert!(!m.matches(&labels(&[("environment", "production")])));
        assert!(!m.matches(&labels(&[("environment", "staging"), ("team", "a")])));
    }

    #[test]
    fn each_operator_matches_like_kubernetes() {
        let object: StringMap = labels(&[("team", "a"), ("tier", "")]);
        let unlabelled = StringMap::new();
        let cases: [(LabelSelector, bool, bool); 8] = [
            (expr("team", "In", Some(&["a", "b"])), true, false),
            (expr("team", "In", Some(&["b"])), false, false),
            // A missing key is "not in" any set.
            (expr("team", "NotIn", Some(&["b"])), true, true),
            (expr("team", "NotIn", Some(&["a"])), false, true),
            (expr("tier", "Exists", None), true, false),
            (expr("tier", "DoesNotExist", None), false, true),
            (match_labels(&[("team", "a")]), true, false),
            // An empty value matches only a label that is present and empty.
            (match_labels(&[("tier", "")]), true, false),
        ];
        for (selector, on_object, on_unlabelled) in cases {
            let m = compile(&selector).unwrap();
            assert_eq!(m.matches(&object), on_object, "{} on team=a,tier=", m.text);
            assert_eq!(
                m.matches(&unlabelled),
                on_unlabelled,
                "{} on no labels",
                m.text
            );
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(
            compile(&LabelSelector::default())
                .unwrap()
                .matches(&labels(&[]))
        );
    }

    #[test]
    fn kubernetes_rejections() {
        assert!(compile(&expr("a", "In", Some(&[]))).is_err());
        assert!(compile(&expr("a", "In", None)).is_err());
        assert!(compile(&expr("a", "Exists", Some(&["x"]))).is_err());
        assert!(compile(&expr("a", "Equals", Some(&["x"]))).is_err());
        assert!(compile(&match_labels(&[("bad key", "x")])).is_err());
        assert!(compile(&match_labels(&[("a", "bad value!")])).is_err());
        assert!(compile(&match_labels(&[("example.com/team", "")])).is_ok());
        assert!(
            compile(&match_labels(&[("Example.com/team", "a")])).is_err(),
            "prefix must be lowercase"
        );
    }

    #[test]
    fn duplicates_are_found_and_worded_as_metallb_words_them() {
        let kind = "serviceSelectors";
        let a = match_labels(&[("team", "a")]);
        assert_eq!(
            check_duplicates(&[a.clone(), a.clone()], kind),
            Err("duplicate definition of serviceSelectors {map[\"team\":\"a\"] []}".to_string())
        );
        assert!(check_duplicates(&[a, match_labels(&[("team", "b")])], kind).is_ok());
        let dup_value = expr("team", "In", Some(&["b", "a", "b"]));
        assert_eq!(
            check_duplicates(&[dup_value], kind),
            Err(
                "duplicate definition of match expression value in label selector \"b\""
                    .to_string()
            )
        );
        // Identical after sorting values.
        let x = expr("team", "In", Some(&["a", "b"]));
        let y = expr("team", "In", Some(&["b", "a"]));
        assert_eq!(
            check_duplicates(&[x, y], "namespaceSelectors"),
            Err(
                "duplicate definition of namespaceSelectors {map[] [{\"team\" \"In\" [\"a\" \"b\"]}]}"
                    .to_string()
            )
        );
        let mut twice = expr("team", "Exists", None);
        let again = twice.match_expressions.clone().unwrap();
        twice.match_expressions.as_mut().unwrap().extend(again);
        assert_eq!(
            check_duplicates(&[twice], kind),
            Err("duplicate definition of match expressions {\"team\" \"Exists\" []}".to_string())
        );
        // The same expressions in another order are another selector (Go compares
        // `String()`, which keeps their order).
        let mut ab = expr("a", "Exists", None);
        ab.match_expressions
            .as_mut()
            .unwrap()
            .extend(expr("b", "Exists", None).match_expressions.unwrap());
        let mut ba = ab.clone();
        ba.match_expressions.as_mut().unwrap().reverse();
        assert!(check_duplicates(&[ab, ba], kind).is_ok());
    }

    #[test]
    fn describe_uses_kubectl_syntax() {
        assert_eq!(
            describe(&match_labels(&[("environment", "production")])),
            "environment=production"
        );
        assert_eq!(
            describe(&expr("team", "NotIn", Some(&["a", "b"]))),
            "team notin (a,b)"
        );
        assert_eq!(describe(&expr("team", "DoesNotExist", None)), "!team");
    }
}
