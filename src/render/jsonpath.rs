//! kubectl's JSONPath dialect, for `-o jsonpath=`, `-o custom-columns=` and `--sort-by`:
//! text with `{…}` actions, `{range …}…{end}`, string literals (`{"\n"}`), and paths made of
//! `.field`, `..field`, `['field']`, `[n]` (negative from the end), `[a:b]`, `[*]`, `.*`,
//! `[a,b]` and filters `[?(@.field OP value)]`. As `kubectl get` does, a missing field gives
//! nothing rather than an error. (RFC 9535 crates read another dialect: no `{}`, no range.)
//!
//! Documents are walked as a [`Json`] tree that keeps numbers as their exact text: pool sizes
//! are 128-bit and would lose digits as floating point.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::text::escape_controls;

/// A JSON value, numbers as their text.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// `value` as its JSON serialization gives it.
    pub fn of<T: Serialize>(value: &T) -> Json {
        let text = serde_json::to_string(value).expect("reports serialize");
        let raw: Box<RawValue> =
            serde_json::from_str(&text).expect("serde_json reads its own text");
        Json::from_raw(&raw)
    }

    fn from_raw(raw: &RawValue) -> Json {
        let text = raw.get().trim();
        match text.as_bytes().first() {
            Some(b'{') => {
                let Entries(entries) = serde_json::from_str(text).expect("an object");
                Json::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k, Json::from_raw(&v)))
                        .collect(),
                )
            }
            Some(b'[') => {
                let items: Vec<Box<RawValue>> = serde_json::from_str(text).expect("an array");
                Json::Array(items.iter().map(|v| Json::from_raw(v)).collect())
            }
            Some(b'"') => Json::String(serde_json::from_str(text).expect("a string")),
            _ => match text {
                "true" => Json::Bool(true),
                "false" => Json::Bool(false),
                "null" => Json::Null,
                number => Json::Number(number.to_string()),
            },
        }
    }

    /// A field of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// As kubectl prints a result: strings bare, anything else as compact JSON.
    pub fn text(&self) -> String {
        match self {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The order `--sort-by` sorts in: numbers by value, strings as text, and values of
    /// different kinds by kind (null, false/true, numbers, strings, the rest).
    pub fn order(&self, other: &Json) -> Ordering {
        match (self, other) {
            (Json::Number(a), Json::Number(b)) => compare_numbers(a, b),
            (Json::String(a), Json::String(b)) => a.cmp(b),
            (Json::Bool(a), Json::Bool(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Json::Null => 0,
            Json::Bool(_) => 1,
            Json::Number(_) => 2,
            Json::String(_) => 3,
            Json::Array(_) => 4,
            Json::Object(_) => 5,
        }
    }
}

/// Integers exactly (they may be 128-bit), other numbers as floating point.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    match (a.parse::<i128>(), b.parse::<i128>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => {
            let (a, b) = (a.parse::<f64>(), b.parse::<f64>());
            a.unwrap_or(f64::NAN)
                .partial_cmp(&b.unwrap_or(f64::NAN))
                .unwrap_or(Ordering::Equal)
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |s: &str| serde_json::to_string(s).expect("a string serializes");
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) => f.write_str(n),
            Json::String(s) => f.write_str(&quoted(s)),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{v}", quoted(k))?;
                }
                f.write_str("}")
            }
        }
    }
}

/// An object's entries in their order, each value still unparsed.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Ordered)
    }
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(String),
    /// `{path}` or `{"literal"}`: each result printed, separated by spaces.
    Print(Vec<Expr>),
    Range(Path, Vec<Node>),
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Literal(String),
    Path(Path),
}

#[derive(Clone, Debug, PartialEq)]
struct Path {
    /// `$…`: from the document, not from the current item of a range.
    absolute: bool,
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    /// `..field`: the field at any depth.
    Descend(String),
    All,
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Union(Vec<Step>),
    Filter(Filter),
}

