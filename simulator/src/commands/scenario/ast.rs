//! A scenario as data: the commands, their expected output, the comments around
//! them. This is also the JSON form (serde), and [`fmt::Display`] gives each
//! command's canonical text, so either form can be written from the other.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::drivers::script::{MessagePattern, RuleAction};
use crate::drivers::{DiskFate, Fault, MemberChange, Point, Scheduled};
use crate::world::params::{Overrides, RaftFeatures, ReadPath};

/// A node id (1-based) as scenario files write it: `n3`.
pub type Node = u64;

/// One scenario file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// The commands in order.
    pub steps: Vec<Step>,
    /// Comment and blank lines after the last command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trailing: Vec<String>,
}

/// One command with what surrounds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The comment (`# ...`) and blank lines just before the command, verbatim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leading: Vec<String>,
    /// The command.
    pub command: Command,
    /// A comment after the command on the same line (without the `#`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The output the command must produce, one string a line (empty: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
    /// The 1-based line of the command in its file (0 when built, not parsed).
    #[serde(default, skip_serializing)]
    pub line: usize,
    /// The command line as written (kept when rewriting expected output).
    #[serde(skip)]
    pub source: Option<String>,
}

/// The cluster a scenario runs on: the first command of every file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Number of voters, `n1` to `nN`.
    pub size: u64,
    /// Seed of the background randomness (election timeouts, jitter).
    pub seed: u64,
    /// Planted bugs by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bugs: Vec<String>,
    /// Nodes tick only on `tick` and `campaign` (no automatic clock).
    #[serde(default)]
    pub manual_ticks: bool,
    /// At most this many entries in one AppendEntries.
    pub max_entries_per_message: usize,
    /// At most this many unacknowledged AppendEntries per follower.
    pub max_inflight: usize,
    /// Minimum election timeout in ticks.
    pub election_ticks: u32,
    /// Heartbeat interval in ticks.
    pub heartbeat_ticks: u32,
    /// Virtual time between two automatic ticks.
    pub tick_us: u64,
    /// One-way message delay.
    pub delay_us: u64,
    /// Extra random delay, up to this much (reorders messages).
    pub jitter_us: u64,
    /// Fsync latency.
    pub fsync_us: u64,
    /// Percent of messages lost.
    pub drop_percent: u64,
    /// Percent of messages delivered twice.
    pub duplicate_percent: u64,
    /// The Raft features switched on.
    #[serde(default)]
    pub features: RaftFeatures,
    /// The clock drift bound the nodes assume, in parts per thousand.
    #[serde(default)]
    pub max_drift_ppt: i64,
    /// Ids past the cluster that nodes may `join` with.
    #[serde(default)]
    pub spares: u64,
    /// Nodes compact their log every this many applied entries (`None`:
    /// only on `compact`).
    #[serde(default)]
    pub compact_every: Option<u64>,
    /// Snapshots travel in chunks of at most this many bytes.
    #[serde(default = "default_snapshot_chunk_bytes")]
    pub snapshot_chunk_bytes: usize,
}

/// The chunk size of a snapshot when the file names none.
fn default_snapshot_chunk_bytes() -> usize {
    64 * 1024
}

impl ClusterSpec {
    /// A cluster of `size` with every setting at its default.
    pub fn with_size(size: u64) -> ClusterSpec {
        ClusterSpec {
            size,
            seed: 1,
            bugs: Vec::new(),
            manual_ticks: false,
            max_entries_per_message: 64,
            max_inflight: 8,
            election_ticks: 10,
            heartbeat_ticks: 2,
            tick_us: 10_000,
            delay_us: 1_000,
            jitter_us: 0,
            fsync_us: 100,
            drop_percent: 0,
            duplicate_percent: 0,
            features: RaftFeatures::default(),
            max_drift_ppt: 0,
            spares: 0,
            compact_every: None,
            snapshot_chunk_bytes: default_snapshot_chunk_bytes(),
        }
    }
}

