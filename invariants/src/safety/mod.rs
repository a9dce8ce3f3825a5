//! Incremental safety checkers for Raft, fed with neutral observations.
//!
//! This module owns the named properties ([`Invariant`]), the report of one
//! that broke ([`Violation`]) and the [`SafetyChecker`], which keeps just
//! enough state to check every observation in time proportional to what
//! changed: each log is kept as a hash chain after a base where it was
//! compacted (`chain.rs`, `log.rs`), log matching is a table lookup per
//! appended entry (`index_table.rs`), state machine safety one per apply or
//! snapshot (`applied_table.rs`), and the committed prefix is one shared
//! chain that every commit, apply and election is held against
//! (`checker.rs`). Per-index state below every node's durable snapshot is
//! pruned, so memory stays flat on a long run that compacts.
//!
//! Nothing here knows a Raft implementation: an adapter reports terms, log
//! rewrites, leaders, commits, applies, snapshots, compactions,
//! configurations, crashes and restarts.
//!
//! ```
//! use invariants::{Invariant, SafetyChecker};
//!
//! let mut checker = SafetyChecker::new(&[1, 2, 3]);
//! checker.on_term(1, 1)?;
//! checker.on_leader(1, 1)?;
//! // Entries are (term, digest of the data); the log is replaced from index 1.
//! checker.on_log_rewritten(1, 1, [(1, 0xA), (1, 0xB)])?;
//! checker.on_log_rewritten(2, 1, [(1, 0xA), (1, 0xB)])?;
//! checker.on_commit(1, 1, 2)?; // Report a commit before applying up to it.
//! checker.on_apply(1, 1, 1, 0xA, 0x5A)?; // the state digest after applying it
//! assert_eq!(checker.committed_index(), 2);
//!
//! // Node 2 loses its disk: index 2 is now on node 1 alone.
//! checker.on_crash(2);
//! let violation = checker.on_restart(2, 0, 0, None, []).unwrap_err();
//! assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
//! # Ok::<(), invariants::Violation>(())
//! ```

mod applied_table;
mod chain;
mod checker;
mod index_table;
mod invariant;
mod log;
mod violation;

pub use checker::{SafetyChecker, STATE_DIGEST_UNKNOWN};
pub use invariant::{Invariant, UnknownInvariant};
pub use violation::Violation;

/// A node's id: a small non-negative integer (per-node state is a `Vec` indexed by it).
pub type NodeId = u64;
/// A Raft term.
pub type Term = u64;
/// A Raft log index; the first entry has index 1, index 0 is the empty prefix.
pub type Index = u64;
