//! Command-line flags, as clap reads them; [`crate::settings`] decides what they mean.
//! Nothing else in the crate knows about clap. The shell-completion grammar is derived from
//! the same definitions ([`grammar`]).

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, StringValueParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::complete::{FlagSpec, Grammar, SubcommandSpec};
use crate::render::Format;
use crate::settings::Shell;

const EXAMPLES: &str = "\
Examples:
  # Every pool: size, used, free, scope and advertisements
  kubectl metalpool usage

  # The same from manifests, before anything is applied
  kubectl metalpool usage -f ./metallb/ -f services.yaml

  # Why is this service <pending>?
  kubectl metalpool why svc/web -n team-a

  # Who holds what, per namespace
  kubectl metalpool usage --by-namespace";

/// kubectl's help layout: what it does, examples, flags, then the usage line.
const HELP: &str = "{about}{after-help}\n\n{all-args}\n\nUsage:\n  {usage}\n";

/// A command's own help, as kubectl lays it out: its own flags only, the global ones one
/// command away.
const COMMAND_HELP: &str = "{about}{after-help}\n\nOptions:\n{options}\n\n\
Use \"kubectl metalpool options\" for a list of global command-line options (applies to all commands).\n\n\
Usage:\n  {usage}\n";

#[derive(Debug, Parser)]
#[command(
    help_template = HELP,
    name = "kubectl-metalpool",
    bin_name = "kubectl metalpool",
    version,
    about = "See how full each MetalLB IPAddressPool is, and why a LoadBalancer service is pending.",
    long_about = "See how full each MetalLB IPAddressPool is, which service holds which address, and why a \
LoadBalancer service sits at EXTERNAL-IP <pending>.\n\nAnswers follow what MetalLB's controller really does; \
with -f they are computed from manifests, without contacting a cluster.",
    after_help = EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags with kubectl's spelling and meaning, accepted before or after the command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (else $KUBECONFIG, else ~/.kube/config, else in-cluster)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig cluster to use
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The kubeconfig user to use
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// Namespace of the service named by `why`; filters `usage --by-namespace`
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// Output format: table, wide, json, yaml, name, jsonpath=TEMPLATE or custom-columns=SPEC
    #[arg(short = 'o', long, global = true, value_name = "FORMAT", value_parser = FormatNames)]
    pub output: Option<String>,
    /// Tables without their header line
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// Sort the main list by a field, as a JSONPath (e.g. free, .used, {.name})
    #[arg(long, global = true, value_name = "PATH")]
    pub sort_by: Option<String>,
    /// Every namespace (where a command filters by namespace)
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Offline mode: manifest files (comma-separated or repeated), directories or - for stdin
    #[arg(short = 'f', long = "filename", global = true, value_name = "PATH")]
    pub filenames: Vec<PathBuf>,
    /// Offline mode: a kustomization directory, rendered by `kubectl kustomize DIR`; repeatable
    #[arg(short = 'k', long = "kustomize", global = true, value_name = "DIR")]
    pub kustomize: Vec<PathBuf>,
    /// Accepted as kubectl accepts it: directories given with -f are always read recursively
    #[arg(short = 'R', long, global = true)]
    pub recursive: bool,
    /// Namespace MetalLB reads its configuration from (default: detected, else metallb-system)
    #[arg(long, global = true, value_name = "NS")]
    pub metallb_namespace: Option<String>,
    /// The --lb-class MetalLB's controller runs with (default: read from the controller)
    #[arg(long, global = true, value_name = "NAME")]
    pub lb_class: Option<String>,
    /// The MetalLB release to model, vX.Y.Z or latest (default: detected, else the newest supported)
    #[arg(long, global = true, value_name = "VERSION")]
    pub metallb_version: Option<String>,
    /// Plain output without colours (also: NO_COLOR, or output that is not a terminal)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Username to impersonate for the operation
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Group to impersonate for the operation; repeatable
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// How long to wait for one server request (e.g. 10s, 1m; 0 = no limit)
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// Do not verify the server's certificate (insecure)
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,
    /// The most one -f input may hold (bytes, or with Ki, Mi, Gi; default 256Mi)
    #[arg(long, global = true, value_name = "SIZE")]
    pub max_input_size: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every pool: addresses, size, used, free, use %, auto-assign, priority, scope, advertisements
    #[command(help_template = COMMAND_HELP, after_help = "Examples:
  kubectl metalpool usage
  kubectl metalpool usage -o wide
  kubectl metalpool usage -o json | jq '.pools[] | {name, free}'
  kubectl metalpool usage --by-namespace -n team-a
  kubectl metalpool usage -f examples/")]
    Usage {
        /// Addresses held per namespace per pool (filtered by -n)
        #[arg(long)]
        by_namespace: bool,
        /// Show only these pools
        #[arg(value_name = "POOL")]
        pools: Vec<String>,
    },
    /// Pool by pool, what MetalLB does with a service and why
    #[command(help_template = COMMAND_HELP, after_help = "Examples:
  kubectl metalpool why svc/web -n team-a
  kubectl metalpool why web -n team-a -o json
  kubectl metalpool why svc/trading-api -n trading -f examples/")]
    Why {
        /// The service: svc/NAME, service/NAME, services/NAME or NAME
        #[arg(value_name = "SERVICE")]
        service: String,
    },
    /// Every address held by a service, with pool, holders, sharing key and state
    #[command(help_template = COMMAND_HELP, after_help = "Examples:
  # Who holds which address
  kubectl metalpool ips
  # Free ranges and the next addresses MetalLB would hand out, per pool
  kubectl metalpool ips public-ips --free
  kubectl metalpool ips --free=10 -o json
  # Who holds this address, or why nobody gets it
  kubectl metalpool ips 203.0.113.7")]
    Ips {
        /// Pool names, and at most one IP address to look up
        #[arg(value_name = "POOL|ADDRESS")]
        words: Vec<String>,
        /// Add each pool's free ranges and the next N addresses MetalLB would hand out
        #[arg(long, value_name = "N", num_args = 0..=1, require_equals = true,
              default_missing_value = "5")]
        free: Option<usize>,
    },
    /// Everything that is wrong or about to go wrong, in one pass (for CI as much as live)
    #[command(help_template = COMMAND_HELP, after_help = "Examples:
  kubectl metalpool check
  # In CI, on a GitOps repository, with a JUnit report
  kubectl metalpool check -f ./clusters/prod/ -o junit > metalpool.xml
  # Fail on warnings too, and call a pool full at 80%
  kubectl metalpool check --strict --threshold 80")]
    Check {
        /// Exit 1 on warnings too, not only on errors
        #[arg(long)]
        strict: bool,
        /// Use (percent) at which a pool is reported as nearly full
        #[arg(long, value_name = "PERCENT", default_value_t = 90)]
        threshold: u8,
    },
    /// What applying manifests would do to every pool and service, before it is done
    #[command(help_template = COMMAND_HELP, after_help = "Examples:
  # Against the live cluster
  kubectl metalpool plan -f ./metallb/

  # Offline, against manifests or a dump of the cluster
  kubectl metalpool plan --base cluster.yaml -f ./metallb/ --prune

  # As a pull-request comment; exit 1 when a service would lose or change its address
  kubectl metalpool plan --base cluster.yaml -f ./metallb/ -o markdown")]
    Plan {
        /// Offline: the cluster before the change, read like -f (repeatable); else the live cluster
        #[arg(long = "base", value_name = "PATH")]
        base: Vec<PathBuf>,
        /// Delete the MetalLB objects (pools, advertisements) of the base that -f does not contain
        #[arg(long)]
        prune: bool,
    },
    /// Write what was read as a `kind: List` (YAML, or JSON with -o json) that -f reads back
    #[command(help_template = COMMAND_HELP, after_help = "Examples:
  # Attach to a bug report, or analyse offline later
  kubectl metalpool dump > cluster.yaml
  kubectl metalpool why svc/web -n team-a -f cluster.yaml")]
    Dump,
    /// Print the plugin's version and the MetalLB release it finds (live, or in -f manifests)
    #[command(help_template = COMMAND_HELP, after_help = "Examples:
  kubectl metalpool version
  kubectl metalpool version --client
  kubectl metalpool version -f ./metallb/ -o json")]
    Version {
        /// Print the plugin's version only: read no cluster and no manifest
        #[arg(long)]
        client: bool,
    },
    /// Print the list of flags inherited by all commands
    #[command(help_template = COMMAND_HELP)]
    Options,
    /// Print a shell completion script (bash, zsh or fish) for kubectl-metalpool
    #[command(help_template = COMMAND_HELP, after_help = "Examples:
  source <(kubectl-metalpool completion bash)
  kubectl-metalpool completion zsh > \"${fpath[1]}/_kubectl-metalpool\"
  kubectl-metalpool completion fish | source

