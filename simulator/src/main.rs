//! The `raftsim` command line.
#![forbid(unsafe_code)]

mod cli;

/// mimalloc: small allocations are several times cheaper than glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::main());
}
