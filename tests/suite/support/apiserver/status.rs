//! Failure responses as `metav1.Status` bodies, worded like kube-apiserver's.

use serde::Serialize;
use serde_json::{Map, Value};

use super::resources::ResourceType;

/// A failed request: the HTTP status code and the `Status` body to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StatusError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    /// `details` as the real server fills it (`name`, `group`, `kind`), or
    /// `None` to leave it out as kube-apiserver does for 401s.
    pub details: Option<Map<String, Value>>,
}

/// The wire form of a failure `Status`, in kube-apiserver's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusBody<'a> {
    kind: &'static str,
    api_version: &'static str,
    metadata: Map<String, Value>,
    status: &'static str,
    message: &'a str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Map<String, Value>>,
    code: u16,
}

/// The `StatusReason` Kubernetes uses for an HTTP status code.
pub(crate) fn reason_for_code(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

/// `details` naming a resource (and optionally one object of it).
fn resource_details(rt: &ResourceType, name: Option<&str>) -> Map<String, Value> {
    let mut details = Map::new();
    if let Some(name) = name.filter(|name| !name.is_empty()) {
        details.insert("name".into(), name.into());
    }
    if !rt.group.is_empty() {
        details.insert("group".into(), rt.group.into());
    }
    details.insert("kind".into(), rt.plural.into());
    details
}

impl StatusError {
    /// A failure with the reason that goes with `code` and empty details.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        StatusError {
            code,
            reason: reason_for_code(code).to_owned(),
            message: message.into(),
            details: Some(Map::new()),
        }
    }

    /// 401, exactly as kube-apiserver answers a request it cannot authenticate.
    pub fn unauthorized() -> Self {
        StatusError {
            details: None,
            ..StatusError::new(401, "Unauthorized")
        }
    }

    /// 403 for a resource request; `reason` is the authorizer's sentence
    /// (`User "x" cannot list resource ...`).
    pub fn forbidden(rt_name: &str, group: &str, name: Option<&str>, reason: &str) -> Self {
        let qualified = if group.is_empty() {
            rt_name.to_owned()
        } else {
            format!("{rt_name}.{group}")
        };
        let message = match name.filter(|name| !name.is_empty()) {
            Some(name) => format!("{qualified} \"{name}\" is forbidden: {reason}"),
            None => format!("{qualified} is forbidden: {reason}"),
        };
        let mut details = Map::new();
        if let Some(name) = name.filter(|name| !name.is_empty()) {
            details.insert("name".into(), name.into());
        }
        if !group.is_empty() {
            details.insert("group".into(), group.into());
        }
        details.insert("kind".into(), rt_name.into());
        StatusError {
            details: Some(details),
            ..StatusError::new(403, message)
        }
    }

    /// 404 for a named object that does not exist.
    pub fn object_not_found(rt: &ResourceType, name: &str) -> Self {
        StatusError {
            details: Some(resource_details(rt, Some(name))),
            ..StatusError::new(404, format!("{} \"{name}\" not found", rt.qualified()))
        }
    }

    /// 404 for a path the server does not serve at all.
    pub fn path_not_found() -> Self {
        StatusError::new(404, "the server could not find the requested resource")
    }

    /// 400 with the given message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        StatusError::new(400, message)
    }

    /// 405 for any verb other than get/list.
    pub fn method_not_allowed() -> Self {
        StatusError::new(
            405,
            "the server does not allow this method on the requested resource",
        )
    }

    /// The `Status` JSON body.
    pub fn body(&self) -> Vec<u8> {
        let body = StatusBody {
            kind: "Status",
            api_version: "v1",
            metadata: Map::new(),
            status: "Failure",
            message: &self.message,
            reason: &self.reason,
            details: self.details.as_ref(),
            code: self.code,
        };
        serde_json::to_vec(&body).expect("a Status always serializes")
    }
}
