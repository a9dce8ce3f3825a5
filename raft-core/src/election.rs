//! Leader election (§5.2, §5.4.1): campaigning, granting votes, counting them;
//! and PreVote (§9.6 of Ongaro's thesis), the round before an election that
//! asks whether it could be won without raising anyone's term.

use crate::config::Bug;
use crate::quorum::{self, VoteResult};
use crate::raft::{Raft, RoleState};
use crate::types::{Index, MessageBody, NodeId, Term};

impl Raft {
    /// The election timer fired: campaign in the next term, first asking for
    /// pre-votes if PreVote is on.
    pub(crate) fn campaign(&mut self) {
        if self.config.pre_vote {
            self.campaign_pre_vote();
        } else {
            self.campaign_election(false);
        }
    }

    /// PreVote: asks every voter whether it would vote for us in the next term.
    /// A single voter wins at once and goes on to the election.
    fn campaign_pre_vote(&mut self) {
        self.become_pre_candidate();
        if self.election_result() == VoteResult::Won {
            self.campaign_election(false);
            return;
        }
        self.request_votes();
    }

    /// Raises the term and asks for votes (at the leader's request, if
    /// `leadership_transfer`). A single voter wins at once.
    fn campaign_election(&mut self, leadership_transfer: bool) {
        self.become_candidate(leadership_transfer);
        if self.election_result() == VoteResult::Won {
            self.become_leader();
            return;
        }
        self.request_votes();
    }

    /// Candidate (or pre-candidate): sends RequestVote (or PreVote) to every voter
    /// (of both sets, in a joint configuration; never a learner) that has not
    /// answered yet. Called when the campaign starts and again every
    /// heartbeat interval, since servers retry RPCs that get no timely response
    /// (§5.1): a request lost on the way, or to a voter that was down, is asked
    /// again while the election lasts.
    pub(crate) fn request_votes(&mut self) {
        let (votes, pre_vote, leadership_transfer) = match &self.role {
            RoleState::Candidate {
                votes,
                leadership_transfer,
            } => (votes, false, *leadership_transfer),
            RoleState::PreCandidate { votes } => (votes, true, false),
            _ => return,
        };
        let members = self.membership.members();
        assert_eq!(votes.len(), members.len());
        let silent: Vec<NodeId> = (0..votes.len())
            .filter(|&position| position != self.self_position && votes[position].is_none())
            .map(|position| members[position])
            .filter(|&id| self.is_elector(id))
            .collect();
        let last_log_index = self.log.last_index();
        let last_log_term = self.log.last_term();
        for to in silent {
            if pre_vote {
                let body = MessageBody::PreVote {
                    last_log_index,
                    last_log_term,
                };
                self.send_in_term(to, self.term + 1, body);
            } else {
                let body = MessageBody::RequestVote {
                    last_log_index,
                    last_log_term,
                    leadership_transfer,
                };
                self.send(to, body);
            }
        }
    }

    /// A candidate of the current term asks for our vote.
    ///
    /// A learner answers like any other node, and may grant (etcd does the
    /// same, deliberately): its vote is counted only by a candidate whose
    /// configuration lists it as a voter, which today (a fixed membership) is
    /// none, since candidates ask only their voters. Once configuration changes
    /// exist, a learner may have been promoted in a configuration committed
    /// without it; refusing would then leave the only electable candidate
    /// without the vote it needs (etcd's `Step`, "learners must be allowed to
    /// cast votes"). Safety does not depend on it: the candidate's own
    /// configuration decides whose votes make a majority.
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
        let granted = free_to_vote && self.log_ok_for_vote(last_log_index, last_log_term);
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

    /// Whether a candidate whose log ends at `(last_log_index, last_log_term)` is
    /// at least as up to date as ours (§5.4.1), for a vote or a pre-vote.
    fn log_ok_for_vote(&self, last_log_index: Index, last_log_term: Term) -> bool {
        // BUG(VoteWithoutLogCheck): a candidate missing committed entries may win.
        self.config.bugs.has(Bug::VoteWithoutLogCheck)
            || self.log.is_up_to_date(last_log_index, last_log_term)
    }

