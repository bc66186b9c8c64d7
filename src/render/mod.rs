//! Renderers: reports in, text out, to any `impl Write`. They format; they never compute
//! an answer, and they read no clock of their own ([`View::now`]).

pub mod number;
pub mod plan;
pub mod table;
pub mod text;
pub mod usage;
pub mod why;

use std::io::Write;

use serde::Serialize;

use crate::error::Result;
use crate::metallb::reason::Reason;
use text::escape_controls;

/// `-o`: the output formats of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    /// A Markdown page, fit to paste as a pull-request comment (`plan` only).
    Markdown,
}

impl Format {
    /// The names `-o` accepts, in the order help lists them.
    pub const NAMES: [&'static str; 5] = ["table", "wide", "json", "yaml", "markdown"];

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "table" => Some(Format::Table),
            "wide" => Some(Format::Wide),
            "json" => Some(Format::Json),
            "yaml" => Some(Format::Yaml),
            "markdown" => Some(Format::Markdown),
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

    /// A Markdown page; only reports that have one are asked (settings refuses
    /// `-o markdown` for the others).
    fn markdown(&self, _out: &mut dyn Write) -> Result<()> {
        Err(crate::error::Error::Usage(
            "-o markdown is written by plan only".to_string(),
        ))
    }
}

/// Manifests are read by people as YAML too.
impl Render for crate::report::dump::Dump {
    fn human(&self, mut out: &mut dyn Write, _: &View) -> Result<()> {
        yaml(&mut out, self)
    }
}

/// A configuration MetalLB rejects, and warnings.
#[derive(Default)]
pub struct Attention<'a> {
    pub config_errors: &'a [String],
    pub warnings: &'a [Reason],
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
        Format::Markdown => report.markdown(out),
        Format::Table | Format::Wide => {
            report.human(out, view)?;
            // The table first, then what deserves attention, in reading order.
            out.flush()?;
            print_attention(err, &report.attention())
        }
    }
}

fn print_attention(err: &mut impl Write, attention: &Attention) -> Result<()> {
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