#[derive(Clone, Debug, PartialEq)]
struct Filter {
    path: Path,
    /// `None`: the field exists (and is not false or null).
    compare: Option<(Op, Json)>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Template {
    /// A `-o jsonpath=` template.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut stack: Vec<(Option<Path>, Vec<Node>)> = vec![(None, Vec::new())];
        let mut rest = text;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                push_text(&mut stack, rest);
                break;
            };
            push_text(&mut stack, &rest[..open]);
            let close = action_end(&rest[open..]).ok_or("a '{' is not closed")? + open;
            let action = rest[open + 1..close].trim();
            rest = &rest[close + 1..];
            if let Some(path) = action.strip_prefix("range ") {
                stack.push((Some(parse_path(path.trim())?), Vec::new()));
            } else if action == "end" {
                // The template's own level (the first) has no path: it cannot be ended.
                let Some((Some(path), body)) = (stack.len() > 1).then(|| stack.pop()).flatten()
                else {
                    return Err("{end} without {range}".to_string());
                };
                top(&mut stack).push(Node::Range(path, body));
            } else if action.is_empty() {
                return Err("an empty {}".to_string());
            } else {
                top(&mut stack).push(Node::Print(parse_exprs(action)?));
            }
        }
        match stack.pop() {
            Some((None, nodes)) if stack.is_empty() => Ok(Template { nodes }),
            _ => Err("{range} without {end}".to_string()),
        }
    }

    /// A custom-columns or `--sort-by` expression, which kubectl reads relaxed: `{.a.b}`,
    /// `.a.b` and `a.b` are the same path.
    pub fn relaxed(text: &str) -> Result<Template, String> {
        let text = text.trim();
        let inner = match text.strip_prefix('{') {
            Some(open) => open.strip_suffix('}').ok_or("a '{' is not closed")?,
            None => text,
        };
        let inner = inner.trim();
        if inner.is_empty() {
            return Err("an empty path".to_string());
        }
        let path = if inner.starts_with(['.', '[', '$', '@']) {
            inner.to_string()
        } else {
            format!(".{inner}")
        };
        Template::parse(&format!("{{{path}}}"))
    }

    /// The template's text for `document`. What the document holds is shown with its
    /// control characters escaped ([`escape_controls`]); the template's own text is the
    /// user's (`{"\n"}` is a newline).
    pub fn render(&self, document: &Json) -> String {
        let mut out = String::new();
        render_nodes(&self.nodes, document, document, &mut out);
        out
    }

    /// What the template's paths select in `document` (for a column or a sort key).
    pub fn select<'a>(&self, document: &'a Json) -> Vec<&'a Json> {
        let mut found = Vec::new();
        for node in &self.nodes {
            if let Node::Print(exprs) = node {
                for expr in exprs {
                    if let Expr::Path(path) = expr {
                        found.extend(path.eval(document, document));
                    }
                }
            }
        }
        found
    }
}

fn top(stack: &mut [(Option<Path>, Vec<Node>)]) -> &mut Vec<Node> {
    &mut stack.last_mut().expect("the template's own level").1
}

fn push_text(stack: &mut [(Option<Path>, Vec<Node>)], text: &str) {
    if !text.is_empty() {
        top(stack).push(Node::Text(text.to_string()));
    }
}

/// The index of the `}` closing the action `text` starts with, quotes respected.
fn action_end(text: &str) -> Option<usize> {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '}') => return Some(i),
            _ => {}
        }
    }
    None
}

/// An action's expressions: string literals and paths, side by side.
fn parse_exprs(action: &str) -> Result<Vec<Expr>, String> {
    let mut exprs = Vec::new();
    let mut rest = action.trim();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let end = closing_quote(rest).ok_or("a string is not closed")?;
            exprs.push(Expr::Literal(unescape(&rest[1..end])?));
            rest = rest[end + 1..].trim_start();
        } else {
            let (path, tail) = split_path(rest);
            exprs.push(Expr::Path(parse_path(path)?));
            rest = tail.trim_start();
        }
    }
    Ok(exprs)
}

