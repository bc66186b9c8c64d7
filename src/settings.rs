//! What one run will do, decided once: the request (which command, about what), the input
//! (manifests or a live cluster) and the output. `cli.rs` hands over the words as typed;
//! everything past this module works from a [`Settings`] and never re-decides a default.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use kube::config::Kubeconfig;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::error::{Error, Result};
use crate::metallb::addr::Ip;
use crate::metallb::release::{Chosen, Release};
use crate::names::{check_namespace, check_service_name};
use crate::render::{Format, Template};
use crate::source::files::ReadLimits;
use crate::source::kubeconfig;

/// A resolved command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub request: Request,
    pub input: Input,
    pub output: Output,
}

/// What to read, and the defaults that reading and naming objects depend on.
#[derive(Clone, Debug)]
pub struct Input {
    pub origin: Origin,
    /// What the user says of MetalLB; what is not said is detected from the input.
    pub metallb: MetallbFlags,
    /// The namespace of a name given without one: `-n`, else the kubeconfig context's, else
    /// `default` (kubectl's rule, live and offline alike).
    pub namespace: String,
    /// How much one `-f` input may hold.
    pub read_limits: ReadLimits,
    /// `-k`: kustomization directories, rendered by `kubectl kustomize` and read like `-f`.
    pub kustomize: Vec<PathBuf>,
}

/// The command and what it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Every pool, or only the named ones.
    Usage {
        pools: Vec<String>,
    },
    /// Addresses held per namespace per pool; `namespace` is the `-n` filter.
    UsageByNamespace {
        namespace: Option<String>,
    },
    Why {
        service: ServiceRef,
    },
    /// The address map: held addresses of the named pools (all when none), with `free`
    /// the free ranges and the next N addresses; or the reverse lookup of `address`.
    Ips {
        pools: Vec<String>,
        address: Option<Ip>,
        free: Option<usize>,
    },
    /// Every finding; `strict` fails on warnings; `threshold` is the nearly-full use in %.
    Check {
        strict: bool,
        threshold: u8,
    },
    Dump,
    Completion(Shell),
    /// The plugin's version; unless `client`, the MetalLB release found in the input too.
    Version {
        client: bool,
    },
    /// The global flags.
    Options,
    /// What applying manifests would do; the input is the cluster before the change.
    Plan(PlanRequest),
}

/// `plan -f PROPOSED…`: the proposal put on top of the input (the base).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRequest {
    /// `-f`: the manifests proposed.
    pub proposed: Vec<PathBuf>,
    /// `--prune`: MetalLB objects of the base that the proposal lacks are deleted.
    pub prune: bool,
}

/// A service named on the command line, with its namespace resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
}

/// Where the snapshot comes from.
#[derive(Clone, Debug)]
pub enum Origin {
    /// `-f`: manifests; no cluster is contacted.
    Files(Vec<PathBuf>),
    /// Boxed: a kubeconfig is large beside a list of paths.
    Cluster(Box<Connection>),
}

/// How to reach the cluster, as kubectl's flags say it.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// The kubeconfig, read once (`None`: in-cluster configuration).
    pub kubeconfig: Option<Kubeconfig>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
    pub request_timeout: Option<Duration>,
    pub insecure_skip_tls_verify: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetallbFlags {
    /// `--metallb-namespace`.
    pub namespace: Option<String>,
    /// `--lb-class` (an empty value is no class).
    pub lb_class: Option<String>,
    /// `--metallb-version`: the release to model, whatever the input says.
    pub version: Option<Chosen>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    /// `--no-headers`.
    pub no_headers: bool,
    /// `--sort-by`: a path into each item of the command's main list.
    pub sort_by: Option<Template>,
}

/// The shells `completion` writes a script for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub const NAMES: [&'static str; 3] = ["bash", "zsh", "fish"];

    pub fn parse(name: &str) -> Option<Shell> {
        match name {
            "bash" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            _ => None,
        }
    }
}

/// What the process environment contributes.
#[derive(Clone, Copy, Debug)]
pub struct Environment {
    /// `NO_COLOR` is set to something.
    pub no_color: bool,
    /// Standard output is a terminal.
    pub stdout_is_terminal: bool,
}

