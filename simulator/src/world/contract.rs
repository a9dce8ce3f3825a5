//! Probes of raft-core's contract with its host on input the contract says
//! it refuses: configurations a node cannot be built from, and messages no
//! correct leader sends (a garbled twin of a real one, dropped whole), and
//! configuration changes an operator may get wrong. A Raft that takes
//! a configuration with no voter, a learner that also votes or a heartbeat
//! that never fires would run on, wrongly, with nothing to show for it until
//! much later; the host asks at the start of every run (in microseconds) and
//! ends the run as a harness error if one is accepted, or refused for
//! another reason than its defect.

use raft_core::{
    ConfChange, ConfChangeEntry, ConfChangeKind, ConfChangeSingle, ConfState, Config, ConfigError,
    Entry, EntryKind, InvalidConfChange, Message, MessageBody, NodeId, ProposeConfChangeError,
    ReadOnlyOption, MAX_CHANGES_PER_CONF_CHANGE,
};

use crate::world::rng::Ratio;
use crate::world::World;

/// Variations of a valid configuration with one defect each, and the
/// refusal each must get (`validate` checks in a documented order; each
/// variation breaks one rule only, so the refusal is determined).
fn defective_variations(base: &Config) -> Vec<(&'static str, Config, ConfigError)> {
    let mut variations = Vec::new();
    let mut add = |what: &'static str, change: &dyn Fn(&mut Config), error: ConfigError| {
        let mut config = base.clone();
        change(&mut config);
        variations.push((what, config, error));
    };
    let outsider = base
        .voters
        .iter()
        .chain(&base.learners)
        .max()
        .map_or(1, |id| id + 1);
    let first_voter = base.voters[0];
    add("id 0", &|c| c.id = 0, ConfigError::ZeroId);
    add("voter 0", &|c| c.voters.insert(0, 0), ConfigError::ZeroId);
    add(
        "learner 0",
        &|c| c.learners.insert(0, 0),
        ConfigError::ZeroId,
    );
    add(
        "joining with members",
        &|c| c.joining = true,
        ConfigError::JoiningWithMembers,
    );
    add(
        "no voters",
        &|c| {
            c.voters.clear();
            c.learners.clear();
        },
        ConfigError::NoVoters,
    );
    add(
        "a voter twice",
        &|c| c.voters.push(*c.voters.last().expect("a voter")),
        ConfigError::VotersNotSortedUnique,
    );
    add(
        "voters out of order",
        &|c| c.voters.insert(0, outsider),
        ConfigError::VotersNotSortedUnique,
    );
    add(
        "a learner twice",
        &|c| c.learners = vec![outsider, outsider],
        ConfigError::LearnersNotSortedUnique,
    );
    add(
        "learners out of order",
        &|c| c.learners = vec![outsider + 1, outsider],
        ConfigError::LearnersNotSortedUnique,
    );
    add(
        "a learner that votes",
        &|c| c.learners = vec![first_voter],
        ConfigError::LearnerIsAVoter(first_voter),
    );
    add(
        "not a member",
        &|c| c.id = outsider,
        ConfigError::NotAVoter(outsider),
    );
    add(
        "heartbeat 0",
        &|c| c.heartbeat_interval_ticks = 0,
        ConfigError::ZeroHeartbeat,
    );
    add(
        "election timeout at the heartbeat",
        &|c| c.election_timeout_ticks_min = c.heartbeat_interval_ticks,
        ConfigError::ElectionTimeoutTooShort {
            election: base.heartbeat_interval_ticks,
            heartbeat: base.heartbeat_interval_ticks,
        },
    );
    add(
        "no entries per message",
        &|c| c.max_entries_per_message = 0,
        ConfigError::ZeroFlowControl,
    );
    add(
        "no messages in flight",
        &|c| c.max_inflight_messages = 0,
        ConfigError::ZeroFlowControl,
    );
    add(
        "snapshot chunks of 0 bytes",
        &|c| c.snapshot_chunk_bytes = 0,
        ConfigError::ZeroSnapshotChunk,
    );
    add(
        "lease reads without CheckQuorum",
        &|c| {
            c.read_only = ReadOnlyOption::LeaseBased;
            c.check_quorum = false;
        },
        ConfigError::LeaseWithoutCheckQuorum,
    );
    add(
        "drift of an election timeout",
        &|c| c.max_clock_drift_ticks = c.election_timeout_ticks_min,
        ConfigError::DriftNotBelowElectionTimeout {
            drift: base.election_timeout_ticks_min,
            election: base.election_timeout_ticks_min,
        },
    );
    variations
}

