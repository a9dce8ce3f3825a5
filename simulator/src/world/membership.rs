//! Membership as the world carries it out: nodes that join under spare ids,
//! nodes replaced after a disk loss, configuration changes asked of the
//! leader, compaction on demand; and the configuration in force, learned
//! from the conf entries the nodes apply.
//!
//! The configuration in force is the one of the highest conf entry any node
//! applied (a neutral observation: the entry carries the configuration it
//! produces). The crash budget, the liveness checks and the operator's
//! choices all read it; the safety checker is told each time it changes.

use raft_core::{
    ConfChange, ConfChangeEntry, ConfChangeKind, ConfState, EntryKind, NodeId,
    ProposeConfChangeError, Role,
};

use crate::drivers::{DiskFate, MemberChange};
use crate::world::coverage::Sometimes;
use crate::world::faults::CrashCause;
use crate::world::World;

/// The configuration in force, and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct Configuration {
    /// The configuration of the highest conf entry applied by any node (the
    /// initial voters before any).
    pub(crate) conf: ConfState,
    /// That entry's index (0 for the initial configuration).
    pub(crate) index: u64,
}

/// The configuration a valid `change` produces from `before`, as raft-core's
/// `conf_change` module documents it, written apart from its
/// `next_conf_state` so that the host can hold each conf entry to it: the
/// empty change leaves a joint configuration; otherwise each single change
/// applies in turn (a voter added leaves the learners, a learner added
/// leaves the voters, a node removed leaves both), and a change that alters
/// more than one voter goes through the joint configuration whose outgoing
/// voters are `before`'s.
pub(crate) fn expected_conf(before: &ConfState, change: &ConfChange) -> ConfState {
    if change.is_leave_joint() {
        return ConfState {
            voters: before.voters.clone(),
            outgoing_voters: Vec::new(),
            learners: before.learners.clone(),
        };
    }
    let mut voters: std::collections::BTreeSet<NodeId> = before.voters.iter().copied().collect();
    let mut learners: std::collections::BTreeSet<NodeId> =
        before.learners.iter().copied().collect();
    for single in &change.changes {
        let node = single.node;
        match single.kind {
            ConfChangeKind::AddVoter => {
                learners.remove(&node);
                voters.insert(node);
            }
            ConfChangeKind::AddLearner => {
                voters.remove(&node);
                learners.insert(node);
            }
            ConfChangeKind::RemoveNode => {
                voters.remove(&node);
                learners.remove(&node);
            }
        }
    }
    let before_voters: std::collections::BTreeSet<NodeId> = before.voters.iter().copied().collect();
    let altered = voters.symmetric_difference(&before_voters).count();
    ConfState {
        voters: voters.into_iter().collect(),
        outgoing_voters: if altered > 1 {
            before.voters.clone()
        } else {
            Vec::new()
        },
        learners: learners.into_iter().collect(),
    }
}

impl Configuration {
    /// The initial configuration: `voters`, no learners.
    pub(crate) fn initial(voters: Vec<NodeId>) -> Configuration {
        Configuration {
            conf: ConfState {
                voters,
                outgoing_voters: Vec::new(),
                learners: Vec::new(),
            },
            index: 0,
        }
    }
}

impl World {
    /// The configuration in force: that of the highest conf entry any node
    /// applied.
    pub fn configuration(&self) -> &ConfState {
        &self.configuration.conf
    }

    /// Whether `id` is a member (voter of either half, or learner) of the
    /// configuration in force.
    pub fn is_member(&self, id: NodeId) -> bool {
        let conf = &self.configuration.conf;
        conf.is_voter(id) || conf.learners.contains(&id)
    }

    /// A spare id no node ever used, if one is left.
    pub fn unused_spare(&self) -> Option<NodeId> {
        self.hosts
            .iter()
            .find(|h| h.id() > self.params.cluster_size && !h.started && !h.retired)
            .map(|h| h.id())
    }

    /// Node `id` applied a conf entry at `index` producing `conf`: the
    /// configuration in force moves if the entry is the highest applied.
    pub(crate) fn on_conf_applied(&mut self, index: u64, conf: ConfState) {
        if index <= self.configuration.index {
            return;
        }
        let before = std::mem::replace(&mut self.configuration.conf, conf.clone());
        self.configuration.index = index;
        if conf.is_joint() && !before.is_joint() {
            self.reached(Sometimes::JointEntered);
        }
        if before.is_joint() && !conf.is_joint() {
            self.reached(Sometimes::JointLeft);
        }
        if conf
            .voters
            .iter()
            .any(|v| before.learners.contains(v) && !before.is_voter(*v))
        {
            self.reached(Sometimes::LearnerPromoted);
        }
        if let Some(leader) = self.current_leader() {
            if before.is_voter(leader) && !conf.is_voter(leader) {
                self.reached(Sometimes::LeaderRemoved);
            }
        }
        if self.trace.is_logging() {
            let line = format!(
                "configuration in force (entry {index}): {}",
                describe_conf(&conf)
            );
            self.trace.log_detail(&line);
            let story = format!("{} {line}", self.now_label());
            self.trace.log_story(story);
        }
        if let Some(checker) = &mut self.checker {
            let result = checker.on_configuration(&conf.voters, &conf.outgoing_voters);
            self.check(result);
        }
    }

