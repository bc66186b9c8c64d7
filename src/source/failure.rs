//! A failed API request: what it was for, why it failed — told apart by the kube error's
//! variant, the HTTP status and the types in its source chain, never by its wording — and
//! the one line that tells the user what to do.

use std::error::Error as StdError;
use std::time::Duration;

use crate::error::{Error, chain};

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The API server answered with an error status.
    Status { code: u16, message: String },
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
    /// Sorts a kube error by what it is.
    pub fn of(error: &kube::Error) -> Cause {
        match error {
            kube::Error::Api(status) => Cause::Status {
                code: status.code,
                message: status.message.clone(),
            },
            kube::Error::SerdeError(e) => Cause::Unreadable(e.to_string()),
            kube::Error::Auth(e) => Cause::Credentials(chain(e)),
            kube::Error::RustlsTls(e) => Cause::Tls(chain(e)),
            kube::Error::BuildRequest(e) => Cause::Request(e.to_string()),
            kube::Error::HttpError(e) => Cause::Request(e.to_string()),
            other => Cause::of_transport(other),
        }
    }

    /// Transport failures come wrapped in hyper's and tower's errors: the types down the
    /// chain of causes say what happened.
    fn of_transport(error: &(dyn StdError + 'static)) -> Cause {
        let text = chain(error);
        let mut causes = Vec::new();
        causes_of(error, &mut causes);
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
}

impl Failure {
    pub fn new(verb: &'static str, resource: &str, namespace: Option<&str>, cause: Cause) -> Self {
        Failure {
            cause,
            verb,
            resource: resource.to_string(),
            namespace: namespace.map(str::to_string),
            error: None,
        }
    }

    pub fn from_kube(
        verb: &'static str,
        resource: &str,
        namespace: Option<&str>,
        error: kube::Error,
    ) -> Self {
        Failure {
            error: Some(error),
            ..Failure::new(verb, resource, namespace, Cause::Request(String::new()))
        }
        .classified()
    }

    fn classified(mut self) -> Self {
        if let Some(e) = &self.error {
            self.cause = Cause::of(e);
        }
        self
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
            Cause::Status { code: 404, .. } if self.resource.ends_with("metallb.io") => format!(
                "MetalLB CRDs are not installed: the server has no {} (is MetalLB installed in this cluster?)",
                self.resource
            ),
            Cause::Status { code, message } => format!("{what} failed: {code} {message}"),
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
            Cause::Credentials(m) => {
                format!("cannot get credentials for the API server at {server}: {m}")
            }
            Cause::Request(m) => format!("cannot build the request to {what}: {m}"),
        };
        Error::Cluster {
            message,
            source: self.error.map(Box::new),
        }
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
            Cause::of(&api(403, "timed out certificate")),
            Cause::Status {
                code: 403,
                message: "timed out certificate".into()
            }
        );
    }

    #[test]
    fn transport_errors_are_told_apart_by_type() {
        let timeout = std::io::Error::new(std::io::ErrorKind::TimedOut, "whatever");
        assert!(matches!(Cause::of(&transport(timeout)), Cause::TimedOut(_)));
        let tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(matches!(Cause::of(&transport(tls)), Cause::Tls(_)));
        // As the connector reports it: an I/O error inside an I/O error.
        let nested = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
        ));
        assert!(matches!(Cause::of(&transport(nested)), Cause::Tls(_)));
        // Words alone decide nothing: a refused connection that mentions TLS is unreachable.
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tls certificate handshake timed out",
        );
        assert!(matches!(
            Cause::of(&transport(refused)),
            Cause::Unreachable(_)
        ));
        let garbage = serde_json::from_str::<u8>("<html>").unwrap_err();
        assert!(matches!(
            Cause::of(&kube::Error::SerdeError(garbage)),
            Cause::Unreadable(_)
        ));
    }

    #[test]
    fn each_cause_is_one_line_with_what_to_do() {
        let failure = |e| Failure::from_kube("list", "ipaddresspools.metallb.io", None, e);
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
