//! The parameters of one run, drawn from its seed (swarm testing).
//!
//! Each seed draws the cluster size, which fault kinds are on and how hard, and
//! the workload. Varying the mix per seed finds bugs that a single "everything a
//! little" profile hides (Groce et al., "Swarm Testing"). Every parameter is
//! printed before the run starts.

use std::fmt;

use raft_core::Bugs;

use crate::drivers::buggify::{Buggify, BuggifyPoint};
use crate::world::rng::{Ratio, Rng, Stream};

/// The most a node's clock runs off true time at a constant rate, in parts
/// per thousand (its wander comes on top).
const CONSTANT_DRIFT_PPT_MAX: i64 = 10;

/// How many new identities a run with membership changes or disk loss may
/// hand out (nodes that join; replacements of wiped nodes).
const SPARE_NODES: u64 = 4;

/// A kind of fault the nemesis can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Messages are lost.
    Drop,
    /// Messages are delivered twice.
    Duplicate,
    /// Large delay jitter, so messages overtake each other.
    Reorder,
    /// Symmetric and one-way partitions.
    Partition,
    /// Nodes crash (losing unsynced writes) and restart.
    Crash,
    /// A crashed node's disk is wiped; the node comes back under a new
    /// identity and joins through membership changes (learner, caught up,
    /// promoted; the dead identity removed), as production systems replace
    /// a failed drive.
    DiskLoss,
    /// A crashed node's disk is wiped and it restarts under its old
    /// identity with an empty log (Raft is not safe under this: the
    /// violation is the expected finding; off unless asked for).
    DiskLossAmnesia,
    /// The operator changes the membership: adds a learner, promotes it,
    /// removes a voter (the leader too), swaps two voters through a joint
    /// configuration.
    Membership,
    /// A node stops for a while (a stop-the-world pause), then goes on with
    /// what queued up meanwhile.
    Pause,
    /// A link delivers, but late: latency spikes instead of loss.
    Clog,
    /// A node's clock runs past the drift bound for a while (where a lease
    /// may break: off unless asked for, or the run's reads take no lease).
    ClockSkew,
}

impl FaultKind {
    /// Every fault kind.
    pub const ALL: [FaultKind; 11] = [
        FaultKind::Drop,
        FaultKind::Duplicate,
        FaultKind::Reorder,
        FaultKind::Partition,
        FaultKind::Crash,
        FaultKind::DiskLoss,
        FaultKind::DiskLossAmnesia,
        FaultKind::Membership,
        FaultKind::Pause,
        FaultKind::Clog,
        FaultKind::ClockSkew,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Drop => "drop",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Reorder => "reorder",
            FaultKind::Partition => "partition",
            FaultKind::Crash => "crash",
            FaultKind::DiskLoss => "disk-loss",
            FaultKind::DiskLossAmnesia => "disk-loss-amnesia",
            FaultKind::Membership => "membership",
            FaultKind::Pause => "pause",
            FaultKind::Clog => "clog",
            FaultKind::ClockSkew => "clock-skew",
        }
    }

    /// The fault kind with this name.
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// How the clients' reads are served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadPath {
    /// A get goes through the log like a write.
    #[default]
    Log,
    /// The leader serves a get at a read index a heartbeat round confirms.
    ReadIndex,
    /// The leader serves a get on its lease (a heartbeat round once it expired).
    Lease,
}

impl ReadPath {
    /// Every read path.
    pub const ALL: [ReadPath; 3] = [ReadPath::Log, ReadPath::ReadIndex, ReadPath::Lease];

