//! Shell completion in cobra's protocol, the one kubectl (≥ 1.26) speaks with plugins: the
//! candidates, one per line (`value<TAB>description`), then `:<directive>`. kubectl runs
//! `kubectl_complete-metalpool ARGS… WORD`, which runs `kubectl-metalpool __complete ARGS… WORD`;
//! the scripts of `completion bash|zsh|fish` do the same for direct use.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::Connection;
use crate::error::Result;
use crate::source::cluster::{self, Names};
use crate::source::{DEFAULT_METALLB_NAMESPACE, files};

/// Cobra's directives (bit flags).
const DEFAULT: u8 = 0;
const NO_FILE: u8 = 4;

const SUBCOMMANDS: [(&str, &str); 4] = [
    (
        "usage",
        "every pool: size, used, free, scope, advertisements",
    ),
    ("why", "what MetalLB does with a service, pool by pool"),
    ("dump", "write what was read as a List that -f reads back"),
    (
        "completion",
        "shell completion script for bash, zsh or fish",
    ),
];

/// Global flags taking a value.
const VALUE_FLAGS: [&str; 13] = [
    "--kubeconfig",
    "--context",
    "--cluster",
    "--user",
    "-n",
    "--namespace",
    "-o",
    "--output",
    "-f",
    "--filename",
    "--metallb-namespace",
    "--lb-class",
    "--as",
];
const MORE_VALUE_FLAGS: [&str; 2] = ["--as-group", "--request-timeout"];

const GLOBAL_FLAGS: [(&str, &str); 17] = [
    ("--kubeconfig", "path to the kubeconfig file"),
    ("--context", "the kubeconfig context to use"),
    ("--cluster", "the kubeconfig cluster to use"),
    ("--user", "the kubeconfig user to use"),
    (
        "--namespace",
        "namespace of the service (why), filter (usage --by-namespace)",
    ),
    ("--output", "table, wide, json or yaml"),
    (
        "--filename",
        "offline: manifests to read instead of a cluster",
    ),
    (
        "--metallb-namespace",
        "namespace MetalLB reads its configuration from",
    ),
    ("--lb-class", "the --lb-class MetalLB runs with"),
    ("--no-color", "plain output"),
    ("--as", "username to impersonate"),
    ("--as-group", "group to impersonate"),
    ("--request-timeout", "how long to wait for one request"),
    (
        "--insecure-skip-tls-verify",
        "do not verify the server's certificate",
    ),
    ("--help", "help for the command"),
    ("-n", "namespace"),
    ("-o", "output format"),
];

/// The words typed so far, read the way the real parser would.
#[derive(Default)]
struct Line {
    subcommand: Option<String>,
    positionals: Vec<String>,
    namespace: Option<String>,
    files: Vec<PathBuf>,
    metallb_namespace: Option<String>,
    connection: Connection,
}

fn takes_value(flag: &str) -> bool {
    VALUE_FLAGS.contains(&flag) || MORE_VALUE_FLAGS.contains(&flag)
}

fn parse(words: &[String]) -> Line {
    let mut line = Line::default();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
            _ => (word.as_str(), None),
        };
        if flag.starts_with('-') && takes_value(flag) {
            let value = inline.or_else(|| {
                i += 1;
                words.get(i).cloned()
            });
            if let Some(value) = value {
                match flag {
                    "-n" | "--namespace" => line.namespace = Some(value),
                    "-f" | "--filename" => line.files.push(PathBuf::from(value)),
                    "--metallb-namespace" => line.metallb_namespace = Some(value),
                    "--kubeconfig" => line.connection.kubeconfig = Some(PathBuf::from(value)),
                    "--context" => line.connection.context = Some(value),
                    "--cluster" => line.connection.cluster = Some(value),
                    "--user" => line.connection.user = Some(value),
                    "--as" => line.connection.as_user = Some(value),
                    "--as-group" => line.connection.as_groups.push(value),
                    _ => {}
                }
            }
        } else if !flag.starts_with('-') {
            match line.subcommand {
                None => line.subcommand = Some(word.clone()),
                Some(_) => line.positionals.push(word.clone()),
            }
        }
        i += 1;
    }
    line
}

