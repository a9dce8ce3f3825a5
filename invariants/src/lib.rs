//! What must always hold in a Raft cluster, checked from neutral observations.
//!
//! - [`safety`]: the incremental safety checkers (election safety, log
//!   matching, leader completeness, state machine safety, committed entries
//!   never lost under membership changes, monotonic term/commit/applied,
//!   through log compaction and snapshots), re-exported here.
//!
//! This crate knows nothing of any Raft implementation or of the simulator:
//! an adapter reports what it observes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod linearizability;
pub mod safety;

pub use safety::{
    Index, Invariant, NodeId, SafetyChecker, Term, UnknownInvariant, Violation,
    STATE_DIGEST_UNKNOWN,
};
