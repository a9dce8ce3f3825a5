//! raftsim's simulator: a deterministic, single-threaded discrete-event world
//! in which a cluster of raft-core nodes runs over a virtual clock, network and
//! disks, with faults drawn from one seed and the safety invariants checked after
//! every event.
//!
//! - [`world`]: the world and its one event loop: the clock and the queue,
//!   the hosts (each a raft-core node, its disk, its key-value store), the
//!   network, the clients, the checkers and the trace. Where each event is
//!   handled is listed at the top of its module.
//! - [`drivers`]: who decides a run's faults, through one interface: the
//!   nemesis (from the seed), a recorded schedule, a scenario script.
//! - [`commands`]: what the `raftsim` commands do with them: a run, a
//!   campaign, a benchmark, the corpus, scenario files, history checks.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod commands;
pub mod drivers;
pub mod world;