/// Answers one completion request: `args` are the words after the plugin's name, the last one
/// being the word under the cursor (empty for a new word).
pub fn complete(args: &[String], out: &mut impl Write) -> Result<()> {
    let (current, before) = match args.split_last() {
        Some((current, before)) => (current.as_str(), before),
        None => ("", args),
    };
    let line = parse(before);
    let previous = before.last().map(String::as_str).unwrap_or("");
    let (candidates, directive) = if takes_value(previous) && !previous.contains('=') {
        values_of(previous, "", &line)
    } else if let Some((flag, _)) = current
        .split_once('=')
        .filter(|(f, _)| f.starts_with('-') && takes_value(f))
    {
        values_of(flag, &format!("{flag}="), &line)
    } else if current.starts_with('-') {
        (flags_for(line.subcommand.as_deref()), NO_FILE)
    } else {
        positionals(&line)
    };
    for (value, description) in candidates.iter().filter(|(v, _)| v.starts_with(current)) {
        if description.is_empty() {
            writeln!(out, "{value}")?;
        } else {
            writeln!(out, "{value}\t{description}")?;
        }
    }
    writeln!(out, ":{directive}")?;
    Ok(())
}

type Candidates = Vec<(String, String)>;

fn plain(values: impl IntoIterator<Item = String>) -> Candidates {
    values.into_iter().map(|v| (v, String::new())).collect()
}

fn values_of(flag: &str, prefix: &str, line: &Line) -> (Candidates, u8) {
    let prefixed = |values: Vec<String>| plain(values.into_iter().map(|v| format!("{prefix}{v}")));
    match flag {
        "-o" | "--output" => (
            prefixed(["table", "wide", "json", "yaml"].map(String::from).to_vec()),
            NO_FILE,
        ),
        "-n" | "--namespace" | "--metallb-namespace" => (prefixed(namespaces(line)), NO_FILE),
        "--context" => (
            prefixed(cluster::names(&line.connection, &Names::Contexts).unwrap_or_default()),
            NO_FILE,
        ),
        "-f" | "--filename" | "--kubeconfig" => (Vec::new(), DEFAULT),
        _ => (Vec::new(), NO_FILE),
    }
}

fn flags_for(subcommand: Option<&str>) -> Candidates {
    let mut flags: Candidates = GLOBAL_FLAGS
        .iter()
        .map(|(f, d)| (f.to_string(), d.to_string()))
        .collect();
    if subcommand == Some("usage") {
        flags.push((
            "--by-namespace".into(),
            "addresses held per namespace per pool".into(),
        ));
    }
    if subcommand.is_none() {
        flags.push(("--version".into(), "print the version".into()));
    }
    flags
}

fn positionals(line: &Line) -> (Candidates, u8) {
    match line.subcommand.as_deref() {
        None => (
            SUBCOMMANDS
                .iter()
                .map(|(c, d)| (c.to_string(), d.to_string()))
                .collect(),
            NO_FILE,
        ),
        Some("why") if line.positionals.is_empty() => {
            let services = services(line).into_iter().map(|name| format!("svc/{name}"));
            (plain(services), NO_FILE)
        }
        Some("usage") => {
            let taken = &line.positionals;
            (
                plain(pools(line).into_iter().filter(|p| !taken.contains(p))),
                NO_FILE,
            )
        }
        Some("completion") if line.positionals.is_empty() => {
            (plain(["bash", "zsh", "fish"].map(String::from)), NO_FILE)
        }
        _ => (Vec::new(), NO_FILE),
    }
}

/// Offline names come from the `-f` files; live ones from the cluster. Completion never
/// fails: what cannot be read completes nothing.
fn offline(line: &Line) -> Option<crate::snapshot::Snapshot> {
    if line.files.is_empty() {
        return None;
    }
    let namespaces = files::Namespaces {
        metallb: line
            .metallb_namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_METALLB_NAMESPACE.to_string()),
        default: line
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string()),
    };
    Some(files::read(&line.files, &namespaces).unwrap_or_default())
}

