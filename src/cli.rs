//! Command-line flags (clap) and their resolution into [`Settings`]. Nothing else in the
//! crate knows about clap.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::render::Format;

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
    /// Output format
    #[arg(short = 'o', long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,
    /// Offline mode: a manifest file, a directory (recursive) or - for stdin; repeatable
    #[arg(short = 'f', long = "filename", global = true, value_name = "PATH")]
    pub filenames: Vec<PathBuf>,
    /// Namespace MetalLB reads its configuration from (default: detected, else metallb-system)
    #[arg(long, global = true, value_name = "NS")]
    pub metallb_namespace: Option<String>,
    /// The --lb-class MetalLB's controller runs with (default: read from the controller)
    #[arg(long, global = true, value_name = "NAME")]
    pub lb_class: Option<String>,
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
    #[arg(long, global = true, value_name = "DURATION", default_value = "0")]
    pub request_timeout: String,
    /// Do not verify the server's certificate (insecure)
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every pool: addresses, size, used, free, use %, auto-assign, priority, scope, advertisements
    #[command(help_template = HELP, after_help = "Examples:
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
    #[command(help_template = HELP, after_help = "Examples:
  kubectl metalpool why svc/web -n team-a
  kubectl metalpool why web -n team-a -o json
  kubectl metalpool why svc/trading-api -n trading -f examples/")]
    Why {
        /// The service: svc/NAME, service/NAME, services/NAME or NAME
        #[arg(value_name = "SERVICE")]
        service: String,
    },
    /// Write what was read as a `kind: List` (YAML, or JSON with -o json) that -f reads back
    #[command(help_template = HELP, after_help = "Examples:
  # Attach to a bug report, or analyse offline later
  kubectl metalpool dump > cluster.yaml
  kubectl metalpool why svc/web -n team-a -f cluster.yaml")]
    Dump,
    /// Print a shell completion script (bash, zsh or fish) for kubectl-metalpool
    #[command(help_template = HELP, after_help = "Examples:
  source <(kubectl-metalpool completion bash)
  kubectl-metalpool completion zsh > \"${fpath[1]}/_kubectl-metalpool\"
  kubectl-metalpool completion fish | source

Through kubectl (>= 1.26), `kubectl metalpool <TAB>` completes once kubectl_complete-metalpool
(shipped beside the binary) is on PATH.")]
    Completion {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        }
    }
}

/// What the command will do, resolved from the flags and the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    pub format: Format,
    pub color: bool,
    pub files: Vec<PathBuf>,
    pub metallb_namespace: Option<String>,
    pub lb_class: Option<String>,
    pub namespace: Option<String>,
    pub connection: Connection,
}

/// How to reach the cluster (live mode only).
#[derive(Clone, Debug, Default)]
pub struct Connection {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
    pub request_timeout: Option<Duration>,
    pub insecure_skip_tls_verify: bool,
}

impl Settings {
    pub fn resolve(global: &GlobalArgs) -> Result<Settings> {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ok(Settings {
            format: global.output.unwrap_or(Format::Table),
            color: !global.no_color && !no_color_env && std::io::stdout().is_terminal(),
            files: global.filenames.clone(),
            metallb_namespace: global.metallb_namespace.clone(),
            lb_class: global.lb_class.clone().filter(|c| !c.is_empty()),
            namespace: global.namespace.clone(),
            connection: Connection {
                kubeconfig: global.kubeconfig.clone(),
                context: global.context.clone(),
                cluster: global.cluster.clone(),
                user: global.user.clone(),
                as_user: global.as_user.clone(),
                as_groups: global.as_group.clone(),
                request_timeout: parse_duration(&global.request_timeout)?,
                insecure_skip_tls_verify: global.insecure_skip_tls_verify,
            },
        })
    }

    pub fn offline(&self) -> bool {
        !self.files.is_empty()
    }
}

/// kubectl's `--request-timeout`: a number of seconds or a duration like `1m30s`; 0 is none.
pub fn parse_duration(text: &str) -> Result<Option<Duration>> {
    let invalid = || {
        Error::Usage(format!(
            "invalid --request-timeout {text:?}: use a duration such as 30s, 1m or 1m30s"
        ))
    };
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok((seconds > 0).then(|| Duration::from_secs(seconds)));
    }
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            "ms"
        } else {
            match c {
                'h' => "h",
                'm' => "m",
                's' => "s",
                _ => return Err(invalid()),
            }
        };
        let value: f64 = number.parse().map_err(|_| invalid())?;
        number.clear();
        let seconds = match unit {
            "h" => value * 3600.0,
            "m" => value * 60.0,
            "s" => value,
            _ => value / 1000.0,
        };
        total += Duration::from_secs_f64(seconds);
    }
    if !number.is_empty() || text.is_empty() {
        return Err(invalid());
    }
    Ok((!total.is_zero()).then_some(total))
}

/// `svc/NAME`, `service/NAME`, `services/NAME` or `NAME`.
pub fn parse_service_ref(text: &str) -> Result<String> {
    let name = match text.split_once('/') {
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
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn service_references() {
        for ok in ["web", "svc/web", "service/web", "services/web"] {
            assert_eq!(parse_service_ref(ok).unwrap(), "web");
        }
        assert!(parse_service_ref("deploy/web").is_err());
        assert!(parse_service_ref("svc/").is_err());
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
        assert_eq!(cli.global.output, Some(Format::Json));
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
        assert!(Cli::try_parse_from(["kubectl-metalpool", "usage", "-o", "xml"]).is_err());
    }
}
