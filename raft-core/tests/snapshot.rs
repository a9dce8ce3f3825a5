//! Snapshots and log compaction (§7 of the Raft paper, etcd's snapshot path):
//! a host compacts its log at the applied index; a leader sends a follower
//! that needs a compacted entry its snapshot, in chunks; the follower
//! installs it unless it is stale or its log already holds it.

mod common;

use bytes::Bytes;
use common::*;
use raft_core::{
    Bug, Bugs, CompactError, ConfChange, ConfChangeEntry, ConfChangeKind, ConfState, Config, Entry,
    EntryKind, HardState, Index, Message, MessageBody, NodeId, RawNode, RestoredState, Role,
    Snapshot, SnapshotChunk, SnapshotMeta,
};

/// Delivers messages until the network is quiet, dropping those `drop`
/// picks. Returns every message sent meanwhile, delivered or not, in order.
fn run_network(cluster: &mut Cluster, mut drop: impl FnMut(&Message) -> bool) -> Vec<Message> {
    let mut sent = Vec::new();
    for _ in 0..100_000 {
        for id in cluster.ids() {
            cluster.process(id);
        }
        let Some(message) = cluster.in_flight.pop_front() else {
            return sent;
        };
        sent.push(message.clone());
        if !drop(&message) {
            cluster.deliver(message);
        }
    }
    panic!("the network never went quiet");
}

/// Ticks node `id` through one heartbeat interval, delivering nothing.
fn heartbeat(cluster: &mut Cluster, id: NodeId) {
    for _ in 0..config(1, 3, Bugs::none()).heartbeat_interval_ticks {
        cluster.tick(id);
    }
}

/// A snapshot sent whole, in one chunk.
fn whole_snapshot(meta: SnapshotMeta, data: Bytes) -> MessageBody {
    MessageBody::InstallSnapshot(Box::new(SnapshotChunk {
        meta,
        offset: 0,
        data,
        done: true,
    }))
}

/// The offsets of the snapshot chunks among `messages`, in order.
fn chunk_offsets(messages: &[Message]) -> Vec<u64> {
    messages
        .iter()
        .filter_map(|m| match m.body {
            MessageBody::InstallSnapshot(ref chunk) => Some(chunk.offset),
            _ => None,
        })
        .collect()
}

/// `count` commands `cmd00`, `cmd01`, ...
fn commands(count: usize) -> Vec<String> {
    (0..count).map(|k| format!("cmd{k:02}")).collect()
}

/// Three nodes with `bugs` and snapshot chunks of `chunk_bytes`: node 1 leads,
/// node 3 was cut off while the others committed `count` commands, then
/// node 1 compacted its log. Node 3 is reconnected.
fn cluster_with_a_lagging_follower(bugs: Bugs, chunk_bytes: usize, count: usize) -> Cluster {
    let mut cluster = Cluster::with(3, |config| {
        config.bugs = bugs;
        config.snapshot_chunk_bytes = chunk_bytes;
    });
    cluster.elect(1);
    cluster.isolate(3);
    for command in commands(count) {
        cluster.propose(1, &command);
    }
    cluster.compact(1);
    cluster.reconnect(3);
    cluster
}

#[test]
fn compaction_keeps_the_log_usable() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.propose(1, "a");
    cluster.propose(1, "b");
    let index = cluster.compact(1);
    let status = cluster.status(1);
    assert_eq!(
        (status.snapshot_index, status.first_index),
        (index, index + 1)
    );
    assert!(cluster.node(1).log_entries_from(1).is_empty());
    assert_eq!(
        cluster.node(1).snapshot_meta().unwrap().conf_state.voters,
        [1, 2, 3]
    );
    assert_eq!(
        cluster.node(1).take_installed_snapshot(),
        None,
        "compaction replaces nothing"
    );
    cluster.propose(1, "c");
    cluster.tick_all_times(4);
    for id in [1, 2, 3] {
        assert_eq!(cluster.applied_data(id), ["a", "b", "c"], "node {id}");
    }
    let entries: Vec<Index> = cluster
        .node(1)
        .log_entries_from(1)
        .iter()
        .map(|e| e.index)
        .collect();
    assert_eq!(
        entries,
        [index + 1],
        "memory holds only the entries after the snapshot"
    );
}

