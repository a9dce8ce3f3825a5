//! Where the tests find the third-party histories (not kept in this
//! repository: see the shared folder's README).

// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared histories folder: `$RAFTSIM_HISTORIES` when it is set and not
/// empty, else `../shared/histories` from the workspace root, where CI and a
/// checkout beside the shared folder keep it.
///
/// Panics naming the folder it tried when that folder is absent: a test whose
/// data is missing fails, it never passes by checking nothing.
pub fn histories_dir() -> PathBuf {
    let (dir, source) = match std::env::var_os("RAFTSIM_HISTORIES").filter(|v| !v.is_empty()) {
        Some(dir) => (PathBuf::from(dir), "RAFTSIM_HISTORIES"),
        None => (default_dir(), "../shared/histories from the workspace root"),
    };
    assert!(
        dir.join("EXPECTED.tsv").is_file(),
        "no shared histories at {} (from {source}): expected a folder holding EXPECTED.tsv, \
         jepsen/ and kv/; set RAFTSIM_HISTORIES to the folder if it lives elsewhere",
        dir.display()
    );
    dir
}

/// `<workspace root>/../shared/histories`, written without `..` so that a
/// failure names the folder plainly.
fn default_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace_root = crate_dir
        .parent()
        .expect("the invariants crate sits inside the workspace");
    let beside = workspace_root
        .parent()
        .expect("the workspace root has a parent folder");
    beside.join("shared").join("histories")
}

/// The files of `dir/sub` whose names end with `extension`, sorted; panics
/// if there are none (the data is missing, and a test must say so).
pub fn files(dir: &Path, sub: &str, extension: &str) -> Vec<PathBuf> {
    let folder = dir.join(sub);
    let listing = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: cannot list: {e}", folder.display()));
    let mut paths: Vec<PathBuf> = listing
        .map(|entry| entry.expect("a readable folder entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no *.{extension} files in {}",
        folder.display()
    );
    paths
}
