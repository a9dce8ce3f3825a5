//! The timeline behind `raftsim replay --html` and `--perfetto`: what the
//! world records matches the run (every message accounted for, the roles and
//! the violation where the run put them), recording changes nothing of the
//! run, and the files written from it are self-contained and deterministic.

use raft_core::{Bug, Bugs, Role};
use simulator::commands::run::{execute, run_seed};
use simulator::drivers::Fault;
use simulator::world::params::RunOptions;
use simulator::world::timeline::{
    Arrival, MessageKind, NodeState, SendFate, Timeline, TimelineLimits,
};
use simulator::world::{World, WorldOptions};

fn options(bug: Option<Bug>) -> RunOptions {
    RunOptions {
        bugs: bug.into_iter().collect::<Bugs>(),
        ..RunOptions::default()
    }
}

fn recorded(limits: TimelineLimits) -> WorldOptions {
    WorldOptions {
        timeline: Some(limits),
        ..WorldOptions::default()
    }
}

/// Every message sent is accounted for once as it left, and every copy put
/// on its way once as it ended, against what the world and its schedule
/// counted on their own.
fn assert_every_message_is_accounted_for(world: &World, what: &str) {
    let timeline = world.timeline().expect("recorded");
    let total = timeline.total_counts();
    assert_eq!(total.sent, world.messages_sent(), "{what}: messages sent");
    let fates: u64 = SendFate::ALL.iter().map(|&f| total.fate(f)).sum();
    assert_eq!(fates, total.sent, "{what}: each message has one fate");
    let copies = total.fate(SendFate::Sent) + 2 * total.fate(SendFate::Duplicated);
    let ends: u64 = Arrival::ALL.iter().map(|&a| total.arrival(a)).sum();
    assert_eq!(ends, copies, "{what}: each copy on its way ends once");
    let scheduled = |pick: fn(&Fault) -> bool| {
        let faults = world.schedule().iter().filter(|s| pick(&s.fault));
        faults.count() as u64
    };
    assert_eq!(
        total.fate(SendFate::Dropped),
        scheduled(|f| matches!(f, Fault::Drop { .. })),
        "{what}: drops as the schedule recorded them"
    );
    assert_eq!(
        total.fate(SendFate::Duplicated),
        scheduled(|f| matches!(f, Fault::Duplicate { .. })),
        "{what}: duplicates as the schedule recorded them"
    );
    let per_kind: u64 = MessageKind::ALL
        .iter()
        .map(|&k| timeline.counts(k).sent)
        .sum();
    assert_eq!(per_kind, total.sent, "{what}: kinds add up");
}

#[test]
fn recording_a_timeline_changes_nothing_of_the_run() {
    let cases = [
        (0..12).map(|seed| (seed, None)).collect::<Vec<_>>(),
        vec![(3, Some(Bug::DoubleVote)), (44, Some(Bug::StaleRead))],
    ];
    for (seed, bug) in cases.concat() {
        let options = options(bug);
        let plain = run_seed(seed, &options);
        let (world, report) = execute(seed, &options, recorded(TimelineLimits::default()));
        let what = format!("seed {seed} {bug:?}");
        assert_eq!(report.trace_hash, plain.trace_hash, "{what}");
        assert_eq!(report.events, plain.events, "{what}");
        assert_eq!(report.outcome, plain.outcome, "{what}");
        assert_every_message_is_accounted_for(&world, &what);
    }
}

#[test]
fn a_world_without_the_option_keeps_no_timeline() {
    let (world, _) = execute(0, &RunOptions::default(), WorldOptions::default());
    assert!(world.timeline().is_none());
}

/// The leaders of `term` the timeline saw, in the order they took office.
fn leaders_of(timeline: &Timeline, term: u64) -> Vec<u64> {
    let mut leaders = Vec::new();
    for change in timeline.statuses().items() {
        if let NodeState::Up {
            role: Role::Leader,
            term: t,
            ..
        } = change.state
        {
            if t == term && !leaders.contains(&change.node) {
                leaders.push(change.node);
            }
        }
    }
    leaders
}

#[test]
fn the_double_vote_seed_shows_two_leaders_of_term_one() {
    let options = options(Some(Bug::DoubleVote));
    let (world, report) = execute(3, &options, recorded(TimelineLimits::default()));
    let timeline = world.timeline().expect("recorded");
    // `raftsim replay --seed 3 --bug double-vote`: n1 leads term 1 at
    // 0.271216s, n3 at 0.273175s, the step that breaks election safety.
    assert_eq!(leaders_of(timeline, 1), [1, 3]);
    let n3 = timeline
        .statuses()
        .items()
        .iter()
        .rev()
        .find(|c| c.node == 3);
    assert_eq!(n3.map(|c| c.at_us), Some(273_175));
    assert_eq!(report.virtual_time_us, 273_175);
    assert_every_message_is_accounted_for(&world, "seed 3 double-vote");
}

#[test]
fn a_full_window_keeps_the_last_messages_and_counts_every_one() {
    let limits = TimelineLimits {
        messages_max: 100,
        ..TimelineLimits::default()
    };
    let (world, _) = execute(2, &RunOptions::default(), recorded(limits));
    let timeline = world.timeline().expect("recorded");
    let kept = timeline.messages();
    assert_eq!(kept.items().len(), 100);
    assert_eq!(kept.not_kept() + 100, world.messages_sent());
    let numbers: Vec<u64> = kept.items().iter().map(|m| m.number).collect();
    let last = world.messages_sent() - 1;
    assert_eq!(
        numbers,
        (last - 99..=last).collect::<Vec<_>>(),
        "the last 100"
    );
    assert_every_message_is_accounted_for(&world, "seed 2, 100 kept");
}
