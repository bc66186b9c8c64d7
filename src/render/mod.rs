//! Renderers: reports in, text out, to any `impl Write`. They format; they never compute
//! an answer, and they read no clock of their own ([`View::now`]).

pub mod check;
pub mod ips;
pub mod jsonpath;
pub mod junit;
pub mod number;
pub mod plan;
pub mod table;
pub mod text;
pub mod usage;
pub mod why;

pub use jsonpath::{Json, Template};

use std::io::Write;

use serde::Serialize;

use crate::error::Result;
use crate::metallb::reason::Reason;
use crate::metallb::release::{MetallbVersion, VersionSource};
use text::escape_controls;

/// `-o`: the output formats of the contract, kubectl's among them.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    /// JUnit XML, for CI (`check` only).
    Junit,
    /// A Markdown page, fit to paste as a pull-request comment (`plan` only).
    Markdown,
    /// `-o name`: `kind/name` per item of the main list.
    Name,
    /// `-o jsonpath=TEMPLATE` over the whole JSON document.
    JsonPath(Template),
    /// `-o custom-columns=HEADER:PATH,…` over the items of the main list.
    CustomColumns(Vec<(String, Template)>),
}

impl Format {
    /// The names `-o` accepts, in the order help lists them (`jsonpath=` and
    /// `custom-columns=` take a value).
    pub const NAMES: [&'static str; 9] = [
        "table",
        "wide",
        "json",
        "yaml",
        "name",
        "jsonpath=",
        "custom-columns=",
        "junit",
        "markdown",
    ];

    /// `-o`'s value; the error says what is wrong in one line.
    pub fn parse(text: &str) -> std::result::Result<Format, String> {
        if let Some(template) = text.strip_prefix("jsonpath=") {
            return Template::parse(template)
                .map(Format::JsonPath)
                .map_err(|e| format!("invalid jsonpath template {template:?}: {e}"));
        }
        if let Some(spec) = text.strip_prefix("custom-columns=") {
            return custom_columns(spec).map(Format::CustomColumns);
        }
        match text {
            "table" => Ok(Format::Table),
            "wide" => Ok(Format::Wide),
            "json" => Ok(Format::Json),
            "yaml" => Ok(Format::Yaml),
            "name" => Ok(Format::Name),
            "junit" => Ok(Format::Junit),
            "markdown" => Ok(Format::Markdown),
            _ => Err(format!(
                "unknown output format {text:?} (use table, wide, json, yaml, name, jsonpath=TEMPLATE, custom-columns=SPEC, junit for check, or markdown for plan)"
            )),
        }
    }

    /// Whether the output is a table, which `--no-headers` applies to.
    pub fn is_table(&self) -> bool {
        matches!(
            self,
            Format::Table | Format::Wide | Format::CustomColumns(_)
        )
    }
}

/// kubectl's `HEADER:PATH,HEADER:PATH`; a path reads relaxed (`.free`, `free`, `{.free}`).
fn custom_columns(spec: &str) -> std::result::Result<Vec<(String, Template)>, String> {
    let invalid = |why: String| format!("invalid custom-columns {spec:?}: {why}");
    if spec.trim().is_empty() {
        return Err(invalid("no columns (use HEADER:PATH,HEADER:PATH)".into()));
    }
    split_top_level(spec)
        .into_iter()
        .map(|column| {
            let (header, path) = column
                .split_once(':')
                .ok_or_else(|| invalid(format!("{column:?} is not HEADER:PATH")))?;
            let template = Template::relaxed(path).map_err(&invalid)?;
            Ok((header.to_string(), template))
        })
        .collect()
}

/// Splits at commas outside brackets (a path may hold a union `[0,1]`).
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// How a human view is drawn.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub wide: bool,
    pub color: bool,
    /// `--no-headers`: tables without their header line.
    pub no_headers: bool,
    /// The moment ages are counted from.
    pub now: jiff::Timestamp,
}

/// A report that has a view for people besides its JSON and YAML.
pub trait Render: Serialize {
    /// The table or page.
    fn human(&self, out: &mut dyn Write, view: &View) -> Result<()>;

    /// What deserves attention besides: printed after a table, on stderr, in kubectl's
    /// `Warning:` form. JSON and YAML carry it as fields.
    fn attention(&self) -> Attention<'_> {
        Attention::default()
    }

    /// A Markdown page; only reports that have one are asked (settings refuses
    /// `-o markdown` for the others).
    fn markdown(&self, _out: &mut dyn Write) -> Result<()> {
        Err(crate::error::Error::Usage(
            "-o markdown is written by plan only".to_string(),
        ))
    }

    /// JUnit XML; only `check` has it (settings refuse `-o junit` for every other command).
    fn junit(&self, _out: &mut dyn Write) -> Result<()> {
        Err(crate::error::Error::Usage(
            "-o junit is only for check".to_string(),
        ))
    }

    /// The field of the JSON document holding the main list (`pools`), which `-o name`,
    /// `-o custom-columns` and `--sort-by` work on; `None`: the document is one item.
    fn main_list(&self) -> Option<&'static str> {
        None
    }

    /// An item of the main list as `-o name` writes it (`ipaddresspool.metallb.io/NAME`).
    fn item_name(&self, _item: &Json) -> Option<String> {
        None
    }

    /// Puts the main list in `order` (indices into it), for `--sort-by`.
    fn reorder(&mut self, _order: &[usize]) {}
}

/// The main list's items of `document`.
fn main_items<'a, R: Render>(report: &R, document: &'a Json) -> Vec<&'a Json> {
    match report.main_list() {
        Some(field) => match document.get(field) {
            Some(Json::Array(items)) => items.iter().collect(),
            _ => Vec::new(),
        },
        None => vec![document],
    }
}

