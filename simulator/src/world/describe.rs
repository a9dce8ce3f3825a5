//! Human-readable lines for events and node states (replay output), and the
//! message digest the trace hash uses.

use invariants::linearizability::{KvOp, KvResult};
use raft_core::{Entry, Message, MessageBody, NodeId, Role, Status};

use crate::world::event::{Event, Reply};
use crate::world::kv::{digest, mix_into};
use crate::world::{format_time, World};

/// A digest of a message body: kind and every field that matters.
pub fn message_digest(body: &MessageBody) -> u64 {
    match body {
        // A vote request of no leadership transfer digests as it always did.
        MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            leadership_transfer,
        } => {
            let hash = mix_into(1 ^ last_log_index << 8, *last_log_term);
            match leadership_transfer {
                false => hash,
                true => mix_into(hash, 11),
            }
        }
        MessageBody::RequestVoteResponse { granted } => 2 ^ (*granted as u64) << 8,
        MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        } => {
            let mut hash = mix_into(3 ^ prev_log_index << 8, *prev_log_term);
            hash = mix_into(hash, *leader_commit);
            for entry in entries {
                hash = mix_into(hash, entry.term ^ digest(&entry.data));
            }
            hash
        }
        MessageBody::AppendEntriesResponse {
            reject,
            index,
            reject_hint_index,
            reject_hint_term,
        } => {
            let hash = mix_into(4 ^ (*reject as u64) << 8, *index);
            mix_into(mix_into(hash, *reject_hint_index), *reject_hint_term)
        }
        // A heartbeat of no read round (context 0) digests as it always did.
        MessageBody::Heartbeat { commit, context } => match context {
            0 => mix_into(5, *commit),
            _ => mix_into(mix_into(5, *commit), *context),
        },
        MessageBody::HeartbeatResponse { context } => match context {
            0 => 6,
            _ => mix_into(6, *context),
        },
        MessageBody::PreVote {
            last_log_index,
            last_log_term,
        } => mix_into(7 ^ last_log_index << 8, *last_log_term),
        MessageBody::PreVoteResponse { granted } => 8 ^ (*granted as u64) << 8,
        MessageBody::ReadIndex { context } => mix_into(9, *context),
        MessageBody::ReadIndexResponse {
            index,
            context,
            via,
        } => mix_into(
            mix_into(10 ^ index << 8, *context),
            digest(via.name().as_bytes()),
        ),
        MessageBody::TimeoutNow => 12,
        MessageBody::InstallSnapshot(chunk) => mix_into(
            mix_into(
                mix_into(13 ^ chunk.meta.index << 8, chunk.meta.term),
                chunk.offset,
            ),
            mix_into(digest(&chunk.data), u64::from(chunk.done)),
        ),
        MessageBody::InstallSnapshotResponse {
            index,
            next_offset,
            done,
        } => mix_into(mix_into(14 ^ index << 8, *next_offset), u64::from(*done)),
    }
}

