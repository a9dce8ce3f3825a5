//! A tiny in-test world: a cluster whose network delivers every message in order
//! and whose disks persist instantly, plus helpers to drive a single node by hand.
#![allow(dead_code)]

use std::collections::VecDeque;

use bytes::Bytes;
use raft_core::{
    Bugs, Config, Entry, EntryKind, HardState, Index, Message, MessageBody, NodeId, RawNode,
    ReadState, Ready, RestoredState, Role, Snapshot, Status, Term,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The read rounds (heartbeat contexts) among `messages`, in order.
pub fn heartbeat_rounds(messages: &[Message]) -> Vec<u64> {
    messages
        .iter()
        .filter_map(|m| match m.body {
            MessageBody::Heartbeat { context, .. } if context != 0 => Some(context),
            _ => None,
        })
        .collect()
}

/// The configuration of node `id` in a cluster of `n` voters (ids 1..=n).
pub fn config(id: NodeId, n: u64, bugs: Bugs) -> Config {
    let mut config = Config::new(id, (1..=n).collect());
    config.bugs = bugs;
    config
}

/// A seeded RNG for node `id`.
pub fn rng(id: NodeId) -> Box<ChaCha8Rng> {
    Box::new(ChaCha8Rng::seed_from_u64(id))
}

/// A normal entry.
pub fn entry(index: Index, term: Term, data: &str) -> Entry {
    Entry {
        term,
        index,
        kind: EntryKind::Normal,
        data: Bytes::copy_from_slice(data.as_bytes()),
    }
}

/// Entries 1.. with the given terms.
pub fn entries_with_terms(terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(k, &t)| entry(k as Index + 1, t, ""))
        .collect()
}

/// A node restored with `entries` (durable) and `hard_state`.
pub fn restored_node(
    config: Config,
    term: Term,
    vote: Option<NodeId>,
    entries: Vec<Entry>,
) -> RawNode {
    let restored = RestoredState {
        hard_state: HardState {
            term,
            vote,
            commit: 0,
        },
        snapshot: None,
        entries,
    };
    let id = config.id;
    RawNode::new(config, restored, rng(id)).expect("valid config")
}

/// A message from `from` to `to` in `term`.
pub fn message(from: NodeId, to: NodeId, term: Term, body: MessageBody) -> Message {
    Message {
        from,
        to,
        term,
        body,
    }
}

/// Takes the node's ready (if any) and advances it at once, as a host with an instant disk.
pub fn drain(node: &mut RawNode) -> Ready {
    if !node.has_ready() {
        return Ready::default();
    }
    let ready = node.ready();
    node.advance(ready.number);
    ready
}

/// Every message the ready sends, both outboxes.
pub fn all_messages(ready: &Ready) -> Vec<Message> {
    ready
        .messages
        .iter()
        .chain(ready.persisted_messages.iter())
        .cloned()
        .collect()
}

/// Ticks a follower until it campaigns.
pub fn tick_until_candidate(node: &mut RawNode) {
    for _ in 0..1000 {
        if node.status().role != Role::Follower {
            return;
        }
        node.tick();
    }
    panic!("node never campaigned");
}

/// What a host keeps on disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The last hard state written.
    pub hard_state: HardState,
    /// The latest snapshot written (compacted to or installed).
    pub snapshot: Option<Snapshot>,
    /// The log, contiguous from the snapshot's index + 1 (from 1 without one).
    pub entries: Vec<Entry>,
}

impl Disk {
    /// The index of the disk's snapshot (0 without one).
    pub fn snapshot_index(&self) -> Index {
        self.snapshot.as_ref().map_or(0, |s| s.meta.index)
    }

    /// Writes a ready's snapshot (replacing the log), hard state and entries.
    pub fn write(&mut self, ready: &Ready) {
        if let Some(snapshot) = &ready.snapshot {
            self.snapshot = Some(snapshot.clone());
            self.entries.clear();
        }
        if let Some(hard_state) = ready.hard_state {
            self.hard_state = hard_state;
        }
        if let Some(first) = ready.entries.first() {
            let base = self.snapshot_index() + 1;
            assert!(first.index >= base, "entries never go below the snapshot");
            self.entries.truncate((first.index - base) as usize);
            self.entries.extend(ready.entries.iter().cloned());
        }
    }

    /// Stores a snapshot the host took, dropping the entries it covers.
    pub fn compact(&mut self, snapshot: Snapshot) {
        let covered = (snapshot.meta.index - self.snapshot_index()) as usize;
        self.entries.drain(..covered.min(self.entries.len()));
        self.snapshot = Some(snapshot);
    }

    /// What a restarting node reads back.
    pub fn restored(&self) -> RestoredState {
        RestoredState {
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            entries: self.entries.clone(),
        }
    }
}

/// The test state machine as snapshot data: the applied commands, comma-separated.
pub fn encode_state(commands: &[String]) -> Bytes {
    Bytes::from(commands.join(","))
}

