//! Clients: concurrent, each with one operation in flight, sending to the node
//! they believe leads, following redirects, timing out and retrying, and
//! recording every operation in the history (invoke, then ok, fail or unknown).
//!
//! Written values are unique (`c<client>.<seq>`), which keeps the linearizability
//! check tractable. A retry keeps the operation's sequence number, so the store's
//! session table executes it at most once.
//!
//! The outcome a client records is only what it knows: `fail` when every
//! attempt it sent was answered "not leader" (none was proposed), `unknown`
//! as soon as one attempt went unanswered (it may have been proposed, and
//! commit later). Each attempt is sent once, under its own number, so one
//! answer speaks for exactly one request; requests are never duplicated in
//! flight (a client talks over a connection, as over TCP).

use std::collections::{BTreeMap, BTreeSet};

use invariants::linearizability::{KvOp, KvResult, OpId, Outcome};
use raft_core::{NodeId, ProposeError, ReadIndexError, Role};

use crate::drivers::About;
use crate::world::event::{Event, Reply, Request};
use crate::world::host::PendingRead;
use crate::world::kv::mix_into;
use crate::world::network::{keyed, Delivery, Endpoint};
use crate::world::params::ReadPath;
use crate::world::timeline::Sent;
use crate::world::{Phase, World};

/// Redirects one operation may follow before the client gives up on it (chaos
/// phase only), so a leaderless cluster cannot make a client spin forever.
const REDIRECTS_PER_OPERATION_MAX: u32 = 30;
/// Pause before following a redirect, so a leaderless cluster is not hammered.
const REDIRECT_BACKOFF_US: u64 = 20_000;

/// The bookkeeping of one operation in flight: which attempts were sent and
/// what is known of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    op_id: OpId,
    op: KvOp,
    seq: u64,
    /// The number of the latest attempt sent (`None` before the first);
    /// only its answer or timeout moves the operation on.
    latest_attempt: Option<u32>,
    timeouts: u32,
    redirects: u32,
    /// Attempts sent that no answer has shown were not proposed.
    // Invariant: giving up records `fail` only if this is empty.
    unanswered: BTreeSet<u32>,
}

impl InFlight {
    /// Operation `op_id` (`op`, sequence number `seq`), not yet sent.
    pub fn new(op_id: OpId, op: KvOp, seq: u64) -> InFlight {
        InFlight {
            op_id,
            op,
            seq,
            latest_attempt: None,
            timeouts: 0,
            redirects: 0,
            unanswered: BTreeSet::new(),
        }
    }

    /// Numbers and records the next attempt; returns its number.
    pub fn send_next(&mut self) -> u32 {
        let attempt = self.latest_attempt.map_or(0, |latest| latest + 1);
        self.latest_attempt = Some(attempt);
        let fresh = self.unanswered.insert(attempt);
        assert!(fresh, "attempt {attempt} is sent once");
        attempt
    }

    /// A node answered attempt `attempt` with "not leader": that request was
    /// not proposed. True if it is the latest attempt (then the client acts
    /// on it; an older one only settles its own fate).
    pub fn refused(&mut self, attempt: u32) -> bool {
        self.unanswered.remove(&attempt);
        self.latest_attempt == Some(attempt)
    }

    /// Whether attempt `attempt` is the latest one (a retry scheduled after
    /// an older one is stale: the client already moved on).
    pub fn is_latest(&self, attempt: u32) -> bool {
        self.latest_attempt == Some(attempt)
    }

    /// Whether the client still waits for an answer to attempt `attempt`:
    /// the latest, and not refused (only then does its timeout count).
    pub fn awaits(&self, attempt: u32) -> bool {
        self.is_latest(attempt) && self.unanswered.contains(&attempt)
    }

    /// What the client may record when it gives up without an answer.
    pub fn outcome_without_answer(&self) -> Outcome<KvResult> {
        if self.unanswered.is_empty() {
            Outcome::Fail
        } else {
            Outcome::Unknown
        }
    }
}