/// `--sort-by`: the main list ordered by what `key` selects in each item (stably; an item
/// without the field first, as kubectl puts it).
pub fn sort_by<R: Render>(report: &mut R, key: &Template) {
    let document = Json::of(&*report);
    let items = main_items(report, &document);
    let keys: Vec<Option<&Json>> = items
        .iter()
        .map(|i| key.select(i).into_iter().next())
        .collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| match (keys[a], keys[b]) {
        (Some(x), Some(y)) => x.order(y),
        (x, y) => x.is_some().cmp(&y.is_some()),
    });
    report.reorder(&order);
}

/// `kubectl-metalpool v0.2.0` and, when read, `MetalLB: v0.15.3 (the controller's image tag)`.
impl Render for crate::report::version::VersionReport {
    fn human(&self, out: &mut dyn Write, _: &View) -> Result<()> {
        writeln!(out, "kubectl-metalpool {}", self.plugin_version)?;
        if let Some(v) = &self.metallb_version {
            writeln!(out, "MetalLB: {} ({})", v.version, version_source(v.source))?;
        }
        Ok(())
    }
}

/// Manifests are read by people as YAML too.
impl Render for crate::report::dump::Dump {
    fn human(&self, mut out: &mut dyn Write, _: &View) -> Result<()> {
        yaml(&mut out, self)
    }
}

/// A configuration MetalLB rejects, warnings, and the MetalLB release the answers follow
/// (said only when it was guessed).
#[derive(Default)]
pub struct Attention<'a> {
    pub config_errors: &'a [String],
    pub warnings: &'a [Reason],
    pub version: Option<&'a MetallbVersion>,
}

/// Writes `report` in `format`: the one place every command's output goes through.
pub fn emit<R: Render>(
    out: &mut impl Write,
    err: &mut impl Write,
    format: &Format,
    report: &R,
    view: &View,
) -> Result<()> {
    match format {
        Format::Json => json(out, report),
        Format::Yaml => yaml(out, report),
        Format::Junit => report.junit(out),
        // Cluster text reaches the terminal escaped here too: these are views, not data.
        Format::JsonPath(template) => {
            out.write_all(template.render(&Json::of(report)).as_bytes())?;
            Ok(())
        }
        Format::Name => {
            let document = Json::of(report);
            for item in main_items(report, &document) {
                if let Some(name) = report.item_name(item) {
                    writeln!(out, "{}", escape_controls(&name))?;
                }
            }
            Ok(())
        }
        Format::CustomColumns(columns) => {
            let document = Json::of(report);
            let headers: Vec<&str> = columns.iter().map(|(h, _)| h.as_str()).collect();
            let rows = main_items(report, &document)
                .into_iter()
                .map(|item| {
                    columns
                        .iter()
                        .map(|(_, path)| column_text(&path.select(item)).into())
                        .collect()
                })
                .collect();
            out.write_all(table::layout_view(&headers, rows, view).as_bytes())?;
            Ok(())
        }
        Format::Markdown => report.markdown(out),
        Format::Table | Format::Wide => {
            report.human(out, view)?;
            // The table first, then what deserves attention, in reading order.
            out.flush()?;
            print_attention(err, &report.attention())
        }
    }
}

/// A custom column's cell: kubectl's `<none>` when the path selects nothing.
fn column_text(values: &[&Json]) -> String {
    if values.is_empty() {
        return "<none>".to_string();
    }
    values
        .iter()
        .map(|v| v.text())
        .collect::<Vec<_>>()
        .join(",")
}

fn print_attention(err: &mut impl Write, attention: &Attention) -> Result<()> {
    if let Some(guess) = attention.version.and_then(assumed_release) {
        writeln!(err, "Warning: {guess}")?;
    }
    if let Some((first, more)) = attention.config_errors.split_first() {
        writeln!(
            err,
            "Warning: MetalLB rejects this configuration and keeps serving its last valid one: {}",
            escape_controls(first)
        )?;
        for next in more {
            writeln!(err, "Warning: also invalid: {}", escape_controls(next))?;
        }
    }
    for w in attention.warnings {
        writeln!(err, "Warning: {} ({})", escape_controls(&w.message), w.code)?;
    }
    Ok(())
}

/// Where the release came from, in words.
pub fn version_source(source: VersionSource) -> &'static str {
    match source {
        VersionSource::Flag => "--metallb-version",
        VersionSource::Image => "the controller's image tag",
        VersionSource::HelmLabels => "the controller's Helm labels",
        VersionSource::Crds => "the oldest release the MetalLB CRDs allow",
        VersionSource::Default => "the newest release modelled",
    }
}

/// The release the answers follow, said when it was guessed rather than given or read off
/// the controller (cli-contract.md "MetalLB versions"); `None` when it is known.
pub fn assumed_release(version: &MetallbVersion) -> Option<String> {
    Some(format!(
        "answers follow MetalLB {}, {}: {}",
        version.version,
        version_source(version.source),
        why_assumed(version.source)?
    ))
}

/// Why a release was guessed, and how to say it: `None` when it was not.
pub fn why_assumed(source: VersionSource) -> Option<&'static str> {
    match source {
        VersionSource::Crds => {
            Some("the controller does not name its release (give --metallb-version)")
        }
        VersionSource::Default => {
            Some("nothing read shows which release runs (give --metallb-version)")
        }
        VersionSource::Flag | VersionSource::Image | VersionSource::HelmLabels => None,
    }
}

/// The report serialized as is, with a final newline.
pub fn json<T: Serialize>(out: &mut impl Write, report: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

pub fn yaml<T: Serialize>(out: &mut impl Write, report: &T) -> Result<()> {
    let text = serde_saphyr::to_string(report).map_err(std::io::Error::other)?;
    out.write_all(text.as_bytes())?;
    Ok(())
}