/// A path ends at whitespace outside brackets.
fn split_path(text: &str) -> (&str, &str) {
    let mut depth = 0;
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth -= 1,
            (None, c) if c.is_whitespace() && depth == 0 => return (&text[..i], &text[i..]),
            _ => {}
        }
    }
    (text, "")
}

fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(c @ ('\\' | '"' | '\'')) => out.push(c),
            other => return Err(format!("unknown escape \\{}", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

fn parse_path(text: &str) -> Result<Path, String> {
    let (absolute, mut rest) = match text.strip_prefix('$') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('@').unwrap_or(text)),
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix("..") {
            let (name, tail) = field_name(tail);
            if name.is_empty() {
                return Err(format!("'..' needs a field name in {text:?}"));
            }
            steps.push(Step::Descend(name.to_string()));
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix('.') {
            let (name, tail) = field_name(tail);
            match name {
                "" if tail.starts_with('[') || tail.is_empty() => {}
                "" => return Err(format!("unexpected {tail:?} in {text:?}")),
                "*" => steps.push(Step::All),
                name => steps.push(Step::Field(name.to_string())),
            }
            rest = tail;
        } else if rest.starts_with('[') {
            let close =
                bracket_end(rest).ok_or_else(|| format!("a '[' is not closed in {text:?}"))?;
            steps.push(parse_bracket(rest[1..close].trim())?);
            rest = &rest[close + 1..];
        } else {
            return Err(format!("unexpected {rest:?} in {text:?}"));
        }
    }
    Ok(Path { absolute, steps })
}

fn field_name(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| c == '.' || c == '[' || c.is_whitespace())
        .unwrap_or(text.len());
    text.split_at(end)
}

fn bracket_end(text: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::All);
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        return parse_filter(filter.trim()).map(Step::Filter);
    }
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    if parts.len() > 1 {
        return parts
            .iter()
            .map(|p| parse_bracket(p))
            .collect::<Result<_, _>>()
            .map(Step::Union);
    }
    if let Some(name) = quoted(inner) {
        return Ok(Step::Field(name));
    }
    let number = |t: &str| -> Result<Option<i64>, String> {
        match t.trim() {
            "" => Ok(None),
            t => t
                .parse()
                .map(Some)
                .map_err(|_| format!("{t:?} is not an index")),
        }
    };
    match inner.split_once(':') {
        Some((from, to)) => Ok(Step::Slice(
            number(from)?,
            number(to.split(':').next().unwrap_or(""))?,
        )),
        None => number(inner)?
            .map(Step::Index)
            .ok_or_else(|| "an empty []".to_string()),
    }
}

fn quoted(text: &str) -> Option<String> {
    ['\'', '"'].iter().find_map(|&q| {
        text.strip_prefix(q)
            .and_then(|t| t.strip_suffix(q))
            .map(str::to_string)
    })
}