/// One client.
#[derive(Clone, Debug)]
pub struct Client {
    node_count: u64,
    next_seq: u64,
    leader_guess: NodeId,
    /// Where the client's own round of the nodes stands: it moves on when a
    /// node knows no leader, whatever hints led the client there, so that
    /// stale hints (a removed node still naming an old leader) cannot send
    /// it round in a circle.
    rotation: NodeId,
    current: Option<InFlight>,
    // The last value this client saw or wrote per key, so its cas can succeed.
    last_seen: BTreeMap<String, Option<String>>,
}

impl Client {
    /// Client `id` of a cluster of `node_count` nodes.
    pub fn new(id: u64, node_count: u64) -> Client {
        Client {
            node_count,
            next_seq: 1,
            leader_guess: id % node_count + 1,
            rotation: id % node_count + 1,
            current: None,
            last_seen: BTreeMap::new(),
        }
    }

    /// Whether the client has an operation in flight.
    pub fn is_busy(&self) -> bool {
        self.current.is_some()
    }

    fn rotate_guess(&mut self) {
        self.rotation = self.rotation % self.node_count + 1;
        self.leader_guess = self.rotation;
    }
}

impl World {
    /// A client is done thinking: it starts its next operation (chaos phase
    /// only). A client still busy ignores it.
    pub(crate) fn on_client_wake(&mut self, client: u64) {
        if self.clients[client as usize].current.is_some() || self.phase != Phase::Chaos {
            return;
        }
        let started = self.history.len() as u64;
        if self.params.operations_max.is_some_and(|max| started >= max) {
            return;
        }
        self.begin_operation(client);
        self.send_attempt(client);
    }

    /// A client retries after a redirect, unless the operation moved on since
    /// (answered, timed out, or redirected again).
    pub(crate) fn on_client_retry(&mut self, client: u64, seq: u64, attempt: u32) {
        let due = self.clients[client as usize]
            .current
            .as_ref()
            .is_some_and(|f| f.seq == seq && f.is_latest(attempt));
        if due {
            self.send_attempt(client);
        }
    }

    fn begin_operation(&mut self, client: u64) {
        let seq = self.clients[client as usize].next_seq;
        let key = format!(
            "k{}",
            self.workload_draw(client, seq, Draw::Key) % self.params.key_count
        );
        let kind = self.workload_draw(client, seq, Draw::Kind) % 10;
        let c = &mut self.clients[client as usize];
        c.next_seq += 1;
        let value = format!("c{client}.{seq}");
        let op = match kind {
            0..=2 => KvOp::Get { key },
            3..=4 => KvOp::Put { key, value },
            5..=7 => KvOp::Append {
                key,
                value: format!("{value};"),
            },
            _ => {
                let expected = c.last_seen.get(&key).cloned().flatten();
                KvOp::Cas {
                    key,
                    expected,
                    new: value,
                }
            }
        };
        let op_id = self.record_invoke(client, op.clone());
        let c = &mut self.clients[client as usize];
        c.current = Some(InFlight::new(op_id, op, seq));
    }

    fn send_attempt(&mut self, client: u64) {
        let c = &mut self.clients[client as usize];
        let node = c.leader_guess;
        let inflight = c.current.as_mut().expect("an attempt needs an operation");
        let attempt = inflight.send_next();
        let seq = inflight.seq;
        let request = Request {
            client,
            seq,
            attempt,
            op: inflight.op.clone(),
        };
        let timeout = self.params.client_timeout_us;
        self.queue.push(
            self.now_us + timeout,
            Event::ClientTimeout {
                client,
                seq,
                attempt,
            },
        );
        let route = (Endpoint::Client(client), Endpoint::Node(node));
        let about = About::Request { op: seq, attempt };
        let delivery = self.transmit(route.0, route.1, about, None, true);
        let sent = Sent::Request {
            client,
            seq,
            attempt,
            op: &request.op,
        };
        self.timeline_sent(self.messages_sent - 1, route, sent, delivery);
        match delivery {
            Delivery::Once(delay) => self
                .queue
                .push(self.now_us + delay, Event::ClientRequest { node, request }),
            lost => self.log_client_loss(format!(
                "c{client} -> n{node} seq {seq} attempt {attempt}: {}",
                lost_how(lost)
            )),
        }
    }

