//! One run of the plugin: settings → source → snapshot → MetalLB model → report → renderer.

use std::io::Write;

use crate::error::{Result, exit};
use crate::metallb::runtime::Runtime;
use crate::model::Model;
use crate::render::{self, Format, View};
use crate::report;
use crate::settings::{Input, PlanRequest, Request, Settings};
use crate::snapshot;
use crate::source;
use crate::{cli, complete};

/// Runs the command; returns the exit code of a completed run.
pub fn run(settings: &Settings, out: &mut impl Write, err: &mut impl Write) -> Result<i32> {
    // What needs no input read.
    match settings.request {
        Request::Completion(shell) => {
            out.write_all(complete::script(shell).as_bytes())?;
            return Ok(exit::OK);
        }
        Request::Options => {
            out.write_all(cli::global_options().as_bytes())?;
            return Ok(exit::OK);
        }
        Request::Version { client: true } => {
            let report = report::version::build(None);
            let format = &settings.output.format;
            render::emit(out, err, format, &report, &view_of(settings))?;
            return Ok(exit::OK);
        }
        _ => {}
    }
    if let Request::Plan(plan) = &settings.request {
        return run_plan(settings, plan, out, err);
    }
    let loaded = source::load(&settings.input, &settings.request)?;
    let snapshot = FreedAside(Some(loaded.snapshot));
    // `check` reads what it needs of the services and configuration alone (who the services
    // are to the pools, which set annotations, which requests cannot be met) while the
    // model's occupancy is rebuilt.
    let preparing =
        matches!(settings.request, Request::Check { .. }).then_some(report::check::prepare);
    let (model, prepared) = Model::build_alongside(
        snapshot.get(),
        &settings.input.metallb,
        loaded.notes,
        preparing,
    );
    let output = &settings.output;
    let format = &output.format;
    let view = view_of(settings);
    let sort = |report: &mut dyn Sort| {
        if let Some(key) = &output.sort_by {
            report.sort_by(key);
        }
    };
    let mut emit = |report: &dyn Emit| report.emit(out, err, format, &view);
    match &settings.request {
        Request::Usage { pools } => {
            let mut report = report::usage::build(&model);
            if !pools.is_empty() {
                report.only(pools)?;
            }
            sort(&mut report);
            emit(&report)?;
        }
        Request::UsageByNamespace { namespace } => {
            let mut report = report::usage::build_by_namespace(&model, namespace.as_deref());
            sort(&mut report);
            emit(&report)?;
        }
        Request::Why { service } => {
            let report = report::why::build(&model, service)?;
            emit(&report)?;
            if report.is_problem() {
                return Ok(exit::PROBLEM);
            }
        }
        // Settings refuse pools and --free beside an address.
        Request::Ips {
            address: Some(ip), ..
        } => emit(&report::ips::lookup(&model, *ip))?,
        Request::Ips { pools, free, .. } => {
            emit(&report::ips::build(&model, pools, *free)?)?;
        }
        Request::Check { strict, threshold } => {
            let report = report::check::build(&model, prepared, *threshold, *strict);
            emit(&report)?;
            if report.fails() {
                return Ok(exit::PROBLEM);
            }
        }
        Request::Dump => emit(&report::dump::build(model.snapshot))?,
        Request::Version { .. } => emit(&report::version::build(Some(model.version)))?,
        Request::Completion(_) | Request::Options | Request::Plan(_) => {}
    }
    Ok(exit::OK)
}

/// The input's objects, freed on another thread once the answer is written: freeing 50,000
/// services object by object on the way out took a sixth of `usage -f`'s wall time.
struct FreedAside(Option<snapshot::Snapshot>);

impl FreedAside {
    fn get(&self) -> &snapshot::Snapshot {
        self.0.as_ref().expect("taken only when dropped")
    }
}

impl Drop for FreedAside {
    fn drop(&mut self) {
        if let Some(snapshot) = self.0.take() {
            // Should no thread start, the closure (and the snapshot) is freed here.
            let _ = std::thread::Builder::new().spawn(move || drop(snapshot));
        }
    }
}

fn view_of(settings: &Settings) -> View {
    let output = &settings.output;
    View {
        wide: output.format == Format::Wide,
        color: output.color,
        no_headers: output.no_headers,
        now: jiff::Timestamp::now(),
    }
}