    /// A spare id boots as a new node with an empty disk (nothing if it ran
    /// before or its identity was retired).
    pub(crate) fn join_node(&mut self, id: NodeId) {
        let host = self.host(id);
        if host.started || host.retired {
            return;
        }
        if self.trace.is_logging() {
            let story = format!(
                "{} n{id} boots empty and waits to be added",
                self.now_label()
            );
            self.trace.log_story(story);
        }
        self.start_node(id);
    }

    /// `id` loses its disk for good and its identity is retired; `by` boots
    /// empty to replace it.
    pub(crate) fn replace_node(&mut self, id: NodeId, by: NodeId) {
        if self.host_ref(id).retired || self.host_ref(by).started {
            return;
        }
        if self.host_ref(id).is_up() {
            self.crash(id, CrashCause::Fault(DiskFate::Lost), None);
        } else {
            self.host(id).disk.wipe();
        }
        self.host(id).retired = true;
        if let Some(checker) = &mut self.checker {
            checker.on_retired(id);
        }
        self.reached(Sometimes::NodeReplaced);
        if self.trace.is_logging() {
            let story = format!(
                "{} n{id}'s disk is gone for good: n{by} replaces it",
                self.now_label()
            );
            self.trace.log_story(story);
        }
        self.join_node(by);
    }

    /// Asks node `leader` for `changes` (nothing if it is down or paused:
    /// the operator's request is lost). Returns raft-core's answer.
    pub(crate) fn change_membership(
        &mut self,
        leader: NodeId,
        changes: &[MemberChange],
    ) -> Option<Result<u64, ProposeConfChangeError>> {
        if self.is_paused(leader) {
            return None;
        }
        let change = ConfChange {
            changes: changes.iter().map(|c| c.to_raft()).collect(),
        };
        let node = self.host(leader).node.as_ref()?;
        let pending = node.conf_change_pending();
        let leads = node.status().role == Role::Leader;
        if leads && !pending {
            self.probe_conf_change_refusals(leader);
        }
        let node = self.host(leader).node.as_mut()?;
        let before = node.conf_state();
        let result = node.propose_conf_change(change.clone());
        if let Ok(index) = result {
            self.check_conf_entry_appended(leader, index, &before, &change);
        }
        // The host may ask before it proposes: the answer must agree with
        // the refusal (raft-core's documented contract).
        let refused_pending = matches!(result, Err(ProposeConfChangeError::ChangePending { .. }));
        if (pending && (!leads || result.is_ok())) || (refused_pending && !pending) {
            self.contract_broken(format!(
                "n{leader} said a configuration change {} pending (leading: {leads}) and then {}",
                if pending { "was" } else { "was not" },
                match &result {
                    Ok(index) => format!("appended one at {index}"),
                    Err(error) => format!("refused one: {error}"),
                }
            ));
        }
        if self.trace.is_logging() {
            let line = match &result {
                Ok(index) => format!("n{leader} appends the configuration change at {index}"),
                Err(error) => format!("n{leader} refuses the configuration change: {error}"),
            };
            self.trace.log_detail(&line);
        }
        if result.is_ok() {
            self.after_input(leader);
        }
        Some(result)
    }

    /// Leader `leader` accepted `change` against `before` at `index`: the
    /// conf entry there carries the change and the configuration it
    /// produces (see [`expected_conf`]).
    fn check_conf_entry_appended(
        &mut self,
        leader: NodeId,
        index: u64,
        before: &ConfState,
        change: &ConfChange,
    ) {
        let Some(node) = self.host_ref(leader).node.as_ref() else {
            return;
        };
        let entry = node
            .log_entries_from(index)
            .first()
            .filter(|e| e.index == index && e.kind == EntryKind::ConfChange)
            .map(|e| ConfChangeEntry::decode(&e.data));
        let expected = expected_conf(before, change);
        let seen = match entry {
            Some(Ok(entry)) if entry.change == *change && entry.conf_state == expected => return,
            Some(Ok(entry)) => format!("{:?} producing {:?}", entry.change, entry.conf_state),
            Some(Err(error)) => format!("an entry that does not decode ({error})"),
            None => "no conf entry there".to_string(),
        };
        self.contract_broken(format!(
            "n{leader} accepted {change:?} against {before:?} at index {index}, which must hold that change producing {expected:?}; it holds {seen}"
        ));
    }