    /// The name in output and scenario files.
    pub fn name(self) -> &'static str {
        match self {
            ReadPath::Log => "log",
            ReadPath::ReadIndex => "read-index",
            ReadPath::Lease => "lease",
        }
    }

    /// The read path with this name.
    pub fn from_name(name: &str) -> Option<ReadPath> {
        ReadPath::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The Raft features a run's nodes have switched on (etcd's names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RaftFeatures {
    /// PreVote: a node asks whether it could win before it raises its term.
    #[serde(default)]
    pub pre_vote: bool,
    /// CheckQuorum: a leader that has not heard from a quorum steps down,
    /// and a node that hears a leader ignores vote requests.
    #[serde(default)]
    pub check_quorum: bool,
    /// How gets are served.
    #[serde(default)]
    pub read_path: ReadPath,
    /// Whether followers serve gets too, at a read index the leader gives
    /// (not on the log path).
    #[serde(default)]
    pub follower_reads: bool,
}

impl RaftFeatures {
    /// Draws a valid combination, each feature on half the time (swarm
    /// testing: every valid combination runs in a default campaign).
    pub fn draw(rng: &mut Rng) -> RaftFeatures {
        let pre_vote = rng.chance(Ratio::new(1, 2));
        let check_quorum = rng.chance(Ratio::new(1, 2));
        let read_path = match check_quorum {
            true => [ReadPath::Log, ReadPath::ReadIndex, ReadPath::Lease][rng.index(3)],
            false => [ReadPath::Log, ReadPath::ReadIndex][rng.index(2)],
        };
        let follower_reads = read_path != ReadPath::Log && rng.chance(Ratio::new(1, 2));
        RaftFeatures {
            pre_vote,
            check_quorum,
            read_path,
            follower_reads,
        }
    }

    /// Whether the combination is one raft-core accepts: a lease needs
    /// CheckQuorum; follower reads need a read index.
    pub fn is_valid(self) -> bool {
        (self.read_path != ReadPath::Lease || self.check_quorum)
            && (!self.follower_reads || self.read_path != ReadPath::Log)
    }
}

impl fmt::Display for RaftFeatures {
    /// `prevote on, check-quorum off, reads lease (followers too)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = |b: bool| if b { "on" } else { "off" };
        write!(
            f,
            "prevote {}, check-quorum {}, reads {}",
            on(self.pre_vote),
            on(self.check_quorum),
            self.read_path.name()
        )?;
        if self.follower_reads {
            write!(f, " (followers too)")?;
        }
        Ok(())
    }
}

/// Which parameters a seed draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// Swarm testing: each seed draws cluster size and fault kinds.
    #[default]
    Swarm,
    /// The reference profile of the benchmarks: 5 voters, every fault kind but
    /// disk loss on; rates and workload still drawn.
    Standard,
}

impl Profile {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Swarm => "swarm",
            Profile::Standard => "standard",
        }
    }
}

/// How a run is set up beyond its seed: what the user asked for on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Which parameters the seed draws.
    pub profile: Profile,
    /// Planted bugs to switch on in every node.
    pub bugs: Bugs,
    /// Fault kinds forced on in addition to those the seed draws (e.g. disk loss).
    pub forced_faults: Vec<FaultKind>,
}

/// What a shrunk run changes of the parameters its seed draws (`None`:
/// as drawn).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    /// Number of voters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u64>,
    /// Number of clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<u64>,
    /// Operations the clients start, in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<u64>,
    /// Length of the chaos phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos_us: Option<u64>,
    /// Entries applied between two snapshots; 0: no compaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_every: Option<u64>,
}

