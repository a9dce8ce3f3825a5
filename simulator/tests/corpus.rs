//! Every entry of the regression corpus (`seeds/`) replays to its pinned
//! outcome, invariant and trace hash.

use std::path::Path;

#[test]
fn every_corpus_entry_replays_as_pinned() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds");
    let entries = simulator::commands::corpus::load(&directory).expect("the corpus loads");
    assert!(
        entries.len() >= 7,
        "the corpus should hold at least one entry per planted bug, found {}",
        entries.len()
    );
    let failures: Vec<String> = entries
        .iter()
        .filter_map(|(path, entry)| {
            entry
                .verify()
                .err()
                .map(|e| format!("{}: {e}", path.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "corpus entries changed behaviour:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_corpus_holds_an_entry_for_every_planted_bug() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds");
    let entries = simulator::commands::corpus::load(&directory).expect("the corpus loads");
    for bug in raft_core::Bug::ALL {
        assert!(
            entries
                .iter()
                .any(|(_, e)| e.bugs == [bug.name()] && e.expected_outcome == "violation"),
            "no corpus entry catches {}",
            bug.name()
        );
    }
}