    /// Node `id` applies a conf entry carrying `entry`: if it applied the
    /// configuration before it in this life, the entry's is what its change
    /// makes of that one (see [`expected_conf`]).
    pub(crate) fn check_conf_entry_applied(
        &mut self,
        id: NodeId,
        index: u64,
        entry: &ConfChangeEntry,
    ) {
        let Some(before) = self.host(id).applied_conf.replace(entry.conf_state.clone()) else {
            return;
        };
        let leaves = entry.change.is_leave_joint();
        let expected = expected_conf(&before, &entry.change);
        if before.is_joint() == leaves && entry.conf_state == expected {
            return;
        }
        self.contract_broken(format!(
            "n{id} applied conf entry {index} with {:?} producing {:?} after {before:?}; the change makes {}",
            entry.change,
            entry.conf_state,
            if before.is_joint() == leaves {
                format!("{expected:?}")
            } else if leaves {
                "nothing: there is no joint configuration to leave".to_string()
            } else {
                "nothing: a joint configuration is left before another change".to_string()
            }
        ));
    }

    /// A leader sends a chunk of its snapshot at `index` from `offset`: a
    /// chunk at or below the furthest one sent on this link, past the
    /// first, resumes a transfer after a lost chunk.
    pub(crate) fn note_snapshot_chunk(
        &mut self,
        from: NodeId,
        to: NodeId,
        index: u64,
        offset: u64,
    ) {
        let furthest = self.snapshot_chunks.entry((from, to)).or_insert((index, 0));
        if furthest.0 != index {
            *furthest = (index, 0);
        }
        let resumed = offset > 0 && offset <= furthest.1;
        furthest.1 = furthest.1.max(offset);
        if resumed {
            self.reached(Sometimes::SnapshotResumed);
        }
    }

    /// The configuration of the last conf entry in `id`'s log that it has
    /// not applied yet, if any (a change on its way).
    pub fn pending_conf(&self, id: NodeId) -> Option<ConfState> {
        let node = self.host_ref(id).node.as_ref()?;
        let applied = node.status().applied;
        node.log_entries_from(applied + 1)
            .iter()
            .rev()
            .find(|e| e.kind == EntryKind::ConfChange)
            .and_then(|e| ConfChangeEntry::decode(&e.data).ok())
            .map(|entry| entry.conf_state)
    }

    /// Whether leader `id` is leaving office: the configuration it applied,
    /// or the latest conf entry in its log it has not applied, makes it no
    /// voter (raft-core then takes no proposal).
    pub(crate) fn is_leaving_office(&self, id: NodeId) -> bool {
        let Some(node) = self.host_ref(id).node.as_ref() else {
            return false;
        };
        !node.conf_state().is_voter(id)
            || self.pending_conf(id).is_some_and(|conf| !conf.is_voter(id))
    }

    /// Whether every running member acts on the configuration in force (it
    /// applied the last conf entry that any node applied).
    pub fn every_member_applied_the_configuration(&self) -> bool {
        let conf = &self.configuration.conf;
        self.hosts
            .iter()
            .filter(|h| self.is_member(h.id()))
            .filter_map(|h| h.node.as_ref())
            .all(|node| node.conf_state() == *conf)
    }

    /// Whether `id` runs and its log reached what the leader committed.
    pub fn is_caught_up(&self, id: NodeId) -> bool {
        let Some(leader) = self.current_leader() else {
            return false;
        };
        let commit = self.host_ref(leader).status().map_or(0, |s| s.commit);
        self.host_ref(id)
            .status()
            .is_some_and(|s| s.last_index >= commit && s.role != Role::Leader)
    }
}

/// `voters n1 n2 n3, learners n4` / `joint (n1 n2 n4) (n1 n2 n3)`.
pub fn describe_conf(conf: &ConfState) -> String {
    let ids = |ids: &[NodeId]| {
        ids.iter()
            .map(|id| format!("n{id}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = match conf.is_joint() {
        true => format!(
            "joint voters ({}) and ({})",
            ids(&conf.voters),
            ids(&conf.outgoing_voters)
        ),
        false => format!("voters {}", ids(&conf.voters)),
    };
    if !conf.learners.is_empty() {
        text.push_str(&format!(", learners {}", ids(&conf.learners)));
    }
    text
}