/// The world of a recorded run (what `raftsim shrink` writes): the swarm
/// world a seed draws, with the nemesis off; its faults are the file's `at`
/// commands. The other kind of scenario, `cluster`, is played step by step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldSpec {
    /// The seed: its parameters, and all background randomness (delays,
    /// timeouts, the clients' operations) unless `background` names another.
    pub seed: u64,
    /// The seed the background randomness comes from instead, the
    /// parameters staying those of `seed` (a shrunk run that needs fewer
    /// faults under other delays and timeouts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<u64>,
    /// `standard` for the benchmark profile; the swarm's otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub standard: bool,
    /// Planted bugs by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bugs: Vec<String>,
    /// Fault kinds forced on, by name (what `--fault` did to the original run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// What differs from the seed's parameters.
    #[serde(default)]
    pub overrides: Overrides,
}

/// A client operation: the store's own call type, so a scenario proposes
/// exactly what the simulator's clients do.
pub use invariants::linearizability::KvOp as ClientOp;

/// A condition `run-until` waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "condition", rename_all = "kebab-case")]
pub enum Condition {
    /// `leader-exists`: some live node leads.
    LeaderExists,
    /// `leader n3`: n3 is the leader of the highest term among live nodes.
    Leader {
        /// The node.
        node: Node,
    },
    /// `committed N` (every live node) or `committed n1 N`: commit index at least N.
    Committed {
        /// One node, or every live node.
        node: Option<Node>,
        /// The index.
        index: u64,
    },
    /// `op3 done`: client operation 3 got its answer.
    OpDone {
        /// The op number.
        op: usize,
    },
    /// `converged`: every live node holds the same log, all committed and applied.
    Converged,
    /// `violation`: a property broke.
    Violation,
    /// `config voters n1 n2 [learners n4]`: the configuration in force is
    /// exactly this (not joint).
    Config(ConfSpec),
}

/// A simple configuration as a file writes it: `voters n1 n2 n3 [learners n4]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfSpec {
    /// The voters, ascending.
    pub voters: Vec<Node>,
    /// The learners, ascending.
    pub learners: Vec<Node>,
}

impl fmt::Display for ConfSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "voters")?;
        for voter in &self.voters {
            write!(f, " n{voter}")?;
        }
        if !self.learners.is_empty() {
            write!(f, " learners")?;
            for learner in &self.learners {
                write!(f, " n{learner}")?;
            }
        }
        Ok(())
    }
}

/// What an `expect` checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "expect", rename_all = "kebab-case")]
pub enum Expectation {
    /// `expect leader n3`: n3 leads the highest term among live nodes.
    Leader {
        /// The node.
        node: Node,
    },
    /// `expect no-leader`: no live node leads.
    NoLeader,
    /// `expect role n1 follower`.
    Role {
        /// The node.
        node: Node,
        /// `leader`, `candidate`, `follower` or `down`.
        role: String,
    },
    /// `expect term n1 3`.
    Term {
        /// The node.
        node: Node,
        /// The term.
        term: u64,
    },
    /// `expect committed n1 3` (one node) or `expect committed 3` (every live node):
    /// the commit index is exactly this.
    Committed {
        /// One node, or every live node.
        node: Option<Node>,
        /// The index.
        index: u64,
    },
    /// `expect log n1 t1x2 t3x1`: the log, as runs of terms (`empty` for none).
    Log {
        /// The node.
        node: Node,
        /// The runs, e.g. `t1x2 t3x1`.
        runs: String,
    },
    /// `expect value k v` (every live node) or `expect value n1 k v`; `nil`: absent.
    Value {
        /// One node, or every live node.
        node: Option<Node>,
        /// The key.
        key: String,
        /// The value (`None`: absent).
        value: Option<String>,
    },
    /// `expect violation election-safety`: this property broke (and that is the point).
    Violation {
        /// The invariant's name.
        invariant: String,
    },
    /// `expect no-violation`: nothing broke so far.
    NoViolation,
    /// `expect config voters n1 n2 [learners n4]`: the configuration in force.
    Config(ConfSpec),
}

