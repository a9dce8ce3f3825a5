//! Incremental safety checkers for Raft, fed with neutral observations.
//!
//! This module owns the named properties ([`Invariant`]), the report of one
//! that broke ([`Violation`]) and the [`SafetyChecker`], which keeps just
//! enough state to check every observation in time proportional to what
//! changed: each log is kept as a hash chain (`chain.rs`), log matching is a
//! table lookup per appended entry (`index_table.rs`), and the committed
//! prefix is one shared chain that every commit, apply and election is held
//! against (`checker.rs`).
//!
//! Nothing here knows a Raft implementation: an adapter reports terms, log
//! rewrites, leaders, commits, applies, crashes and restarts.

mod chain;
mod checker;
mod index_table;
mod invariant;
mod log;
mod violation;

pub use checker::SafetyChecker;
pub use invariant::{Invariant, UnknownInvariant};
pub use violation::Violation;

/// A node's id: a small non-negative integer (per-node state is a `Vec` indexed by it).
pub type NodeId = u64;
/// A Raft term.
pub type Term = u64;
/// A Raft log index; the first entry has index 1, index 0 is the empty prefix.
pub type Index = u64;