/// Everything that shapes a run, drawn from the seed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Params {
    /// The run's seed.
    pub seed: u64,
    /// Number of voters: 3, 5 or 7.
    pub cluster_size: u64,
    /// Planted bugs, by name.
    #[serde(serialize_with = "serialize_bugs")]
    pub bugs: Bugs,
    /// The fault kinds on in this run.
    pub faults: Vec<FaultKind>,
    /// Virtual microseconds between two ticks of a node with no clock drift.
    pub tick_us: u64,
    /// Per node constant clock drift in parts per thousand (a node's tick
    /// interval is `tick_us * (1000 + drift + wander) / 1000`).
    pub clock_drift_ppt: Vec<i64>,
    /// How far each node's clock rate wanders around its constant drift, in
    /// parts per thousand (redrawn every few ticks).
    pub clock_wander_ppt: i64,
    /// The drift bound: no clock runs further off true time than this, in
    /// parts per thousand, unless a clock-skew fault pushes it.
    pub clock_drift_bound_ppt: i64,
    /// Minimum election timeout in ticks (raft-core draws from `[min, 2 * min)`).
    pub election_timeout_ticks_min: u32,
    /// Heartbeat interval in ticks.
    pub heartbeat_interval_ticks: u32,
    /// At most this many entries in one AppendEntries (small batches expose
    /// commit-rule bugs that a single large batch hides).
    pub max_entries_per_message: usize,
    /// At most this many unacknowledged AppendEntries per follower.
    pub max_inflight_messages: usize,
    /// The chance of a fault at each protocol point (see
    /// [`crate::drivers::buggify`]).
    pub buggify: Buggify,
    /// Smallest one-way message delay.
    pub delay_us_min: u64,
    /// Extra delay drawn uniformly in `[0, delay_jitter_us]`; large values reorder.
    pub delay_jitter_us: u64,
    /// Probability a message is lost (when drops are on).
    pub drop_ratio: Ratio,
    /// Probability a message is delivered twice (when duplicates are on).
    pub duplicate_ratio: Ratio,
    /// Probability a message arrives past an election timeout (the long
    /// tail of delays: answers from an earlier term arriving late); zero in
    /// the seeds that draw no long tail.
    pub long_delay_ratio: Ratio,
    /// Fsync latency range.
    pub fsync_us_min: u64,
    /// Fsync latency range (upper bound, inclusive).
    pub fsync_us_max: u64,
    /// Mean virtual time between two nemesis actions.
    pub nemesis_interval_us_mean: u64,
    /// How long a crashed node stays down at most before it restarts.
    pub crash_downtime_us_max: u64,
    /// How long a paused node stays paused at most.
    pub pause_us_max: u64,
    /// The most delay a clogged link adds.
    pub clog_us_max: u64,
    /// Number of concurrent clients.
    pub client_count: u64,
    /// Number of distinct keys the clients touch.
    pub key_count: u64,
    /// A client gives up on one attempt after this long.
    pub client_timeout_us: u64,
    /// Attempts per operation during the chaos phase before it is recorded as unknown.
    pub client_attempts_max: u32,
    /// Client pause between operations, upper bound.
    pub client_think_us_max: u64,
    /// Length of the chaos phase.
    pub chaos_duration_us: u64,
    /// The clients start no operation past this many in all (`None`: no
    /// bound but time; a shrunk run sets one).
    pub operations_max: Option<u64>,
    /// Bound on the heal phase: a leader, convergence and idle clients by then.
    pub heal_duration_us_max: u64,
    /// The Raft features switched on.
    pub features: RaftFeatures,
    /// Whether the nemesis asks leaders to hand over leadership.
    pub transfers: bool,
    /// Ids past the initial cluster that new members may take (a node that
    /// joins, or replaces one whose disk was wiped): nodes
    /// `cluster_size + 1 ..= cluster_size + spare_nodes`, idle until they join.
    pub spare_nodes: u64,
    /// A node snapshots its state machine and compacts its log once it has
    /// applied this many entries past its last snapshot (`None`: never).
    pub compact_every: Option<u64>,
    /// A leader sends a snapshot in chunks of at most this many bytes.
    pub snapshot_chunk_bytes: usize,
}

fn serialize_bugs<S: serde::Serializer>(bugs: &Bugs, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(bugs.iter().map(|b| b.name()))
}

