//! A failed API request: what it was for, why it failed — told apart by the kube error's
//! variant, the HTTP status and the types in its source chain, never by its wording — and
//! the one line that tells the user what to do.

use std::error::Error as StdError;
use std::time::Duration;

use crate::error::{Error, chain};

/// The reason kube gives the `Status` it makes up for an error body that is not one.
const NOT_A_STATUS: &str = "Failed to parse error data";

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The API server answered with an error status.
    Status { code: u16, message: String },
    /// An error answer that is no Kubernetes `Status`: something between the plugin and the
    /// API server (a proxy, a gateway) answered.
    NotKubernetes { code: u16, body: String },
    /// No answer in time: `--request-timeout`, or the connection's own timeouts.
    TimedOut(String),
    /// The TLS handshake failed (unknown CA, wrong name, expired certificate…).
    Tls(String),
    /// The server could not be reached (refused, unresolvable, reset…).
    Unreachable(String),
    /// The server answered with something that is not the JSON asked for.
    Unreadable(String),
    /// The kubeconfig's credentials could not be obtained (exec plugin, token file…).
    Credentials(String),
    /// The request could not even be built.
    Request(String),
}

impl Cause {
    /// Sorts a kube error by what it is. `plugin` is the kubeconfig's credential plugin
    /// (`exec.command`), named in what its failure says.
    pub fn of(error: &kube::Error, plugin: Option<&str>) -> Cause {
        match error {
            // kube rebuilds a Status from a body that is not one, with this reason. A 404 of
            // a group the server does not serve is plain text from the API server itself.
            kube::Error::Api(status) if status.reason == NOT_A_STATUS && status.code != 404 => {
                Cause::NotKubernetes {
                    code: status.code,
                    body: status.message.chars().take(200).collect(),
                }
            }
            kube::Error::Api(status) => Cause::Status {
                code: status.code,
                message: status.message.clone(),
            },
            kube::Error::SerdeError(e) => Cause::Unreadable(e.to_string()),
            kube::Error::Auth(e) => Cause::Credentials(credentials_failure(e, plugin)),
            kube::Error::RustlsTls(e) => Cause::Tls(chain(e)),
            kube::Error::BuildRequest(e) => Cause::Request(e.to_string()),
            kube::Error::HttpError(e) => Cause::Request(e.to_string()),
            other => match Cause::of_transport(other, plugin) {
                Cause::Unreachable(text) if is_body_failure(other) => Cause::Unreadable(text),
                cause => cause,
            },
        }
    }

    /// Transport failures come wrapped in hyper's and tower's errors: the types down the
    /// chain of causes say what happened.
    fn of_transport(error: &(dyn StdError + 'static), plugin: Option<&str>) -> Cause {
        let mut causes = Vec::new();
        causes_of(error, &mut causes);
        // Credentials are obtained inside the client's stack: their failure comes wrapped.
        if let Some(auth) = causes
            .iter()
            .find_map(|e| e.downcast_ref::<kube::client::AuthError>())
        {
            return Cause::Credentials(credentials_failure(auth, plugin));
        }
        let text = chain(error);
        if causes.iter().any(|e| e.is::<rustls::Error>()) {
            return Cause::Tls(text);
        }
        let timed_out = causes.iter().any(|e| {
            e.is::<tokio::time::error::Elapsed>()
                || e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        });
        if timed_out {
            return Cause::TimedOut(text);
        }
        Cause::Unreachable(text)
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Cause::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// The body of an answer could not be read (cut short, reset): the server was reached and
/// began to answer. The client reports a failure to send a request as its own error
/// (`HyperError`) or inside the connection pool's; a body's failure is hyper's error alone,
/// boxed as a service error.
fn is_body_failure(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Service(inner) if inner.is::<hyper::Error>())
}

/// What kubectl says of a credential plugin that failed: the executable, its exit code and
/// its own stderr. Never the client's rendering of the command: it holds the plugin's
/// arguments and environment (secrets, the cluster's CA) and a debug dump of its output.
fn credentials_failure(error: &kube::client::AuthError, plugin: Option<&str>) -> String {
    use kube::client::AuthError;
    let executable = plugin.unwrap_or("the credential plugin");
    match error {
        AuthError::AuthExecRun { out, .. } => {
            let code = out
                .status
                .code()
                .map_or("a signal".to_string(), |c| format!("exit code {c}"));
            let stderr = String::from_utf8_lossy(&out.stderr);
            let said: Vec<&str> = stderr
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let said = match said.as_slice() {
                [] => String::new(),
                lines => format!(": {}", lines.join(" ")),
            };
            format!("executable {executable} failed with {code}{said}")
        }
        AuthError::AuthExecStart(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("executable {executable} not found (is it installed and on PATH?)")
        }
        AuthError::AuthExecStart(e) => format!("executable {executable} could not start: {e}"),
        AuthError::AuthExecParse(_) => {
            format!("executable {executable} printed no ExecCredential that can be read")
        }
        AuthError::ExecPluginFailed => {
            format!(
                "executable {executable} printed an ExecCredential with no token or certificate"
            )
        }
        // The other variants name files and token fields, never secret values.
        other => chain(other),
    }
}

/// Every cause of an error, the wrappers opened: a boxed error or an `io::Error` hides the
/// error it carries from `source()` (each reports its inner error's source instead).
fn causes_of<'a>(
    error: &'a (dyn StdError + 'static),
    found: &mut Vec<&'a (dyn StdError + 'static)>,
) {
    found.push(error);
    if let Some(inner) = error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        causes_of(inner, found);
    }
    if let Some(next) = error.source() {
        causes_of(next, found);
    }
}

