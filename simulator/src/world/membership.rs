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
    ConfChange, ConfChangeEntry, ConfState, EntryKind, NodeId, ProposeConfChangeError, Role,
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
        let result = node.propose_conf_change(change);
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