/// The commands of test snapshot data.
pub fn decode_state(data: &[u8]) -> Vec<String> {
    if data.is_empty() {
        return Vec::new();
    }
    String::from_utf8_lossy(data)
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// A cluster of nodes 1..=n over a perfect network and instant disks.
pub struct Cluster {
    /// Node `id` at `id - 1`; `None` while crashed.
    pub nodes: Vec<Option<RawNode>>,
    /// Each node's disk.
    pub disks: Vec<Disk>,
    /// Each node's applied entries since its last start or snapshot.
    pub applied: Vec<Vec<Entry>>,
    /// The snapshot each node's state machine was last restored from (its
    /// own, at a restart or compaction, or one its ready installed).
    pub machine_snapshot: Vec<Option<Snapshot>>,
    /// The snapshots each node's readies handed to its host, in order.
    pub installed: Vec<Vec<Snapshot>>,
    /// Messages sent and not yet delivered.
    pub in_flight: VecDeque<Message>,
    /// Nodes cut off from everyone.
    pub isolated: Vec<bool>,
    /// Each node's read states, in the order its readies handed them out.
    pub read_states: Vec<Vec<ReadState>>,
    configs: Vec<Config>,
    restarts: u64,
}

impl Cluster {
    /// `n` fresh nodes with the planted `bugs`.
    pub fn new(n: u64, bugs: Bugs) -> Cluster {
        Cluster::with_configs((1..=n).map(|id| config(id, n, bugs)).collect())
    }

    /// Fresh nodes with these configurations (node ids 1..=n, in order).
    pub fn with_configs(configs: Vec<Config>) -> Cluster {
        let n = configs.len();
        let nodes = configs
            .iter()
            .map(|c| {
                Some(
                    RawNode::new(c.clone(), RestoredState::default(), rng(c.id))
                        .expect("valid config"),
                )
            })
            .collect();
        Cluster {
            nodes,
            disks: vec![Disk::default(); n],
            applied: vec![Vec::new(); n],
            machine_snapshot: vec![None; n],
            installed: vec![Vec::new(); n],
            in_flight: VecDeque::new(),
            isolated: vec![false; n],
            read_states: vec![Vec::new(); n],
            configs,
            restarts: 0,
        }
    }

    /// Nodes 1..=n whose configurations `adjust` changed (from [`config`] without bugs).
    pub fn with(n: u64, adjust: impl Fn(&mut Config)) -> Cluster {
        Cluster::with_configs(
            (1..=n)
                .map(|id| {
                    let mut config = config(id, n, Bugs::none());
                    adjust(&mut config);
                    config
                })
                .collect(),
        )
    }

    /// Nodes with these configurations, each restarted from its disk.
    pub fn with_disks(configs: Vec<Config>, disks: Vec<Disk>) -> Cluster {
        let mut cluster = Cluster::with_configs(configs);
        cluster.disks = disks;
        for id in cluster.ids() {
            cluster.restart(id);
        }
        cluster
    }

    /// Ticks node `id` alone, delivering nothing.
    pub fn tick(&mut self, id: NodeId) {
        self.node(id).tick();
    }

    /// Ticks node `id` alone `ticks` times, then delivers everything.
    pub fn tick_node(&mut self, id: NodeId, ticks: u32) {
        for _ in 0..ticks {
            self.node(id).tick();
        }
        self.deliver_all();
    }

    /// Ticks every live node `ticks` times, delivering after each round.
    pub fn tick_all_times(&mut self, ticks: u32) {
        for _ in 0..ticks {
            self.tick_all();
        }
    }

    /// Cuts `id` off from everyone (its messages and those to it are lost).
    pub fn isolate(&mut self, id: NodeId) {
        self.isolated[id as usize - 1] = true;
    }

    /// Reconnects `id`.
    pub fn reconnect(&mut self, id: NodeId) {
        self.isolated[id as usize - 1] = false;
    }

    /// Takes every message in flight, delivering none of them.
    pub fn take_in_flight(&mut self) -> Vec<Message> {
        for id in self.ids() {
            self.process(id);
        }
        self.in_flight.drain(..).collect()
    }

    /// Delivers one message to its receiver (unless either end is isolated), then
    /// carries out the receiver's ready; its answers stay in flight.
    pub fn deliver(&mut self, message: Message) {
        let (from, to) = (message.from as usize - 1, message.to as usize - 1);
        if self.isolated[from] || self.isolated[to] {
            return;
        }
        if let Some(node) = self.nodes[to].as_mut() {
            node.step(message);
        }
        self.process(to as NodeId + 1);
    }

    /// The read states node `id` handed out so far, taken.
    pub fn take_read_states(&mut self, id: NodeId) -> Vec<ReadState> {
        self.process(id);
        std::mem::take(&mut self.read_states[id as usize - 1])
    }

    /// The live node `id`.
    pub fn node(&mut self, id: NodeId) -> &mut RawNode {
        self.nodes[id as usize - 1].as_mut().expect("node is up")
    }

    /// The status of live node `id`.
    pub fn status(&mut self, id: NodeId) -> Status {
        self.node(id).status()
    }

    /// The ids of every node.
    pub fn ids(&self) -> Vec<NodeId> {
        (1..=self.nodes.len() as NodeId).collect()
    }

    /// Carries out every ready of node `id`: persist, send, apply, advance.
    pub fn process(&mut self, id: NodeId) {
        let slot = id as usize - 1;
        let Some(node) = self.nodes[slot].as_mut() else {
            return;
        };
        while node.has_ready() {
            let ready = node.ready();
            self.in_flight.extend(ready.messages.iter().cloned());
            self.disks[slot].write(&ready);
            if let Some(snapshot) = &ready.snapshot {
                self.machine_snapshot[slot] = Some(snapshot.clone());
                self.installed[slot].push(snapshot.clone());
                self.applied[slot].clear();
            }
            self.in_flight
                .extend(ready.persisted_messages.iter().cloned());
            self.applied[slot].extend(ready.committed_entries.iter().cloned());
            self.read_states[slot].extend(ready.read_states.iter().copied());
            node.advance(ready.number);
        }
    }

    /// Processes every node and delivers messages until the network is quiet.
    pub fn deliver_all(&mut self) {
        for _ in 0..1_000_000 {
            for id in self.ids() {
                self.process(id);
            }
            let Some(message) = self.in_flight.pop_front() else {
                return;
            };
            let (from, to) = (message.from as usize - 1, message.to as usize - 1);
            if self.isolated[from] || self.isolated[to] {
                continue;
            }
            if let Some(node) = self.nodes[to].as_mut() {
                node.step(message);
            }
        }
        panic!("the network never went quiet");
    }

    /// Ticks every live node once, then delivers everything.
    pub fn tick_all(&mut self) {
        for id in self.ids() {
            if let Some(node) = self.nodes[id as usize - 1].as_mut() {
                node.tick();
            }
        }
        self.deliver_all();
    }

    /// Makes `id` campaign (ticking only it) and delivers; returns its role after.
    pub fn campaign(&mut self, id: NodeId) -> Role {
        tick_until_candidate(self.node(id));
        self.deliver_all();
        self.status(id).role
    }

    /// Elects `id`, asserting it wins.
    pub fn elect(&mut self, id: NodeId) {
        assert_eq!(
            self.campaign(id),
            Role::Leader,
            "node {id} should win the election"
        );
    }

    /// Proposes `data` at `id` and delivers everything.
    pub fn propose(&mut self, id: NodeId, data: &str) -> Index {
        let index = self
            .node(id)
            .propose(Bytes::copy_from_slice(data.as_bytes()))
            .expect("leader accepts");
        self.deliver_all();
        index
    }

    /// Crashes `id`: its memory is lost, its disk stays.
    pub fn crash(&mut self, id: NodeId) {
        self.nodes[id as usize - 1] = None;
    }

    /// Restarts `id` from its disk.
    pub fn restart(&mut self, id: NodeId) {
        let slot = id as usize - 1;
        let restored = self.disks[slot].restored();
        self.machine_snapshot[slot] = restored.snapshot.clone();
        self.restarts += 1;
        let node = RawNode::new(
            self.configs[slot].clone(),
            restored,
            rng(id * 1000 + self.restarts),
        )
        .unwrap();
        self.nodes[slot] = Some(node);
        self.applied[slot].clear();
    }

    /// Node `id`'s state machine: the commands it applied, as strings (no-ops
    /// and conf entries skipped), those of the snapshot it was restored from first.
    pub fn applied_data(&self, id: NodeId) -> Vec<String> {
        let slot = id as usize - 1;
        let mut commands = self.machine_snapshot[slot]
            .as_ref()
            .map_or_else(Vec::new, |s| decode_state(&s.data));
        commands.extend(
            self.applied[slot]
                .iter()
                .filter(|e| e.kind == EntryKind::Normal && !e.data.is_empty())
                .map(|e| String::from_utf8_lossy(&e.data).into_owned()),
        );
        commands
    }

    /// Node `id`'s host snapshots its state machine at the applied index and
    /// compacts the log there (the disk keeps the snapshot, drops the entries).
    pub fn compact(&mut self, id: NodeId) -> Index {
        self.process(id);
        let slot = id as usize - 1;
        let data = encode_state(&self.applied_data(id));
        let node = self.node(id);
        let index = node.status().applied;
        node.compact(index, data)
            .expect("compaction at the applied index");
        let meta = node.snapshot_meta().expect("just compacted").clone();
        let snapshot = Snapshot {
            meta,
            data: encode_state(&self.applied_data(id)),
        };
        self.disks[slot].compact(snapshot.clone());
        self.machine_snapshot[slot] = Some(snapshot);
        self.applied[slot].clear();
        index
    }
}