impl World {
    /// Asks raft-core to validate defective variations of node `id`'s
    /// configuration (a voter's, valid): each must be refused for its defect.
    pub(crate) fn probe_config_refusals(&mut self, id: u64) {
        let base = self.host_ref(id).config.clone();
        for (what, config, expected) in defective_variations(&base) {
            let answer = config.validate();
            if answer.as_ref().err() != Some(&expected) {
                let answer = match answer {
                    Ok(()) => "accepted it".to_owned(),
                    Err(error) => format!("refused it: {error}"),
                };
                self.contract_broken(format!(
                    "a configuration with {what} must be refused ({expected}); validate {answer}"
                ));
                return;
            }
        }
    }
}

/// One "no ready" answer in this many is checked by taking a ready anyway.
pub(crate) const NO_READY_PROBE_EVERY: u64 = 8;

/// One message in this many leader messages (AppendEntries, InstallSnapshot)
/// is preceded by a malformed twin.
const GARBLE_ONE_IN: u64 = 32;

/// A configuration with one defect, drawn by `pick`, and what it is: the
/// data of a conf entry no correct leader writes.
fn invalid_conf_state(pick: u64) -> (ConfState, &'static str) {
    let conf = |voters: &[NodeId], outgoing: &[NodeId], learners: &[NodeId]| ConfState {
        voters: voters.to_vec(),
        outgoing_voters: outgoing.to_vec(),
        learners: learners.to_vec(),
    };
    match pick % 6 {
        0 => (conf(&[], &[1, 2], &[]), "a conf entry with no voters"),
        1 => (
            conf(&[1, 1, 2], &[], &[]),
            "a conf entry naming a voter twice",
        ),
        2 => (
            conf(&[2, 1], &[], &[]),
            "a conf entry with voters out of order",
        ),
        3 => (conf(&[0, 1], &[], &[]), "a conf entry with voter 0"),
        4 => (
            conf(&[1, 2], &[3, 1], &[]),
            "a conf entry with outgoing voters out of order",
        ),
        _ => (
            conf(&[1, 2], &[], &[2]),
            "a conf entry with a learner that votes",
        ),
    }
}

/// The data of a conf entry no correct leader writes, drawn by `pick`, and
/// what is wrong with it: an invalid configuration, or bytes that break the
/// documented layout (`ConfChangeEntry::encode`: version, change count
/// (u16 LE, at most `MAX_CHANGES_PER_CONF_CHANGE`), each change's kind and
/// node, then the configuration section).
fn invalid_conf_entry(pick: u64) -> (bytes::Bytes, &'static str) {
    let valid = || ConfChangeEntry {
        change: ConfChange::leave_joint(),
        conf_state: ConfState {
            voters: vec![1, 2],
            outgoing_voters: Vec::new(),
            learners: Vec::new(),
        },
    };
    match pick % 8 {
        6 => {
            let mut data = valid().encode().to_vec();
            data.push(0);
            (data.into(), "a conf entry with a byte after its end")
        }
        7 => {
            // A change count past the limit, followed by that many changes.
            let count = MAX_CHANGES_PER_CONF_CHANGE + 1;
            let mut data = vec![1];
            data.extend_from_slice(&(count as u16).to_le_bytes());
            for k in 0..count as u64 {
                data.push(1); // AddLearner
                data.extend_from_slice(&(STRANGER + k).to_le_bytes());
            }
            let section = valid().encode();
            // The valid entry's change is empty: its section follows its
            // version and count.
            data.extend_from_slice(&section[3..]);
            (data.into(), "a conf entry with more changes than the limit")
        }
        k => {
            let (conf_state, what) = invalid_conf_state(k);
            let entry = ConfChangeEntry {
                change: ConfChange::leave_joint(),
                conf_state,
            };
            (entry.encode(), what)
        }
    }
}