    /// PreVote: a pre-candidate asks whether we would vote for it in `term` (its
    /// term + 1; never below ours, the term rules answered those). Granted only
    /// if its log is up to date and no leader spoke to us within the election
    /// timeout (thesis §9.6), and if we could vote in `term`: it is ahead of our
    /// term, or we voted for it or for no one and know no leader (etcd). Nothing
    /// changes here: no term, no vote, no timer. A grant carries the request's
    /// term, so a pre-candidate whose term is behind ours can still win; a
    /// refusal carries ours, so a pre-candidate behind it catches up.
    pub(crate) fn handle_pre_vote_request(
        &mut self,
        from: NodeId,
        term: Term,
        last_log_index: Index,
        last_log_term: Term,
    ) {
        assert!(term >= self.term, "the term rules answer stale pre-votes");
        let could_vote = term > self.term
            || self.vote == Some(from)
            || (self.vote.is_none() && self.leader.is_none());
        let granted = could_vote
            && !self.heard_from_leader_recently()
            && self.log_ok_for_vote(last_log_index, last_log_term);
        if granted {
            self.send_in_term(from, term, MessageBody::PreVoteResponse { granted });
        } else {
            self.send(from, MessageBody::PreVoteResponse { granted });
        }
    }

    /// PreVote: a voter answered our pre-vote. Counted only by a pre-candidate, and
    /// a grant only if it is for the term we would campaign in (a grant of an
    /// earlier pre-vote round, when our term was lower, says nothing of this one).
    /// A refusal at a higher term never gets here: it made us a follower first.
    pub(crate) fn handle_pre_vote_response(&mut self, from: NodeId, term: Term, granted: bool) {
        let Some(position) = self.position_of(from) else {
            return;
        };
        let next_term = self.term + 1;
        let RoleState::PreCandidate { votes } = &mut self.role else {
            return;
        };
        if granted && term != next_term {
            return;
        }
        assert!(granted || term == next_term - 1, "refusals carry our term");
        if granted || votes[position].is_none() {
            votes[position] = Some(granted);
        }
        match self.election_result() {
            VoteResult::Won => self.campaign_election(false),
            VoteResult::Lost => self.become_follower(self.term, None),
            VoteResult::Pending => {}
        }
    }

    /// A voter answered our RequestVote of the current term.
    pub(crate) fn handle_vote_response(&mut self, from: NodeId, granted: bool) {
        let Some(position) = self.position_of(from) else {
            return;
        };
        let RoleState::Candidate { votes, .. } = &mut self.role else {
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

    /// Leader, CheckQuorum: whether a majority (the leader included) was heard
    /// from since the last check; then starts a new period in which only the
    /// leader counts as heard from (etcd's `QuorumActive` and reset).
    pub(crate) fn check_quorum(&mut self) -> bool {
        let self_position = self.self_position;
        let RoleState::Leader { recent_active, .. } = &mut self.role else {
            unreachable!("only a leader checks its quorum");
        };
        assert!(recent_active[self_position], "a leader hears itself");
        let active = quorum::joint_is_quorum_active(&self.membership, recent_active);
        recent_active.fill(false);
        recent_active[self_position] = true;
        active
    }

    /// Leadership transfer: our leader found us up to date and asks us to
    /// campaign now: skip the election timer and PreVote, and flag the vote
    /// requests so CheckQuorum's vote lease lets them through. Only a follower
    /// that is a voter obeys (etcd); a candidate is campaigning already, and a
    /// learner never campaigns.
    pub(crate) fn handle_timeout_now(&mut self) {
        if matches!(self.role, RoleState::Follower) && self.may_campaign() {
            self.campaign_election(true);
        }
    }

    /// The outcome of the current election (only meaningful for a candidate).
    fn election_result(&self) -> VoteResult {
        match &self.role {
            // BUG(LearnerVotes): every member's grant counts, learners' too.
            RoleState::Candidate { votes, .. } | RoleState::PreCandidate { votes }
                if self.config.bugs.has(Bug::LearnerVotes) =>
            {
                quorum::vote_result(votes)
            }
            RoleState::Candidate { votes, .. } | RoleState::PreCandidate { votes } => {
                quorum::joint_vote_result(&self.membership, votes)
            }
            _ => VoteResult::Pending,
        }
    }
}
