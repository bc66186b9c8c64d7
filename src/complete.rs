//! Shell completion in cobra's protocol, the one kubectl (≥ 1.26) speaks with plugins: the
//! candidates, one per line (`value<TAB>description`), then `:<directive>`. kubectl runs
//! `kubectl_complete-metalpool ARGS… WORD`, which runs `kubectl-metalpool __complete ARGS… WORD`;
//! the scripts of `completion bash|zsh|fish` do the same for direct use.
//!
//! Which flags and subcommands exist is not written here: the [`Grammar`] is read off the
//! command-line definitions, so completion cannot fall behind them.

use std::io::Write;

use crate::error::Result;
use crate::settings::{Input, Origin, Shell};
use crate::snapshot::Snapshot;
use crate::source::cluster::{self, Names};
use crate::source::{files, files_namespaces, kubeconfig};

/// Cobra's directives (bit flags).
const DEFAULT: u8 = 0;
const NO_FILE: u8 = 4;

/// The flags and subcommands of the command line.
#[derive(Clone, Debug, Default)]
pub struct Grammar {
    /// The top level's flags, the global ones included.
    pub flags: Vec<FlagSpec>,
    pub subcommands: Vec<SubcommandSpec>,
}

#[derive(Clone, Debug, Default)]
pub struct FlagSpec {
    pub long: Option<String>,
    pub short: Option<char>,
    pub takes_value: bool,
    pub help: String,
    /// The values it accepts, when they are a fixed list.
    pub values: Vec<String>,
    /// Accepted before and after any subcommand.
    pub global: bool,
}

#[derive(Clone, Debug, Default)]
pub struct SubcommandSpec {
    pub name: String,
    pub about: String,
    /// Its own flags (the global ones are the top level's).
    pub flags: Vec<FlagSpec>,
    /// The values of its positional argument, when they are a fixed list.
    pub positional_values: Vec<String>,
}

impl FlagSpec {
    fn is(&self, word: &str) -> bool {
        match word.strip_prefix("--") {
            Some(long) => self.long.as_deref() == Some(long),
            None => {
                let mut chars = word.strip_prefix('-').unwrap_or_default().chars();
                matches!((chars.next(), chars.next()), (Some(c), None) if Some(c) == self.short)
            }
        }
    }
}

impl Grammar {
    fn subcommand(&self, name: &str) -> Option<&SubcommandSpec> {
        self.subcommands.iter().find(|s| s.name == name)
    }

    /// The flag a word names, in the scope of `subcommand`.
    fn flag(&self, subcommand: Option<&str>, word: &str) -> Option<&FlagSpec> {
        self.flags_in(subcommand).find(|f| f.is(word))
    }

    /// The flags accepted after `subcommand` (or at the top level).
    fn flags_in(&self, subcommand: Option<&str>) -> impl Iterator<Item = &FlagSpec> {
        let own: &[FlagSpec] = match subcommand.and_then(|s| self.subcommand(s)) {
            Some(sub) => &sub.flags,
            None => &[],
        };
        let top = self
            .flags
            .iter()
            .filter(move |f| f.global || subcommand.is_none());
        top.chain(own)
    }
}

/// The words typed before the cursor, read with the grammar.
#[derive(Default)]
struct Line {
    subcommand: Option<String>,
    positionals: Vec<String>,
}

fn read_line(grammar: &Grammar, words: &[String]) -> Line {
    let mut line = Line::default();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word.starts_with('-') {
            let takes_value = grammar
                .flag(line.subcommand.as_deref(), word)
                .is_some_and(|f| f.takes_value);
            if takes_value && !word.contains('=') {
                words.next();
            }
        } else if line.subcommand.is_none() {
            line.subcommand = Some(word.clone());
        } else {
            line.positionals.push(word.clone());
        }
    }
    line
}

