//! The integration tests, one crate: the built binary on manifests (`offline`), against the
//! loopback API server (`live`), the loopback server itself checked against the real kubectl
//! (`apiserver`), `plan` on the example proposals, and the krew packaging (`krew`). `support` holds what they share.

mod apiserver;
mod hostile;
mod krew;
mod live;
mod offline;
mod plan;
mod support;
