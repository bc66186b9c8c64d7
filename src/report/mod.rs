//! Reports: one per command, plain serializable data. Renderers never compute; JSON and
//! YAML are these structs serialized as they are.

pub mod dump;
pub mod plan;
pub mod usage;
pub mod why;
