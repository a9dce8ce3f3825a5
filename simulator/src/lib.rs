//! raftsim's simulator: a deterministic, single-threaded discrete-event world
//! in which a cluster of raft-core nodes runs over a virtual clock, network and
//! disks, with faults drawn from one seed and the safety invariants checked after
//! every event.
#![forbid(unsafe_code)]

pub mod bench;
pub mod campaign;
pub mod check_history;

pub mod client;
pub mod control;
pub mod corpus;
pub mod describe;
pub mod disk;
pub mod driver;
pub mod event;
pub mod faults;
pub mod host;
pub mod junit;
pub mod kv;
pub mod merge;
pub mod nemesis;
pub mod network;
pub mod params;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod trace;
