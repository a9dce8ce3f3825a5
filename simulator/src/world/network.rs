//! The virtual network: per-message delay with jitter, and partitions between
//! nodes. Which message is dropped or duplicated is a driver's decision (a
//! fault, recorded in the run's schedule); the network only carries out its
//! links and delays.
//!
//! Links between nodes can be cut one direction at a time (a symmetric partition
//! cuts both). Client links are never partitioned (clients sit beside the nodes,
//! as in Jepsen), but they do see delays and, when drops are on, losses.

use std::hash::BuildHasherDefault;

use crate::world::kv::mix_into;
use crate::world::params::Params;
use crate::world::rng::{Rng, Stream};

/// A uniform 64-bit draw from `key` and `what`: keyed randomness, the same for
/// the same message whatever else happened in the run. (The remainder of a
/// 64-bit draw by a bound of a few thousand is uniform to one part in 10^15.)
pub fn keyed(key: u64, what: u64) -> u64 {
    mix_into(mix_into(key, what), key)
}

/// Where a message is going: a node, or a client.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    /// A Raft node (1-based id).
    Node(u64),
    /// A client (0-based id).
    Client(u64),
}

impl std::fmt::Display for Endpoint {
    /// `n3` for a node, `c0` for a client.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Node(id) => write!(f, "n{id}"),
            Endpoint::Client(id) => write!(f, "c{id}"),
        }
    }
}

/// The network's state and its random stream.
#[derive(Debug)]
pub struct Network {
    node_count: u64,
    // Invariant: cut[(from - 1) * node_count + (to - 1)] says whether from -> to is down.
    cut: Vec<bool>,
    // Invariant: clog[slot] is the delay added to every message from -> to
    // (0: not clogged), slots as `cut`'s.
    clog: Vec<u64>,
    // Invariant: hold_until[slot] is when the link lets go of what it holds
    // (0 or past: it holds nothing), slots as `cut`'s.
    hold_until: Vec<u64>,
    /// The key of the delays: each message's is drawn from this key and its
    /// name (see [`Network::delay`]).
    key: u64,
    delay_us_min: u64,
    delay_jitter_us: u64,
}

impl Network {
    /// The network of a run, faulty as its parameters say.
    pub fn new(params: &Params) -> Network {
        let n = params.node_capacity();
        Network {
            node_count: n,
            cut: vec![false; (n * n) as usize],
            clog: vec![0; (n * n) as usize],
            hold_until: vec![0; (n * n) as usize],
            key: Rng::new(params.seed, Stream::Network).next_u64(),
            delay_us_min: params.delay_us_min,
            delay_jitter_us: params.delay_jitter_us,
        }
    }

    /// The delay of the message of digest `message` (`MessageId::digest`): a function of the run's key and the
    /// message's name, not of how many messages went before, so that a fault
    /// taken out of a run leaves the delays of other links' messages as
    /// they were.
    pub fn delay(&self, message: u64) -> u64 {
        let draw = keyed(self.key, message);
        self.delay_us_min + draw % (self.delay_jitter_us + 1)
    }

    fn slot(&self, from: u64, to: u64) -> usize {
        assert!(from >= 1 && from <= self.node_count && to >= 1 && to <= self.node_count);
        ((from - 1) * self.node_count + (to - 1)) as usize
    }

    /// Whether messages from `from` to `to` are cut.
    pub fn is_cut(&self, from: u64, to: u64) -> bool {
        self.cut[self.slot(from, to)]
    }

    /// Cuts (or restores) the one direction `from -> to`.
    pub fn set_cut(&mut self, from: u64, to: u64, cut: bool) {
        let slot = self.slot(from, to);
        self.cut[slot] = cut;
    }

    /// The delay added to every message from `from` to `to` (0: none).
    pub fn clog_us(&self, from: u64, to: u64) -> u64 {
        self.clog[self.slot(from, to)]
    }

    /// Clogs the one direction `from -> to` with `extra_delay_us` (0 unclogs it).
    pub fn set_clog(&mut self, from: u64, to: u64, extra_delay_us: u64) {
        let slot = self.slot(from, to);
        self.clog[slot] = extra_delay_us;
    }

    /// When the direction `from -> to` lets go of what is sent on it (at or
    /// before now: it holds nothing).
    pub fn held_until_us(&self, from: u64, to: u64) -> u64 {
        self.hold_until[self.slot(from, to)]
    }

    /// Holds what is sent `from -> to` until `until_us` (a later hold
    /// extends an earlier one, never shortens it).
    pub fn hold(&mut self, from: u64, to: u64, until_us: u64) {
        let slot = self.slot(from, to);
        self.hold_until[slot] = self.hold_until[slot].max(until_us);
    }

    /// Whether exactly one pair of nodes cannot talk, both ways, and every
    /// other link works: a partial partition (each end still hears the others).
    pub fn is_partial_partition(&self) -> bool {
        let n = self.node_count;
        let cuts = self.cut.iter().filter(|c| **c).count();
        cuts == 2
            && n >= 3
            && (1..=n).any(|a| (a + 1..=n).any(|b| self.is_cut(a, b) && self.is_cut(b, a)))
    }

    /// Whether `node` can neither send to nor hear from any other node.
    pub fn is_alone(&self, node: u64) -> bool {
        (1..=self.node_count)
            .filter(|&other| other != node)
            .all(|other| self.is_cut(node, other) && self.is_cut(other, node))
    }

    /// How many nodes `node` reaches both ways, itself included.
    pub fn reach(&self, node: u64) -> u64 {
        (1..=self.node_count)
            .filter(|&other| {
                other == node || (!self.is_cut(node, other) && !self.is_cut(other, node))
            })
            .count() as u64
    }

