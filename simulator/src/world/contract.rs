//! Probes of raft-core's contract with its host on input the contract says
//! it refuses: configurations a node cannot be built from. A Raft that takes
//! a configuration with no voter, a learner that also votes or a heartbeat
//! that never fires would run on, wrongly, with nothing to show for it until
//! much later; the host asks at the start of every run (in microseconds) and
//! ends the run as a harness error if one is accepted, or refused for
//! another reason than its defect.

use raft_core::{Config, ConfigError, ReadOnlyOption};

use crate::world::World;

/// Variations of a valid configuration with one defect each, and the
/// refusal each must get (`validate` checks in a documented order; each
/// variation breaks one rule only, so the refusal is determined).
fn defective_variations(base: &Config) -> Vec<(&'static str, Config, ConfigError)> {
    let mut variations = Vec::new();
    let mut add = |what: &'static str, change: &dyn Fn(&mut Config), error: ConfigError| {
        let mut config = base.clone();
        change(&mut config);
        variations.push((what, config, error));
    };
    let outsider = base
        .voters
        .iter()
        .chain(&base.learners)
        .max()
        .map_or(1, |id| id + 1);
    let first_voter = base.voters[0];
    add("id 0", &|c| c.id = 0, ConfigError::ZeroId);
    add("voter 0", &|c| c.voters.insert(0, 0), ConfigError::ZeroId);
    add(
        "learner 0",
        &|c| c.learners.insert(0, 0),
        ConfigError::ZeroId,
    );
    add(
        "joining with members",
        &|c| c.joining = true,
        ConfigError::JoiningWithMembers,
    );
    add(
        "no voters",
        &|c| {
            c.voters.clear();
            c.learners.clear();
        },
        ConfigError::NoVoters,
    );
    add(
        "a voter twice",
        &|c| c.voters.push(*c.voters.last().expect("a voter")),
        ConfigError::VotersNotSortedUnique,
    );
    add(
        "voters out of order",
        &|c| c.voters.insert(0, outsider),
        ConfigError::VotersNotSortedUnique,
    );
    add(
        "a learner twice",
        &|c| c.learners = vec![outsider, outsider],
        ConfigError::LearnersNotSortedUnique,
    );
    add(
        "learners out of order",
        &|c| c.learners = vec![outsider + 1, outsider],
        ConfigError::LearnersNotSortedUnique,
    );
    add(
        "a learner that votes",
        &|c| c.learners = vec![first_voter],
        ConfigError::LearnerIsAVoter(first_voter),
    );
    add(
        "not a member",
        &|c| c.id = outsider,
        ConfigError::NotAVoter(outsider),
    );
    add(
        "heartbeat 0",
        &|c| c.heartbeat_interval_ticks = 0,
        ConfigError::ZeroHeartbeat,
    );
    add(
        "election timeout at the heartbeat",
        &|c| c.election_timeout_ticks_min = c.heartbeat_interval_ticks,
        ConfigError::ElectionTimeoutTooShort {
            election: base.heartbeat_interval_ticks,
            heartbeat: base.heartbeat_interval_ticks,
        },
    );
    add(
        "no entries per message",
        &|c| c.max_entries_per_message = 0,
        ConfigError::ZeroFlowControl,
    );
    add(
        "no messages in flight",
        &|c| c.max_inflight_messages = 0,
        ConfigError::ZeroFlowControl,
    );
    add(
        "snapshot chunks of 0 bytes",
        &|c| c.snapshot_chunk_bytes = 0,
        ConfigError::ZeroSnapshotChunk,
    );
    add(
        "lease reads without CheckQuorum",
        &|c| {
            c.read_only = ReadOnlyOption::LeaseBased;
            c.check_quorum = false;
        },
        ConfigError::LeaseWithoutCheckQuorum,
    );
    add(
        "drift of an election timeout",
        &|c| c.max_clock_drift_ticks = c.election_timeout_ticks_min,
        ConfigError::DriftNotBelowElectionTimeout {
            drift: base.election_timeout_ticks_min,
            election: base.election_timeout_ticks_min,
        },
    );
    variations
}

impl World {
    /// Asks raft-core to validate defective variations of node `id`'s
    /// configuration (a voter's, valid): each must be refused for its defect.
    pub(crate) fn probe_config_refusals(&mut self, id: u64) {
        let base = self.host_ref(id).config.clone();
        for (what, config, expected) in defective_variations(&base) {
            let answer = config.validate();
            if answer.as_ref().err() != Some(&expected) {
                let answer = match answer {
                    Ok(()) => "accepted it".to_owned(),
                    Err(error) => format!("refused it: {error}"),
                };
                self.contract_broken(format!(
                    "a configuration with {what} must be refused ({expected}); validate {answer}"
                ));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::defective_variations;
    use raft_core::Config;

    #[test]
    fn every_variation_is_refused_for_its_own_defect() {
        let base = Config::new(2, vec![1, 2, 3]);
        assert_eq!(base.validate(), Ok(()));
        let variations = defective_variations(&base);
        assert!(variations.len() >= 18);
        for (what, config, expected) in variations {
            assert_eq!(config.validate(), Err(expected), "{what}");
        }
    }
}
