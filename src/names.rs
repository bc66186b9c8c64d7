//! Kubernetes' naming rules for what the command line names, checked before a name is used:
//! a name that breaks them cannot exist, and must never reach a request path.

use crate::error::{Error, Result};

/// The longest DNS label.
const LABEL_MAX: usize = 63;

/// A namespace: a DNS-1123 label (lowercase letters, digits and `-`, starting and ending
/// with a letter or digit, at most 63 characters).
pub fn check_namespace(flag: &str, name: &str) -> Result<()> {
    if is_label(name, |c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "invalid {flag} {name:?}: a namespace is a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most {LABEL_MAX} characters)"
    )))
}

/// A Service name: a DNS-1035 label (as a namespace, but starting with a letter).
pub fn check_service_name(name: &str) -> Result<()> {
    if is_label(name, |c| c.is_ascii_lowercase()) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "invalid service name {name:?}: a service name is a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, ending with a letter or digit, at most {LABEL_MAX} characters)"
    )))
}

fn is_label(name: &str, first_allowed: impl Fn(char) -> bool) -> bool {
    let inner = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let end = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=LABEL_MAX).contains(&name.len())
        && name.chars().all(inner)
        && name.chars().next().is_some_and(first_allowed)
        && name.chars().last().is_some_and(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_dns_1123_labels() {
        for ok in ["default", "team-a", "0x", "a", &"a".repeat(63)] {
            assert!(check_namespace("-n", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../../apis",
            "Team",
            "a_b",
            "-a",
            "a-",
            "a.b",
            &"a".repeat(64),
            "a?b=c",
        ] {
            let e = check_namespace("-n", bad).unwrap_err();
            assert!(e.to_string().contains("DNS-1123 label"), "{bad}: {e}");
        }
    }

    #[test]
    fn service_names_are_dns_1035_labels() {
        for ok in ["web", "web-1", "a"] {
            assert!(check_service_name(ok).is_ok(), "{ok}");
        }
        for bad in ["1web", "a?b=c", "a#b", "../../apis/x", "Web", "web-", ""] {
            let e = check_service_name(bad).unwrap_err();
            assert!(e.to_string().contains("DNS-1035 label"), "{bad}: {e}");
        }
    }
}
