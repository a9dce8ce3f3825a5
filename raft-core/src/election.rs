//! Leader election (§5.2, §5.4.1): campaigning, granting votes, counting them.

use crate::config::Bug;
use crate::quorum::{self, VoteResult};
use crate::raft::{Raft, RoleState};
use crate::types::{Index, MessageBody, NodeId, Term};

impl Raft {
    /// The election timer fired: campaign in the next term. A single voter wins at once.
    pub(crate) fn campaign(&mut self) {
        self.become_candidate();
        if self.election_result() == VoteResult::Won {
            self.become_leader();
            return;
        }
        self.request_votes();
    }

    /// Candidate: sends RequestVote to every voter that has not answered yet. Called
    /// when the campaign starts and again every heartbeat interval, since servers
    /// retry RPCs that get no timely response (§5.1): a request lost on the way, or
    /// to a voter that was down, is asked again while the election lasts.
    pub(crate) fn request_votes(&mut self) {
        let RoleState::Candidate { votes } = &self.role else {
            return;
        };
        assert_eq!(votes.len(), self.config.voters.len());
        let silent: Vec<NodeId> = (0..votes.len())
            .filter(|&position| position != self.self_position && votes[position].is_none())
            .map(|position| self.config.voters[position])
            .collect();
        let last_log_index = self.log.last_index();
        let last_log_term = self.log.last_term();
        for to in silent {
            self.send(
                to,
                MessageBody::RequestVote {
                    last_log_index,
                    last_log_term,
                },
            );
        }
    }

    /// A candidate of the current term asks for our vote.
    pub(crate) fn handle_vote_request(
        &mut self,
        from: NodeId,
        last_log_index: Index,
        last_log_term: Term,
    ) {
        // BUG(DoubleVote): a vote already cast in this term for someone else is ignored.
        let free_to_vote = match self.vote {
            None => true,
            Some(voted_for) => voted_for == from || self.config.bugs.has(Bug::DoubleVote),
        };
        // BUG(VoteWithoutLogCheck): a candidate missing committed entries may win.
        let log_ok = self.config.bugs.has(Bug::VoteWithoutLogCheck)
            || self.log.is_up_to_date(last_log_index, last_log_term);
        let granted = free_to_vote && log_ok;
        if granted {
            // Invariant (Election Safety): one vote per term, unless a planted bug says otherwise.
            assert!(
                self.vote.is_none()
                    || self.vote == Some(from)
                    || self.config.bugs.has(Bug::DoubleVote)
            );
            // With DoubleVote the second grant is not recorded: the node keeps
            // believing it voted for the first candidate (so a candidate or leader
            // stays consistent with itself), yet the second candidate got a vote too.
            if self.vote.is_none() {
                self.vote = Some(from);
            }
            self.reset_election_timer();
        }
        self.send(from, MessageBody::RequestVoteResponse { granted });
    }

    /// A voter answered our RequestVote of the current term.
    pub(crate) fn handle_vote_response(&mut self, from: NodeId, granted: bool) {
        let Some(position) = self.position_of(from) else {
            return;
        };
        let RoleState::Candidate { votes } = &mut self.role else {
            return;
        };
        // A voter grants at most once per term, so a grant overrides an earlier refusal
        // (which may have answered a request of an older term).
        if granted || votes[position].is_none() {
            votes[position] = Some(granted);
        }
        match self.election_result() {
            VoteResult::Won => self.become_leader(),
            VoteResult::Lost => self.become_follower(self.term, None),
            VoteResult::Pending => {}
        }
    }

    /// The outcome of the current election (only meaningful for a candidate).
    fn election_result(&self) -> VoteResult {
        match &self.role {
            RoleState::Candidate { votes } => quorum::vote_result(votes),
            _ => VoteResult::Pending,
        }
    }
}