/// A twin of `message` (a leader's AppendEntries or snapshot chunk) with one
/// defect no correct leader's message has, drawn by `pick`; and what it is.
/// `None` for other messages.
fn garbled(message: &Message, pick: u64) -> Option<(Message, &'static str)> {
    let term = message.term;
    let mut twin = message.clone();
    let what = match &mut twin.body {
        MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            ..
        } => {
            let entry = |index, term| Entry {
                term,
                index,
                kind: EntryKind::Normal,
                data: Default::default(),
            };
            match pick % 6 {
                0 => {
                    *prev_log_term = term + 1;
                    "a previous entry of a term above the leader's"
                }
                5 => {
                    let (data, what) = invalid_conf_entry(pick / 6);
                    *entries = vec![Entry {
                        term: *prev_log_term,
                        index: *prev_log_index + 1,
                        kind: EntryKind::ConfChange,
                        data,
                    }];
                    what
                }
                1 => {
                    let gap = *prev_log_index + 2;
                    match entries.first_mut() {
                        Some(first) => first.index = gap,
                        None => entries.push(entry(gap, term)),
                    }
                    "a gap before its first entry"
                }
                2 => {
                    match entries.last_mut() {
                        Some(last) => last.term = term + 1,
                        None => entries.push(entry(*prev_log_index + 1, term + 1)),
                    }
                    "an entry of a term above the leader's"
                }
                3 if *prev_log_term > 0 => {
                    *entries = vec![entry(*prev_log_index + 1, *prev_log_term - 1)];
                    "an entry of a term below the one before it"
                }
                _ => {
                    if entries.is_empty() {
                        entries.push(entry(0, term));
                    }
                    // The last entry at u64::MAX: the index after it does not exist.
                    let first = u64::MAX - entries.len() as u64 + 1;
                    *prev_log_index = first - 1;
                    for (k, e) in entries.iter_mut().enumerate() {
                        e.index = first + k as u64;
                        e.term = (*prev_log_term).max(e.term.min(term));
                    }
                    "an entry at the last index there is"
                }
            }
        }
        MessageBody::InstallSnapshot(chunk) => {
            let meta = &mut chunk.meta;
            let conf = &mut meta.conf_state;
            let outsider = conf
                .voters
                .iter()
                .chain(&conf.outgoing_voters)
                .chain(&conf.learners)
                .max()
                .map_or(1, |id| id + 1);
            match pick % 10 {
                0 => {
                    meta.index = 0;
                    "index 0"
                }
                9 => {
                    let last = *conf.voters.last().expect("a snapshot has voters");
                    conf.voters.push(last);
                    "a voter twice"
                }
                1 => {
                    meta.term = 0;
                    "term 0"
                }
                2 => {
                    meta.term = term + 1;
                    "a term above the leader's"
                }
                3 => {
                    conf.voters.clear();
                    "no voters"
                }
                4 => {
                    conf.voters.insert(0, outsider);
                    "voters out of order"
                }
                5 => {
                    conf.voters.insert(0, 0);
                    "voter 0"
                }
                6 => {
                    conf.learners.insert(0, 0);
                    "learner 0"
                }
                7 => {
                    conf.learners = vec![conf.voters[0]];
                    "a learner that votes"
                }
                _ => {
                    conf.outgoing_voters = vec![outsider + 1, outsider];
                    "outgoing voters out of order"
                }
            }
        }
        _ => return None,
    };
    Some((twin, what))
}