/// `plan`: the base (the input) and the base with the proposal applied, through the same
/// pipeline under the same MetalLB release; the report compares the two.
fn run_plan(
    settings: &Settings,
    plan: &PlanRequest,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<i32> {
    let loaded = source::load(&settings.input, &settings.request)?;
    let flags = &settings.input.metallb;
    // The proposal's objects without a namespace land where the base's MetalLB runs.
    let runtime = Runtime::resolve(
        &loaded.snapshot,
        flags.namespace.as_deref(),
        flags.lb_class.as_deref(),
    );
    let proposed = source::read_proposed(&settings.input, &plan.proposed, &runtime.namespace)?;
    let after_snapshot = snapshot::overlay(&loaded.snapshot, &proposed, plan.prune);
    let (before, mut after) =
        Model::build_pair(&loaded.snapshot, &after_snapshot, flags, loaded.notes);
    let report = report::plan::build(&before, &mut after);
    render::emit(
        out,
        err,
        &settings.output.format,
        &report,
        &view_of(settings),
    )?;
    Ok(if report.is_problem() {
        exit::PROBLEM
    } else {
        exit::OK
    })
}

/// Answers a shell-completion request (cobra's protocol): `words` are those typed after the
/// plugin's name, the last one under the cursor. The words before it say where names come
/// from (`-f`, `--context`, `-n`…), read by the same definitions as a full command line.
pub fn shell_completion(words: &[String], out: &mut impl Write) -> Result<()> {
    let before = words.split_last().map_or(words, |(_, before)| before);
    let input = cli::partial_globals(before).and_then(|g| Input::resolve(&g).ok());
    complete::complete(&cli::grammar(), input.as_ref(), words, out)
}

/// [`render::emit`] for any report, behind one object-safe call.
trait Emit {
    fn emit(
        &self,
        out: &mut dyn Write,
        err: &mut dyn Write,
        format: &Format,
        view: &View,
    ) -> Result<()>;
}

/// [`render::sort_by`] for any report.
trait Sort {
    fn sort_by(&mut self, key: &render::Template);
}

impl<R: render::Render> Sort for R {
    fn sort_by(&mut self, key: &render::Template) {
        render::sort_by(self, key);
    }
}

impl<R: render::Render> Emit for R {
    fn emit(
        &self,
        mut out: &mut dyn Write,
        mut err: &mut dyn Write,
        format: &Format,
        view: &View,
    ) -> Result<()> {
        render::emit(&mut out, &mut err, format, self, view)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn complete(words: &[&str]) -> Vec<String> {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        shell_completion(&words, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn subcommands_with_descriptions() {
        let lines = complete(&[""]);
        for name in ["usage", "why", "dump", "completion"] {
            assert!(
                lines.iter().any(|l| l.starts_with(&format!("{name}\t"))),
                "{name}: {lines:?}"
            );
        }
        assert_eq!(lines.last().unwrap(), ":4");
        assert_eq!(
            complete(&["wh"]),
            [
                "why\tpool by pool, what MetalLB does with a service and why",
                ":4"
            ]
        );
    }

    #[test]
    fn flags_and_their_values() {
        assert!(
            complete(&["usage", "--by"])
                .iter()
                .any(|l| l.starts_with("--by-namespace"))
        );
        assert!(
            !complete(&["why", "--by"])
                .iter()
                .any(|l| l.starts_with("--by-namespace")),
            "a flag of usage only"
        );
        let mut formats: Vec<String> = Format::NAMES.iter().map(|n| n.to_string()).collect();
        formats.push(":4".into());
        assert_eq!(complete(&["usage", "-o", ""]), formats);
        assert_eq!(
            complete(&["usage", "--output=j"]),
            [
                "--output=json",
                "--output=jsonpath=",
                "--output=junit",
                ":4"
            ]
        );
        for flag in ["-f", "-k", "--kubeconfig"] {
            assert_eq!(
                complete(&["usage", flag, ""]),
                [":0"],
                "{flag}: file names are the shell's"
            );
        }
        assert_eq!(complete(&["completion", ""]), ["bash", "zsh", "fish", ":4"]);
    }

    #[test]
    fn names_from_manifests() {
        let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let lines = complete(&["why", "-n", "team-b", "-f", examples, ""]);
        assert!(lines.contains(&"svc/batch".to_string()), "{lines:?}");
        assert!(
            !lines.iter().any(|l| l.contains("app-1")),
            "only team-b's services"
        );
        let lines = complete(&["-f", examples, "usage", "team-"]);
        assert_eq!(lines, ["team-a-ips", "team-b-ips", ":4"]);
        let lines = complete(&["-f", examples, "ips", "team-a-ips", "team-"]);
        assert_eq!(lines, ["team-b-ips", ":4"], "ips takes pool names too");
        let lines = complete(&["why", "-f", examples, "-n", "team"]);
        assert!(lines.contains(&"team-a".to_string()) && lines.contains(&"team-b".to_string()));
    }
}
