//! The plugin's errors, each one line for stderr, each mapped to the contract's exit code.

use std::fmt::Display;

use crate::snapshot::Service;

/// Exit codes of the command-line contract.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The command ran and found a problem it reports (a pending service that fits no pool).
    pub const PROBLEM: i32 = 1;
    /// Bad usage or unreadable input.
    pub const USAGE: i32 = 2;
    /// The cluster could not be reached or refused the request.
    pub const CLUSTER: i32 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that cannot be read: `where` is a file (with line and column when known).
    #[error("{place}: {message}")]
    Input { place: String, message: String },
    /// A command-line value that does not make sense.
    #[error("{0}")]
    Usage(String),
    #[error("service {namespace}/{name} not found{hint}")]
    ServiceNotFound {
        namespace: String,
        name: String,
        hint: String,
    },
    /// Reaching or reading the cluster failed; the message names what to do, and the
    /// client's own error, when there is one, is kept as the source.
    #[error("{message}")]
    Cluster {
        message: String,
        #[source]
        source: Option<Box<kube::Error>>,
    },
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    /// Service `namespace/name` is not in `services`; `kind` ("service", "LoadBalancer
    /// service") says what `services` holds, for the hint naming the namespaces where one
    /// of that name exists.
    pub fn service_not_found(
        services: &[Service],
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Error {
        let mut elsewhere: Vec<&str> = services
            .iter()
            .filter(|s| s.metadata.name == name)
            .map(|s| s.metadata.namespace.as_str())
            .collect();
        elsewhere.sort_unstable();
        let hint = match elsewhere.as_slice() {
            [] => String::new(),
            found => format!(
                " (a {kind} of that name exists in namespace {}: use -n)",
                found.join(", ")
            ),
        };
        Error::ServiceNotFound {
            namespace: namespace.to_string(),
            name: name.to_string(),
            hint,
        }
    }

    pub fn input(place: impl Display, message: impl Display) -> Error {
        Error::Input {
            place: place.to_string(),
            message: message.to_string(),
        }
    }

    /// A cluster failure that has no client error behind it.
    pub fn cluster(message: impl Into<String>) -> Error {
        Error::Cluster {
            message: message.into(),
            source: None,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } | Error::Usage(_) | Error::ServiceNotFound { .. } => exit::USAGE,
            Error::Cluster { .. } => exit::CLUSTER,
            Error::Output(_) => exit::USAGE,
        }
    }

    /// A closed pipe (`| head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes on one line, each said once.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::service;

    #[test]
    fn the_hint_names_the_namespaces_holding_that_name() {
        let services = [
            service("team-b", "batch"),
            service("team-a", "batch"),
            service("team-a", "web"),
        ];
        assert_eq!(
            Error::service_not_found(&services, "LoadBalancer service", "default", "batch")
                .to_string(),
            "service default/batch not found (a LoadBalancer service of that name exists in namespace team-a, team-b: use -n)"
        );
        assert_eq!(
            Error::service_not_found(&services, "service", "default", "api").to_string(),
            "service default/api not found"
        );
    }
}
