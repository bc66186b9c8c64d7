//! MetalLB's behaviour, without I/O. Every rule points to its section of
//! `metallb-semantics.md`, and speaks MetalLB's words: pinned pool, plain pool, holder,
//! sharing key, backend key.

pub mod addr;
pub mod allocator;
pub mod config;
pub mod events;
pub mod free;
pub mod reaction;
pub mod reason;
pub mod release;
pub mod runtime;
pub mod selector;
pub mod service;

#[cfg(test)]
mod scenarios;
