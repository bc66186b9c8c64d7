//! Server-side printing: `meta.k8s.io` Tables, which kubectl asks for to
//! print its default (non `-o`) output.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::resources::ResourceType;
use super::selectors::field_value;

/// How a resource type's Table columns are computed.
#[derive(Debug)]
pub(crate) enum Printer {
    /// `Name` and `Age`, as for resources without a dedicated printer.
    Default,
    Service,
    Namespace,
    Deployment,
    Event,
    /// A custom resource's `additionalPrinterColumns` (no columns: `Name`
    /// and `Age`).
    Custom(&'static [PrinterColumn]),
}

/// One of a CRD's `additionalPrinterColumns`.
#[derive(Debug)]
pub(crate) struct PrinterColumn {
    pub name: &'static str,
    /// Dotted path into the object, the CRD's `jsonPath` without the `.`.
    pub path: &'static str,
    /// `string`, `boolean`, `integer` or `date`.
    pub kind: &'static str,
    pub priority: u32,
}

/// Kubernetes' `duration.HumanDuration`: `45s`, `5m30s`, `3h20m`, `4d5h`,
/// `120d`, `2y10d`.
fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    let seconds = seconds.max(0);
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            rest => format!("{minutes}m{rest}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            rest => format!("{hours}h{rest}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            rest => format!("{days}d{rest}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            rest => format!("{years}y{rest}d"),
        };
    }
    format!("{years}y")
}

/// The age of a timestamp field, `<unknown>` when absent or invalid.
fn age(object: &Value, path: &str, now: Timestamp) -> String {
    match field_value(object, path).parse::<Timestamp>() {
        Ok(then) => human_duration(now.as_second() - then.as_second()),
        Err(_) => "<unknown>".to_owned(),
    }
}

fn column(name: &str, kind: &str, priority: u32) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({
        "name": name,
        "type": kind,
        "format": format,
        "description": "",
        "priority": priority,
    })
}

/// A JSON array of strings at `path`, or nothing.
fn strings_at<'a>(object: &'a Value, pointer: &str) -> impl Iterator<Item = &'a str> {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "<none>".to_owned()
    } else {
        text
    }
}

/// `k=v,k2=v2` in key order, as `labels.FormatLabels` prints a map.
fn format_labels(map: Option<&Value>) -> String {
    let pairs: Vec<String> = map
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default()))
        .collect();
    or_none(pairs.join(","))
}

fn integer(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn service_external_ip(service: &Value) -> String {
    let external: Vec<&str> = strings_at(service, "/spec/externalIPs").collect();
    let ingress: Vec<&str> = service
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|ingress| ingress["ip"].as_str().or(ingress["hostname"].as_str()))
        .collect();
    match service.pointer("/spec/type").and_then(Value::as_str) {
        Some("LoadBalancer") => {
            let mut addresses = ingress.join(",");
            // Without -o wide the load-balancer part is truncated.
            if addresses.len() > 16 {
                addresses = format!("{}...", &addresses[..13]);
            }
            let all: Vec<&str> = std::iter::once(addresses.as_str())
                .filter(|addresses| !addresses.is_empty())
                .chain(external)
                .collect();
            if all.is_empty() {
                "<pending>".to_owned()
            } else {
                all.join(",")
            }
        }
        Some("ExternalName") => field_value(service, "spec.externalName"),
        Some("ClusterIP" | "NodePort") | None => or_none(external.join(",")),
        Some(_) => "<unknown>".to_owned(),
    }
}

fn service_ports(service: &Value) -> String {
    let ports: Vec<String> = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|port| {
            let protocol = port["protocol"].as_str().unwrap_or("TCP");
            let number = port["port"].as_i64().unwrap_or(0);
            match port["nodePort"]
                .as_i64()
                .filter(|&node_port| node_port != 0)
            {
                Some(node_port) => format!("{number}:{node_port}/{protocol}"),
                None => format!("{number}/{protocol}"),
            }
        })
        .collect();
    or_none(ports.join(","))
}

fn event_source(event: &Value) -> String {
    let component = field_value(event, "source.component");
    let host = field_value(event, "source.host");
    let component = if component.is_empty() {
        field_value(event, "reportingComponent")
    } else {
        component
    };
    match (component.is_empty(), host.is_empty()) {
        (_, true) => component,
        (true, false) => host,
        (false, false) => format!("{component}, {host}"),
    }
}

/// The value of a CRD printer column, as the CRD table convertor computes it.
fn custom_cell(object: &Value, column: &PrinterColumn, now: Timestamp) -> Value {
    let value = column
        .path
        .split('.')
        .try_fold(object, |value, segment| value.get(segment));
    match (value, column.kind) {
        (None | Some(Value::Null), _) => Value::Null,
        (Some(_), "date") => json!(age(object, column.path, now)),
        (Some(Value::String(text)), "string") => json!(text),
        // Lists and maps print as JSON, like kubectl's jsonpath does.
        (Some(other), "string") => json!(other.to_string()),
        (Some(other), _) => other.clone(),
    }
}