/// One command of the language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// `cluster 3 seed=7 bug=forget-vote ...`
    Cluster(ClusterSpec),
    /// `tick [nN] [count]`: ticks now, without moving time.
    Tick {
        /// One node, or every live node.
        node: Option<Node>,
        /// How many ticks.
        count: u32,
    },
    /// `campaign n1`: tick n1 until it starts an election (with PreVote: a pre-vote).
    Campaign {
        /// The node.
        node: Node,
    },
    /// `run 500ms [verbose]`
    Run {
        /// For how long.
        duration_us: u64,
        /// Print every message delivered.
        #[serde(default)]
        verbose: bool,
    },
    /// `run-until leader-exists [within 5s] [verbose]`
    RunUntil {
        /// What to wait for.
        until: Condition,
        /// At most this long.
        within_us: u64,
        /// Print every message delivered.
        #[serde(default)]
        verbose: bool,
    },
    /// `partition 1,2 | 3,4,5`
    Partition {
        /// The groups (unlisted nodes form one more).
        groups: Vec<Vec<Node>>,
    },
    /// `isolate n1`: cut every link to and from n1.
    Isolate {
        /// The node.
        node: Node,
    },
    /// `cut n1->n2`: messages from n1 to n2 are lost.
    Cut {
        /// Sender.
        from: Node,
        /// Receiver.
        to: Node,
    },
    /// `restore n1->n2`: undo a cut.
    Restore {
        /// Sender.
        from: Node,
        /// Receiver.
        to: Node,
    },
    /// `drop app n1->n2`, `hold vote n3->*`, `duplicate app n1->n2`.
    Rule {
        /// What happens to matching messages.
        action: RuleAction,
        /// Which messages.
        pattern: MessagePattern,
    },
    /// `release app n1->n2 [count]`
    Release {
        /// Which messages.
        pattern: MessagePattern,
        /// Deliver only the oldest `count` (and keep the rule); all if absent.
        count: Option<usize>,
    },
    /// `heal`: every link restored, every rule removed.
    Heal,
    /// `crash n1 [lose-unsynced]`
    Crash {
        /// The node.
        node: Node,
        /// Power loss: only what the last fsync made durable survives.
        #[serde(default)]
        lose_unsynced: bool,
    },
    /// `restart n1`
    Restart {
        /// The node.
        node: Node,
    },
    /// `wipe n1`: crash and lose the disk.
    Wipe {
        /// The node.
        node: Node,
    },
    /// `pause n1`
    Pause {
        /// The node.
        node: Node,
    },
    /// `resume n1`
    Resume {
        /// The node.
        node: Node,
    },
    /// `skew n1 ppt=300`: n1's clock runs 300 parts per thousand slow
    /// (negative: fast), whatever the drift bound says.
    Skew {
        /// The node.
        node: Node,
        /// Its clock's rate off true time, in parts per thousand.
        ppt: i64,
    },
    /// `unskew n1`: n1's clock keeps true time again.
    Unskew {
        /// The node.
        node: Node,
    },
    /// `clog n1->n2 delay=200ms`: the link delivers, each message that much late.
    Clog {
        /// Sender.
        from: Node,
        /// Receiver.
        to: Node,
        /// The delay added.
        delay_us: u64,
    },
    /// `stall n1->n2 for=300ms`: the link keeps what is sent on it that long,
    /// then lets it all go at once (a burst).
    Stall {
        /// Sender.
        from: Node,
        /// Receiver.
        to: Node,
        /// How long it holds.
        for_us: u64,
    },
    /// `transfer n1 n3`: leader n1 hands its leadership to n3.
    Transfer {
        /// The leader.
        from: Node,
        /// The node that should lead next.
        to: Node,
    },
    /// `unclog n1->n2`
    Unclog {
        /// Sender.
        from: Node,
        /// Receiver.
        to: Node,
    },
    /// `join n4`: the spare n4 boots empty, waiting to be added.
    Join {
        /// The spare.
        node: Node,
    },
    /// `replace n3 by n4`: n3's disk is gone for good; its identity is
    /// retired and the spare n4 boots empty to take its place.
    Replace {
        /// The node whose disk is gone.
        node: Node,
        /// The spare replacing it.
        by: Node,
    },
    /// `change n1 add-learner n4 [add-voter n5] [remove n2]`: asks n1 for a
    /// configuration change (several voters at once: a joint change).
    Change {
        /// The node asked (the leader, if it is to be accepted).
        at: Node,
        /// The changes.
        changes: Vec<MemberChange>,
    },
    /// `compact n1`: n1 snapshots its state machine at its applied index
    /// and drops the log entries the snapshot covers.
    Compact {
        /// The node.
        node: Node,
    },
    /// `put n1 k v`, `get n1 k`, `append n1 k v`, `cas n1 k old new`
    Client {
        /// The node the operation goes through.
        node: Node,
        /// The operation.
        #[serde(flatten)]
        op: ClientOp,
    },
    /// `status`
    Status,
    /// `held`: the messages held back.
    Held,
    /// `expect ...`
    Expect(Expectation),
    /// `world seed=N [background=N] [bug=..] [nodes=N] [clients=N] [operations=N] [chaos=5s]`
    World(WorldSpec),
    /// `at 1.5s [when n2 leads:] partition n1,n2 | n3`: a fault of a recorded run.
    At(Scheduled),
    /// `run-to-end`: the recorded run, to its outcome.
    RunToEnd,
}

