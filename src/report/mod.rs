//! Reports: one per command, plain serializable data. Renderers never compute; JSON and
//! YAML are these structs serialized as they are.

pub mod check;
pub mod dump;
pub mod ips;
pub mod plan;
pub mod usage;
pub mod version;
pub mod why;
