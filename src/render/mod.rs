//! Renderers: reports in, text out, to any `impl Write`. They format; they never compute
//! an answer.

pub mod number;
pub mod table;
pub mod usage;
pub mod why;

use std::io::Write;

use serde::Serialize;

use crate::error::Result;

/// `-o`: the output formats of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
}

/// How text is styled.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
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
