//! Coverage: the situations a campaign must reach to mean anything
//! (`sometimes` properties, as Antithesis and FoundationDB's `TEST()` macros
//! call them).
//!
//! A safety check that never fails proves little if the run never reached
//! the situation the check is about: a lease read is only tested once a
//! leader served one, a pre-vote only once one was refused. Each run
//! records which of these situations it reached; a campaign counts the runs
//! that reached each and flags the ones none did. Every later feature adds
//! its situations here, to [`Sometimes::ALL`], and bumps them where they
//! happen with `World::reached`.

use std::fmt;

/// A situation a run may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sometimes {
    /// A node crashed while it led.
    LeaderCrashed,
    /// A leader was cut off with a minority of the voters.
    LeaderIsolated,
    /// A node was paused while it led.
    LeaderPaused,
    /// A message crossed a clogged link: it arrived, but late.
    ClogDelivered,
    /// A node's clock ran past the drift bound.
    ClockPastBound,
    /// One link was down both ways while both of its ends heard a third
    /// node, and one leader kept its term through it.
    PartialPartitionStableLeader,
    /// A node refused a pre-vote because it had heard from a leader.
    PreVoteRefusedLeaderKnown,
    /// A leader stepped down because it had not heard from a quorum.
    CheckQuorumStepDown,
    /// A read was served at a read index a heartbeat round confirmed.
    ReadByReadIndex,
    /// A follower served a read at a read index it asked the leader for.
    ReadByFollowerReadIndex,
    /// A leader served a read on its lease.
    ReadByLease,
    /// A lease read found the lease expired and fell back to a heartbeat round.
    ReadLeaseExpired,
    /// A leadership transfer completed: the target leads.
    TransferCompleted,
    /// A leadership transfer was abandoned.
    TransferAbandoned,
    /// The configuration in force became joint (C_old,new).
    JointEntered,
    /// The configuration in force left a joint configuration.
    JointLeft,
    /// A learner became a voter.
    LearnerPromoted,
    /// The configuration in force stopped counting the node that led.
    LeaderRemoved,
    /// A follower installed a snapshot its leader sent.
    SnapshotInstalled,
    /// A snapshot transfer resumed after a chunk was lost.
    SnapshotResumed,
    /// A node whose disk was gone was replaced under a new identity.
    NodeReplaced,
    /// The commit oracle judged a proposal (a quorum caught up and calm)
    /// and it committed within the bound.
    CalmCommitJudged,
    /// A calm, isolated quorum was without a leader and the election
    /// oracle saw one elected within the bound.
    CalmElectionJudged,
    /// The read oracle judged a read (asked of a leader a calm quorum
    /// followed) and it was released within the bound.
    CalmReadJudged,
    /// The transfer oracle judged a transfer (to a caught-up voter, a calm
    /// quorum following) and the transferee led within the bound.
    CalmTransferJudged,
    /// A message a held link kept arrived with the burst it let go.
    BurstDelivered,
    /// A message arrived past an election timeout (the long tail of delays).
    LongDelayDelivered,
    /// A crash struck around an fsync (BUGGIFY).
    BuggifyFsyncCrash,
    /// A crash struck around the fsync of a new term or vote (BUGGIFY).
    BuggifyHardStateCrash,
    /// A new leader was cut off with a minority at once (BUGGIFY).
    BuggifyNewLeaderIsolation,
    /// A leader was cut off the moment its commit advanced (BUGGIFY).
    BuggifyCommitIsolation,
    /// A node crashed right after it granted a vote (BUGGIFY).
    BuggifyVoteGrantedCrash,
    /// A crash struck right after a leader counted an acknowledgement (BUGGIFY).
    BuggifyAckCountedCrash,
    /// A fault struck right after a node took a snapshot (BUGGIFY).
    BuggifySnapshotTakenCrash,
}

