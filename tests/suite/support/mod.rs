//! Helpers shared by the integration tests (`mod support;`).

pub mod apiserver;
pub mod kubectl;
pub mod proxy;
pub mod run;
