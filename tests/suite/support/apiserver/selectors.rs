//! Label and field selectors with Kubernetes' syntax and semantics.

use serde_json::{Map, Value};

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

/// A parsed `labelSelector`: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<LabelRequirement>);

/// Splits on commas that are not inside parentheses.
fn split_top_level(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, ch) in input.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&input[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.' | '/'))
}

fn is_valid_value(value: &str) -> bool {
    value
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
}

fn key(raw: &str) -> Result<String, String> {
    let key = raw.trim();
    if is_valid_key(key) {
        Ok(key.to_owned())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label key \"{key}\""
        ))
    }
}

fn value(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if is_valid_value(value) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label value \"{value}\""
        ))
    }
}

fn parse_set(term: &str, open: usize) -> Result<LabelRequirement, String> {
    let (head, rest) = term.split_at(open);
    let Some(inner) = rest[1..].trim_end().strip_suffix(')') else {
        return Err(format!(
            "unable to parse requirement: missing ')' in \"{term}\""
        ));
    };
    let mut words = head.split_whitespace();
    let (Some(raw_key), Some(operator), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!("unable to parse requirement: \"{term}\""));
    };
    let values = inner.split(',').map(value).collect::<Result<Vec<_>, _>>()?;
    match operator {
        "in" => Ok(LabelRequirement::In(key(raw_key)?, values)),
        "notin" => Ok(LabelRequirement::NotIn(key(raw_key)?, values)),
        other => Err(format!(
            "unable to parse requirement: unknown operator \"{other}\""
        )),
    }
}

fn parse_integer(term: &str, raw: &str) -> Result<i64, String> {
    raw.trim().parse().map_err(|_| {
        format!("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in \"{term}\"")
    })
}

fn parse_requirement(term: &str) -> Result<LabelRequirement, String> {
    if let Some(open) = term.find('(') {
        return parse_set(term, open);
    }
    if let Some(rest) = term.strip_prefix('!') {
        return Ok(LabelRequirement::DoesNotExist(key(rest)?));
    }
    if let Some((k, v)) = term.split_once("!=") {
        return Ok(LabelRequirement::NotEquals(key(k)?, value(v)?));
    }
    if let Some((k, v)) = term.split_once("==") {
        return Ok(LabelRequirement::Equals(key(k)?, value(v)?));
    }
    if let Some((k, v)) = term.split_once('=') {
        return Ok(LabelRequirement::Equals(key(k)?, value(v)?));
    }
    if let Some((k, v)) = term.split_once('>') {
        return Ok(LabelRequirement::GreaterThan(
            key(k)?,
            parse_integer(term, v)?,
        ));
    }
    if let Some((k, v)) = term.split_once('<') {
        return Ok(LabelRequirement::LessThan(key(k)?, parse_integer(term, v)?));
    }
    Ok(LabelRequirement::Exists(key(term)?))
}

impl LabelSelector {
    /// Parses `app=web,tier in (a,b),!legacy`; an empty string selects all.
    pub fn parse(input: &str) -> Result<Self, String> {
        if input.trim().is_empty() {
            return Ok(LabelSelector::default());
        }
        split_top_level(input)
            .into_iter()
            .map(|term| parse_requirement(term.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(LabelSelector)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let label = |key: &str| labels.and_then(|labels| labels.get(key)?.as_str());
        let number = |key: &str| label(key).and_then(|value| value.parse::<i64>().ok());
        self.0.iter().all(|requirement| match requirement {
            LabelRequirement::Equals(k, v) => label(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            LabelRequirement::In(k, values) => {
                label(k).is_some_and(|l| values.iter().any(|v| v == l))
            }
            LabelRequirement::NotIn(k, values) => {
                label(k).is_none_or(|l| values.iter().all(|v| v != l))
            }
            LabelRequirement::Exists(k) => label(k).is_some(),
            LabelRequirement::DoesNotExist(k) => label(k).is_none(),
            LabelRequirement::GreaterThan(k, bound) => number(k).is_some_and(|n| n > *bound),
            LabelRequirement::LessThan(k, bound) => number(k).is_some_and(|n| n < *bound),
        })
    }
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldRequirement {
    pub label: String,
    pub value: String,
    pub negated: bool,
}

/// A parsed `fieldSelector`: every term must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector(pub Vec<FieldRequirement>);

/// Splits on a separator not preceded by a backslash, as field selectors
/// allow `\,` and `\=` in values.
fn split_unescaped(input: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = input.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                let current = parts.last_mut().expect("never empty");
                current.push('\\');
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ch if ch == separator => parts.push(String::new()),
            ch => parts.last_mut().expect("never empty").push(ch),
        }
    }
    parts
}

fn unescape(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars();
    while let Some(ch) = chars.next() {
        if ch == '\\' {
            out.extend(chars.next());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Finds the operator of a field term outside escapes: `!=`, `==` or `=`.
fn split_field_term(term: &str) -> Option<(&str, &str, bool)> {
    let bytes = term.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'!' if bytes.get(index + 1) == Some(&b'=') => {
                return Some((&term[..index], &term[index + 2..], true));
            }
            b'=' if bytes.get(index + 1) == Some(&b'=') => {
                return Some((&term[..index], &term[index + 2..], false));
            }
            b'=' => return Some((&term[..index], &term[index + 1..], false)),
            _ => index += 1,
        }
    }
    None
}

impl FieldSelector {
    /// Parses `metadata.name=web,spec.type!=ClusterIP`.
    pub fn parse(input: &str) -> Result<Self, String> {
        if input.trim().is_empty() {
            return Ok(FieldSelector::default());
        }
        split_unescaped(input, ',')
            .iter()
            .map(|term| {
                let (label, value, negated) = split_field_term(term).ok_or_else(|| {
                    format!("invalid selector: '{input}'; can't understand '{term}'")
                })?;
                Ok(FieldRequirement {
                    label: label.trim().to_owned(),
                    value: unescape(value.trim()),
                    negated,
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map(FieldSelector)
    }
}

/// The string a field selector compares against: the value at a dotted
/// path, with scalars printed as Go's `fmt` would and absent values empty.
pub(crate) fn field_value(object: &Value, path: &str) -> String {
    let value = path
        .split('.')
        .try_fold(object, |value, segment| value.get(segment));
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(flag)) => flag.to_string(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn label_selector_operators() {
        let l = labels(json!({"app": "metallb", "component": "controller", "replicas": "3"}));
        let check = |selector: &str| LabelSelector::parse(selector).unwrap().matches(Some(&l));
        assert!(check("app=metallb"));
        assert!(check("app==metallb,component=controller"));
        assert!(!check("app!=metallb"));
        assert!(check("tier!=web"));
        assert!(check("component in (speaker, controller)"));
        assert!(!check("component notin (controller)"));
        assert!(check("tier notin (web)"));
        assert!(check("app,!tier"));
        assert!(!check("!app"));
        assert!(check("replicas>2,replicas<4"));
        assert!(LabelSelector::parse("a in (b").is_err());
        assert!(LabelSelector::parse("a b").is_err());
    }

    #[test]
    fn field_selector_terms() {
        let selector = FieldSelector::parse("spec.type=LoadBalancer,metadata.name!=x").unwrap();
        assert_eq!(selector.0.len(), 2);
        assert!(selector.0[1].negated);
        assert_eq!(FieldSelector::parse(r"a==b\,c").unwrap().0[0].value, "b,c");
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