    pub(crate) fn on_client_request(&mut self, id: NodeId, request: Request) {
        let Some(node) = self.host(id).node.as_mut() else {
            return;
        };
        let status = node.status();
        if let KvOp::Get { key } = &request.op {
            let read_path = self.params.features.read_path;
            let here = status.role == Role::Leader || self.params.features.follower_reads;
            if read_path != ReadPath::Log && here {
                let key = key.clone();
                self.read_at_read_index(id, &request, key, status.leader);
                return;
            }
        }
        if status.role != Role::Leader {
            self.reply(
                id,
                request.client,
                request.seq,
                request.attempt,
                Reply::NotLeader(status.leader),
            );
            return;
        }
        if self.serve_stale_read(id, &request) {
            return;
        }
        let command = crate::world::kv::Command {
            client: request.client,
            seq: request.seq,
            op: request.op,
        };
        let leaving = self.is_leaving_office(id);
        let node = self.host(id).node.as_mut().expect("checked above");
        match node.propose(command.encode()) {
            Ok(index) if leaving => self.contract_broken(format!(
                "n{id} took a proposal (at {index}) while leaving office: its configuration, or an unapplied conf entry in its log, makes it no voter, and RawNode::propose refuses then"
            )),
            Ok(index) => {
                self.note_proposal(id, index);
                self.await_apply(id, request.client, request.seq)
            }
            Err(ProposeError::NotLeader { leader_hint }) => self.reply(
                id,
                request.client,
                request.seq,
                request.attempt,
                Reply::NotLeader(leader_hint),
            ),
            // No host transfers leadership yet; a client told of a transfer would
            // retry at the transferee, the likely next leader.
            Err(ProposeError::TransferInProgress { to }) => self.reply(
                id,
                request.client,
                request.seq,
                request.attempt,
                Reply::NotLeader(Some(to)),
            ),
        }
        self.after_input(id);
    }

    /// A get served without the log: the node asks raft-core for a read
    /// index (the leader confirms one with a heartbeat round or its lease; a
    /// follower asks the leader), and answers once it has applied that far
    /// (see `Host::serve_reads`). No answer if the round is lost: the client
    /// times out and retries.
    fn read_at_read_index(
        &mut self,
        id: NodeId,
        request: &Request,
        key: String,
        leader: Option<NodeId>,
    ) {
        if self.start_read(id, request, key, leader).is_err() {
            let (client, seq, attempt) = (request.client, request.seq, request.attempt);
            self.reply(id, client, seq, attempt, Reply::NotLeader(leader));
        }
        self.after_input(id);
    }

    /// Starts a get of `key` at node `id` without the log: it asks raft-core
    /// for a read index and answers once confirmed and applied
    /// (`Host::serve_reads`); a leader with the `stale-read` bug answers at
    /// once. `leader` is whom `id` believes leads. An error is raft-core's
    /// refusal (no leader known, too many reads waiting): nothing was asked.
    pub(crate) fn start_read(
        &mut self,
        id: NodeId,
        request: &Request,
        key: String,
        leader: Option<NodeId>,
    ) -> Result<(), ReadIndexError> {
        if leader == Some(id) && self.serve_stale_read(id, request) {
            return Ok(());
        }
        let asked_event = self.trace.events();
        let asked_as_leader = self
            .host_ref(id)
            .status()
            .is_some_and(|s| s.role == Role::Leader);
        let lease_must_hold = asked_as_leader && self.lease_must_hold(id);
        let read = PendingRead {
            lease_must_hold,
            asked_event,
            asked_us: self.now_us,
            asked_as_leader,
            client: request.client,
            seq: request.seq,
            attempt: request.attempt,
            key,
        };
        let host = self.host(id);
        let context = host.next_read_context;
        host.next_read_context += 1;
        let node = host.node.as_mut().expect("the caller checked it runs");
        node.read_index(context)?;
        host.pending_reads.insert(context, read);
        if asked_as_leader {
            self.oracles.flow.read_taken(id, None, context);
        }
        self.note_read(id, context);
        Ok(())
    }