/// A duration in the largest unit that divides it: `5s`, `500ms`, `250us`.
pub fn format_duration(us: u64) -> String {
    if us > 0 && us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else if us > 0 && us.is_multiple_of(1_000) {
        format!("{}ms", us / 1_000)
    } else {
        format!("{us}us")
    }
}

fn node_or_star(node: Option<Node>) -> String {
    node.map_or("*".into(), |n| format!("n{n}"))
}

/// A message pattern as written: `app n1->n2`, `* n3->*`.
pub fn format_pattern(pattern: &MessagePattern) -> String {
    format!(
        "{} {}->{}",
        pattern.kind.as_deref().unwrap_or("*"),
        node_or_star(pattern.from),
        node_or_star(pattern.to)
    )
}

impl fmt::Display for ClusterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = ClusterSpec::with_size(self.size);
        write!(f, "cluster {} seed={}", self.size, self.seed)?;
        for bug in &self.bugs {
            write!(f, " bug={bug}")?;
        }
        if self.manual_ticks {
            write!(f, " ticks=manual")?;
        }
        let features = self.features;
        if features.pre_vote {
            write!(f, " pre-vote=on")?;
        }
        if features.check_quorum {
            write!(f, " check-quorum=on")?;
        }
        if features.read_path != ReadPath::Log {
            write!(f, " read={}", features.read_path.name())?;
        }
        if features.follower_reads {
            write!(f, " follower-reads=on")?;
        }
        if self.max_drift_ppt != 0 {
            write!(f, " max-drift={}", self.max_drift_ppt)?;
        }
        if self.spares != 0 {
            write!(f, " spares={}", self.spares)?;
        }
        if let Some(every) = self.compact_every {
            write!(f, " compact-every={every}")?;
        }
        if self.snapshot_chunk_bytes != default.snapshot_chunk_bytes {
            write!(f, " snapshot-chunk={}", self.snapshot_chunk_bytes)?;
        }
        let numbers = [
            (
                "max-entries-per-message",
                self.max_entries_per_message as u64,
                default.max_entries_per_message as u64,
            ),
            (
                "max-inflight",
                self.max_inflight as u64,
                default.max_inflight as u64,
            ),
            (
                "election-ticks",
                self.election_ticks.into(),
                default.election_ticks.into(),
            ),
            (
                "heartbeat-ticks",
                self.heartbeat_ticks.into(),
                default.heartbeat_ticks.into(),
            ),
            ("drop", self.drop_percent, default.drop_percent),
            (
                "duplicate",
                self.duplicate_percent,
                default.duplicate_percent,
            ),
        ];
        for (name, value, default) in numbers {
            if value != default {
                let unit = if name == "drop" || name == "duplicate" {
                    "%"
                } else {
                    ""
                };
                write!(f, " {name}={value}{unit}")?;
            }
        }
        let durations = [
            ("tick", self.tick_us, default.tick_us),
            ("delay", self.delay_us, default.delay_us),
            ("jitter", self.jitter_us, default.jitter_us),
            ("fsync", self.fsync_us, default.fsync_us),
        ];
        for (name, value, default) in durations {
            if value != default {
                write!(f, " {name}={}", format_duration(value))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::LeaderExists => write!(f, "leader-exists"),
            Condition::Leader { node } => write!(f, "leader n{node}"),
            Condition::Committed { node: None, index } => write!(f, "committed {index}"),
            Condition::Committed {
                node: Some(node),
                index,
            } => write!(f, "committed n{node} {index}"),
            Condition::OpDone { op } => write!(f, "op{op} done"),
            Condition::Converged => write!(f, "converged"),
            Condition::Violation => write!(f, "violation"),
            Condition::Config(conf) => write!(f, "config {conf}"),
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Leader { node } => write!(f, "leader n{node}"),
            Expectation::NoLeader => write!(f, "no-leader"),
            Expectation::Role { node, role } => write!(f, "role n{node} {role}"),
            Expectation::Term { node, term } => write!(f, "term n{node} {term}"),
            Expectation::Committed { node: None, index } => write!(f, "committed {index}"),
            Expectation::Committed {
                node: Some(node),
                index,
            } => write!(f, "committed n{node} {index}"),
            Expectation::Log { node, runs } => write!(f, "log n{node} {runs}"),
            Expectation::Value { node, key, value } => {
                write!(f, "value ")?;
                if let Some(node) = node {
                    write!(f, "n{node} ")?;
                }
                write!(f, "{key} {}", value.as_deref().unwrap_or("nil"))
            }
            Expectation::Violation { invariant } => write!(f, "violation {invariant}"),
            Expectation::NoViolation => write!(f, "no-violation"),
            Expectation::Config(conf) => write!(f, "config {conf}"),
        }
    }
}