    /// Splits the nodes into groups that cannot talk to each other. Nodes not in
    /// any group form one more group.
    pub fn partition(&mut self, groups: &[Vec<u64>]) {
        let group_of = |node: u64| groups.iter().position(|g| g.contains(&node));
        for from in 1..=self.node_count {
            for to in 1..=self.node_count {
                let cut = group_of(from) != group_of(to);
                self.set_cut(from, to, cut);
            }
        }
    }

    /// The heal phase's network: every link works, none is clogged, and
    /// jitter stays small.
    pub fn heal(&mut self) {
        self.heal_partitions();
        self.clog.iter_mut().for_each(|c| *c = 0);
        self.hold_until.iter_mut().for_each(|h| *h = 0);
        self.delay_jitter_us = self.delay_jitter_us.min(500);
    }

    /// Restores every link.
    pub fn heal_partitions(&mut self) {
        self.cut.iter_mut().for_each(|c| *c = false);
    }

    /// The cut links for a person: the groups of a partition, e.g. `n1 n2 |
    /// n3 n4 n5`, when the cuts are exactly one; else every cut link, e.g.
    /// `n1->n2 n3->n1`; `none` when every link works.
    pub fn describe_partition(&self) -> String {
        let n = self.node_count;
        // Each node's row: the nodes it can send to (itself included).
        let reachable = |from: u64| -> Vec<u64> {
            (1..=n)
                .filter(|&to| to == from || !self.is_cut(from, to))
                .collect()
        };
        let rows: Vec<Vec<u64>> = (1..=n).map(reachable).collect();
        if rows.iter().all(|row| row.len() == n as usize) {
            return "none".into();
        }
        // A partition: whoever a node reaches reaches exactly the same nodes.
        let is_partition = rows
            .iter()
            .all(|row| row.iter().all(|&to| rows[to as usize - 1] == *row));
        if !is_partition {
            let cuts: Vec<String> = (1..=n)
                .flat_map(|from| (1..=n).map(move |to| (from, to)))
                .filter(|&(from, to)| from != to && self.is_cut(from, to))
                .map(|(from, to)| format!("n{from}->n{to}"))
                .collect();
            return format!("cut links {}", cuts.join(" "));
        }
        let mut groups: Vec<&Vec<u64>> = Vec::new();
        for row in &rows {
            if !groups.contains(&row) {
                groups.push(row);
            }
        }
        let groups: Vec<String> = groups
            .iter()
            .map(|group| {
                let names: Vec<String> = group.iter().map(|id| format!("n{id}")).collect();
                names.join(" ")
            })
            .collect();
        format!("partition {}", groups.join(" | "))
    }

    /// A compact description of the cut links, e.g. `1->2 2->1`.
    pub fn describe_cuts(&self) -> String {
        let mut out = Vec::new();
        for from in 1..=self.node_count {
            for to in 1..=self.node_count {
                if from != to && self.is_cut(from, to) {
                    out.push(format!("{from}->{to}"));
                }
            }
        }
        if out.is_empty() {
            "none".to_string()
        } else {
            out.join(" ")
        }
    }
}

/// What happens to one message, and why (the replay log tells it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// It never arrives: the link is cut (a partition).
    Cut,
    /// It never arrives: a driver dropped it.
    Dropped,
    /// It arrives after this many microseconds.
    Once(u64),
    /// It arrives twice, after each delay (a driver duplicated it).
    Twice(u64, u64),
    /// A driver holds it (a scenario rule) until it is released.
    Held,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::params::{Profile, RunOptions};

    fn five_nodes() -> Network {
        let options = RunOptions {
            profile: Profile::Standard,
            ..RunOptions::default()
        };
        let network = Network::new(&Params::draw(7, &options));
        assert_eq!(network.node_count, 5);
        network
    }

    #[test]
    fn a_partition_is_described_by_its_groups_and_other_cuts_link_by_link() {
        let mut network = five_nodes();
        assert_eq!(network.describe_partition(), "none");
        network.partition(&[vec![2, 4]]);
        assert_eq!(network.describe_partition(), "partition n1 n3 n5 | n2 n4");
        network.set_cut(1, 3, true);
        assert_eq!(
            network.describe_partition(),
            "cut links n1->n2 n1->n3 n1->n4 n2->n1 n2->n3 n2->n5 n3->n2 n3->n4 \
             n4->n1 n4->n3 n4->n5 n5->n2 n5->n4"
        );
        network.heal_partitions();
        network.set_cut(5, 1, true);
        assert_eq!(network.describe_partition(), "cut links n5->n1");
    }
}

/// How many messages each stream (a link and what its messages are about,
/// by its digest) has carried: what names the next message of the stream.
/// A hash map looked up, never iterated, so its order cannot reach a run;
/// the keys are digests already, so they hash to themselves.
#[derive(Debug, Default)]
pub struct StreamCounts {
    #[allow(clippy::disallowed_types)]
    counts: std::collections::HashMap<u64, u64, BuildHasherDefault<DigestHasher>>, // allow-nondeterminism: lookup only, never iterated
}

impl StreamCounts {
    /// The number of the next message of `stream`, counted from 0.
    pub fn next(&mut self, stream: u64) -> u64 {
        let sent = self.counts.entry(stream).or_insert(0);
        *sent += 1;
        *sent - 1
    }
}

/// A hasher for keys that are digests already: the key is its own hash.
#[derive(Debug, Default)]
pub struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}