impl Environment {
    pub fn current() -> Environment {
        Environment {
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            stdout_is_terminal: std::io::stdout().is_terminal(),
        }
    }
}

impl Settings {
    /// Decides everything once; a flag that does not apply to the command is an error,
    /// never silently ignored.
    pub fn resolve(cli: &Cli, env: Environment) -> Result<Settings> {
        let global = &cli.global;
        check_flags_apply(&cli.command, global)?;
        let input = match &cli.command {
            // For plan, -f is the proposal; the input is the base: --base, else the cluster.
            Command::Plan { base, .. } => Input::resolve_from(global, base)?,
            _ => Input::resolve(global)?,
        };
        let request = match &cli.command {
            Command::Usage {
                by_namespace: false,
                pools,
            } => Request::Usage {
                pools: pools.clone(),
            },
            Command::Usage {
                by_namespace: true, ..
            } => Request::UsageByNamespace {
                // -A: every namespace, as kubectl reads it.
                namespace: global.namespace.clone().filter(|_| !global.all_namespaces),
            },
            Command::Why { service } => Request::Why {
                service: ServiceRef {
                    namespace: input.namespace.clone(),
                    name: parse_service_ref(service)?,
                },
            },
            Command::Ips { words, free } => ips_request(words, *free)?,
            Command::Check { strict, threshold } => {
                if *threshold > 100 {
                    return Err(Error::Usage(format!(
                        "--threshold {threshold}: a use percentage, 0 to 100"
                    )));
                }
                Request::Check {
                    strict: *strict,
                    threshold: *threshold,
                }
            }
            Command::Dump => Request::Dump,
            Command::Version { client } => Request::Version { client: *client },
            Command::Options => Request::Options,
            Command::Completion { shell } => Request::Completion(
                Shell::parse(shell).ok_or_else(|| Error::Usage(format!("no shell {shell:?}")))?,
            ),
            Command::Plan { prune, .. } => Request::Plan(PlanRequest {
                proposed: split_filenames(&global.filenames),
                prune: *prune,
            }),
        };
        Ok(Settings {
            output: output(&request, global, env)?,
            input,
            request,
        })
    }

    pub fn offline(&self) -> bool {
        self.input.offline()
    }
}

impl Input {
    /// The input flags alone (shell completion has no complete command line).
    pub fn resolve(global: &GlobalArgs) -> Result<Input> {
        Input::resolve_from(global, &global.filenames)
    }

    /// The input flags, with the manifests read from `files` (offline when there are any).
    fn resolve_from(global: &GlobalArgs, files: &[PathBuf]) -> Result<Input> {
        let offline = !files.is_empty() || !global.kustomize.is_empty();
        if offline {
            refuse_live_only_flags(global)?;
        } else if global.max_input_size.is_some() {
            return Err(Error::Usage(format!(
                "{} applies to -f input, and without -f the cluster is read",
                ReadLimits::FLAG
            )));
        }
        if let Some(ns) = &global.namespace {
            check_namespace("-n", ns)?;
        }
        if let Some(ns) = &global.metallb_namespace {
            check_namespace("--metallb-namespace", ns)?;
        }
        let connection = connection(global, offline)?;
        let namespace = global
            .namespace
            .clone()
            .or_else(|| {
                let config = connection.kubeconfig.as_ref()?;
                kubeconfig::context_namespace(config, connection.context.as_deref())
            })
            .or_else(|| (!offline).then(kubeconfig::in_cluster_namespace).flatten())
            .unwrap_or_else(|| "default".to_string());
        Ok(Input {
            origin: if offline {
                Origin::Files(split_filenames(files))
            } else {
                Origin::Cluster(Box::new(connection))
            },
            metallb: MetallbFlags {
                namespace: global.metallb_namespace.clone(),
                lb_class: global.lb_class.clone().filter(|c| !c.is_empty()),
                version: global
                    .metallb_version
                    .as_deref()
                    .map(Release::parse)
                    .transpose()?,
            },
            namespace,
            kustomize: global.kustomize.clone(),
            read_limits: match &global.max_input_size {
                Some(size) => ReadLimits {
                    max_bytes: parse_size(size)?,
                },
                None => ReadLimits::default(),
            },
        })
    }

