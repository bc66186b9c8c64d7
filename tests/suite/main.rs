//! The integration tests, one crate: the built binary on manifests (`offline`), against the
//! loopback API server (`live`), the loopback server itself checked against the real kubectl
//! (`apiserver`), `plan` on the example proposals, the krew packaging (`krew`), and tables
//! that fit the terminal (`fit`). `support` holds what they share.

mod apiserver;
mod fit;
mod habits;
mod hostile;
mod krew;
mod live;
mod offline;
mod plan;
mod support;
mod transcripts;