/// What the API serves of a group, read from its discovery documents when a resource of it
/// was not found: a group served without what the plugin reads is not a group missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// `metallb.io`.
    pub group: String,
    /// The version the plugin reads (`v1beta1`).
    pub wanted: String,
    /// Each version served, preferred first, with its resources.
    pub versions: Vec<(String, Vec<String>)>,
}

impl Served {
    /// `metallb.io/v1beta2 (bgppeers), metallb.io/v1beta1 (communities)`.
    fn listed(&self) -> String {
        let versions: Vec<String> = self
            .versions
            .iter()
            .map(|(version, resources)| {
                let resources = match resources.as_slice() {
                    [] => "no resources".to_string(),
                    names => names.join(", "),
                };
                format!("{}/{version} ({resources})", self.group)
            })
            .collect();
        versions.join(", ")
    }
}

/// A failed request, with what it was for.
#[derive(Debug)]
pub struct Failure {
    pub cause: Cause,
    pub verb: &'static str,
    /// The resource, qualified by its group (`ipaddresspools.metallb.io`).
    pub resource: String,
    pub namespace: Option<String>,
    /// The client's own error, kept as the source of the user-facing one.
    pub error: Option<kube::Error>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// For a resource not found: what its group serves, when that was asked.
    pub served: Option<Served>,
}

impl Failure {
    pub fn new(verb: &'static str, resource: &str, namespace: Option<&str>, cause: Cause) -> Self {
        Failure {
            cause,
            verb,
            resource: resource.to_string(),
            namespace: namespace.map(str::to_string),
            error: None,
            attempts: 1,
            served: None,
        }
    }

    /// The failure of the last of `attempts` tries.
    pub fn after(self, attempts: u32) -> Self {
        Failure { attempts, ..self }
    }

    pub fn from_kube(
        verb: &'static str,
        resource: &str,
        namespace: Option<&str>,
        error: kube::Error,
        plugin: Option<&str>,
    ) -> Self {
        Failure {
            cause: Cause::of(&error, plugin),
            error: Some(error),
            ..Failure::new(verb, resource, namespace, Cause::Request(String::new()))
        }
    }

    pub fn timed_out(
        verb: &'static str,
        resource: &str,
        namespace: Option<&str>,
        limit: Duration,
    ) -> Self {
        Failure::new(
            verb,
            resource,
            namespace,
            Cause::TimedOut(format!("no answer within {}", humanize(limit))),
        )
    }

    pub fn status(&self) -> Option<u16> {
        self.cause.status()
    }

    /// A 403 that refuses impersonation (`--as`), not the request itself: the API server
    /// says so in its message, the only place it does.
    pub fn is_impersonation(&self) -> bool {
        matches!(&self.cause, Cause::Status { code: 403, message } if message.contains("cannot impersonate"))
    }

    /// The failure in a few words, for notes about what could not be read.
    pub fn short(&self) -> String {
        match &self.cause {
            Cause::Status { code, message } => format!("{code}: {message}"),
            Cause::NotKubernetes { code, body } => format!("{code}: {body}"),
            Cause::TimedOut(m)
            | Cause::Tls(m)
            | Cause::Unreachable(m)
            | Cause::Unreadable(m)
            | Cause::Credentials(m)
            | Cause::Request(m) => m.clone(),
        }
    }