fn columns(rt: &ResourceType) -> Vec<Value> {
    let named = |rest: &[(&str, &str, u32)]| {
        std::iter::once(column("Name", "string", 0))
            .chain(
                rest.iter()
                    .map(|(name, kind, priority)| column(name, kind, *priority)),
            )
            .collect()
    };
    match &rt.printer {
        Printer::Default | Printer::Custom([]) => named(&[("Age", "string", 0)]),
        Printer::Service => named(&[
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ]),
        Printer::Namespace => named(&[("Status", "string", 0), ("Age", "string", 0)]),
        Printer::Deployment => named(&[
            ("Ready", "string", 0),
            ("Up-to-date", "string", 0),
            ("Available", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ]),
        Printer::Event => [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ]
        .iter()
        .map(|(name, kind, priority)| column(name, kind, *priority))
        .collect(),
        Printer::Custom(custom) => std::iter::once(column("Name", "string", 0))
            .chain(
                custom
                    .iter()
                    .map(|custom| column(custom.name, custom.kind, custom.priority)),
            )
            .collect(),
    }
}

fn cells(rt: &ResourceType, object: &Value, now: Timestamp) -> Vec<Value> {
    let name = field_value(object, "metadata.name");
    let created = age(object, "metadata.creationTimestamp", now);
    match &rt.printer {
        Printer::Default | Printer::Custom([]) => vec![json!(name), json!(created)],
        Printer::Service => vec![
            json!(name),
            json!(field_value(object, "spec.type")),
            json!(or_none(field_value(object, "spec.clusterIP"))),
            json!(service_external_ip(object)),
            json!(service_ports(object)),
            json!(created),
            json!(format_labels(object.pointer("/spec/selector"))),
        ],
        Printer::Namespace => vec![
            json!(name),
            json!(field_value(object, "status.phase")),
            json!(created),
        ],
        Printer::Deployment => {
            let containers = || {
                object
                    .pointer("/spec/template/spec/containers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            };
            let join = |field: &str| {
                containers()
                    .filter_map(|container| container[field].as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            vec![
                json!(name),
                json!(format!(
                    "{}/{}",
                    integer(object, "/status/readyReplicas"),
                    integer(object, "/spec/replicas")
                )),
                json!(integer(object, "/status/updatedReplicas")),
                json!(integer(object, "/status/availableReplicas")),
                json!(created),
                json!(join("name")),
                json!(join("image")),
                json!(format_labels(object.pointer("/spec/selector/matchLabels"))),
            ]
        }
        Printer::Event => {
            let last_seen = if field_value(object, "lastTimestamp").is_empty() {
                age(object, "eventTime", now)
            } else {
                age(object, "lastTimestamp", now)
            };
            vec![
                json!(last_seen),
                json!(field_value(object, "type")),
                json!(field_value(object, "reason")),
                json!(format!(
                    "{}/{}",
                    field_value(object, "involvedObject.kind").to_lowercase(),
                    field_value(object, "involvedObject.name")
                )),
                json!(field_value(object, "involvedObject.fieldPath")),
                json!(event_source(object)),
                json!(field_value(object, "message").trim()),
                json!(age(object, "firstTimestamp", now)),
                json!(integer(object, "/count")),
                json!(name),
            ]
        }
        Printer::Custom(custom) => std::iter::once(json!(name))
            .chain(custom.iter().map(|column| custom_cell(object, column, now)))
            .collect(),
    }
}

/// The `object` of a row, as `includeObject` asks (`Metadata` by default).
fn row_object(object: &Value, include: &str, version: &str) -> Option<Value> {
    match include {
        "None" => None,
        "Object" => Some(object.clone()),
        _ => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": format!("meta.k8s.io/{version}"),
            "metadata": object["metadata"],
        })),
    }
}

/// A Table of `objects`, with the list metadata (resourceVersion,
/// continue) of the page they came from.
pub(crate) fn table(
    rt: &ResourceType,
    objects: &[Value],
    list_metadata: Map<String, Value>,
    include_object: &str,
    version: &str,
) -> Value {
    let now = Timestamp::now();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut row = json!({ "cells": cells(rt, object, now) });
            if let Some(embedded) = row_object(object, include_object, version) {
                row["object"] = embedded;
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": list_metadata,
        "columnDefinitions": columns(rt),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubernetes() {
        assert_eq!(human_duration(-5), "<invalid>");
        assert_eq!(human_duration(-1), "0s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(330), "5m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 20 * 60), "3h20m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(4 * 86400 + 5 * 3600), "4d5h");
        assert_eq!(human_duration(120 * 86400), "120d");
        assert_eq!(human_duration(740 * 86400), "2y10d");
        assert_eq!(human_duration(3000 * 86400), "8y");
    }
}