impl Sometimes {
    /// Every situation, in report order.
    pub const ALL: [Sometimes; 34] = [
        Sometimes::LeaderCrashed,
        Sometimes::LeaderIsolated,
        Sometimes::LeaderPaused,
        Sometimes::ClogDelivered,
        Sometimes::ClockPastBound,
        Sometimes::PartialPartitionStableLeader,
        Sometimes::PreVoteRefusedLeaderKnown,
        Sometimes::CheckQuorumStepDown,
        Sometimes::ReadByReadIndex,
        Sometimes::ReadByFollowerReadIndex,
        Sometimes::ReadByLease,
        Sometimes::ReadLeaseExpired,
        Sometimes::TransferCompleted,
        Sometimes::TransferAbandoned,
        Sometimes::JointEntered,
        Sometimes::JointLeft,
        Sometimes::LearnerPromoted,
        Sometimes::LeaderRemoved,
        Sometimes::SnapshotInstalled,
        Sometimes::SnapshotResumed,
        Sometimes::NodeReplaced,
        Sometimes::CalmCommitJudged,
        Sometimes::CalmElectionJudged,
        Sometimes::CalmReadJudged,
        Sometimes::CalmTransferJudged,
        Sometimes::BurstDelivered,
        Sometimes::LongDelayDelivered,
        Sometimes::BuggifyFsyncCrash,
        Sometimes::BuggifyHardStateCrash,
        Sometimes::BuggifyNewLeaderIsolation,
        Sometimes::BuggifyCommitIsolation,
        Sometimes::BuggifyVoteGrantedCrash,
        Sometimes::BuggifyAckCountedCrash,
        Sometimes::BuggifySnapshotTakenCrash,
    ];

    /// The name in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Sometimes::LeaderCrashed => "leader-crashed",
            Sometimes::LeaderIsolated => "leader-isolated",
            Sometimes::LeaderPaused => "leader-paused",
            Sometimes::ClogDelivered => "clog-delivered",
            Sometimes::ClockPastBound => "clock-past-bound",
            Sometimes::PartialPartitionStableLeader => "partial-partition-stable-leader",
            Sometimes::PreVoteRefusedLeaderKnown => "pre-vote-refused-leader-known",
            Sometimes::CheckQuorumStepDown => "check-quorum-step-down",
            Sometimes::ReadByReadIndex => "read-by-read-index",
            Sometimes::ReadByFollowerReadIndex => "read-by-follower-read-index",
            Sometimes::ReadByLease => "read-by-lease",
            Sometimes::ReadLeaseExpired => "read-lease-expired",
            Sometimes::TransferCompleted => "transfer-completed",
            Sometimes::TransferAbandoned => "transfer-abandoned",
            Sometimes::JointEntered => "joint-entered",
            Sometimes::JointLeft => "joint-left",
            Sometimes::LearnerPromoted => "learner-promoted",
            Sometimes::LeaderRemoved => "leader-removed",
            Sometimes::SnapshotInstalled => "snapshot-installed",
            Sometimes::SnapshotResumed => "snapshot-resumed",
            Sometimes::NodeReplaced => "node-replaced",
            Sometimes::CalmCommitJudged => "calm-commit-judged",
            Sometimes::CalmElectionJudged => "calm-election-judged",
            Sometimes::CalmReadJudged => "calm-read-judged",
            Sometimes::CalmTransferJudged => "calm-transfer-judged",
            Sometimes::BurstDelivered => "burst-delivered",
            Sometimes::LongDelayDelivered => "long-delay-delivered",
            Sometimes::BuggifyFsyncCrash => "buggify-fsync-crash",
            Sometimes::BuggifyHardStateCrash => "buggify-hard-state-crash",
            Sometimes::BuggifyNewLeaderIsolation => "buggify-new-leader-isolation",
            Sometimes::BuggifyCommitIsolation => "buggify-commit-isolation",
            Sometimes::BuggifyVoteGrantedCrash => "buggify-vote-granted-crash",
            Sometimes::BuggifyAckCountedCrash => "buggify-ack-counted-crash",
            Sometimes::BuggifySnapshotTakenCrash => "buggify-snapshot-taken-crash",
        }
    }

    /// The situation with this name.
    pub fn from_name(name: &str) -> Option<Sometimes> {
        Sometimes::ALL.into_iter().find(|s| s.name() == name)
    }

    fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

/// The situations one run reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage(u64);