impl Params {
    /// Draws the parameters of seed `seed`.
    pub fn draw(seed: u64, options: &RunOptions) -> Params {
        let mut rng = Rng::new(seed, Stream::Params);
        let drawn_size = [3, 5, 7][rng.index(3)];
        let mut faults: Vec<FaultKind> = [
            FaultKind::Drop,
            FaultKind::Duplicate,
            FaultKind::Reorder,
            FaultKind::Partition,
            FaultKind::Crash,
        ]
        .into_iter()
        .filter(|_| rng.chance(Ratio::new(1, 2)))
        .collect();
        let cluster_size = match options.profile {
            Profile::Swarm => drawn_size,
            Profile::Standard => {
                faults = vec![
                    FaultKind::Drop,
                    FaultKind::Duplicate,
                    FaultKind::Reorder,
                    FaultKind::Partition,
                    FaultKind::Crash,
                ];
                5
            }
        };
        for forced in &options.forced_faults {
            if !faults.contains(forced) {
                faults.push(*forced);
            }
        }
        faults.sort();
        let reorder = faults.contains(&FaultKind::Reorder);
        let clock_drift_ppt = (0..cluster_size)
            .map(|_| {
                rng.range_inclusive(0, 2 * CONSTANT_DRIFT_PPT_MAX as u64) as i64
                    - CONSTANT_DRIFT_PPT_MAX
            })
            .collect();
        let mut params = Params {
            seed,
            cluster_size,
            bugs: options.bugs,
            faults,
            tick_us: 25_000,
            clock_drift_ppt,
            clock_wander_ppt: 0,
            clock_drift_bound_ppt: CONSTANT_DRIFT_PPT_MAX,
            election_timeout_ticks_min: 10,
            heartbeat_interval_ticks: 2,
            max_entries_per_message: [1, 2, 3, 8, 64][rng.index(5)],
            max_inflight_messages: [1, 4, 16][rng.index(3)],
            buggify: {
                let mut buggify = Buggify::default();
                let fsync = Ratio::new(rng.range_inclusive(0, 20), 1000);
                buggify.set(BuggifyPoint::FsyncCrash, fsync);
                let hard_state = Ratio::new(rng.range_inclusive(0, 250), 1000);
                buggify.set(BuggifyPoint::HardStateCrash, hard_state);
                buggify
            },
            delay_us_min: rng.range_inclusive(100, 2_000),
            delay_jitter_us: if reorder {
                rng.range_inclusive(5_000, 60_000)
            } else {
                rng.range_inclusive(0, 500)
            },
            drop_ratio: Ratio::new(rng.range_inclusive(1, 15), 100),
            duplicate_ratio: Ratio::new(rng.range_inclusive(1, 10), 100),
            long_delay_ratio: Ratio::ZERO,
            fsync_us_min: 100,
            fsync_us_max: rng.range_inclusive(200, 5_000),
            nemesis_interval_us_mean: rng.range_inclusive(100_000, 2_000_000),
            crash_downtime_us_max: [20_000, 200_000, 1_000_000, 3_000_000][rng.index(4)],
            pause_us_max: 0,
            clog_us_max: 0,
            client_count: rng.range_inclusive(1, 5),
            key_count: rng.range_inclusive(1, 4),
            client_timeout_us: rng.range_inclusive(300_000, 2_000_000),
            client_attempts_max: rng.range_inclusive(2, 6) as u32,
            client_think_us_max: rng.range_inclusive(0, 100_000),
            chaos_duration_us: rng.range_inclusive(5_000_000, 15_000_000),
            operations_max: None,
            heal_duration_us_max: 30_000_000,
            features: RaftFeatures::default(),
            transfers: false,
            spare_nodes: 0,
            compact_every: None,
            snapshot_chunk_bytes: 64 * 1024,
        };
        // Drawn last so the draws above keep their values. A quarter of the swarm
        // runs with aggressive election timeouts: split votes and leader churn,
        // where vote and commit rules are tested hardest.
        if options.profile == Profile::Swarm && rng.chance(Ratio::new(1, 4)) {
            params.election_timeout_ticks_min = [3, 4, 6][rng.index(3)];
            params.heartbeat_interval_ticks = 1;
        }
        let new_leader = Ratio::new(rng.range_inclusive(0, 300), 1000);
        params
            .buggify
            .set(BuggifyPoint::NewLeaderIsolation, new_leader);
        let commit = Ratio::new(rng.range_inclusive(0, 50), 1000);
        params.buggify.set(BuggifyPoint::CommitIsolation, commit);
        params.clock_wander_ppt = [0, 5, 40, 150][rng.index(4)];
        params.clock_drift_bound_ppt = CONSTANT_DRIFT_PPT_MAX + params.clock_wander_ppt;
        for kind in [FaultKind::Pause, FaultKind::Clog] {
            let drawn = rng.chance(Ratio::new(1, 2)) && options.profile == Profile::Swarm;
            let wanted = drawn || options.forced_faults.contains(&kind);
            if wanted && !params.faults.contains(&kind) {
                params.faults.push(kind);
            }
        }
        params.faults.sort();
        params.pause_us_max = [100_000, 500_000, 2_000_000][rng.index(3)];
        params.clog_us_max = [50_000, 300_000, 1_000_000][rng.index(3)];
        params.features = RaftFeatures::draw(&mut rng);
        params.transfers = rng.chance(Ratio::new(1, 2));
        // A clock pushed past the drift bound breaks a lease by design: the
        // swarm skews clocks only in runs whose reads take none.
        let skew = rng.chance(Ratio::new(1, 2)) && options.profile == Profile::Swarm;
        if skew
            && params.features.read_path != ReadPath::Lease
            && !params.faults.contains(&FaultKind::ClockSkew)
        {
            params.faults.push(FaultKind::ClockSkew);
            params.faults.sort();
        }
        let election = params.election_timeout_ticks_min;
        let drift = crate::world::host::lease_drift_ticks(election, params.clock_drift_bound_ppt);
        if params.features.read_path == ReadPath::Lease && drift >= election {
            // The drift bound leaves no lease at these timeouts.
            params.features.read_path = ReadPath::ReadIndex;
        }
        // Part 2 of production Raft: membership changes, disk loss survived
        // by replacement, compaction. Drawn after everything above, so the
        // draws above keep their values.
        for kind in [FaultKind::DiskLoss, FaultKind::Membership] {
            let drawn = rng.chance(Ratio::new(1, 2)) && options.profile == Profile::Swarm;
            if drawn && !params.faults.contains(&kind) {
                params.faults.push(kind);
            }
        }
        params.faults.sort();
        if params.has_fault(FaultKind::DiskLoss) || params.has_fault(FaultKind::Membership) {
            params.spare_nodes = SPARE_NODES;
        }
        params.compact_every = match options.profile {
            Profile::Swarm => [None, Some(4), Some(16), Some(64), Some(256)][rng.index(5)],
            Profile::Standard => Some(64),
        };
        params.snapshot_chunk_bytes = [64, 512, 64 * 1024][rng.index(3)];
        params.buggify.draw_protocol_points(&mut rng);
        let long_tail = rng.chance(Ratio::new(1, 2)) && options.profile == Profile::Swarm;
        let per_mille = rng.range_inclusive(1, 20);
        if long_tail {
            params.long_delay_ratio = Ratio::new(per_mille, 1000);
        }
        params
    }