Through kubectl (>= 1.26), `kubectl metalpool <TAB>` completes once kubectl_complete-metalpool
(shipped beside the binary) is on PATH.")]
    Completion {
        #[arg(value_parser = PossibleValuesParser::new(Shell::NAMES))]
        shell: String,
    },
}

/// `-o`'s value as typed (settings reads it, templates included); its names are offered to
/// help and shell completion.
#[derive(Clone)]
struct FormatNames;

impl TypedValueParser for FormatNames {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Format::NAMES.iter().map(PossibleValue::new)))
    }
}

/// A command line that ends before any command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Early {
    /// Help or version: text for standard output.
    Print(String),
    /// A usage error, as one line.
    Usage(String),
}

/// Parses the process's command line (the program's name first).
pub fn parse_args<I, T>(words: I) -> Result<Cli, Early>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::error::ErrorKind;
    parse(words).map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Early::Print(e.render().to_string()),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let names: Vec<String> = grammar()
                .subcommands
                .into_iter()
                .map(|s| s.name)
                .filter(|n| n != "help")
                .collect();
            Early::Usage(format!(
                "a command is needed: {} (see --help)",
                names.join(", ")
            ))
        }
        _ => Early::Usage(format!("{} (see --help)", one_line(&e))),
    })
}

/// Parses a command line (the program's name first).
pub fn parse<I, T>(words: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(words)?;
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
}