impl Coverage {
    /// This coverage with `situation` reached too.
    pub fn with(self, situation: Sometimes) -> Coverage {
        Coverage(self.0 | situation.bit())
    }

    /// Whether the run reached `situation`.
    pub fn has(self, situation: Sometimes) -> bool {
        self.0 & situation.bit() != 0
    }

    /// The situations reached, in [`Sometimes::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Sometimes> {
        Sometimes::ALL.into_iter().filter(move |s| self.has(*s))
    }

    /// The names of the situations reached, as a run's JSON line lists them.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Sometimes::name).collect()
    }

    /// The coverage a run's JSON line lists (`"coverage": [names]`); an
    /// unknown name is an error (a line from a newer raftsim).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Coverage, String> {
        names
            .into_iter()
            .try_fold(Coverage::default(), |coverage, name| {
                Sometimes::from_name(name)
                    .map(|s| coverage.with(s))
                    .ok_or_else(|| format!("no situation named `{name}` in `coverage`"))
            })
    }
}

/// How many runs of a campaign reached each situation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageCounts {
    // Invariant: runs[i] counts Sometimes::ALL[i].
    runs: [u64; Sometimes::ALL.len()],
}

impl Default for CoverageCounts {
    // Derived Default stops at arrays of 32.
    fn default() -> CoverageCounts {
        CoverageCounts {
            runs: [0; Sometimes::ALL.len()],
        }
    }
}

impl CoverageCounts {
    /// Counts one run's coverage.
    pub fn count(&mut self, coverage: Coverage) {
        for (count, situation) in self.runs.iter_mut().zip(Sometimes::ALL) {
            *count += u64::from(coverage.has(situation));
        }
    }

    /// Adds the counts of another share of the campaign.
    pub fn add(&mut self, other: &CoverageCounts) {
        for (count, more) in self.runs.iter_mut().zip(other.runs) {
            *count += more;
        }
    }

    /// How many runs reached `situation`.
    pub fn runs(&self, situation: Sometimes) -> u64 {
        self.runs[Sometimes::ALL
            .iter()
            .position(|s| *s == situation)
            .expect("ALL lists every situation")]
    }

    /// The situations no run reached.
    pub fn never_reached(&self) -> Vec<Sometimes> {
        Sometimes::ALL
            .into_iter()
            .filter(|s| self.runs(*s) == 0)
            .collect()
    }

    /// `{"name": runs, ...}` in [`Sometimes::ALL`] order.
    pub fn to_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = Sometimes::ALL
            .into_iter()
            .map(|s| (s.name().to_string(), serde_json::json!(self.runs(s))))
            .collect();
        serde_json::Value::Object(map)
    }
}

impl fmt::Display for CoverageCounts {
    /// One line per situation, `  read-by-lease: 412 runs`; the ones never
    /// reached marked `NEVER REACHED`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = Sometimes::ALL
            .iter()
            .map(|s| s.name().len())
            .max()
            .unwrap_or(0);
        for situation in Sometimes::ALL {
            let runs = self.runs(situation);
            let mark = if runs == 0 { "  NEVER REACHED" } else { "" };
            writeln!(f, "  {:width$}  {runs} runs{mark}", situation.name())?;
        }
        Ok(())
    }
}

/// Sub-buckets per power of two in a [`Durations`] histogram: values are
/// kept to within 1/16 (6%).
const SUB_BUCKETS: u32 = 16;

/// A distribution of durations (microseconds) in log-scale buckets: small
/// and mergeable however many runs a campaign has, each value kept to
/// within 6% (its bucket's lower bound is what quantiles report).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    // Invariant: counts[bucket(v)] counts the values v; trailing buckets
    // may be missing (counted 0).
    counts: Vec<u64>,
    total: u64,
}

impl Durations {
    fn bucket(us: u64) -> usize {
        if us < u64::from(SUB_BUCKETS) {
            return us as usize;
        }
        let octave = 63 - us.leading_zeros();
        let shift = octave - SUB_BUCKETS.trailing_zeros();
        let sub = (us >> shift) as u32 - SUB_BUCKETS;
        ((octave - SUB_BUCKETS.trailing_zeros() + 1) * SUB_BUCKETS + sub) as usize
    }