    /// The extra delay of a message in the long tail, at most: three of
    /// the longest election timeouts.
    pub fn long_delay_us_max(&self) -> u64 {
        6 * u64::from(self.election_timeout_ticks_min) * self.tick_us
    }

    /// These parameters with `overrides` applied: a smaller cluster (the
    /// nodes past it go; clock drifts of the others stay), fewer clients, a
    /// bound on operations, a shorter chaos phase.
    pub fn overridden(mut self, overrides: &Overrides) -> Params {
        if let Some(nodes) = overrides.nodes {
            assert!(nodes >= 1, "a cluster has a node");
            self.cluster_size = nodes;
            self.clock_drift_ppt.resize(nodes as usize, 0);
        }
        if let Some(clients) = overrides.clients {
            self.client_count = clients;
        }
        if let Some(operations) = overrides.operations {
            self.operations_max = Some(operations);
        }
        if let Some(every) = overrides.compact_every {
            self.compact_every = (every > 0).then_some(every);
        }
        if let Some(chaos_us) = overrides.chaos_us {
            self.chaos_duration_us = chaos_us;
        }
        self
    }

    /// Whether fault kind `kind` is on in this run.
    pub fn has_fault(&self, kind: FaultKind) -> bool {
        self.faults.contains(&kind)
    }