#[test]
fn compaction_is_refused_except_at_the_applied_index() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.propose(1, "a");
    let index = cluster.compact(1);
    let node = cluster.node(1);
    assert_eq!(
        node.compact(index, Bytes::new()),
        Err(CompactError::AlreadyCompacted {
            index,
            snapshot_index: index
        })
    );
    assert_eq!(
        node.compact(index + 1, Bytes::new()),
        Err(CompactError::NotApplied {
            index: index + 1,
            applied: index
        })
    );
    cluster.propose(1, "b");
    cluster.propose(1, "c");
    let applied = cluster.status(1).applied;
    assert_eq!(
        cluster.node(1).compact(index + 1, Bytes::new()),
        Err(CompactError::NotAtApplied {
            index: index + 1,
            applied
        })
    );
    assert_eq!(
        cluster.status(1).snapshot_index,
        index,
        "a refusal changes nothing"
    );
}

#[test]
fn a_follower_behind_the_compacted_prefix_gets_the_snapshot_then_normal_replication() {
    let mut cluster = cluster_with_a_lagging_follower(Bugs::none(), 64 * 1024, 3);
    let snapshot_index = cluster.status(1).snapshot_index;
    heartbeat(&mut cluster, 1);
    let sent = run_network(&mut cluster, |_| false);
    assert_eq!(
        chunk_offsets(&sent),
        [0],
        "one chunk holds the whole snapshot"
    );
    assert_eq!(cluster.installed[2].len(), 1);
    assert_eq!(cluster.installed[2][0].meta.index, snapshot_index);
    let status = cluster.status(3);
    assert_eq!(status.snapshot_index, snapshot_index);
    assert!(status.commit >= snapshot_index && status.applied >= snapshot_index);
    assert_eq!(
        cluster.node(3).take_installed_snapshot().map(|m| m.index),
        Some(snapshot_index)
    );
    assert_eq!(cluster.applied_data(3), commands(3));
    // Normal replication resumes: the next entry travels in an AppendEntries.
    cluster.propose(1, "after");
    let sent = run_network(&mut cluster, |_| false);
    assert!(
        chunk_offsets(&sent).is_empty(),
        "no snapshot is needed any more"
    );
    cluster.tick_all_times(2);
    let mut expected = commands(3);
    expected.push("after".into());
    assert_eq!(cluster.applied_data(3), expected);
    assert_eq!(cluster.status(3).last_index, cluster.status(1).last_index);
}

/// Sends node 3 a snapshot of 10 commands (59 bytes) in chunks of 4 bytes,
/// dropping the third chunk (`drop_answer` false) or its answer (true), then
/// lets a heartbeat resume the transfer. Returns the chunk offsets sent and
/// the data node 3's host got.
fn transfer_with_a_loss(bugs: Bugs, drop_answer: bool) -> (Vec<u64>, Bytes, Bytes) {
    let mut cluster = cluster_with_a_lagging_follower(bugs, 4, 10);
    let leader_data = encode_state(&commands(10));
    heartbeat(&mut cluster, 1);
    let mut seen = 0;
    let mut sent = run_network(&mut cluster, |m| {
        let hit = match m.body {
            MessageBody::InstallSnapshot(_) => !drop_answer,
            MessageBody::InstallSnapshotResponse { done: false, .. } => drop_answer,
            _ => false,
        };
        seen += usize::from(hit);
        hit && seen == 3
    });
    assert!(
        cluster.installed[2].is_empty(),
        "the transfer stalled on the loss"
    );
    heartbeat(&mut cluster, 1);
    sent.extend(run_network(&mut cluster, |_| false));
    let installed = cluster.installed[2]
        .first()
        .map_or_else(Bytes::new, |s| s.data.clone());
    (chunk_offsets(&sent), installed, leader_data)
}

#[test]
fn a_dropped_chunk_is_resent_from_the_follower_offset_not_from_the_start() {
    let (offsets, installed, leader_data) = transfer_with_a_loss(Bugs::none(), false);
    assert_eq!(leader_data.len(), 59);
    let chunks = leader_data.len().div_ceil(4);
    assert_eq!(offsets.len(), chunks + 1, "exactly one chunk is sent twice");
    let mut expected: Vec<u64> = (0..chunks as u64).map(|k| 4 * k).collect();
    expected.insert(3, 8);
    assert_eq!(
        offsets, expected,
        "the lost chunk (at 8) is resent, then the rest"
    );
    assert_eq!(installed, leader_data);
}

