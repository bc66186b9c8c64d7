//! One run of the plugin: settings → source → snapshot → MetalLB model → report → renderer.

use std::io::Write;

use crate::cli::{Cli, Command, Settings, parse_service_ref};
use crate::complete;
use crate::error::{Error, Result, exit};
use crate::metallb::allocator::Cluster;
use crate::metallb::config::{Config, advertisement_warnings};
use crate::metallb::reason::Reason;
use crate::metallb::service::Context;
use crate::render::{self, Format, Style};
use crate::report;
use crate::source;
use crate::source::cluster::Target;

/// Runs the command; returns the exit code of a completed run.
pub fn run(cli: &Cli, out: &mut impl Write, err: &mut impl Write) -> Result<i32> {
    if let Command::Completion { shell } = &cli.command {
        out.write_all(
            complete::script(shell.name())
                .unwrap_or_default()
                .as_bytes(),
        )?;
        return Ok(exit::OK);
    }
    if matches!(cli.command, Command::Dump)
        && matches!(cli.global.output, Some(Format::Table | Format::Wide))
    {
        return Err(Error::Usage(
            "dump writes manifests: YAML (the default) or JSON (-o json)".to_string(),
        ));
    }
    let settings = Settings::resolve(&cli.global)?;
    let target = match &cli.command {
        Command::Why { service } => Some(Target {
            namespace: settings.namespace.clone(),
            name: parse_service_ref(service)?,
        }),
        _ => None,
    };
    let loaded = source::load(&settings, target.as_ref())?;
    let snapshot = &loaded.snapshot;
    let ctx = Context {
        lb_class: loaded.lb_class.clone(),
        offline: settings.offline(),
    };
    let config = Config::load(snapshot, &loaded.metallb_namespace);
    let cluster = Cluster::new(snapshot, config, &ctx);
    let mut extra = loaded.notes.clone();
    extra.extend(advertisement_warnings(snapshot, &loaded.metallb_namespace));
    let style = Style {
        color: settings.color,
    };
    match &cli.command {
        Command::Usage {
            by_namespace: false,
            pools,
        } => {
            let mut report = report::usage::build(&cluster, extra);
            if !pools.is_empty() {
                keep_pools(&mut report, pools)?;
            }
            match settings.format {
                Format::Json => render::json(out, &report)?,
                Format::Yaml => render::yaml(out, &report)?,
                wide => {
                    render::usage::table(out, &report, wide == Format::Wide, style)?;
                    // The table first, then what deserves attention, in reading order.
                    out.flush()?;
                    print_problems(err, &report.config_errors, &report.warnings)?;
                }
            }
            Ok(exit::OK)
        }
        Command::Usage {
            by_namespace: true, ..
        } => {
            let report =
                report::usage::build_by_namespace(&cluster, settings.namespace.as_deref(), extra);
            match settings.format {
                Format::Json => render::json(out, &report)?,
                Format::Yaml => render::yaml(out, &report)?,
                _ => {
                    render::usage::by_namespace(out, &report)?;
                    out.flush()?;
                    print_problems(err, &report.config_errors, &report.warnings)?;
                }
            }
            Ok(exit::OK)
        }
        Command::Completion { .. } => Ok(exit::OK),
        Command::Dump => {
            let list = report::dump::build(snapshot);
            match settings.format {
                Format::Json => render::json(out, &list)?,
                _ => render::yaml(out, &list)?,
            }
            Ok(exit::OK)
        }
        Command::Why { service } => {
            let name = parse_service_ref(service)?;
            let namespace = settings
                .namespace
                .clone()
                .unwrap_or_else(|| loaded.default_namespace.clone());
            let index = snapshot
                .services
                .iter()
                .position(|s| s.metadata.name == name && s.metadata.namespace == namespace)
                .ok_or_else(|| {
                    Error::service_not_found(&snapshot.services, "service", &namespace, &name)
                })?;
            let report = report::why::build(&cluster, snapshot, index, extra);
            match settings.format {
                Format::Json => render::json(out, &report)?,
                Format::Yaml => render::yaml(out, &report)?,
                _ => render::why::text(out, &report, style)?,
            }
            Ok(if report.is_problem() {
                exit::PROBLEM
            } else {
                exit::OK
            })
        }
    }
}

/// `usage POOL…`: only the named pools and the warnings about them or about no pool in
/// particular; an unknown name is a usage error.
fn keep_pools(report: &mut report::usage::UsageReport, names: &[String]) -> Result<()> {
    if let Some(missing) = names
        .iter()
        .find(|n| !report.pools.iter().any(|p| &p.name == *n))
    {
        let known: Vec<&str> = report.pools.iter().map(|p| p.name.as_str()).collect();
        let closest = known
            .iter()
            .min_by_key(|k| strsim::levenshtein(missing, k))
            .filter(|k| strsim::levenshtein(missing, k) <= k.len() / 2);
        let hint = match closest {
            Some(name) => format!("did you mean {name}? "),
            None => String::new(),
        };
        return Err(Error::Usage(format!(
            "no pool named {missing} in namespace {}; {hint}(pools: {})",
            report.metallb_namespace,
            known.join(", ")
        )));
    }
    report.pools.retain(|p| names.contains(&p.name));
    report
        .warnings
        .retain(|w| w.pool.as_ref().is_none_or(|pool| names.contains(pool)));
    Ok(())
}

/// Table output keeps stdout for the table; what deserves attention goes to stderr, in
/// kubectl's `Warning:` form.
fn print_problems(
    err: &mut impl Write,
    config_errors: &[String],
    warnings: &[Reason],
) -> Result<()> {
    if let Some(first) = config_errors.first() {
        writeln!(
            err,
            "Warning: MetalLB rejects this configuration and keeps serving its last valid one: {first}"
        )?;
        for more in &config_errors[1..] {
            writeln!(err, "Warning: also invalid: {more}")?;
        }
    }
    for w in warnings {
        writeln!(err, "Warning: {} ({})", w.message, w.code)?;
    }
    Ok(())
}