fn parse_filter(text: &str) -> Result<Filter, String> {
    const OPS: [(&str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let found = OPS
        .iter()
        .filter_map(|(sym, op)| text.find(sym).map(|at| (at, *sym, *op)))
        .min_by_key(|(at, sym, _)| (*at, usize::MAX - sym.len()));
    let Some((at, sym, op)) = found else {
        return Ok(Filter {
            path: parse_path(text)?,
            compare: None,
        });
    };
    let (left, right) = (text[..at].trim(), text[at + sym.len()..].trim());
    let value = match quoted(right) {
        Some(s) => Json::String(s),
        None => match right {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            "null" => Json::Null,
            n if n.parse::<f64>().is_ok() => Json::Number(n.to_string()),
            other => return Err(format!("{other:?} is not a value to compare with")),
        },
    };
    Ok(Filter {
        path: parse_path(left)?,
        compare: Some((op, value)),
    })
}

impl Path {
    fn eval<'a>(&self, root: &'a Json, current: &'a Json) -> Vec<&'a Json> {
        let start = if self.absolute { root } else { current };
        let mut values = vec![start];
        for step in &self.steps {
            values = values
                .into_iter()
                .flat_map(|v| step.apply(root, v))
                .collect();
        }
        values
    }
}

impl Step {
    fn apply<'a>(&self, root: &'a Json, value: &'a Json) -> Vec<&'a Json> {
        match self {
            Step::Field(name) => value.get(name).into_iter().collect(),
            Step::Descend(name) => {
                let mut found = Vec::new();
                descend(value, name, &mut found);
                found
            }
            Step::All => children(value),
            Step::Index(i) => match value {
                Json::Array(items) => index(items.len(), *i)
                    .map(|i| &items[i])
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            },
            Step::Slice(from, to) => match value {
                Json::Array(items) => {
                    let len = items.len();
                    let from = from.map_or(0, |f| clamp(len, f));
                    let to = to.map_or(len, |t| clamp(len, t));
                    items
                        .get(from..to.max(from))
                        .unwrap_or_default()
                        .iter()
                        .collect()
                }
                _ => Vec::new(),
            },
            Step::Union(steps) => steps.iter().flat_map(|s| s.apply(root, value)).collect(),
            Step::Filter(filter) => children(value)
                .into_iter()
                .filter(|item| filter.keeps(root, item))
                .collect(),
        }
    }
}

impl Filter {
    fn keeps(&self, root: &Json, item: &Json) -> bool {
        let found = self.path.eval(root, item);
        match &self.compare {
            None => found
                .iter()
                .any(|v| !matches!(v, Json::Null | Json::Bool(false))),
            Some((op, wanted)) => found.iter().any(|v| {
                let same_kind = v.rank() == wanted.rank();
                let order = v.order(wanted);
                match op {
                    Op::Eq => same_kind && order.is_eq(),
                    Op::Ne => !(same_kind && order.is_eq()),
                    Op::Lt => same_kind && order.is_lt(),
                    Op::Le => same_kind && order.is_le(),
                    Op::Gt => same_kind && order.is_gt(),
                    Op::Ge => same_kind && order.is_ge(),
                }
            }),
        }
    }
}

fn children(value: &Json) -> Vec<&Json> {
    match value {
        Json::Array(items) => items.iter().collect(),
        Json::Object(entries) => entries.iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    }
}

fn descend<'a>(value: &'a Json, name: &str, found: &mut Vec<&'a Json>) {
    if let Some(v) = value.get(name) {
        found.push(v);
    }
    for child in children(value) {
        descend(child, name, found);
    }
}

/// A negative index counts from the end.
fn index(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    usize::try_from(i).ok().filter(|&i| i < len)
}

fn clamp(len: usize, i: i64) -> usize {
    let i = if i < 0 { len as i64 + i } else { i };
    i.clamp(0, len as i64) as usize
}

fn render_nodes(nodes: &[Node], root: &Json, current: &Json, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Print(exprs) => {
                let mut first = true;
                for expr in exprs {
                    let texts: Vec<String> = match expr {
                        Expr::Literal(text) => vec![text.clone()],
                        Expr::Path(path) => path
                            .eval(root, current)
                            .iter()
                            .map(|v| escape_controls(&v.text()).into_owned())
                            .collect(),
                    };
                    for text in texts {
                        if !first && !matches!(expr, Expr::Literal(_)) {
                            out.push(' ');
                        }
                        out.push_str(&text);
                        first = false;
                    }
                }
            }
            Node::Range(path, body) => {
                for item in path.eval(root, current) {
                    render_nodes(body, root, item, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Json {
        Json::of(&serde_json::json!({
            "metallbNamespace": "metallb-system",
            "pools": [
                {"name": "a", "free": 3, "addresses": ["10.0.0.0/30", "10.0.1.0/30"], "autoAssign": true},
                {"name": "b", "free": 0, "addresses": ["10.0.2.0/30"], "autoAssign": false},
                {"name": "c", "free": 12, "addresses": [], "autoAssign": true}
            ]
        }))
    }

    fn render(template: &str) -> String {
        Template::parse(template).unwrap().render(&doc())
    }

    #[test]
    fn fields_wildcards_and_indices() {
        assert_eq!(render("{.metallbNamespace}"), "metallb-system");
        assert_eq!(render("{.pools[*].name}"), "a b c");
        assert_eq!(
            render("{.pools[0].addresses}"),
            r#"["10.0.0.0/30","10.0.1.0/30"]"#
        );
        assert_eq!(render("{.pools[-1].name}"), "c");
        assert_eq!(render("{.pools[0:2].name}"), "a b");
        assert_eq!(render("{.pools[0,2].name}"), "a c");
        assert_eq!(render("{$.pools[1]['name']}"), "b");
        assert_eq!(render("{..addresses[0]}"), "10.0.0.0/30 10.0.2.0/30");
        assert_eq!(render("{.pools[*].autoAssign}"), "true false true");
        assert_eq!(render("pools: {.pools[*].free}!"), "pools: 3 0 12!");
    }

    #[test]
    fn a_missing_field_prints_nothing_as_kubectl_get_does() {
        assert_eq!(render("[{.nothing}][{.pools[7].name}]"), "[][]");
    }

    #[test]
    fn range_and_literals() {
        assert_eq!(
            render(r#"{range .pools[*]}{.name}{"\t"}{.free}{"\n"}{end}"#),
            "a\t3\nb\t0\nc\t12\n"
        );
        assert_eq!(
            render(r#"{range .pools[*]}[{range .addresses[*]}{@} {end}]{end}"#),
            "[10.0.0.0/30 10.0.1.0/30 ][10.0.2.0/30 ][]"
        );
    }

    #[test]
    fn filters() {
        assert_eq!(render("{.pools[?(@.free==0)].name}"), "b");
        assert_eq!(render("{.pools[?(@.free>2)].name}"), "a c");
        assert_eq!(render("{.pools[?(@.name!='a')].name}"), "b c");
        assert_eq!(render(r#"{.pools[?(@.name=="c")].free}"#), "12");
        assert_eq!(render("{.pools[?(@.autoAssign)].name}"), "a c");
    }

    #[test]
    fn numbers_keep_every_digit() {
        let json = Json::of(&serde_json::json!({"n": 1})); // a u128 beyond u64:
        assert_eq!(json.get("n"), Some(&Json::Number("1".into())));
        #[derive(Serialize)]
        struct Big {
            total: u128,
        }
        let big = Json::of(&Big {
            total: u128::from(u64::MAX) + 13,
        });
        assert_eq!(
            Template::parse("{.total}").unwrap().render(&big),
            "18446744073709551628"
        );
        assert!(
            Json::Number("18446744073709551628".into())
                .order(&Json::Number("18446744073709551615".into()))
                .is_gt()
        );
        assert!(
            Json::Number("9".into())
                .order(&Json::Number("10".into()))
                .is_lt()
        );
    }

    #[test]
    fn values_from_the_document_are_escaped_and_literals_are_not() {
        let json = Json::of(&serde_json::json!({"name": "x\u{1b}[2J"}));
        assert_eq!(
            Template::parse(r#"{.name}{"\n"}"#).unwrap().render(&json),
            "x\\x1b[2J\n"
        );
    }

    #[test]
    fn relaxed_paths_for_columns_and_sorting() {
        for text in ["{.free}", ".free", "free"] {
            let values = Template::relaxed(text).unwrap();
            let pool = &doc().get("pools").unwrap().clone();
            let Json::Array(items) = pool else { panic!() };
            assert_eq!(
                values.select(&items[2]),
                [&Json::Number("12".into())],
                "{text}"
            );
        }
    }

    #[test]
    fn invalid_templates_say_what_is_wrong() {
        for (template, why) in [
            ("{.pools", "not closed"),
            ("{range .pools[*]}{.name}", "without {end}"),
            ("{.name}{end}", "without {range}"),
            ("{}", "empty"),
            ("{.pools[}", "not closed"),
            ("{.pools[x]}", "not an index"),
            (r#"{"abc}"#, "not closed"),
            ("{.pools[?(@.free > zero)]}", "not a value"),
        ] {
            let e = Template::parse(template).unwrap_err();
            assert!(e.contains(why), "{template}: {e}");
        }
    }
}