#[test]
fn a_chunk_whose_answer_was_lost_is_not_written_twice() {
    let (offsets, installed, leader_data) = transfer_with_a_loss(Bugs::none(), true);
    assert_eq!(
        offsets.iter().filter(|&&o| o == 8).count(),
        2,
        "resent once"
    );
    assert_eq!(installed, leader_data);
}

#[test]
fn bug_snapshot_chunk_ignores_offset_corrupts_the_installed_snapshot() {
    let bugs = Bugs::none().with(Bug::SnapshotChunkIgnoresOffset);
    let (_, installed, leader_data) = transfer_with_a_loss(bugs, true);
    assert_ne!(installed, leader_data, "the resent chunk was written twice");
    assert_eq!(
        installed[12..16],
        leader_data[8..12],
        "bytes 8..12 again at 12"
    );
}

/// Three nodes, node 1 leads and committed "a", "b", "c" everywhere. Node 1
/// then sends node 2 a snapshot at index 2 (older than node 2's commit).
/// Returns node 2's status before and after, and the answer it sent.
fn stale_snapshot(bugs: Bugs) -> (raft_core::Status, raft_core::Status, Vec<Message>, usize) {
    let mut cluster = Cluster::new(3, bugs);
    cluster.elect(1);
    for command in ["a", "b", "c"] {
        cluster.propose(1, command);
    }
    cluster.tick_all_times(2);
    let before = cluster.status(2);
    let term = before.term;
    let meta = SnapshotMeta {
        index: 2,
        term,
        conf_state: cluster.node(1).conf_state(),
    };
    let body = whole_snapshot(meta, encode_state(&["a".to_owned()]));
    cluster.deliver(message(1, 2, term, body));
    let answers = cluster.take_in_flight();
    (
        before,
        cluster.status(2),
        answers,
        cluster.installed[1].len(),
    )
}

#[test]
fn a_snapshot_not_newer_than_the_commit_index_is_ignored() {
    let (before, after, answers, installed) = stale_snapshot(Bugs::none());
    assert_eq!(before.commit, 4, "no-op, a, b, c");
    assert_eq!(after.commit, before.commit);
    assert_eq!(after.applied, before.applied);
    assert_eq!(after.last_index, before.last_index);
    assert_eq!(installed, 0);
    let answer = MessageBody::InstallSnapshotResponse {
        index: before.commit,
        next_offset: 0,
        done: true,
    };
    assert_eq!(
        answers.iter().map(|m| &m.body).collect::<Vec<_>>(),
        [&answer]
    );
}

#[test]
fn bug_snapshot_regresses_commit_moves_commit_and_applied_back() {
    let bugs = Bugs::none().with(Bug::SnapshotRegressesCommit);
    let (before, after, _, installed) = stale_snapshot(bugs);
    assert_eq!(installed, 1);
    assert!(
        after.commit < before.commit,
        "{} -> {}",
        before.commit,
        after.commit
    );
    assert!(after.applied < before.applied);
}

/// Node 2 of three holds entries 1..=5 of term 1, commit 0. The leader of term
/// 2 sends it a snapshot at index 3. Returns the node and its ready.
fn snapshot_of_a_held_entry(bugs: Bugs) -> (RawNode, raft_core::Ready, Vec<Message>) {
    let entries: Vec<Entry> = (1..=5).map(|i| entry(i, 1, &format!("e{i}"))).collect();
    let mut node = restored_node(config(2, 3, bugs), 1, None, entries);
    let _ = drain(&mut node);
    let meta = SnapshotMeta {
        index: 3,
        term: 1,
        conf_state: ConfState {
            voters: vec![1, 2, 3],
            ..ConfState::default()
        },
    };
    let body = whole_snapshot(meta, Bytes::from_static(b"e1,e2,e3"));
    node.step(message(1, 2, 2, body));
    let ready = node.ready();
    node.advance(ready.number);
    let answers = all_messages(&ready);
    (node, ready, answers)
}

