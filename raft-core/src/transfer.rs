//! Leadership transfer (§3.10 of Ongaro's thesis, etcd's `MsgTransferLeader`).
//!
//! The leader stops accepting proposals, brings the transferee's log up to its
//! own last index, then sends it `TimeoutNow`; the transferee campaigns at once
//! (no election timer, no PreVote) with vote requests flagged as a transfer,
//! which CheckQuorum's vote lease lets through. A transfer that has not
//! completed within an election timeout is abandoned and proposals resume. The
//! leader's read lease is suspended while a transfer is under way: the
//! transferee may be elected within it.

use crate::raft::{Raft, RoleState};
use crate::raw_node::TransferLeaderError;
use crate::types::{MessageBody, NodeId};

/// A leadership transfer under way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LeaderTransfer {
    /// The voter to hand leadership to.
    // Invariant: a voter other than the leader.
    pub(crate) to: NodeId,
    /// Ticks since the transfer started.
    // Invariant: below election_timeout_ticks_min between ticks.
    elapsed_ticks: u32,
}

impl Raft {
    /// The transferee of the leadership transfer under way, if any.
    pub(crate) fn lead_transferee(&self) -> Option<NodeId> {
        match &self.role {
            RoleState::Leader { transfer, .. } => transfer.map(|t| t.to),
            _ => None,
        }
    }

    /// Leader: starts handing leadership to `to`. A transfer to the same node
    /// already under way goes on; one to another node is replaced (etcd).
    pub(crate) fn transfer_leader(&mut self, to: NodeId) -> Result<(), TransferLeaderError> {
        if !self.is_leader() {
            return Err(TransferLeaderError::NotLeader {
                leader_hint: self.leader,
            });
        }
        // A learner could not win the election it would be told to start.
        let Some(position) = self
            .position_of(to)
            .filter(|_| self.membership.is_voter(to))
        else {
            return Err(TransferLeaderError::NotAVoter(to));
        };
        if to == self.id() {
            return Err(TransferLeaderError::AlreadyLeader);
        }
        if self.lead_transferee() == Some(to) {
            return Ok(());
        }
        let RoleState::Leader { transfer, .. } = &mut self.role else {
            unreachable!("checked above");
        };
        *transfer = Some(LeaderTransfer {
            to,
            elapsed_ticks: 0,
        });
        if !self.maybe_send_timeout_now(position) {
            self.send_append(position, true);
        }
        Ok(())
    }

    /// Leader: if the member at `position` is the transferee and holds the
    /// leader's whole log, tells it to campaign. Returns whether it did.
    pub(crate) fn maybe_send_timeout_now(&mut self, position: usize) -> bool {
        let last_index = self.log.last_index();
        let RoleState::Leader {
            transfer, progress, ..
        } = &self.role
        else {
            return false;
        };
        let to = self.membership.members()[position];
        let up_to_date = progress[position].match_index == last_index;
        if transfer.is_some_and(|t| t.to == to) && up_to_date {
            self.send(to, MessageBody::TimeoutNow);
            return true;
        }
        false
    }

    /// Leader: one tick of the transfer under way; abandoned after an election
    /// timeout (the transferee may be down or cut off), and proposals resume.
    pub(crate) fn tick_transfer(&mut self) {
        let min = self.config.election_timeout_ticks_min;
        let RoleState::Leader { transfer, .. } = &mut self.role else {
            return;
        };
        if let Some(under_way) = transfer {
            under_way.elapsed_ticks += 1;
            if under_way.elapsed_ticks >= min {
                *transfer = None;
            }
        }
    }

    /// Leader: whether proposals are refused because a transfer is under way.
    pub(crate) fn transfer_blocks_proposals(&self) -> Option<NodeId> {
        self.lead_transferee()
    }
}