fn verbose_suffix(verbose: bool) -> &'static str {
    if verbose {
        " verbose"
    } else {
        ""
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Cluster(spec) => write!(f, "{spec}"),
            Command::Tick { node, count } => {
                write!(f, "tick")?;
                if let Some(node) = node {
                    write!(f, " n{node}")?;
                }
                if *count != 1 {
                    write!(f, " {count}")?;
                }
                Ok(())
            }
            Command::Campaign { node } => write!(f, "campaign n{node}"),
            Command::Run {
                duration_us,
                verbose,
            } => write!(
                f,
                "run {}{}",
                format_duration(*duration_us),
                verbose_suffix(*verbose)
            ),
            Command::RunUntil {
                until,
                within_us,
                verbose,
            } => write!(
                f,
                "run-until {until} within {}{}",
                format_duration(*within_us),
                verbose_suffix(*verbose)
            ),
            Command::Client { node, op } => write_client(f, *node, op),
            Command::Status => write!(f, "status"),
            Command::Held => write!(f, "held"),
            Command::Expect(expectation) => write!(f, "expect {expectation}"),
            Command::World(spec) => write!(f, "{spec}"),
            Command::At(scheduled) => write_at(f, scheduled),
            Command::RunToEnd => write!(f, "run-to-end"),
            fault => write_fault(f, fault),
        }
    }
}

