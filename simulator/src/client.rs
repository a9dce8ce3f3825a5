//! Clients: concurrent, each with one operation in flight, sending to the node
//! they believe leads, following redirects, timing out and retrying, and
//! recording every operation in the history (invoke, then ok, fail or unknown).
//!
//! Written values are unique (`c<client>.<seq>`), which keeps the linearizability
//! check tractable. A retry keeps the operation's sequence number, so the store's
//! session table executes it at most once.

use std::collections::BTreeMap;

use invariants::linearizability::{KvOp, KvResult, OpId, Outcome};
use raft_core::{NodeId, ProposeError, Role};

use crate::event::{Event, Reply, Request};
use crate::network::{Delivery, Endpoint};
use crate::sim::{Phase, Sim};

/// Redirects one operation may follow before the client gives up on it (chaos
/// phase only), so a leaderless cluster cannot make a client spin forever.
const REDIRECTS_PER_OPERATION_MAX: u32 = 30;
/// Pause before following a redirect, so a leaderless cluster is not hammered.
const REDIRECT_BACKOFF_US: u64 = 20_000;

#[derive(Clone, Debug)]
struct InFlight {
    op_id: OpId,
    op: KvOp,
    seq: u64,
    attempt: u32,
    timeouts: u32,
    redirects: u32,
    // Whether some attempt may have been proposed (then giving up means "unknown").
    maybe_executed: bool,
}

/// One client.
#[derive(Clone, Debug)]
pub struct Client {
    node_count: u64,
    next_seq: u64,
    leader_guess: NodeId,
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
            current: None,
            last_seen: BTreeMap::new(),
        }
    }

    /// Whether the client has an operation in flight.
    pub fn is_busy(&self) -> bool {
        self.current.is_some()
    }

    fn rotate_guess(&mut self) {
        self.leader_guess = self.leader_guess % self.node_count + 1;
    }
}

impl Sim {
    pub(crate) fn on_client_wake(&mut self, client: u64) {
        if self.clients[client as usize].current.is_none() {
            if self.phase != Phase::Chaos {
                return;
            }
            self.begin_operation(client);
        }
        self.send_attempt(client);
    }

    fn begin_operation(&mut self, client: u64) {
        let key = format!(
            "k{}",
            self.workload_rng.index(self.params.key_count as usize)
        );
        let c = &mut self.clients[client as usize];
        let seq = c.next_seq;
        c.next_seq += 1;
        let value = format!("c{client}.{seq}");
        let op = match self.workload_rng.index(10) {
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
        c.current = Some(InFlight {
            op_id,
            op,
            seq,
            attempt: 0,
            timeouts: 0,
            redirects: 0,
            maybe_executed: false,
        });
    }

    fn send_attempt(&mut self, client: u64) {
        let c = &self.clients[client as usize];
        let inflight = c.current.as_ref().expect("an attempt needs an operation");
        let node = c.leader_guess;
        let request = Request {
            client,
            seq: inflight.seq,
            attempt: inflight.attempt,
            op: inflight.op.clone(),
        };
        let (seq, attempt) = (inflight.seq, inflight.attempt);
        let timeout = self.params.client_timeout_us;
        self.queue.push(
            self.now_us + timeout,
            Event::ClientTimeout {
                client,
                seq,
                attempt,
            },
        );
        match self
            .network
            .plan(Endpoint::Client(client), Endpoint::Node(node))
        {
            Delivery::Lost => {}
            Delivery::Once(delay) | Delivery::Twice(delay, _) => self
                .queue
                .push(self.now_us + delay, Event::ClientRequest { node, request }),
        }
    }

    pub(crate) fn on_client_request(&mut self, id: NodeId, request: Request) {
        let Some(node) = self.host(id).node.as_mut() else {
            return;
        };
        let status = node.status();
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
        let command = crate::kv::Command {
            client: request.client,
            seq: request.seq,
            op: request.op,
        };
        let node = self.host(id).node.as_mut().expect("checked above");
        match node.propose(command.encode()) {
            Ok(_) => self.await_apply(id, request.client, request.seq),
            Err(ProposeError::NotLeader { leader_hint }) => self.reply(
                id,
                request.client,
                request.seq,
                request.attempt,
                Reply::NotLeader(leader_hint),
            ),
        }
        self.after_input(id);
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
        match self
            .network
            .plan(Endpoint::Node(node), Endpoint::Client(client))
        {
            Delivery::Lost => {}
            Delivery::Once(delay) | Delivery::Twice(delay, _) => self.queue.push(
                self.now_us + delay,
                Event::ClientReply {
                    client,
                    seq,
                    attempt,
                    reply,
                },
            ),
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
                if attempt != inflight.attempt {
                    return;
                }
                inflight.redirects += 1;
                inflight.attempt += 1;
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
                        Event::ClientWake { client },
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
            .filter(|f| f.seq == seq && f.attempt == attempt)
        else {
            return;
        };
        inflight.maybe_executed = true;
        inflight.timeouts += 1;
        inflight.attempt += 1;
        let exhausted = inflight.timeouts >= self.params.client_attempts_max;
        c.rotate_guess();
        if self.phase == Phase::Chaos && exhausted {
            self.give_up(client);
        } else {
            self.send_attempt(client);
        }
    }

    /// Ends the operation without an answer: unknown if it may have been
    /// proposed, otherwise failed (it definitely did not happen).
    fn give_up(&mut self, client: u64) {
        let inflight = self.clients[client as usize]
            .current
            .as_ref()
            .expect("giving up needs an operation");
        let outcome = if inflight.maybe_executed {
            Outcome::Unknown
        } else {
            Outcome::Fail
        };
        self.finish_operation(client, outcome);
    }

    fn finish_operation(&mut self, client: u64, outcome: Outcome<KvResult>) {
        let inflight = self.clients[client as usize]
            .current
            .take()
            .expect("finishing needs an operation");
        self.record_complete(inflight.op_id, outcome);
        let think = self
            .workload_rng
            .range_inclusive(0, self.params.client_think_us_max);
        self.queue
            .push(self.now_us + think, Event::ClientWake { client });
    }
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