impl World {
    /// Sometimes hands node `message.to` a malformed twin of the leader's
    /// message about to be delivered: raft-core must drop it whole (its
    /// status, configuration and outbox unchanged), so the run goes on as
    /// if it never came. Its own random stream: the run's other draws, and
    /// so its trace, are the same with or without it.
    pub(crate) fn probe_garbled(&mut self, message: &Message) {
        if !matches!(
            message.body,
            MessageBody::AppendEntries { .. } | MessageBody::InstallSnapshot(_)
        ) || !self.garble.chance(Ratio::new(1, GARBLE_ONE_IN))
        {
            return;
        }
        let pick = self.garble.next_u64();
        let Some((twin, what)) = garbled(message, pick) else {
            return;
        };
        let id = message.to;
        let Some(node) = self.host(id).node.as_mut() else {
            return;
        };
        let before = (node.status(), node.conf_state(), node.has_ready());
        node.step(twin);
        let after = (node.status(), node.conf_state(), node.has_ready());
        if before != after {
            let kind = describe_kind(&message.body);
            self.contract_broken(format!(
                "n{id} took a malformed {kind} from n{} ({what}) instead of dropping it: before {before:?}, after {after:?}",
                message.from
            ));
        }
    }
}

fn describe_kind(body: &MessageBody) -> &'static str {
    match body {
        MessageBody::InstallSnapshot(_) => "snapshot chunk",
        _ => "AppendEntries",
    }
}

/// Node ids far above any the simulator hands out: strangers to every run.
const STRANGER: NodeId = 1_000_000;

/// Changes that are invalid against the simple configuration `conf`, and
/// the reason each must be refused for (`next_conf_state` checks in a
/// documented order; each change breaks one rule, or is built so that the
/// order decides the reason).
fn invalid_changes(conf: &ConfState) -> Vec<(&'static str, ConfChange, InvalidConfChange)> {
    let single = |kind, node| ConfChangeSingle { kind, node };
    let of = |changes: Vec<ConfChangeSingle>| ConfChange { changes };
    let learners = |count: usize| -> Vec<ConfChangeSingle> {
        (0..count as u64)
            .map(|k| single(ConfChangeKind::AddLearner, STRANGER + k))
            .collect()
    };
    let max = MAX_CHANGES_PER_CONF_CHANGE;
    let mut at_limit = learners(max - 1);
    at_limit.push(single(ConfChangeKind::AddLearner, 0));
    let v0 = conf.voters[0];
    let mut changes = vec![
        (
            "more changes than the limit",
            of(learners(max + 1)),
            InvalidConfChange::TooManyChanges(max + 1),
        ),
        // At the limit the count passes and the last change's node 0 decides.
        (
            "as many changes as the limit, the last on node 0",
            of(at_limit),
            InvalidConfChange::ZeroNode,
        ),
        (
            "node 0",
            of(vec![single(ConfChangeKind::AddVoter, 0)]),
            InvalidConfChange::ZeroNode,
        ),
        (
            "two changes on one node",
            of(vec![
                single(ConfChangeKind::AddLearner, STRANGER),
                single(ConfChangeKind::RemoveNode, STRANGER),
            ]),
            InvalidConfChange::NodeRepeated(STRANGER),
        ),
        (
            "a voter added again",
            of(vec![single(ConfChangeKind::AddVoter, v0)]),
            InvalidConfChange::AlreadyVoter(v0),
        ),
        (
            "a stranger removed",
            of(vec![single(ConfChangeKind::RemoveNode, STRANGER)]),
            InvalidConfChange::NotAMember(STRANGER),
        ),
        (
            "every voter removed",
            of(conf
                .voters
                .iter()
                .map(|&v| single(ConfChangeKind::RemoveNode, v))
                .collect()),
            InvalidConfChange::NoVoterLeft,
        ),
        (
            "a leave with no joint configuration",
            ConfChange::leave_joint(),
            InvalidConfChange::NothingToLeave,
        ),
        (
            "a voter demoted while another is added",
            of(vec![
                single(ConfChangeKind::AddLearner, v0),
                single(ConfChangeKind::AddVoter, STRANGER),
            ]),
            InvalidConfChange::DemotionInJointChange(v0),
        ),
    ];
    if let Some(&l0) = conf.learners.first() {
        changes.push((
            "a learner added again",
            of(vec![single(ConfChangeKind::AddLearner, l0)]),
            InvalidConfChange::AlreadyLearner(l0),
        ));
    }
    changes
}