/// The network and node commands.
fn write_fault(f: &mut fmt::Formatter<'_>, command: &Command) -> fmt::Result {
    match command {
        Command::Partition { groups } => {
            let groups: Vec<String> = groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|n| format!("n{n}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            write!(f, "partition {}", groups.join(" | "))
        }
        Command::Isolate { node } => write!(f, "isolate n{node}"),
        Command::Cut { from, to } => write!(f, "cut n{from}->n{to}"),
        Command::Restore { from, to } => write!(f, "restore n{from}->n{to}"),
        Command::Rule { action, pattern } => {
            write!(f, "{} {}", action.name(), format_pattern(pattern))
        }
        Command::Release { pattern, count } => {
            write!(f, "release {}", format_pattern(pattern))?;
            match count {
                Some(count) => write!(f, " {count}"),
                None => Ok(()),
            }
        }
        Command::Heal => write!(f, "heal"),
        Command::Crash {
            node,
            lose_unsynced,
        } => {
            let suffix = if *lose_unsynced { " lose-unsynced" } else { "" };
            write!(f, "crash n{node}{suffix}")
        }
        Command::Restart { node } => write!(f, "restart n{node}"),
        Command::Wipe { node } => write!(f, "wipe n{node}"),
        Command::Pause { node } => write!(f, "pause n{node}"),
        Command::Resume { node } => write!(f, "resume n{node}"),
        Command::Skew { node, ppt } => write!(f, "skew n{node} ppt={ppt}"),
        Command::Unskew { node } => write!(f, "unskew n{node}"),
        Command::Clog { from, to, delay_us } => {
            write!(
                f,
                "clog n{from}->n{to} delay={}",
                format_duration(*delay_us)
            )
        }
        Command::Unclog { from, to } => write!(f, "unclog n{from}->n{to}"),
        Command::Stall { from, to, for_us } => {
            write!(f, "stall n{from}->n{to} for={}", format_duration(*for_us))
        }
        Command::Join { node } => write!(f, "join n{node}"),
        Command::Replace { node, by } => write!(f, "replace n{node} by n{by}"),
        Command::Change { at, changes } => {
            write!(f, "change n{at}")?;
            for change in changes {
                write!(f, " {} n{}", change.verb(), change.node())?;
            }
            Ok(())
        }
        Command::Compact { node } => write!(f, "compact n{node}"),
        Command::Transfer { from, to } => write!(f, "transfer n{from} n{to}"),
        _ => unreachable!("not a network or node command: {command:?}"),
    }
}

impl fmt::Display for WorldSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "world seed={}", self.seed)?;
        if let Some(background) = self.background {
            write!(f, " background={background}")?;
        }
        if self.standard {
            write!(f, " profile=standard")?;
        }
        for bug in &self.bugs {
            write!(f, " bug={bug}")?;
        }
        for fault in &self.faults {
            write!(f, " fault={fault}")?;
        }
        let overrides = &self.overrides;
        let numbers = [
            ("nodes", overrides.nodes),
            ("clients", overrides.clients),
            ("operations", overrides.operations),
        ];
        for (name, value) in numbers {
            if let Some(value) = value {
                write!(f, " {name}={value}")?;
            }
        }
        match overrides.compact_every {
            Some(0) => write!(f, " compaction=off")?,
            Some(every) => write!(f, " compaction={every}")?,
            None => {}
        }
        if let Some(chaos_us) = overrides.chaos_us {
            write!(f, " chaos={}", format_instant(chaos_us))?;
        }
        Ok(())
    }
}