/// The command line's definition as help shows it: a command's help lists its own flags,
/// and the global ones are listed by `options`, as kubectl does.
fn command() -> clap::Command {
    let command = Cli::command();
    // A subcommand that already has an argument of a global's id keeps it: hidden copies
    // are given before clap hands the global flags down.
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.clone().hide(true))
        .collect();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|n| n != "options")
        .collect();
    names.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| sub.args(hidden.iter().cloned()))
    })
}

/// `kubectl metalpool options`: the global flags, as `kubectl options` prints its own.
pub fn global_options() -> String {
    let mut command = Cli::command()
        .help_template("The following options can be passed to any command:\n\n{options}\n")
        .disable_help_flag(true)
        .disable_version_flag(true);
    command.render_help().to_string()
}

/// The global flags of a half-typed command line, for shell completion: parsed with errors
/// ignored; `None` when even that fails.
pub fn partial_globals(words: &[String]) -> Option<GlobalArgs> {
    let program = std::iter::once("kubectl-metalpool".to_string());
    let matches = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(program.chain(words.iter().cloned()))
        .ok()?;
    // Global flags typed after the subcommand are recorded in its matches.
    let scope = match matches.subcommand() {
        Some((_, sub)) => sub,
        None => &matches,
    };
    <GlobalArgs as clap::FromArgMatches>::from_arg_matches(scope).ok()
}

/// The flags and subcommands as shell completion offers them, read off the definitions
/// above so that completion can never miss a flag.
pub fn grammar() -> Grammar {
    let mut command = Cli::command();
    // Building adds --help and --version, and gives every subcommand the global flags.
    command.build();
    let flags_of = |c: &clap::Command| -> Vec<FlagSpec> {
        c.get_arguments()
            .filter(|a| !a.is_positional())
            .map(|a| FlagSpec {
                long: a.get_long().map(str::to_string),
                short: a.get_short(),
                takes_value: a.get_action().takes_values(),
                help: a
                    .get_help()
                    .map(|h| first_sentence(&h.to_string()))
                    .unwrap_or_default(),
                values: a
                    .get_possible_values()
                    .iter()
                    .map(|v| v.get_name().to_string())
                    .collect(),
                global: a.is_global_set(),
            })
            .collect()
    };
    Grammar {
        flags: flags_of(&command),
        subcommands: command
            .get_subcommands()
            .map(|sub| SubcommandSpec {
                name: sub.get_name().to_string(),
                about: sub
                    .get_about()
                    .map(|h| first_sentence(&h.to_string()))
                    .unwrap_or_default(),
                flags: flags_of(sub).into_iter().filter(|f| !f.global).collect(),
                positional_values: sub
                    .get_arguments()
                    .filter(|a| a.is_positional())
                    .flat_map(|a| a.get_possible_values())
                    .map(|v| v.get_name().to_string())
                    .collect(),
            })
            .collect(),
    }
}