    /// One line saying what failed and what to do.
    pub fn into_error(self, server: &str) -> Error {
        let scope = match &self.namespace {
            Some(ns) => format!("in namespace {ns}"),
            None => "in all namespaces".to_string(),
        };
        let what = format!("{} {} {scope}", self.verb, self.resource);
        let message = match &self.cause {
            Cause::Status { code: 401, .. } => format!(
                "the API server at {server} rejected the credentials (401 Unauthorized): log in again or check the kubeconfig user"
            ),
            Cause::Status { code: 403, message } if self.is_impersonation() => format!(
                "forbidden: impersonation (--as/--as-group) is not allowed for the kubeconfig user ({message})"
            ),
            Cause::Status { code: 403, message } => format!(
                "forbidden: RBAC does not allow {what} ({message}); grant it, see the ClusterRole in docs/rbac.yaml"
            ),
            Cause::Status { code: 404, .. } if self.resource.ends_with("metallb.io") => {
                match self.served.as_ref().filter(|s| !s.versions.is_empty()) {
                    Some(served) => format!(
                        "MetalLB's API is served, but not what the plugin reads: the server has {} and no {}/{}, which the plugin needs (the CRDs of MetalLB v0.13 or later)",
                        served.listed(),
                        self.resource,
                        served.wanted
                    ),
                    None => format!(
                        "MetalLB CRDs are not installed: the server has no {} (is MetalLB installed in this cluster?)",
                        self.resource
                    ),
                }
            }
            Cause::Status { code, message } if matches!(code, 429 | 503 | 504) => {
                let tries = match self.attempts {
                    1 => String::new(),
                    n => format!(", still after {n} attempts"),
                };
                format!(
                    "the API server at {server} is overloaded ({code}{tries}) and did not {what}: {message}"
                )
            }
            Cause::Status { code, message } => format!("{what} failed: {code} {message}"),
            Cause::NotKubernetes { code, body } => format!(
                "{what} was refused with {code} by something that is not the API server (a proxy or gateway between the plugin and {server}?): {body}"
            ),
            Cause::TimedOut(m) => format!(
                "the API server at {server} did not answer in time while trying to {what}: {m}"
            ),
            Cause::Tls(m) => format!(
                "TLS failure talking to the API server at {server}: {m} (is the kubeconfig's certificate-authority right? --insecure-skip-tls-verify skips the check)"
            ),
            Cause::Unreachable(m) => format!("cannot reach the API server at {server}: {m}"),
            Cause::Unreadable(m) => {
                format!("the API server at {server} sent an unreadable response to {what}: {m}")
            }
            Cause::Credentials(m) => credentials_line(server, m),
            Cause::Request(m) => format!("cannot build the request to {what}: {m}"),
        };
        Error::Cluster {
            message,
            source: self.error.map(Box::new),
        }
    }
}

fn credentials_line(server: &str, message: &str) -> String {
    format!("cannot get credentials for the API server at {server}: {message}")
}

/// The client could not be built (it runs the credential plugin as it is built).
pub fn client_error(error: kube::Error, server: &str, plugin: Option<&str>) -> Error {
    let message = match Cause::of(&error, plugin) {
        Cause::Credentials(m) => credentials_line(server, &m),
        _ => format!("cannot build the client: {}", chain(&error)),
    };
    Error::Cluster {
        message,
        source: Some(Box::new(error)),
    }
}