    fn lower_bound(bucket: usize) -> u64 {
        let bucket = bucket as u32;
        if bucket < SUB_BUCKETS {
            return u64::from(bucket);
        }
        let shift = bucket / SUB_BUCKETS - 1;
        u64::from(SUB_BUCKETS + bucket % SUB_BUCKETS) << shift
    }

    /// Counts one duration.
    pub fn add(&mut self, us: u64) {
        let bucket = Durations::bucket(us);
        if self.counts.len() <= bucket {
            self.counts.resize(bucket + 1, 0);
        }
        self.counts[bucket] += 1;
        self.total += 1;
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The duration at quantile `q` (0.0 the least, 1.0 the greatest), to
    /// within 6% (its bucket's lower bound); `None` if nothing was counted.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        // The rank of the q-quantile, 1-based, by the nearest-rank rule.
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(Durations::lower_bound(bucket));
            }
        }
        unreachable!("the counts add up to the total")
    }

    /// `{"count": n, "min_us": .., "median_us": .., "p99_us": .., "max_us": ..}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.total,
            "min_us": self.quantile(0.0),
            "median_us": self.quantile(0.5),
            "p99_us": self.quantile(0.99),
            "max_us": self.quantile(1.0),
        })
    }
}

impl fmt::Display for Durations {
    /// `n=120 min 0.31s median 0.52s p99 1.9s max 2.3s`, or `n=0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = |us: Option<u64>| format!("{:.3}s", us.unwrap_or(0) as f64 / 1e6);
        write!(f, "n={}", self.total)?;
        if self.total > 0 {
            write!(
                f,
                " min {} median {} p99 {} max {}",
                seconds(self.quantile(0.0)),
                seconds(self.quantile(0.5)),
                seconds(self.quantile(0.99)),
                seconds(self.quantile(1.0))
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_each_value_to_within_a_sixteenth() {
        for us in [
            0,
            1,
            15,
            16,
            17,
            31,
            32,
            1_000,
            123_456,
            10_000_000,
            u64::MAX / 2,
        ] {
            let low = Durations::lower_bound(Durations::bucket(us));
            assert!(low <= us && us - low <= us / 16, "{us} kept as {low}");
            assert_eq!(Durations::bucket(low), Durations::bucket(us), "{us}");
        }
        let mut durations = Durations::default();
        for us in 1..=100u64 {
            durations.add(us * 1_000);
        }
        assert_eq!(durations.count(), 100);
        let median = durations.quantile(0.5).unwrap();
        assert!((47_000..=50_000).contains(&median), "{median}");
        assert!(durations.quantile(0.0).unwrap() <= 1_000);
        assert!(durations.quantile(1.0).unwrap() >= 94_000);
        assert_eq!(Durations::default().quantile(0.5), None);
    }

    #[test]
    fn names_are_unique_and_read_back() {
        for situation in Sometimes::ALL {
            assert_eq!(Sometimes::from_name(situation.name()), Some(situation));
        }
        let coverage = Coverage::default()
            .with(Sometimes::ReadByLease)
            .with(Sometimes::LeaderPaused);
        assert_eq!(Coverage::from_names(coverage.names()), Ok(coverage));
        assert!(Coverage::from_names(["no-such-thing"]).is_err());
    }

    #[test]
    fn counts_are_per_run_and_add_up() {
        let mut counts = CoverageCounts::default();
        counts.count(Coverage::default().with(Sometimes::ReadByLease));
        counts.count(
            Coverage::default()
                .with(Sometimes::ReadByLease)
                .with(Sometimes::LeaderCrashed),
        );
        let mut other = CoverageCounts::default();
        other.count(Coverage::default().with(Sometimes::LeaderCrashed));
        counts.add(&other);
        assert_eq!(counts.runs(Sometimes::ReadByLease), 2);
        assert_eq!(counts.runs(Sometimes::LeaderCrashed), 2);
        assert!(counts
            .never_reached()
            .contains(&Sometimes::TransferAbandoned));
        assert!(!counts.never_reached().contains(&Sometimes::ReadByLease));
        assert_eq!(counts.to_json()["read-by-lease"], 2);
    }
}