/// A message body in a few words, e.g. `app(prev 5/2, entries 6..8, commit 4)`.
pub fn describe_body(body: &MessageBody) -> String {
    match body {
        MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            leadership_transfer: false,
        } => {
            format!("vote?(last {last_log_index}/t{last_log_term})")
        }
        MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            leadership_transfer: true,
        } => {
            format!("vote?(last {last_log_index}/t{last_log_term}, transfer)")
        }
        MessageBody::RequestVoteResponse { granted } => {
            if *granted {
                "vote granted".into()
            } else {
                "vote refused".into()
            }
        }
        MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        } => {
            let span = match (entries.first(), entries.last()) {
                (Some(first), Some(last)) => {
                    format!("entries {}..{} t{}", first.index, last.index, last.term)
                }
                _ => "no entries".into(),
            };
            format!("app(prev {prev_log_index}/t{prev_log_term}, {span}, commit {leader_commit})")
        }
        MessageBody::AppendEntriesResponse {
            reject: false,
            index,
            ..
        } => format!("app ok(match {index})"),
        MessageBody::AppendEntriesResponse {
            reject: true,
            index,
            reject_hint_index,
            reject_hint_term,
        } => {
            format!("app reject(at {index}, hint {reject_hint_index}/t{reject_hint_term})")
        }
        MessageBody::Heartbeat { commit, context: 0 } => format!("heartbeat(commit {commit})"),
        MessageBody::Heartbeat { commit, context } => {
            format!("heartbeat(commit {commit}, round {context})")
        }
        MessageBody::HeartbeatResponse { context: 0 } => "heartbeat ok".into(),
        MessageBody::HeartbeatResponse { context } => format!("heartbeat ok(round {context})"),
        MessageBody::PreVote {
            last_log_index,
            last_log_term,
        } => {
            format!("pre-vote?(last {last_log_index}/t{last_log_term})")
        }
        MessageBody::PreVoteResponse { granted } => {
            if *granted {
                "pre-vote granted".into()
            } else {
                "pre-vote refused".into()
            }
        }
        MessageBody::ReadIndex { context } => format!("read-index?(context {context})"),
        MessageBody::ReadIndexResponse {
            index,
            context,
            via,
        } => format!(
            "read-index(at {index}, context {context}, via {})",
            via.name()
        ),
        MessageBody::TimeoutNow => "timeout-now".into(),
        MessageBody::InstallSnapshot(chunk) => format!(
            "install-snapshot(at {}/t{}, bytes {}..{}{})",
            chunk.meta.index,
            chunk.meta.term,
            chunk.offset,
            chunk.offset + chunk.data.len() as u64,
            if chunk.done { ", last" } else { "" }
        ),
        MessageBody::InstallSnapshotResponse {
            index,
            next_offset,
            done: false,
        } => format!("install-snapshot ok(at {index}, next byte {next_offset})"),
        MessageBody::InstallSnapshotResponse { index, .. } => {
            format!("install-snapshot done(match {index})")
        }
    }
}

/// A client operation in a few words, e.g. `put k0=c1.4`.
pub fn describe_op(op: &KvOp) -> String {
    match op {
        KvOp::Get { key } => format!("get {key}"),
        KvOp::Put { key, value } => format!("put {key}={value}"),
        KvOp::Append { key, value } => format!("append {key}+={value}"),
        KvOp::Cas { key, expected, new } => {
            format!("cas {key} {}->{new}", expected.as_deref().unwrap_or("nil"))
        }
    }
}

/// A result in a few words.
pub fn describe_result(result: &KvResult) -> String {
    match result {
        KvResult::Value(Some(value)) => format!("value {value}"),
        KvResult::Value(None) => "value nil".into(),
        KvResult::Done => "done".into(),
        KvResult::CasOk => "cas ok".into(),
        KvResult::CasFailed => "cas failed".into(),
    }
}

/// A node named in output: `n3`, or `none` when there is none.
pub fn describe_node(node: Option<NodeId>) -> String {
    node.map_or("none".into(), |id| format!("n{id}"))
}

/// A message in a few words, e.g. `n1 -> n2 t3 heartbeat(commit 4)`.
pub fn describe_message(message: &Message) -> String {
    format!(
        "n{} -> n{} t{} {}",
        message.from,
        message.to,
        message.term,
        describe_body(&message.body)
    )
}

/// What changed on a node between two statuses, in the words a Raft engineer
/// looks for: role and term, vote, the leader it follows, commit; `None` if
/// none of those changed. E.g. `n3 becomes follower in term 4, follows n1,
/// commit 12 -> 14`.
pub fn describe_status_change(before: &Status, after: &Status) -> Option<String> {
    let mut parts = Vec::new();
    if after.role != before.role || after.term != before.term {
        parts.push(match after.role {
            Role::Leader => format!("becomes LEADER of term {}", after.term),
            Role::PreCandidate => format!("becomes pre-candidate in term {}", after.term),
            Role::Candidate => format!("becomes candidate in term {}", after.term),
            Role::Follower if before.role != Role::Follower => {
                format!("becomes follower in term {}", after.term)
            }
            Role::Follower => format!("moves to term {}", after.term),
        });
    }
    if after.vote != before.vote {
        if let Some(vote) = after.vote.filter(|&v| v != after.id) {
            parts.push(format!("votes for n{vote}"));
        }
    }
    if after.leader != before.leader && after.role != Role::Leader {
        if let Some(leader) = after.leader {
            parts.push(format!("follows n{leader}"));
        }
    }
    if after.commit != before.commit {
        parts.push(format!("commit {} -> {}", before.commit, after.commit));
    }
    (!parts.is_empty()).then(|| format!("n{} {}", after.id, parts.join(", ")))
}