    /// The `stale-read` planted bug: a leader answers a get from its own state
    /// without confirming it still leads (no log round, no ReadIndex). Returns
    /// whether it answered.
    fn serve_stale_read(&mut self, id: NodeId, request: &Request) -> bool {
        if !self.params.bugs.has(raft_core::Bug::StaleRead) {
            return false;
        }
        let KvOp::Get { key } = &request.op else {
            return false;
        };
        let value = self.host(id).store.read(key);
        self.reply(
            id,
            request.client,
            request.seq,
            request.attempt,
            Reply::Done(KvResult::Value(value)),
        );
        true
    }

    /// Sends a node's reply to a client over the network.
    pub(crate) fn reply(
        &mut self,
        node: NodeId,
        client: u64,
        seq: u64,
        attempt: u32,
        reply: Reply,
    ) {
        let route = (Endpoint::Node(node), Endpoint::Client(client));
        let about = About::Reply { op: seq, attempt };
        let delivery = self.transmit(route.0, route.1, about, None, true);
        let sent = Sent::Reply {
            client,
            seq,
            attempt,
            reply: &reply,
        };
        self.timeline_sent(self.messages_sent - 1, route, sent, delivery);
        match delivery {
            Delivery::Once(delay) => self.queue.push(
                self.now_us + delay,
                Event::ClientReply {
                    client,
                    seq,
                    attempt,
                    reply,
                },
            ),
            lost => self.log_client_loss(format!(
                "n{node} -> c{client} reply to seq {seq}: {}",
                lost_how(lost)
            )),
        }
    }

    pub(crate) fn on_client_reply(&mut self, client: u64, seq: u64, attempt: u32, reply: Reply) {
        let c = &mut self.clients[client as usize];
        let Some(inflight) = c.current.as_mut().filter(|f| f.seq == seq) else {
            return;
        };
        match reply {
            Reply::Done(result) => {
                remember(&mut c.last_seen, &inflight.op, &result);
                self.finish_operation(client, Outcome::Ok(result));
            }
            Reply::NotLeader(hint) => {
                if !inflight.refused(attempt) {
                    return;
                }
                inflight.redirects += 1;
                let give_up =
                    self.phase == Phase::Chaos && inflight.redirects > REDIRECTS_PER_OPERATION_MAX;
                match hint {
                    Some(leader) if leader != c.leader_guess => c.leader_guess = leader,
                    _ => c.rotate_guess(),
                }
                if give_up {
                    self.give_up(client);
                } else {
                    self.queue.push(
                        self.now_us + REDIRECT_BACKOFF_US,
                        Event::ClientRetry {
                            client,
                            seq,
                            attempt,
                        },
                    );
                }
            }
        }
    }

    pub(crate) fn on_client_timeout(&mut self, client: u64, seq: u64, attempt: u32) {
        let c = &mut self.clients[client as usize];
        let Some(inflight) = c
            .current
            .as_mut()
            .filter(|f| f.seq == seq && f.awaits(attempt))
        else {
            return;
        };
        inflight.timeouts += 1;
        let exhausted = inflight.timeouts >= self.params.client_attempts_max;
        c.rotate_guess();
        if self.phase == Phase::Chaos && exhausted {
            self.give_up(client);
        } else {
            self.send_attempt(client);
        }
    }

    /// Ends the operation without an answer: failed only if no attempt can
    /// have been proposed, else unknown.
    fn give_up(&mut self, client: u64) {
        let inflight = self.clients[client as usize]
            .current
            .as_ref()
            .expect("giving up needs an operation");
        let outcome = inflight.outcome_without_answer();
        if self.trace.is_logging() {
            let (seq, sent) = (inflight.seq, inflight.latest_attempt.map_or(0, |a| a + 1));
            let why = match outcome {
                Outcome::Fail => "every attempt was refused: fail".to_string(),
                _ => format!(
                    "{} of {sent} attempts unanswered (may have been proposed): unknown",
                    inflight.unanswered.len()
                ),
            };
            self.trace
                .log_detail(&format!("c{client} gives up on seq {seq}: {why}"));
        }
        self.finish_operation(client, outcome);
    }