/// A virtual time or duration to the microsecond, in seconds: `1.234567s`,
/// `2s`, `0.0005s` (trailing zeros dropped).
pub fn format_instant(us: u64) -> String {
    let fraction = format!("{:06}", us % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    match fraction.is_empty() {
        true => format!("{}s", us / 1_000_000),
        false => format!("{}.{fraction}s", us / 1_000_000),
    }
}

/// `at TIME [when POINT:] FAULT`.
fn write_at(f: &mut fmt::Formatter<'_>, scheduled: &Scheduled) -> fmt::Result {
    write!(f, "at {}", format_instant(scheduled.time_us))?;
    match scheduled.point {
        Point::Timer | Point::Send { .. } => {}
        Point::NewLeader { node } => write!(f, " when n{node} leads:")?,
        Point::LeaderCommit { node } => write!(f, " when n{node} commits:")?,
        Point::Fsync { node } => write!(f, " when n{node} syncs:")?,
        Point::VoteGranted { node, nth } => write!(f, " when n{node} votes{}:", nth_suffix(nth))?,
        Point::AckCounted { node, nth } => {
            write!(f, " when n{node} counts-ack{}:", nth_suffix(nth))?
        }
        Point::SnapshotTaken { node, nth } => {
            write!(f, " when n{node} snapshots{}:", nth_suffix(nth))?
        }
    }
    write!(f, " ")?;
    write_fault_of_run(f, &scheduled.fault)
}

/// A fault as an `at` command writes it.
fn write_fault_of_run(f: &mut fmt::Formatter<'_>, fault: &Fault) -> fmt::Result {
    let after = |us: Option<u64>| {
        us.map_or(String::new(), |us| {
            format!(" restart-after={}", format_instant(us))
        })
    };
    match fault {
        Fault::Partition { groups } => {
            let command = Command::Partition {
                groups: groups.clone(),
            };
            write!(f, "{command}")
        }
        Fault::Cut { from, to } => write!(f, "cut n{from}->n{to}"),
        Fault::Restore { from, to } => write!(f, "restore n{from}->n{to}"),
        Fault::Heal => write!(f, "heal"),
        Fault::Crash {
            node,
            disk,
            restart_after_us,
        } => {
            let disk = disk_fate_name(*disk);
            write!(f, "crash n{node} disk={disk}{}", after(*restart_after_us))
        }
        Fault::Restart { node } => write!(f, "restart n{node}"),
        Fault::FsyncCrash {
            node,
            before,
            restart_after_us,
        } => {
            let when = if *before { "before" } else { "after" };
            let after = after(Some(*restart_after_us));
            write!(f, "fsync-crash n{node} {when}{after}")
        }
        Fault::Pause { node } => write!(f, "pause n{node}"),
        Fault::Resume { node } => write!(f, "resume n{node}"),
        Fault::Clog {
            from,
            to,
            extra_delay_us,
        } => write!(
            f,
            "clog n{from}->n{to} delay={}",
            format_instant(*extra_delay_us)
        ),
        Fault::Unclog { from, to } => write!(f, "unclog n{from}->n{to}"),
        Fault::Stall { from, to, for_us } => {
            write!(f, "stall n{from}->n{to} for={}", format_instant(*for_us))
        }
        Fault::Skew { node, ppt } => write!(f, "skew n{node} ppt={ppt}"),
        Fault::Unskew { node } => write!(f, "unskew n{node}"),
        Fault::Transfer { from, to } => write!(f, "transfer n{from} n{to}"),
        Fault::Join { node } => write!(f, "join n{node}"),
        Fault::Replace { node, by } => write!(f, "replace n{node} by n{by}"),
        Fault::ConfChange { at, changes } => {
            write!(f, "change n{at}")?;
            for change in changes {
                write!(f, " {} n{}", change.verb(), change.node())?;
            }
            Ok(())
        }
        Fault::Compact { node } => write!(f, "compact n{node}"),
        Fault::Drop { message } => write!(f, "drop {message}"),
        Fault::Duplicate {
            message,
            second_delay_us,
        } => write!(
            f,
            "duplicate {message} second-delay={}",
            format_instant(*second_delay_us)
        ),
        Fault::Delay {
            message,
            extra_delay_us,
        } => write!(f, "delay {message} by={}", format_instant(*extra_delay_us)),
    }
}

/// `(2)` after a point that came twice before at its instant; nothing for
/// the first.
fn nth_suffix(nth: u32) -> String {
    match nth {
        0 => String::new(),
        n => format!("({n})"),
    }
}

/// The name of what a crashed disk keeps, as `at ... crash` writes it.
pub fn disk_fate_name(disk: DiskFate) -> &'static str {
    match disk {
        DiskFate::Kept => "kept",
        DiskFate::Synced => "synced",
        DiskFate::Prefix => "prefix",
        DiskFate::Lost => "lost",
    }
}

fn write_client(f: &mut fmt::Formatter<'_>, node: Node, op: &ClientOp) -> fmt::Result {
    match op {
        ClientOp::Put { key, value } => write!(f, "put n{node} {key} {value}"),
        ClientOp::Get { key } => write!(f, "get n{node} {key}"),
        ClientOp::Append { key, value } => write!(f, "append n{node} {key} {value}"),
        ClientOp::Cas { key, expected, new } => write!(
            f,
            "cas n{node} {key} {} {new}",
            expected.as_deref().unwrap_or("nil")
        ),
    }
}

impl fmt::Display for Scenario {
    /// The text form: leading lines, the command, its output block, a blank line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            for line in &step.leading {
                writeln!(f, "{line}")?;
            }
            match (&step.source, &step.comment) {
                (Some(source), _) => writeln!(f, "{source}")?,
                (None, Some(comment)) => writeln!(f, "{}  #{comment}", step.command)?,
                (None, None) => writeln!(f, "{}", step.command)?,
            }
            if !step.output.is_empty() {
                writeln!(f, "----")?;
                for line in &step.output {
                    writeln!(f, "{line}")?;
                }
                // The blank line that ends the block, unless one follows anyway.
                let next_line = match self.steps.get(i + 1) {
                    Some(next) => next.leading.first().map_or("command", String::as_str),
                    None => self.trailing.first().map_or("end", String::as_str),
                };
                if !next_line.trim().is_empty() {
                    writeln!(f)?;
                }
            }
        }
        for line in &self.trailing {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