/// A log as runs of terms, e.g. `t1x3 t2x5`: short enough to read at a glance.
pub fn describe_log(entries: &[Entry]) -> String {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for entry in entries {
        match runs.last_mut() {
            Some((term, count)) if *term == entry.term => *count += 1,
            _ => runs.push((entry.term, 1)),
        }
    }
    if runs.is_empty() {
        return "empty".into();
    }
    runs.iter()
        .map(|(term, count)| format!("t{term}x{count}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl World {
    /// `[virtual time #event]`, the prefix of a log or story line.
    pub(crate) fn now_label(&self) -> String {
        format!("[{} #{}]", format_time(self.now_us), self.trace.events())
    }

    /// One line for an event about to be handled.
    pub(crate) fn describe(&self, event: &Event) -> String {
        let at = self.now_label();
        let what = match event {
            Event::Tick { node, .. } => format!("n{node} tick"),
            Event::Deliver(m) => describe_message(m),
            Event::FsyncDone { node, .. } => format!("n{node} fsync done"),
            Event::ClientRequest { node, request } => format!(
                "c{} -> n{node} {} (seq {}, attempt {})",
                request.client,
                describe_op(&request.op),
                request.seq,
                request.attempt
            ),
            Event::ClientReply {
                client, seq, reply, ..
            } => match reply {
                Reply::Done(result) => {
                    format!("c{client} <- reply seq {seq}: {}", describe_result(result))
                }
                Reply::NotLeader(Some(leader)) => {
                    format!("c{client} <- reply seq {seq}: not the leader, try n{leader}")
                }
                Reply::NotLeader(None) => {
                    format!("c{client} <- reply seq {seq}: not the leader, leader unknown")
                }
            },
            Event::ClientTimeout {
                client,
                seq,
                attempt,
            } => {
                format!("c{client} timeout seq {seq} attempt {attempt}")
            }
            Event::ClientWake { client } => format!("c{client} wakes"),
            Event::ClientRetry {
                client,
                seq,
                attempt,
            } => format!("c{client} retries seq {seq} after attempt {attempt} was redirected"),
            Event::Restart { node, .. } => format!("n{node} restarts"),
            Event::HealStart => "heal: faults stop, every node restarts".into(),
            Event::HealCheck => "heal check".into(),
        };
        format!("{at} {what}")
    }

    /// One line per node: role, term, vote, commit, applied, log.
    pub fn describe_nodes(&self) -> Vec<String> {
        self.hosts
            .iter()
            .map(|host| match &host.node {
                None if host.retired => format!("n{}: retired (its disk was lost; replaced)", host.id()),
                None if !host.started => format!("n{}: spare, never started", host.id()),
                None => format!("n{}: down (disk holds {} entries)", host.id(), host.disk.durable_len()),
                Some(node) => {
                    let s = node.status();
                    format!(
                        "n{}: {} term {} vote {} leader {} commit {} applied {} persisted {} log [{}]",
                        s.id,
                        s.role.name(),
                        s.term,
                        describe_node(s.vote),
                        describe_node(s.leader),
                        s.commit,
                        s.applied,
                        s.persisted_index,
                        describe_log(node.log_entries_from(1))
                    )
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follower(id: NodeId, term: u64, leader: Option<NodeId>, commit: u64) -> Status {
        Status {
            id,
            role: Role::Follower,
            term,
            vote: None,
            leader,
            commit,
            applied: commit,
            last_index: commit,
            last_term: term,
            persisted_index: commit,
            lead_transferee: None,
            first_index: 1,
            snapshot_index: 0,
        }
    }

    #[test]
    fn a_status_change_reads_as_role_term_vote_leader_and_commit() {
        let before = follower(3, 3, Some(2), 12);
        assert_eq!(describe_status_change(&before, &before), None);
        let after = Status {
            vote: Some(1),
            ..follower(3, 4, Some(1), 14)
        };
        assert_eq!(
            describe_status_change(&before, &after).as_deref(),
            Some("n3 moves to term 4, votes for n1, follows n1, commit 12 -> 14")
        );
        let leader = Status {
            role: Role::Leader,
            vote: Some(3),
            leader: Some(3),
            ..follower(3, 5, None, 14)
        };
        assert_eq!(
            describe_status_change(&after, &leader).as_deref(),
            Some("n3 becomes LEADER of term 5")
        );
    }
}