    /// A uniform draw of client `client` for its operation `seq`: keyed by
    /// the two, so that each client's operations and pauses are what they
    /// are whatever the other clients and the faults did.
    fn workload_draw(&self, client: u64, seq: u64, what: Draw) -> u64 {
        let subject = mix_into(mix_into(client, seq), what as u64);
        keyed(self.workload_key, subject)
    }

    /// Shows a client message the network dropped in the replay log.
    fn log_client_loss(&mut self, line: String) {
        if self.trace.is_logging() {
            self.trace.log_detail(&line);
        }
    }

    fn finish_operation(&mut self, client: u64, outcome: Outcome<KvResult>) {
        let inflight = self.clients[client as usize]
            .current
            .take()
            .expect("finishing needs an operation");
        self.record_complete(inflight.op_id, outcome);
        let think = self.workload_draw(client, inflight.seq, Draw::Think)
            % (self.params.client_think_us_max + 1);
        self.queue
            .push(self.now_us + think, Event::ClientWake { client });
    }
}

/// How a client message was lost. A client talks over a connection: its
/// messages are never duplicated, cut or held (drivers are told so by
/// `Outgoing::message` being `None`).
fn lost_how(delivery: Delivery) -> &'static str {
    assert!(
        delivery == Delivery::Dropped,
        "a client message is delivered once or dropped, not {delivery:?}"
    );
    "dropped by the network"
}

/// What a workload draw decides.
#[derive(Clone, Copy)]
enum Draw {
    /// The key of an operation.
    Key = 1,
    /// The kind of an operation.
    Kind = 2,
    /// The pause after it.
    Think = 3,
}

fn remember(last_seen: &mut BTreeMap<String, Option<String>>, op: &KvOp, result: &KvResult) {
    match (op, result) {
        (KvOp::Get { key }, KvResult::Value(value)) => {
            last_seen.insert(key.clone(), value.clone());
        }
        (KvOp::Put { key, value }, _)
        | (
            KvOp::Cas {
                key, new: value, ..
            },
            KvResult::CasOk,
        ) => {
            last_seen.insert(key.clone(), Some(value.clone()));
        }
        (KvOp::Append { key, .. }, _) => {
            last_seen.remove(key);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put() -> InFlight {
        let op = KvOp::Put {
            key: "k".into(),
            value: "c0.1".into(),
        };
        InFlight::new(OpId(0), op, 1)
    }

    #[test]
    fn giving_up_is_a_failure_only_when_every_attempt_was_refused() {
        let mut inflight = put();
        for _ in 0..3 {
            let attempt = inflight.send_next();
            assert!(inflight.refused(attempt));
        }
        assert_eq!(inflight.outcome_without_answer(), Outcome::Fail);
    }

    #[test]
    fn an_unanswered_attempt_makes_the_outcome_unknown_whatever_follows() {
        // Seed 18457: attempt 0 reaches the leader, which proposes it and
        // crashes; every later attempt is refused. The put may commit.
        let mut inflight = put();
        let first = inflight.send_next();
        assert!(inflight.awaits(first));
        for _ in 0..30 {
            let attempt = inflight.send_next();
            assert!(inflight.refused(attempt));
        }
        assert!(!inflight.awaits(first), "a later attempt superseded it");
        assert_eq!(inflight.outcome_without_answer(), Outcome::Unknown);
    }

    #[test]
    fn a_late_refusal_of_an_older_attempt_settles_only_that_attempt() {
        let mut inflight = put();
        let first = inflight.send_next();
        let second = inflight.send_next();
        assert!(
            !inflight.refused(first),
            "not the latest: the client does not act on it"
        );
        assert_eq!(inflight.outcome_without_answer(), Outcome::Unknown);
        assert!(inflight.refused(second));
        assert_eq!(inflight.outcome_without_answer(), Outcome::Fail);
    }

    #[test]
    fn a_refused_attempt_no_longer_waits_for_its_timeout() {
        let mut inflight = put();
        let attempt = inflight.send_next();
        assert!(inflight.refused(attempt));
        assert!(inflight.is_latest(attempt), "its retry is still due");
        assert!(!inflight.awaits(attempt), "its timeout is void");
    }
}