#[test]
fn a_follower_whose_log_holds_the_snapshot_last_entry_keeps_the_entries_after_it() {
    let (node, ready, answers) = snapshot_of_a_held_entry(Bugs::none());
    assert!(
        ready.snapshot.is_none(),
        "nothing to install: the log holds it all"
    );
    let status = node.status();
    assert_eq!((status.last_index, status.first_index), (5, 1));
    assert_eq!(status.commit, 3, "committed up to the snapshot");
    let applied: Vec<Index> = ready.committed_entries.iter().map(|e| e.index).collect();
    assert_eq!(applied, [1, 2, 3], "applied from the log as usual");
    assert!(answers.iter().any(|m| m.body
        == MessageBody::InstallSnapshotResponse {
            index: 3,
            next_offset: 0,
            done: true
        }));
    assert_eq!(
        ready.persisted_messages.len(),
        1,
        "the answer waits for durability"
    );
}

#[test]
fn bug_snapshot_drops_newer_entries_loses_the_entries_after_the_snapshot() {
    let bugs = Bugs::none().with(Bug::SnapshotDropsNewerEntries);
    let (node, ready, _) = snapshot_of_a_held_entry(bugs);
    assert!(ready.snapshot.is_some());
    assert_eq!(node.status().last_index, 3, "entries 4 and 5 are gone");
}

#[test]
fn an_installed_snapshot_comes_before_the_entries_of_its_ready() {
    let entries: Vec<Entry> = (1..=2).map(|i| entry(i, 1, "")).collect();
    let mut node = restored_node(config(2, 3, Bugs::none()), 1, None, entries);
    let _ = drain(&mut node);
    let _ = node.take_log_changes();
    let meta = SnapshotMeta {
        index: 4,
        term: 2,
        conf_state: ConfState {
            voters: vec![1, 2, 3],
            ..ConfState::default()
        },
    };
    let install = whole_snapshot(meta, Bytes::from_static(b"x"));
    node.step(message(1, 2, 2, install));
    let append = MessageBody::AppendEntries {
        prev_log_index: 4,
        prev_log_term: 2,
        entries: vec![entry(5, 2, "y")],
        leader_commit: 5,
    };
    node.step(message(1, 2, 2, append));
    let ready = node.ready();
    assert_eq!(ready.snapshot.as_ref().map(|s| s.meta.index), Some(4));
    assert_eq!(
        ready.entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        [5]
    );
    assert_eq!(
        ready
            .committed_entries
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        [5]
    );
    assert!(ready.messages.is_empty() && ready.persisted_messages.len() == 2);
    assert!(ready.must_persist());
    node.advance(ready.number);
    let status = node.status();
    assert_eq!(
        (status.applied, status.commit, status.first_index),
        (5, 5, 5)
    );
    assert_eq!(
        node.take_log_changes(),
        Some(5),
        "entries from 5 on are new"
    );
    assert_eq!(node.take_installed_snapshot().map(|m| m.index), Some(4));
}

#[test]
fn a_node_restarts_from_a_restored_snapshot() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.propose(1, "a");
    cluster.propose(1, "b");
    cluster.tick_all_times(2);
    let index = cluster.compact(2);
    cluster.propose(1, "c");
    cluster.tick_all_times(2);
    assert_eq!(cluster.disks[1].snapshot_index(), index);
    cluster.crash(2);
    cluster.restart(2);
    let status = cluster.status(2);
    assert_eq!((status.applied, status.snapshot_index), (index, index));
    assert_eq!(status.first_index, index + 1);
    assert!(status.commit >= index);
    assert_eq!(
        cluster.node(2).take_installed_snapshot().map(|m| m.index),
        Some(index),
        "a restore replaces the state as an install does"
    );
    assert_eq!(cluster.node(2).take_log_changes(), Some(index + 1));
    cluster.tick_all_times(4);
    assert_eq!(
        cluster.applied_data(2),
        ["a", "b", "c"],
        "nothing applied twice"
    );
}

#[test]
fn a_restarted_leader_sends_the_snapshot_it_restored() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.isolate(3);
    cluster.propose(1, "a");
    cluster.propose(1, "b");
    cluster.compact(1);
    cluster.crash(1);
    cluster.restart(1);
    cluster.reconnect(3);
    // Node 1 holds the longest log: only it can win with node 2's vote.
    cluster.elect(1);
    cluster.tick_all_times(4);
    assert_eq!(cluster.installed[2].len(), 1);
    assert_eq!(cluster.applied_data(3), ["a", "b"]);
}