/// A clap error as one line, built from what the error is (its kind and context), with
/// clap's suggestion when it has one.
fn one_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(list)) => Some(list.join(", ")),
        _ => None,
    };
    let suggestion = text(ContextKind::SuggestedArg)
        .or_else(|| text(ContextKind::SuggestedSubcommand))
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default();
    let main = match (e.kind(), text(ContextKind::InvalidArg)) {
        (ErrorKind::UnknownArgument, Some(arg)) => format!("unexpected argument '{arg}'"),
        (ErrorKind::InvalidSubcommand, _) => format!(
            "unknown command '{}'",
            text(ContextKind::InvalidSubcommand).unwrap_or_default()
        ),
        (ErrorKind::InvalidValue, Some(arg)) => {
            let valid = text(ContextKind::ValidValue)
                .map(|v| format!(" (possible values: {v})"))
                .unwrap_or_default();
            format!(
                "invalid value '{}' for '{arg}'{valid}",
                text(ContextKind::InvalidValue).unwrap_or_default()
            )
        }
        (ErrorKind::MissingRequiredArgument, Some(args)) => {
            format!("a required argument is missing: {args}")
        }
        (ErrorKind::ArgumentConflict, Some(arg)) => format!(
            "'{arg}' cannot be used with '{}'",
            text(ContextKind::PriorArg).unwrap_or_default()
        ),
        (ErrorKind::TooManyValues | ErrorKind::UnknownArgument, _) => {
            format!(
                "unexpected argument '{}'",
                text(ContextKind::InvalidValue).unwrap_or_default()
            )
        }
        // Other kinds carry no context worth more than clap's own first line.
        _ => e
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    };
    format!("{main}{suggestion}")
}

/// Help text reads best in a completion menu as its first clause, lower-cased.
fn first_sentence(help: &str) -> String {
    let line = help.lines().next().unwrap_or_default();
    let mut chars = line.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every flag of the command line completes, where it is accepted: the completion
    /// grammar is the command line's own.
    #[test]
    fn every_flag_completes() {
        let mut command = Cli::command();
        command.build();
        let scopes = std::iter::once((None, &command))
            .chain(command.get_subcommands().map(|s| (Some(s.get_name()), s)));
        for (scope, definition) in scopes {
            let mut words: Vec<&str> = scope.into_iter().collect();
            words.push("-");
            let lines = crate::app::tests::complete(&words);
            for arg in definition.get_arguments().filter(|a| !a.is_positional()) {
                for flag in arg
                    .get_long()
                    .map(|l| format!("--{l}"))
                    .into_iter()
                    .chain(arg.get_short().map(|c| format!("-{c}")))
                {
                    assert!(
                        lines
                            .iter()
                            .any(|l| l.split('\t').next() == Some(flag.as_str())),
                        "{flag} after {scope:?}: {lines:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn flags_parse_like_kubectl() {
        let cli = Cli::try_parse_from([
            "kubectl-metalpool",
            "why",
            "svc/web",
            "-n",
            "team-a",
            "-ojson",
            "-f",
            "a.yaml",
            "-f",
            "dir",
        ])
        .unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("team-a"));
        assert_eq!(cli.global.output.as_deref(), Some("json"));
        assert_eq!(cli.global.filenames.len(), 2);
        let cli = Cli::try_parse_from([
            "kubectl-metalpool",
            "--context",
            "prod",
            "usage",
            "-o",
            "wide",
            "--by-namespace",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Usage {
                by_namespace: true,
                ..
            }
        ));
        // -o is read by settings (templates included), not refused here.
        assert!(Cli::try_parse_from(["kubectl-metalpool", "usage", "-o", "xml"]).is_ok());
    }

    fn early(words: &[&str]) -> Early {
        let mut all = vec!["kubectl-metalpool"];
        all.extend(words);
        parse_args(all).expect_err("ends early")
    }

    #[test]
    fn usage_errors_are_one_line_from_the_error_kind() {
        assert_eq!(
            early(&["usage", "--bogus"]),
            Early::Usage("unexpected argument '--bogus' (see --help)".into())
        );
        assert_eq!(
            early(&["usag"]),
            Early::Usage("unknown command 'usag'; did you mean 'usage'? (see --help)".into())
        );
        assert_eq!(
            early(&[]),
            Early::Usage(
                "a command is needed: usage, why, ips, check, plan, dump, version, options, completion (see --help)".into()
            )
        );
        assert!(matches!(early(&["--help"]), Early::Print(text) if text.contains("Examples:")));
    }
}