    /// The ids of the initial cluster's voters, 1-based.
    pub fn node_ids(&self) -> impl Iterator<Item = u64> {
        1..=self.cluster_size
    }

    /// Every id a node of this run may have: the initial voters and the spares.
    pub fn all_node_ids(&self) -> impl Iterator<Item = u64> {
        1..=self.node_capacity()
    }

    /// How many nodes this run may have had, counting every identity.
    pub fn node_capacity(&self) -> u64 {
        self.cluster_size + self.spare_nodes
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let faults: Vec<&str> = self.faults.iter().map(|k| k.name()).collect();
        let bugs: Vec<&str> = self.bugs.iter().map(|b| b.name()).collect();
        writeln!(f, "seed {} (0x{:016x})", self.seed, self.seed)?;
        writeln!(
            f,
            "  cluster: {} voters, bugs: [{}]",
            self.cluster_size,
            bugs.join(", ")
        )?;
        writeln!(f, "  faults: [{}]", faults.join(", "))?;
        if self.spare_nodes > 0 {
            writeln!(
                f,
                "  membership: spare ids n{}..n{}",
                self.cluster_size + 1,
                self.node_capacity()
            )?;
        }
        match self.compact_every {
            Some(every) => writeln!(
                f,
                "  compaction: every {every} applied entries, snapshot chunks of {} bytes",
                self.snapshot_chunk_bytes
            )?,
            None => writeln!(f, "  compaction: off")?,
        }
        let drift: Vec<String> = (1..)
            .zip(&self.clock_drift_ppt)
            .map(|(node, ppt)| format!("n{node} {ppt:+}"))
            .collect();
        writeln!(
            f,
            "  clock: tick {} us, drift {} ppt, wander +-{} ppt (bound {}), election {} ticks min, heartbeat {} ticks",
            self.tick_us,
            drift.join(" "),
            self.clock_wander_ppt,
            self.clock_drift_bound_ppt,
            self.election_timeout_ticks_min,
            self.heartbeat_interval_ticks
        )?;
        writeln!(
            f,
            "  network: delay {}+[0,{}] us, drop {}, duplicate {}, long delay {}",
            self.delay_us_min,
            self.delay_jitter_us,
            self.drop_ratio,
            self.duplicate_ratio,
            self.long_delay_ratio
        )?;
        writeln!(
            f,
            "  raft: <= {} entries per message, <= {} in flight; {}{}",
            self.max_entries_per_message,
            self.max_inflight_messages,
            self.features,
            if self.transfers {
                "; leadership transfers"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "  disk: fsync {}..{} us; nemesis every ~{} us, downtime <= {} us, pause <= {} us, clog <= {} us",
            self.fsync_us_min,
            self.fsync_us_max,
            self.nemesis_interval_us_mean,
            self.crash_downtime_us_max,
            self.pause_us_max,
            self.clog_us_max
        )?;
        writeln!(
            f,
            "  workload: {} clients, {} keys, timeout {} us, {} attempts, think <= {} us",
            self.client_count,
            self.key_count,
            self.client_timeout_us,
            self.client_attempts_max,
            self.client_think_us_max
        )?;
        writeln!(f, "  buggify: {}", self.buggify)?;
        if let Some(operations) = self.operations_max {
            writeln!(f, "  operations: at most {operations}")?;
        }
        write!(
            f,
            "  phases: chaos {} us, heal <= {} us",
            self.chaos_duration_us, self.heal_duration_us_max
        )
    }
}