#[test]
fn a_snapshot_carries_the_configuration_a_learner_in_it_is_a_learner_after_install() {
    // Node 4 is new (an empty log) and was configured as a voter by mistake;
    // the cluster knows it as a learner.
    let mut configs: Vec<Config> = (1..=3)
        .map(|id| {
            let mut config = config(id, 3, Bugs::none());
            config.learners = vec![4];
            config
        })
        .collect();
    configs.push(config(4, 4, Bugs::none()));
    let mut cluster = Cluster::with_configs(configs);
    cluster.isolate(4);
    cluster.elect(1);
    cluster.propose(1, "a");
    cluster.compact(1);
    assert!(cluster.node(4).conf_state().is_voter(4));
    cluster.reconnect(4);
    heartbeat(&mut cluster, 1);
    run_network(&mut cluster, |_| false);
    assert_eq!(
        cluster.installed[3].len(),
        1,
        "a new node gets the snapshot"
    );
    assert_eq!(cluster.node(4).conf_state(), cluster.node(1).conf_state());
    assert_eq!(cluster.node(4).conf_state().learners, [4]);
    assert_eq!(cluster.applied_data(4), ["a"]);
    let term = cluster.status(4).term;
    cluster.tick_node(4, 100);
    assert_eq!(cluster.status(4).role, Role::Follower);
    assert_eq!(cluster.status(4).term, term, "a learner never campaigns");
}

#[test]
fn the_leader_never_sends_entries_below_its_first_index() {
    let mut cluster = Cluster::with(5, |config| config.snapshot_chunk_bytes = 8);
    cluster.elect(1);
    cluster.isolate(4);
    cluster.isolate(5);
    let mut sent = Vec::new();
    for round in 0..4 {
        for k in 0..5 {
            cluster.propose(1, &format!("r{round}c{k}"));
        }
        cluster.compact(1);
        if round == 1 {
            cluster.reconnect(4);
        }
        if round == 2 {
            cluster.reconnect(5);
        }
        heartbeat(&mut cluster, 1);
        let first_index = cluster.status(1).first_index;
        for message in run_network(&mut cluster, |_| false) {
            if let MessageBody::AppendEntries { prev_log_index, .. } = message.body {
                assert!(prev_log_index + 1 >= first_index, "{message:?}");
            }
            sent.push(message);
        }
    }
    cluster.tick_all_times(4);
    let leader = cluster.applied_data(1);
    assert_eq!(leader.len(), 20);
    for id in 2..=5 {
        assert_eq!(cluster.applied_data(id), leader, "node {id}");
    }
    assert!(!chunk_offsets(&sent).is_empty(), "snapshots were sent");
}

#[test]
fn an_append_below_the_follower_snapshot_is_acknowledged_up_to_its_commit() {
    let snapshot = Snapshot {
        meta: SnapshotMeta {
            index: 5,
            term: 1,
            conf_state: ConfState {
                voters: vec![1, 2, 3],
                ..ConfState::default()
            },
        },
        data: Bytes::new(),
    };
    let restored = RestoredState {
        hard_state: HardState {
            term: 1,
            vote: None,
            commit: 5,
        },
        snapshot: Some(snapshot),
        entries: vec![entry(6, 1, "x")],
    };
    let mut node = RawNode::new(config(2, 3, Bugs::none()), restored, rng(2)).unwrap();
    let _ = drain(&mut node);
    let append = MessageBody::AppendEntries {
        prev_log_index: 2,
        prev_log_term: 1,
        entries: vec![entry(3, 1, "")],
        leader_commit: 6,
    };
    node.step(message(1, 2, 1, append));
    let ready = drain(&mut node);
    let ack = MessageBody::AppendEntriesResponse {
        reject: false,
        index: 5,
        reject_hint_index: 0,
        reject_hint_term: 0,
    };
    assert_eq!(
        all_messages(&ready)
            .iter()
            .map(|m| &m.body)
            .collect::<Vec<_>>(),
        [&ack]
    );
    assert_eq!(node.status().first_index, 6, "the log is untouched");
}