impl World {
    /// Before an operator's change reaches leader `leader`, asks it for
    /// changes its contract says it refuses, each for its own reason; a
    /// refusal changes nothing. Judged only when the leader would weigh a
    /// change at all (none pending, its term's entry committed, no
    /// transfer): other refusals come first and say nothing.
    pub(crate) fn probe_conf_change_refusals(&mut self, leader: NodeId) {
        let Some(node) = self.host(leader).node.as_mut() else {
            return;
        };
        let conf = node.conf_state();
        if conf.is_joint() || conf.voters.is_empty() {
            return;
        }
        for (what, change, expected) in invalid_changes(&conf) {
            let before = node.status();
            let answer = node.propose_conf_change(change);
            let after = node.status();
            let broken = match answer {
                Ok(index) => Some(format!("appended it at {index}")),
                Err(ProposeConfChangeError::Invalid(reason)) if reason != expected => {
                    Some(format!("refused it: {reason}"))
                }
                Err(_) if before != after => Some("changed its state refusing it".to_owned()),
                Err(_) => None,
            };
            if let Some(answer) = broken {
                self.contract_broken(format!(
                    "n{leader} must refuse a configuration change with {what} ({expected}); it {answer}"
                ));
                return;
            }
        }
    }
}

impl World {
    /// Node `id` said it has no ready: the ready it would hand out now must
    /// then hold nothing (`has_ready` is documented as "a Ready with
    /// anything in it is waiting"). A node that hides work behind a false
    /// `has_ready` leaves a snapshot uninstalled, an entry unapplied or a
    /// message unsent until something else wakes its host. Taking and
    /// advancing an empty ready changes nothing in the node. One answer in
    /// [`NO_READY_PROBE_EVERY`] is probed: a `has_ready` that hides work
    /// hides it every time, and `advance` recounts the commit, which cost
    /// 13% of the checked rate when every answer was probed.
    pub(crate) fn probe_no_ready(&mut self, id: NodeId) {
        self.no_ready_answers += 1;
        if self.checker.is_none() || !self.no_ready_answers.is_multiple_of(NO_READY_PROBE_EVERY) {
            return;
        }
        let Some(node) = self.host(id).node.as_mut() else {
            return;
        };
        let ready = node.ready();
        let mut held = Vec::new();
        if ready.snapshot.is_some() {
            held.push("a snapshot".to_owned());
        }
        if ready.hard_state.is_some() {
            held.push("a hard state".to_owned());
        }
        for (what, count) in [
            ("entries to write", ready.entries.len()),
            ("messages", ready.messages.len()),
            ("messages after the write", ready.persisted_messages.len()),
            ("entries to apply", ready.committed_entries.len()),
            ("confirmed reads", ready.read_states.len()),
        ] {
            if count > 0 {
                held.push(format!("{count} {what}"));
            }
        }
        node.advance(ready.number);
        if !held.is_empty() {
            self.contract_broken(format!(
                "node {id}'s has_ready() said no ready was waiting, and ready() then held {}",
                held.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{defective_variations, garbled};
    use raft_core::{
        ConfState, Config, Entry, EntryKind, Message, MessageBody, RawNode, RestoredState,
        SnapshotChunk, SnapshotMeta,
    };

    fn message(body: MessageBody) -> Message {
        Message {
            from: 1,
            to: 2,
            term: 3,
            body,
        }
    }

    /// Every defect of every kind is dropped whole by raft-core, and the
    /// real message after it is taken as usual.
    #[test]
    fn every_garbled_twin_is_dropped_and_the_real_message_taken() {
        let entry = |index| Entry {
            term: 3,
            index,
            kind: EntryKind::Normal,
            data: Default::default(),
        };
        let append = message(MessageBody::AppendEntries {
            prev_log_index: 0,
            prev_log_term: 0,
            entries: vec![entry(1), entry(2)],
            leader_commit: 0,
        });
        let snapshot = message(MessageBody::InstallSnapshot(Box::new(SnapshotChunk {
            meta: SnapshotMeta {
                index: 5,
                term: 2,
                conf_state: ConfState {
                    voters: vec![1, 2, 3],
                    outgoing_voters: vec![],
                    learners: vec![],
                },
            },
            offset: 0,
            data: Default::default(),
            done: false,
        })));
        for real in [append, snapshot] {
            let mut defects = std::collections::BTreeSet::new();
            // Sixty picks draw every defect: the conf entries' eight come
            // one in six.
            for pick in 0..60 {
                let (twin, what) = garbled(&real, pick).expect("a leader message");
                defects.insert(what);
                let rng = crate::world::rng::Rng::new(0, crate::world::rng::Stream::Node(2));
                let mut node = RawNode::new(
                    Config::new(2, vec![1, 2, 3]),
                    RestoredState::default(),
                    rng.into_rng_core(),
                )
                .expect("valid");
                let before = (node.status(), node.conf_state(), node.has_ready());
                node.step(twin);
                let after = (node.status(), node.conf_state(), node.has_ready());
                assert_eq!(before, after, "{what}");
                node.step(real.clone());
                assert_eq!(node.status().term, 3, "the real one is taken after {what}");
            }
            assert!(defects.len() >= 10, "{defects:?}");
        }
    }

    #[test]
    fn every_variation_is_refused_for_its_own_defect() {
        let base = Config::new(2, vec![1, 2, 3]);
        assert_eq!(base.validate(), Ok(()));
        let variations = defective_variations(&base);
        assert!(variations.len() >= 18);
        for (what, config, expected) in variations {
            assert_eq!(config.validate(), Err(expected), "{what}");
        }
    }

    #[test]
    fn every_invalid_change_is_refused_for_its_own_reason() {
        use super::invalid_changes;
        use raft_core::{ConfState, ProposeConfChangeError, Role};
        for (voter, learners) in [(1, vec![]), (2, vec![4, 5])] {
            // The leader of a one-voter cluster, its term's entry committed.
            let mut config = Config::new(voter, vec![voter]);
            config.learners = learners.clone();
            let rng = crate::world::rng::Rng::new(0, crate::world::rng::Stream::Node(voter));
            let mut node =
                RawNode::new(config, RestoredState::default(), rng.into_rng_core()).expect("valid");
            for _ in 0..100 {
                node.tick();
                while node.has_ready() {
                    let ready = node.ready();
                    node.advance(ready.number);
                }
            }
            assert_eq!(node.status().role, Role::Leader);
            let conf = node.conf_state();
            assert_eq!(
                conf,
                ConfState {
                    voters: vec![voter],
                    outgoing_voters: vec![],
                    learners,
                }
            );
            let changes = invalid_changes(&conf);
            assert!(changes.len() >= 9);
            for (what, change, expected) in changes {
                let before = node.status();
                let answer = node.propose_conf_change(change);
                assert_eq!(
                    answer,
                    Err(ProposeConfChangeError::Invalid(expected)),
                    "{what}"
                );
                assert_eq!(node.status(), before, "{what}");
            }
        }
    }
}