/// `5s`, `250ms`.
pub fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure(message, "Reason").with_code(code),
        ))
    }

    fn transport(inner: std::io::Error) -> kube::Error {
        kube::Error::Service(Box::new(inner))
    }

    #[test]
    fn statuses_are_read_from_the_status_not_the_text() {
        assert_eq!(
            Cause::of(&api(403, "timed out certificate"), None),
            Cause::Status {
                code: 403,
                message: "timed out certificate".into()
            }
        );
    }

    #[test]
    fn transport_errors_are_told_apart_by_type() {
        let timeout = std::io::Error::new(std::io::ErrorKind::TimedOut, "whatever");
        assert!(matches!(
            Cause::of(&transport(timeout), None),
            Cause::TimedOut(_)
        ));
        let tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(matches!(Cause::of(&transport(tls), None), Cause::Tls(_)));
        // As the connector reports it: an I/O error inside an I/O error.
        let nested = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
        ));
        assert!(matches!(Cause::of(&transport(nested), None), Cause::Tls(_)));
        // Words alone decide nothing: a refused connection that mentions TLS is unreachable.
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tls certificate handshake timed out",
        );
        assert!(matches!(
            Cause::of(&transport(refused), None),
            Cause::Unreachable(_)
        ));
        let garbage = serde_json::from_str::<u8>("<html>").unwrap_err();
        assert!(matches!(
            Cause::of(&kube::Error::SerdeError(garbage), None),
            Cause::Unreadable(_)
        ));
    }

    #[test]
    fn a_failing_credential_plugin_is_named_and_its_secrets_are_not() {
        use std::os::unix::process::ExitStatusExt;
        let run = kube::client::AuthError::AuthExecRun {
            cmd: "KUBERNETES_EXEC_INFO=\"{certificate-authority-data: LS0tQ0E=}\" \"get-token\" \"--client-secret=hunter2\"".into(),
            out: Box::new(std::process::Output {
                status: std::process::ExitStatus::from_raw(3 << 8),
                stdout: b"token: s3cr3t".to_vec(),
                stderr: b"error: login expired\n  run get-token login\n".to_vec(),
            }),
        };
        // As the client reports it: inside its service stack.
        let wrapped = kube::Error::Service(Box::new(run));
        let Cause::Credentials(text) = Cause::of(&wrapped, Some("get-token")) else {
            panic!("a credentials failure");
        };
        assert_eq!(
            text,
            "executable get-token failed with exit code 3: error: login expired run get-token login"
        );
        let missing = kube::client::AuthError::AuthExecStart(std::io::Error::from(
            std::io::ErrorKind::NotFound,
        ));
        assert_eq!(
            Cause::of(&kube::Error::Auth(missing), Some("get-token")),
            Cause::Credentials(
                "executable get-token not found (is it installed and on PATH?)".into()
            )
        );
        assert_eq!(
            Cause::of(
                &kube::Error::Auth(kube::client::AuthError::ExecPluginFailed),
                Some("get-token")
            ),
            Cause::Credentials(
                "executable get-token printed an ExecCredential with no token or certificate"
                    .into()
            )
        );
    }

    /// A 403 whose body is no Kubernetes Status comes from a proxy, not from RBAC.
    #[test]
    fn a_plain_text_refusal_is_not_rbac() {
        let plain = kube::Error::Api(Box::new(
            kube::core::Status::failure("Access denied by corporate policy", NOT_A_STATUS)
                .with_code(403),
        ));
        let line = Failure::from_kube("list", "services", None, plain, None)
            .into_error("https://k")
            .to_string();
        assert!(!line.contains("RBAC"), "{line}");
        assert!(line.contains("not the API server"), "{line}");
        assert!(line.contains("Access denied by corporate policy"), "{line}");
        let missing_group = kube::Error::Api(Box::new(
            kube::core::Status::failure("404 page not found", NOT_A_STATUS).with_code(404),
        ));
        let line = Failure::from_kube(
            "list",
            "ipaddresspools.metallb.io",
            None,
            missing_group,
            None,
        )
        .into_error("https://k")
        .to_string();
        assert!(line.starts_with("MetalLB CRDs are not installed"), "{line}");
    }

    /// A MetalLB resource not found in a group that is served otherwise: what is served and
    /// what is needed, not "not installed".
    #[test]
    fn a_metallb_group_served_without_the_resource_says_what_it_serves() {
        let missing = || {
            Failure::from_kube(
                "list",
                "ipaddresspools.metallb.io",
                None,
                api(404, ""),
                None,
            )
        };
        let mut failure = missing();
        failure.served = Some(Served {
            group: "metallb.io".into(),
            wanted: "v1beta1".into(),
            versions: vec![
                ("v1beta2".into(), vec!["bgppeers".into()]),
                ("v1beta1".into(), Vec::new()),
            ],
        });
        assert_eq!(
            failure.into_error("https://k").to_string(),
            "MetalLB's API is served, but not what the plugin reads: the server has metallb.io/v1beta2 (bgppeers), metallb.io/v1beta1 (no resources) and no ipaddresspools.metallb.io/v1beta1, which the plugin needs (the CRDs of MetalLB v0.13 or later)"
        );
        let mut failure = missing();
        failure.served = Some(Served::default());
        let line = failure.into_error("https://k").to_string();
        assert!(line.starts_with("MetalLB CRDs are not installed"), "{line}");
    }

    #[test]
    fn each_cause_is_one_line_with_what_to_do() {
        let failure = |e| Failure::from_kube("list", "ipaddresspools.metallb.io", None, e, None);
        let line = |e| failure(e).into_error("https://k").to_string();
        assert!(line(api(401, "")).contains("rejected the credentials"));
        assert!(
            line(api(403, "nope"))
                .contains("RBAC does not allow list ipaddresspools.metallb.io in all namespaces")
        );
        assert!(line(api(403, "user x cannot impersonate")).contains("impersonation"));
        assert!(line(api(404, "")).starts_with("MetalLB CRDs are not installed"));
        assert!(line(api(500, "boom")).contains("failed: 500 boom"));
        let garbage = serde_json::from_str::<u8>("<html>").unwrap_err();
        assert!(line(kube::Error::SerdeError(garbage)).contains("unreadable response"));
        let e = failure(api(403, "nope")).into_error("https://k");
        assert!(
            StdError::source(&e).is_some(),
            "the client's error is kept as the source"
        );
        let t = Failure::timed_out("get", "services", Some("a"), Duration::from_millis(1500));
        assert!(
            t.into_error("https://k")
                .to_string()
                .contains("no answer within 1500ms")
        );
    }
}