fn services(line: &Line) -> Vec<String> {
    match offline(line) {
        Some(snapshot) => {
            let ns = line.namespace.as_deref().unwrap_or("default");
            sorted(
                snapshot
                    .services
                    .iter()
                    .filter(|s| s.metadata.namespace == ns)
                    .map(|s| s.metadata.name.clone()),
            )
        }
        None => cluster::names(&line.connection, &Names::Services(line.namespace.clone()))
            .unwrap_or_default(),
    }
}

fn pools(line: &Line) -> Vec<String> {
    match offline(line) {
        Some(snapshot) => {
            let ns = line
                .metallb_namespace
                .as_deref()
                .unwrap_or(DEFAULT_METALLB_NAMESPACE);
            sorted(
                snapshot
                    .pools
                    .iter()
                    .filter(|p| p.metadata.namespace == ns)
                    .map(|p| p.metadata.name.clone()),
            )
        }
        None => cluster::names(&line.connection, &Names::Pools).unwrap_or_default(),
    }
}

fn namespaces(line: &Line) -> Vec<String> {
    match offline(line) {
        Some(snapshot) => sorted(
            snapshot
                .namespaces
                .iter()
                .map(|n| n.metadata.name.clone())
                .chain(
                    snapshot
                        .services
                        .iter()
                        .map(|s| s.metadata.namespace.clone()),
                ),
        ),
        None => cluster::names(&line.connection, &Names::Namespaces).unwrap_or_default(),
    }
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names.dedup();
    names
}

/// `completion bash|zsh|fish`: a script that asks `kubectl-metalpool __complete`.
pub fn script(shell: &str) -> Option<&'static str> {
    match shell {
        "bash" => Some(include_str!("completion/bash.sh")),
        "zsh" => Some(include_str!("completion/zsh.zsh")),
        "fish" => Some(include_str!("completion/fish.fish")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Vec<String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        complete(&args, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn subcommands_with_descriptions() {
        let lines = run(&[""]);
        assert!(lines.iter().any(|l| l.starts_with("usage\t")));
        assert!(lines.iter().any(|l| l.starts_with("why\t")));
        assert_eq!(lines.last().unwrap(), ":4");
        assert_eq!(
            run(&["wh"]),
            ["why\twhat MetalLB does with a service, pool by pool", ":4"]
        );
    }

    #[test]
    fn flags_and_their_values() {
        assert!(
            run(&["usage", "--by"])
                .iter()
                .any(|l| l.starts_with("--by-namespace"))
        );
        assert_eq!(
            run(&["usage", "-o", ""]),
            ["table", "wide", "json", "yaml", ":4"]
        );
        assert_eq!(run(&["usage", "--output=j"]), ["--output=json", ":4"]);
        assert_eq!(
            run(&["usage", "-f", ""]),
            [":0"],
            "file names are the shell's"
        );
        assert_eq!(run(&["completion", ""]), ["bash", "zsh", "fish", ":4"]);
    }

    #[test]
    fn names_from_manifests() {
        let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let lines = run(&["why", "-n", "team-b", "-f", examples, ""]);
        assert!(lines.contains(&"svc/batch".to_string()), "{lines:?}");
        assert!(
            !lines.iter().any(|l| l.contains("app-1")),
            "only team-b's services"
        );
        let lines = run(&["-f", examples, "usage", "team-"]);
        assert_eq!(lines, ["team-a-ips", "team-b-ips", ":4"]);
        let lines = run(&["why", "-f", examples, "-n", "team"]);
        assert!(lines.contains(&"team-a".to_string()) && lines.contains(&"team-b".to_string()));
    }

    #[test]
    fn parse_reads_values_in_both_forms() {
        let words: Vec<String> = ["--namespace=a", "why", "-f", "x.yaml", "svc/s"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let line = parse(&words);
        assert_eq!(line.namespace.as_deref(), Some("a"));
        assert_eq!(line.subcommand.as_deref(), Some("why"));
        assert_eq!(line.positionals, ["svc/s"]);
        assert_eq!(line.files, [PathBuf::from("x.yaml")]);
    }
}