#[test]
fn a_lost_final_answer_is_recovered_by_the_next_heartbeat() {
    let mut cluster = cluster_with_a_lagging_follower(Bugs::none(), 64 * 1024, 3);
    heartbeat(&mut cluster, 1);
    let mut dropped = false;
    run_network(&mut cluster, |m| {
        let hit = !dropped
            && matches!(
                m.body,
                MessageBody::InstallSnapshotResponse { done: true, .. }
            );
        dropped |= hit;
        hit
    });
    assert!(
        dropped && cluster.installed[2].len() == 1,
        "installed, answer lost"
    );
    heartbeat(&mut cluster, 1);
    let sent = run_network(&mut cluster, |_| false);
    assert_eq!(chunk_offsets(&sent), [0], "the last chunk is resent");
    assert_eq!(cluster.installed[2].len(), 1, "and not installed again");
    cluster.propose(1, "after");
    let sent = run_network(&mut cluster, |_| false);
    assert!(chunk_offsets(&sent).is_empty(), "replication resumed");
    cluster.tick_all_times(2);
    assert_eq!(
        cluster.applied_data(3).last().map(String::as_str),
        Some("after")
    );
}

#[test]
fn a_joining_node_takes_no_snapshot_before_it_knows_its_configuration() {
    // A new node applied entries from the leader but no conf entry yet: the
    // configuration at its applied index is unknown to it, so a snapshot
    // would carry none (and every follower would refuse it once it leads).
    let entry = |index| Entry {
        term: 1,
        index,
        kind: raft_core::EntryKind::Normal,
        data: Bytes::new(),
    };
    let restored = RestoredState {
        hard_state: HardState {
            term: 1,
            vote: None,
            commit: 2,
        },
        snapshot: None,
        entries: vec![entry(1), entry(2)],
    };
    let mut node = RawNode::new(Config::joining(4), restored, rng(4)).unwrap();
    let ready = node.ready();
    assert_eq!(ready.committed_entries.len(), 2);
    node.advance(ready.number);
    assert_eq!(node.status().applied, 2);
    assert_eq!(
        node.compact(2, Bytes::from_static(b"state")),
        Err(CompactError::NoConfiguration { index: 2 })
    );
    assert_eq!(node.first_index(), 1, "nothing was compacted");
}

/// Found by `raftsim fuzz --fault pause --seeds 28555683..28555684`: a
/// follower paused while its ready (holding a committed conf entry) waited
/// for the disk installed a newer snapshot before that ready was advanced.
/// Advancing it applied the old entry's configuration over the snapshot's,
/// so the node went back to a configuration the cluster had left, won an
/// election in it, and a committed entry was lost.
#[test]
fn a_snapshot_installed_while_a_ready_is_out_keeps_its_configuration_over_the_ready_conf_entries() {
    let with_learner = ConfState {
        voters: vec![1, 2, 3],
        learners: vec![4],
        ..ConfState::default()
    };
    let conf_entry = Entry {
        term: 1,
        index: 2,
        kind: EntryKind::ConfChange,
        data: ConfChangeEntry {
            change: ConfChange::single(ConfChangeKind::AddLearner, 4),
            conf_state: with_learner.clone(),
        }
        .encode(),
    };
    let mut node = restored_node(
        config(2, 3, Bugs::none()),
        1,
        None,
        vec![entry(1, 1, ""), conf_entry],
    );
    let _ = drain(&mut node);
    let commit = MessageBody::AppendEntries {
        prev_log_index: 2,
        prev_log_term: 1,
        entries: Vec::new(),
        leader_commit: 2,
    };
    node.step(message(1, 2, 1, commit));
    let ready = node.ready();
    assert_eq!(
        ready
            .committed_entries
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        [1, 2],
        "the conf entry is handed out"
    );
    // The disk is slow; meanwhile a leader of the new configuration sends
    // its snapshot, which covers the conf entry and the one after it.
    let newer = ConfState {
        voters: vec![2, 3, 4],
        ..ConfState::default()
    };
    let install = whole_snapshot(
        SnapshotMeta {
            index: 5,
            term: 2,
            conf_state: newer.clone(),
        },
        Bytes::from_static(b"x"),
    );
    node.step(message(3, 2, 2, install));
    assert_eq!(node.conf_state(), newer);
    node.advance(ready.number);
    assert_eq!(
        node.conf_state(),
        newer,
        "the older conf entry does not take the node back"
    );
    let next = drain(&mut node);
    assert_eq!(next.snapshot.as_ref().map(|s| s.meta.index), Some(5));
    assert_eq!(node.conf_state(), newer);
    assert_eq!(node.status().applied, 5);
}
