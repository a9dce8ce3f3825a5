//! What the `raftsim` commands do: the world, driven, run and reported.

pub mod bench;
pub mod campaign;
pub mod check_history;
pub mod corpus;
pub mod gen_history;
pub mod junit;
pub mod merge;
pub mod run;
pub mod scenario;
pub mod shrink;
pub mod timeline;
