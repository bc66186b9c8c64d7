//! Renderers: reports in, text out, to any `impl Write`. They format; they never compute
//! an answer, and they read no clock of their own ([`View::now`]).

pub mod check;
pub mod ips;
pub mod junit;
pub mod number;
pub mod table;
pub mod text;
pub mod usage;
pub mod why;

use std::io::Write;

use serde::Serialize;

use crate::error::Result;
use crate::metallb::reason::Reason;
use crate::metallb::release::{MetallbVersion, VersionSource};
use text::escape_controls;

/// `-o`: the output formats of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    /// JUnit XML, for CI (`check` only).
    Junit,
}

impl Format {
    /// The names `-o` accepts, in the order help lists them.
    pub const NAMES: [&'static str; 5] = ["table", "wide", "json", "yaml", "junit"];

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "table" => Some(Format::Table),
            "wide" => Some(Format::Wide),
            "json" => Some(Format::Json),
            "yaml" => Some(Format::Yaml),
            "junit" => Some(Format::Junit),
            _ => None,
        }
    }
}

/// How a human view is drawn.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub wide: bool,
    pub color: bool,
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

    /// JUnit XML; only `check` has it (settings refuse `-o junit` for every other command).
    fn junit(&self, _out: &mut dyn Write) -> Result<()> {
        Err(crate::error::Error::Usage(
            "-o junit is only for check".to_string(),
        ))
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
    format: Format,
    report: &R,
    view: &View,
) -> Result<()> {
    match format {
        Format::Json => json(out, report),
        Format::Yaml => yaml(out, report),
        Format::Junit => report.junit(out),
        Format::Table | Format::Wide => {
            report.human(out, view)?;
            // The table first, then what deserves attention, in reading order.
            out.flush()?;
            print_attention(err, &report.attention())
        }
    }
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