    pub fn offline(&self) -> bool {
        matches!(self.origin, Origin::Files(_))
    }
}

/// `ips` words: those that parse as an IP address are the address to look up (at most
/// one), the others pool names; a lookup takes neither pools nor `--free`.
fn ips_request(words: &[String], free: Option<usize>) -> Result<Request> {
    let (addresses, pools): (Vec<&String>, Vec<&String>) =
        words.iter().partition(|w| Ip::parse(w).is_some());
    let address = match addresses.as_slice() {
        [] => None,
        [one] => Ip::parse(one),
        more => {
            return Err(Error::Usage(format!(
                "ips looks up one address at a time, not {}",
                more.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    if address.is_some() && !pools.is_empty() {
        return Err(Error::Usage(
            "ips ADDRESS names no pool: the lookup says which pool holds the address".to_string(),
        ));
    }
    if address.is_some() && free.is_some() {
        return Err(Error::Usage(
            "--free lists free addresses per pool: give pools, not an address".to_string(),
        ));
    }
    Ok(Request::Ips {
        pools: pools.into_iter().cloned().collect(),
        address,
        free,
    })
}

/// The output format: `-o` checked against what the command writes.
fn output(request: &Request, global: &GlobalArgs, env: Environment) -> Result<Output> {
    let given = match &global.output {
        Some(name) => Some(Format::parse(name).map_err(Error::Usage)?),
        None => None,
    };
    // Two formats belong to one command each.
    match (request, &given) {
        (Request::Check { .. }, _) | (_, None) => {}
        (_, Some(Format::Junit)) => {
            return Err(Error::Usage(
                "-o junit is only for check: other commands write table, wide, json or yaml"
                    .to_string(),
            ));
        }
        _ => {}
    }
    match (request, &given) {
        (Request::Plan(_), _) | (_, None) => {}
        (_, Some(Format::Markdown)) => {
            return Err(Error::Usage(
                "-o markdown is written by plan only (a pull-request comment)".to_string(),
            ));
        }
        _ => {}
    }
    let format = match (request, given) {
        (Request::Dump, Some(Format::Json)) => Format::Json,
        (Request::Dump, Some(_)) => {
            return Err(Error::Usage(
                "dump writes manifests: YAML (the default) or JSON (-o json)".to_string(),
            ));
        }
        (Request::Dump, None) => Format::Yaml,
        (_, given) => given.unwrap_or(Format::Table),
    };
    if global.no_headers && !format.is_table() {
        return Err(Error::Usage(
            "--no-headers applies to tables (-o table, wide or custom-columns)".to_string(),
        ));
    }
    let sort_by = match &global.sort_by {
        Some(path) => Some(
            Template::relaxed(path)
                .map_err(|e| Error::Usage(format!("invalid --sort-by {path:?}: {e}")))?,
        ),
        None => None,
    };
    Ok(Output {
        format,
        color: !global.no_color && !env.no_color && env.stdout_is_terminal,
        no_headers: global.no_headers,
        sort_by,
    })
}

/// Flags that mean nothing for the command are refused, so that a typo'd intent is seen.
fn check_flags_apply(command: &Command, global: &GlobalArgs) -> Result<()> {
    let refuse = |flag: &str, why: &str| Err(Error::Usage(format!("{flag} {why}")));
    let namespace_given = global.namespace.is_some();
    match command {
        Command::Usage {
            by_namespace: true,
            pools,
        } if !pools.is_empty() => {
            return refuse(
                "usage --by-namespace",
                "shows every pool: name pools without --by-namespace",
            );
        }
        Command::Usage {
            by_namespace: false,
            ..
        } if namespace_given => {
            return refuse(
                "-n",
                "does not apply to usage: pools live in MetalLB's namespace (--metallb-namespace); \
                 usage --by-namespace -n NS shows what a namespace holds",
            );
        }
        Command::Ips { .. } | Command::Check { .. } if namespace_given => {
            return refuse(
                "-n",
                "does not apply to ips or check: they cover every namespace",
            );
        }
        _ if global.all_namespaces && namespace_given => {
            return refuse(
                "-A",
                "and -n cannot be used together: -A is every namespace",
            );
        }
        Command::Usage {
            by_namespace: false,
            ..
        } if global.all_namespaces => {
            return refuse(
                "-A",
                "does not apply to usage: pools live in MetalLB's namespace; \
                 usage --by-namespace -A shows every namespace",
            );
        }
        Command::Why { .. } if global.all_namespaces => {
            return refuse(
                "-A",
                "does not apply to why: it explains one service (-n NS)",
            );
        }
        Command::Why { .. } | Command::Dump if global.sort_by.is_some() => {
            return refuse("--sort-by", "applies to a command that lists (usage)");
        }
        Command::Dump if namespace_given || global.all_namespaces => {
            return refuse(
                "-n",
                "does not apply to dump: it writes everything MetalLB's answers depend on",
            );
        }
        Command::Plan { .. } if global.filenames.is_empty() => {
            return refuse(
                "plan",
                "needs the proposed manifests: -f PATH (the base is --base PATH, else the cluster)",
            );
        }
        Command::Plan { .. } if !global.kustomize.is_empty() => {
            return refuse(
                "-k",
                "does not apply to plan yet: render the proposal first (kubectl kustomize DIR > proposal.yaml) and give it with -f",
            );
        }
        Command::Completion { .. }
            if namespace_given
                || global.output.is_some()
                || !global.filenames.is_empty()
                || global.all_namespaces
                || global.sort_by.is_some()
                || global.no_headers =>
        {
            return refuse(
                "completion",
                "takes only the shell name (bash, zsh or fish)",
            );
        }
        _ => {}
    }
    if !global.as_group.is_empty() && global.as_user.is_none() {
        return refuse(
            "--as-group",
            "needs --as: a group is impersonated together with a user",
        );
    }
    Ok(())
}

/// `-f a.yaml,b.yaml` as kubectl reads it: each value a comma-separated list.
fn split_filenames(given: &[PathBuf]) -> Vec<PathBuf> {
    given
        .iter()
        .flat_map(|path| match path.to_str() {
            Some(text) if text.contains(',') => text
                .split(',')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect(),
            _ => vec![path.clone()],
        })
        .collect()
}

/// Flags of the live connection mean nothing with `-f`.
fn refuse_live_only_flags(global: &GlobalArgs) -> Result<()> {
    let live_only = [
        ("--cluster", global.cluster.is_some()),
        ("--user", global.user.is_some()),
        ("--as", global.as_user.is_some()),
        ("--as-group", !global.as_group.is_empty()),
        ("--request-timeout", global.request_timeout.is_some()),
        (
            "--insecure-skip-tls-verify",
            global.insecure_skip_tls_verify,
        ),
    ];
    match live_only.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(Error::Usage(format!(
            "{flag} applies to a live cluster, and with -f no cluster is contacted"
        ))),
        None => Ok(()),
    }
}

/// The connection flags, with the kubeconfig read once. Offline, the kubeconfig only gives
/// the default namespace: a missing or unreadable one is no error unless `--kubeconfig` or
/// `--context` asked for it.
fn connection(global: &GlobalArgs, offline: bool) -> Result<Connection> {
    let loaded = kubeconfig::load(global.kubeconfig.as_deref());
    let explicit = global.kubeconfig.is_some() || global.context.is_some();
    let config = match loaded {
        Err(_) if offline && !explicit => None,
        other => other?,
    };
    let names = kubeconfig::Names {
        context: global.context.as_deref(),
        cluster: global.cluster.as_deref(),
        user: global.user.as_deref(),
    };
    match &config {
        Some(config) => kubeconfig::check_names(config, &names)?,
        None if offline && global.context.is_some() => {
            return Err(Error::input(
                "kubeconfig",
                "--context names a context, and no kubeconfig was found to hold it",
            ));
        }
        None => {}
    }
    Ok(Connection {
        kubeconfig: config,
        context: global.context.clone(),
        cluster: global.cluster.clone(),
        user: global.user.clone(),
        as_user: global.as_user.clone(),
        as_groups: global.as_group.clone(),
        request_timeout: match &global.request_timeout {
            Some(text) => parse_duration(text)?,
            None => None,
        },
        insecure_skip_tls_verify: global.insecure_skip_tls_verify,
    })
}

/// kubectl's `--request-timeout`: a number of seconds or a duration like `1m30s`; 0 is none.
pub fn parse_duration(text: &str) -> Result<Option<Duration>> {
    let invalid = |why: &str| {
        Error::Usage(format!(
            "invalid --request-timeout {text:?}: {why} (use a duration such as 30s, 1m or 1m30s)"
        ))
    };
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok((seconds > 0).then(|| Duration::from_secs(seconds)));
    }
    let mut seconds = 0.0_f64;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit_seconds = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return Err(invalid("unknown unit")),
        };
        let value: f64 = number.parse().map_err(|_| invalid("not a number"))?;
        number.clear();
        seconds += value * unit_seconds;
    }
    if !number.is_empty() || text.is_empty() {
        return Err(invalid("a number needs a unit"));
    }
    let total = Duration::try_from_secs_f64(seconds).map_err(|_| invalid("too long"))?;
    Ok((!total.is_zero()).then_some(total))
}

/// `--max-input-size`: bytes, or a number with `Ki`, `Mi` or `Gi` (kubectl's quantity
/// suffixes for powers of two).
pub fn parse_size(text: &str) -> Result<u64> {
    let invalid = || {
        Error::Usage(format!(
            "invalid {} {text:?}: use a size such as 512Mi, 2Gi or 1048576",
            ReadLimits::FLAG
        ))
    };
    let (number, shift) = match text.trim() {
        t if t.ends_with("Ki") => (&t[..t.len() - 2], 10),
        t if t.ends_with("Mi") => (&t[..t.len() - 2], 20),
        t if t.ends_with("Gi") => (&t[..t.len() - 2], 30),
        t => (t, 0),
    };
    let value: u64 = number.parse().map_err(|_| invalid())?;
    value
        .checked_mul(1 << shift)
        .filter(|&bytes| bytes > 0)
        .ok_or_else(invalid)
}

/// `svc/NAME`, `service/NAME`, `services/NAME` or `NAME`.
pub fn parse_service_ref(text: &str) -> Result<String> {
    // kubectl reads resource names case-insensitively (`Service/x`, `SERVICES/x`).
    let kind = text
        .split_once('/')
        .map(|(kind, name)| (kind.to_ascii_lowercase(), name));
    let name = match kind.as_ref().map(|(k, n)| (k.as_str(), *n)) {
        Some(("svc" | "service" | "services", name)) => name,
        Some((kind, _)) => {
            return Err(Error::Usage(format!(
                "why explains services: use svc/NAME, not {kind}/…"
            )));
        }
        None => text,
    };
    if name.is_empty() {
        return Err(Error::Usage(format!(
            "{text:?} names no service: use svc/NAME"
        )));
    }
    check_service_name(name)?;
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse;

    const TERMINAL: Environment = Environment {
        no_color: false,
        stdout_is_terminal: true,
    };

    fn settings(args: &[&str]) -> Result<Settings> {
        let mut words = vec!["kubectl-metalpool"];
        words.extend(args);
        let cli = parse(&words).map_err(|e| Error::Usage(e.to_string()))?;
        Settings::resolve(&cli, TERMINAL)
    }

    fn usage_error(args: &[&str]) -> String {
        match settings(args) {
            Err(e @ Error::Usage(_)) => e.to_string(),
            other => panic!("{args:?} should be a usage error: {other:?}"),
        }
    }

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(parse_duration("0").unwrap(), None);
        assert_eq!(parse_duration("5").unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_duration("1m30s").unwrap(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_duration("250ms").unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_duration("1h").unwrap(),
            Some(Duration::from_secs(3600))
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("10s5").is_err());
    }

    #[test]
    fn an_absurd_duration_is_an_error_not_a_crash() {
        let e = parse_duration("99999999999999999999h").unwrap_err();
        assert!(e.to_string().contains("too long"), "{e}");
    }

    #[test]
    fn sizes_like_kubectl_quantities() {
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("512Mi").unwrap(), 512 << 20);
        assert_eq!(parse_size("2Gi").unwrap(), 2 << 30);
        assert_eq!(parse_size("4Ki").unwrap(), 4096);
        for bad in ["", "0", "-1", "1.5Gi", "1G", "99999999999999999999Gi", "Mi"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let s = settings(&["usage", "-f", "x", "--max-input-size", "1Gi"]).unwrap();
        assert_eq!(s.input.read_limits.max_bytes, 1 << 30);
        let s = settings(&["usage", "-f", "x"]).unwrap();
        assert_eq!(s.input.read_limits, ReadLimits::default());
        assert!(usage_error(&["usage", "--max-input-size", "1Gi"]).contains("applies to -f"));
    }

    #[test]
    fn service_references() {
        for ok in [
            "web",
            "svc/web",
            "service/web",
            "services/web",
            "Service/web",
            "SERVICES/web",
            "Svc/web",
        ] {
            assert_eq!(parse_service_ref(ok).unwrap(), "web");
        }
        assert!(parse_service_ref("deploy/web").is_err());
        assert!(parse_service_ref("svc/").is_err());
    }

    #[test]
    fn the_namespace_is_decided_once() {
        let s = settings(&["why", "svc/web", "-n", "team-a", "-f", "x.yaml"]).unwrap();
        assert_eq!(
            s.request,
            Request::Why {
                service: ServiceRef {
                    namespace: "team-a".into(),
                    name: "web".into()
                }
            }
        );
        // No -n and no kubeconfig: `default`.
        let s = settings(&[
            "why",
            "web",
            "-f",
            "x.yaml",
            "--kubeconfig",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ]);
        assert!(
            matches!(s, Err(Error::Input { .. })),
            "an explicit kubeconfig that cannot be read is an error: {s:?}"
        );
    }

    #[test]
    fn offline_the_context_namespace_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n\
             - name: a\n  context: {cluster: c, user: u, namespace: team-a}\n\
             - name: b\n  context: {cluster: c, user: u, namespace: team-b}\n\
             clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n\
             users:\n- name: u\n  user: {token: t}\n",
        )
        .unwrap();
        let path = path.to_str().unwrap();
        let s = settings(&["why", "web", "-f", "x.yaml", "--kubeconfig", path]).unwrap();
        assert_eq!(s.input.namespace, "team-a");
        let s = settings(&[
            "why",
            "web",
            "-f",
            "x.yaml",
            "--kubeconfig",
            path,
            "--context",
            "b",
        ])
        .unwrap();
        assert_eq!(s.input.namespace, "team-b");
        let s = settings(&[
            "why",
            "web",
            "-f",
            "x.yaml",
            "--kubeconfig",
            path,
            "-n",
            "x",
        ])
        .unwrap();
        assert_eq!(s.input.namespace, "x", "-n wins");
        assert!(matches!(
            settings(&[
                "why",
                "web",
                "-f",
                "x.yaml",
                "--kubeconfig",
                path,
                "--context",
                "nope"
            ]),
            Err(Error::Input { .. })
        ));
    }

    #[test]
    fn plan_reads_the_base_as_its_input_and_f_as_the_proposal() {
        let s = settings(&["plan", "--base", "cluster.yaml", "-f", "new/", "--prune"]).unwrap();
        assert_eq!(
            s.request,
            Request::Plan(PlanRequest {
                proposed: vec![PathBuf::from("new/")],
                prune: true,
            })
        );
        assert!(
            matches!(&s.input.origin, Origin::Files(base) if base == &[PathBuf::from("cluster.yaml")])
        );
        let live = settings(&["plan", "-f", "new/", "--kubeconfig", "/nonexistent"]);
        assert!(
            !matches!(
                live,
                Ok(Settings {
                    input: Input {
                        origin: Origin::Files(_),
                        ..
                    },
                    ..
                })
            ),
            "without --base the base is the cluster, not the proposal"
        );
        assert!(usage_error(&["plan", "--base", "cluster.yaml"]).contains("needs the proposed"));
        assert!(
            usage_error(&["plan", "--base", "c.yaml", "-f", "n/", "--as", "me"])
                .contains("--as applies to a live cluster")
        );
    }

    #[test]
    fn markdown_is_for_plan_only() {
        let s = settings(&["plan", "--base", "c.yaml", "-f", "n/", "-o", "markdown"]).unwrap();
        assert_eq!(s.output.format, Format::Markdown);
        assert!(usage_error(&["usage", "-f", "x", "-o", "markdown"]).contains("plan only"));
        assert!(usage_error(&["dump", "-f", "x", "-o", "markdown"]).contains("plan only"));
    }

    #[test]
    fn flags_that_do_not_apply_are_refused() {
        assert!(usage_error(&["usage", "--by-namespace", "public-ips"]).contains("--by-namespace"));
        assert!(usage_error(&["usage", "-n", "team-a", "-f", "x"]).contains("-n does not apply"));
        assert!(usage_error(&["dump", "-n", "team-a", "-f", "x"]).contains("dump"));
        assert!(usage_error(&["dump", "-o", "wide", "-f", "x"]).contains("manifests"));
        assert!(usage_error(&["completion", "bash", "-o", "json"]).contains("shell name"));
        for flag in [
            &["--cluster", "c"][..],
            &["--user", "u"],
            &["--as", "u"],
            &["--request-timeout", "5s"],
            &["--insecure-skip-tls-verify"],
        ] {
            let mut args = vec!["usage", "-f", "x.yaml"];
            args.extend(flag);
            assert!(
                usage_error(&args).contains("no cluster is contacted"),
                "{flag:?}"
            );
        }
        assert!(usage_error(&["usage", "--as-group", "g", "-f", "x"]).contains("needs --as"));
    }

    #[test]
    fn formats_per_command() {
        let s = settings(&["dump", "-f", "x"]).unwrap();
        assert_eq!(s.output.format, Format::Yaml);
        let s = settings(&["usage", "-f", "x"]).unwrap();
        assert_eq!(s.output.format, Format::Table);
        assert!(s.output.color, "a terminal without NO_COLOR");
        let s = settings(&["usage", "-f", "x", "--no-color", "-owide"]).unwrap();
        assert_eq!(s.output.format, Format::Wide);
        assert!(!s.output.color);
        let cli = parse(["kubectl-metalpool", "usage", "-f", "x"]).unwrap();
        let piped = Environment {
            no_color: false,
            stdout_is_terminal: false,
        };
        assert!(!Settings::resolve(&cli, piped).unwrap().output.color);
        let no_color = Environment {
            no_color: true,
            stdout_is_terminal: true,
        };
        assert!(!Settings::resolve(&cli, no_color).unwrap().output.color);
    }

    #[test]
    fn the_metallb_version_is_checked_once() {
        let s = settings(&["usage", "-f", "x", "--metallb-version", "v0.14.8"]).unwrap();
        assert_eq!(
            s.input.metallb.version.map(|c| c.release),
            Some(Release::V0_14_8)
        );
        let s = settings(&["usage", "-f", "x", "--metallb-version", "latest"]).unwrap();
        assert_eq!(
            s.input.metallb.version.map(|c| c.release),
            Some(Release::NEWEST)
        );
        assert_eq!(
            settings(&["usage", "-f", "x"])
                .unwrap()
                .input
                .metallb
                .version,
            None
        );
        for bad in ["v0.13.8", "v0.12.1", "0.14", "banana", ""] {
            let message = usage_error(&["usage", "-f", "x", "--metallb-version", bad]);
            assert!(
                message.contains("v0.13.9 to v0.16.1"),
                "{bad}: the supported range in {message}"
            );
        }
    }

    #[test]
    fn kubectl_output_habits_are_settings() {
        let s = settings(&["usage", "-f", "x", "-o", "name"]).unwrap();
        assert_eq!(s.output.format, Format::Name);
        let s = settings(&["usage", "-f", "x", "-o", "jsonpath={.pools[*].name}"]).unwrap();
        assert!(matches!(s.output.format, Format::JsonPath(_)));
        let s = settings(&[
            "usage",
            "-f",
            "x",
            "-o",
            "custom-columns=NAME:.name,FREE:free",
        ])
        .unwrap();
        assert!(matches!(&s.output.format, Format::CustomColumns(c) if c.len() == 2));
        let s = settings(&["usage", "-f", "x", "--no-headers", "--sort-by=free"]).unwrap();
        assert!(s.output.no_headers && s.output.sort_by.is_some());
        for (args, says) in [
            (
                &["usage", "-f", "x", "-o", "jsonpath={.pools"][..],
                "invalid jsonpath",
            ),
            (
                &["usage", "-f", "x", "-o", "custom-columns=NAME"],
                "HEADER:PATH",
            ),
            (&["usage", "-f", "x", "-o", "xml"], "unknown output format"),
            (
                &["usage", "-f", "x", "-o", "json", "--no-headers"],
                "tables",
            ),
            (&["usage", "-f", "x", "--sort-by", "{.a"], "--sort-by"),
            (&["why", "x", "-f", "x", "--sort-by", "free"], "--sort-by"),
            (&["usage", "-f", "x", "-A"], "-A does not apply"),
            (&["why", "x", "-f", "x", "-A"], "-A does not apply"),
            (
                &["usage", "--by-namespace", "-A", "-n", "a", "-f", "x"],
                "cannot be used together",
            ),
            (&["dump", "-f", "x", "-o", "name"], "manifests"),
        ] {
            let e = usage_error(args);
            assert!(e.contains(says), "{args:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn filenames_take_comma_lists_and_r_is_accepted() {
        let s = settings(&["usage", "-f", "a.yaml,b.yaml", "-f", "dir", "-R"]).unwrap();
        let Origin::Files(files) = &s.input.origin else {
            panic!("offline")
        };
        assert_eq!(
            files,
            &[
                PathBuf::from("a.yaml"),
                PathBuf::from("b.yaml"),
                PathBuf::from("dir")
            ]
        );
    }

    #[test]
    fn usage_by_namespace_keeps_the_filter() {
        let s = settings(&["usage", "--by-namespace", "-A", "-f", "x"]).unwrap();
        assert_eq!(s.request, Request::UsageByNamespace { namespace: None });
        let s = settings(&["usage", "--by-namespace", "-n", "team-a", "-f", "x"]).unwrap();
        assert_eq!(
            s.request,
            Request::UsageByNamespace {
                namespace: Some("team-a".into())
            }
        );
        let s = settings(&["usage", "--by-namespace", "-f", "x"]).unwrap();
        assert_eq!(s.request, Request::UsageByNamespace { namespace: None });
    }

    #[test]
    fn ips_words_are_pools_and_one_address() {
        let s = settings(&["ips", "public-ips", "dev-ips", "--free", "-f", "x"]).unwrap();
        assert_eq!(
            s.request,
            Request::Ips {
                pools: vec!["public-ips".into(), "dev-ips".into()],
                address: None,
                free: Some(5),
            }
        );
        let s = settings(&["ips", "--free=12", "-f", "x"]).unwrap();
        assert!(matches!(s.request, Request::Ips { free: Some(12), .. }));
        let s = settings(&["ips", "2001:db8::1", "-f", "x"]).unwrap();
        assert_eq!(
            s.request,
            Request::Ips {
                pools: vec![],
                address: Ip::parse("2001:db8::1"),
                free: None,
            }
        );
        assert!(usage_error(&["ips", "10.0.0.1", "10.0.0.2", "-f", "x"]).contains("one address"));
        assert!(usage_error(&["ips", "p", "10.0.0.1", "-f", "x"]).contains("names no pool"));
        assert!(usage_error(&["ips", "10.0.0.1", "--free", "-f", "x"]).contains("--free"));
        assert!(usage_error(&["ips", "-n", "a", "-f", "x"]).contains("-n"));
    }

    #[test]
    fn check_flags_and_junit_only_for_check() {
        let s = settings(&["check", "-f", "x"]).unwrap();
        assert_eq!(
            s.request,
            Request::Check {
                strict: false,
                threshold: 90
            }
        );
        let s = settings(&[
            "check",
            "--strict",
            "--threshold",
            "75",
            "-o",
            "junit",
            "-f",
            "x",
        ])
        .unwrap();
        assert_eq!(
            s.request,
            Request::Check {
                strict: true,
                threshold: 75
            }
        );
        assert_eq!(s.output.format, Format::Junit);
        assert!(usage_error(&["check", "--threshold", "101", "-f", "x"]).contains("0 to 100"));
        for command in [&["usage"][..], &["ips"], &["why", "web"], &["dump"]] {
            let mut args = command.to_vec();
            args.extend(["-o", "junit", "-f", "x"]);
            assert!(usage_error(&args).contains("only for check"), "{args:?}");
        }
    }
}