/// Answers one completion request: `args` are the words after the plugin's name, the last one
/// being the word under the cursor (empty for a new word). `input` is what the words typed
/// so far say to read names from, when they say it clearly enough.
pub fn complete(
    grammar: &Grammar,
    input: Option<&Input>,
    args: &[String],
    out: &mut impl Write,
) -> Result<()> {
    let (current, before) = match args.split_last() {
        Some((current, before)) => (current.as_str(), before),
        None => ("", args),
    };
    let line = read_line(grammar, before);
    let scope = line.subcommand.as_deref();
    let previous = before.last().map(String::as_str).unwrap_or("");
    let value_of_previous = grammar
        .flag(scope, previous)
        .filter(|f| f.takes_value && !previous.contains('='));
    let (candidates, directive) = if let Some(flag) = value_of_previous {
        values_of(flag, "", input)
    } else if let Some((flag, spec)) = current
        .split_once('=')
        .and_then(|(f, _)| Some((f, grammar.flag(scope, f)?)))
        .filter(|(_, spec)| spec.takes_value)
    {
        values_of(spec, &format!("{flag}="), input)
    } else if current.starts_with('-') {
        (flags(grammar, scope), NO_FILE)
    } else {
        positionals(grammar, &line, input)
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

fn values_of(flag: &FlagSpec, prefix: &str, input: Option<&Input>) -> (Candidates, u8) {
    let prefixed = |values: Vec<String>| plain(values.into_iter().map(|v| format!("{prefix}{v}")));
    if !flag.values.is_empty() {
        return (prefixed(flag.values.clone()), NO_FILE);
    }
    match flag.long.as_deref().unwrap_or_default() {
        "namespace" | "metallb-namespace" => (prefixed(namespaces(input)), NO_FILE),
        "context" => (prefixed(contexts(input)), NO_FILE),
        "filename" | "kubeconfig" | "kustomize" | "base" => (Vec::new(), DEFAULT),
        _ => (Vec::new(), NO_FILE),
    }
}

/// Every flag of the scope, in its long form and, where it has one, its short form.
fn flags(grammar: &Grammar, scope: Option<&str>) -> Candidates {
    let mut candidates = Candidates::new();
    for flag in grammar.flags_in(scope) {
        if let Some(long) = &flag.long {
            candidates.push((format!("--{long}"), flag.help.clone()));
        }
        if let Some(short) = flag.short {
            candidates.push((format!("-{short}"), flag.help.clone()));
        }
    }
    candidates
}

fn positionals(grammar: &Grammar, line: &Line, input: Option<&Input>) -> (Candidates, u8) {
    let Some(name) = line.subcommand.as_deref() else {
        let subcommands = grammar
            .subcommands
            .iter()
            .filter(|s| s.name != "help")
            .map(|s| (s.name.clone(), s.about.clone()));
        return (subcommands.collect(), NO_FILE);
    };
    let Some(sub) = grammar.subcommand(name) else {
        return (Vec::new(), NO_FILE);
    };
    let taken = &line.positionals;
    let candidates = match name {
        "why" if taken.is_empty() => plain(services(input).into_iter().map(|s| format!("svc/{s}"))),
        "usage" | "ips" => plain(pools(input).into_iter().filter(|p| !taken.contains(p))),
        _ if taken.is_empty() => plain(sub.positional_values.clone()),
        _ => Vec::new(),
    };
    (candidates, NO_FILE)
}

/// Offline names come from the `-f` files; live ones from the cluster. Completion never
/// fails: what cannot be read completes nothing.
fn offline(input: &Input) -> Option<Snapshot> {
    match &input.origin {
        Origin::Files(paths) => {
            Some(files::read(paths, &files_namespaces(input)).unwrap_or_default())
        }
        Origin::Cluster(_) => None,
    }
}

fn from_cluster(input: &Input, what: Names) -> Vec<String> {
    match &input.origin {
        Origin::Cluster(connection) => cluster::names(connection, &what).unwrap_or_default(),
        Origin::Files(_) => Vec::new(),
    }
}

fn services(input: Option<&Input>) -> Vec<String> {
    let Some(input) = input else {
        return Vec::new();
    };
    match offline(input) {
        Some(snapshot) => sorted(
            snapshot
                .services
                .into_iter()
                .filter(|s| s.metadata.namespace == input.namespace)
                .map(|s| s.metadata.name),
        ),
        None => from_cluster(input, Names::Services(input.namespace.clone())),
    }
}

fn pools(input: Option<&Input>) -> Vec<String> {
    let Some(input) = input else {
        return Vec::new();
    };
    match offline(input) {
        Some(snapshot) => {
            let metallb = files_namespaces(input).metallb;
            sorted(
                snapshot
                    .pools
                    .into_iter()
                    .filter(|p| p.metadata.namespace == metallb)
                    .map(|p| p.metadata.name),
            )
        }
        None => from_cluster(input, Names::Pools),
    }
}

fn namespaces(input: Option<&Input>) -> Vec<String> {
    let Some(input) = input else {
        return Vec::new();
    };
    match offline(input) {
        Some(snapshot) => sorted(
            snapshot
                .namespaces
                .into_iter()
                .map(|n| n.metadata.name)
                .chain(snapshot.services.into_iter().map(|s| s.metadata.namespace)),
        ),
        None => from_cluster(input, Names::Namespaces),
    }
}

fn contexts(input: Option<&Input>) -> Vec<String> {
    match input.map(|i| &i.origin) {
        Some(Origin::Cluster(connection)) => {
            kubeconfig::context_names(connection.kubeconfig.as_ref())
        }
        _ => Vec::new(),
    }
}

fn sorted(names: impl Iterator<Item = impl Into<String>>) -> Vec<String> {
    let mut names: Vec<String> = names.map(Into::into).collect();
    names.sort();
    names.dedup();
    names
}

/// `completion bash|zsh|fish`: a script that asks `kubectl-metalpool __complete`.
pub fn script(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => include_str!("completion/bash.sh"),
        Shell::Zsh => include_str!("completion/zsh.zsh"),
        Shell::Fish => include_str!("completion/fish.fish"),
    }
}
