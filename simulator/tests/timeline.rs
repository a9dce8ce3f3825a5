//! The timeline behind `raftsim replay --html` and `--perfetto`: what the
//! world records matches the run (every message accounted for, the roles and
//! the violation where the run put them), recording changes nothing of the
//! run, and the files written from it are self-contained and deterministic.

use raft_core::{Bug, Bugs, Role};
use simulator::commands::run::{execute, run_seed};
use simulator::commands::timeline::{self, Page};
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
        vec![(1, Some(Bug::DoubleVote)), (23, Some(Bug::StaleRead))],
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
fn the_double_vote_seed_shows_its_leader_and_ends_at_the_second_vote() {
    let options = options(Some(Bug::DoubleVote));
    let (world, report) = execute(1, &options, recorded(TimelineLimits::default()));
    let timeline = world.timeline().expect("recorded");
    // `raftsim replay --seed 1 --bug double-vote`: n2 leads term 1; at
    // 0.601054s n5, a candidate of term 2, grants n1 its vote too (the
    // step durable-answer stops).
    assert_eq!(leaders_of(timeline, 1), [2]);
    assert_eq!(report.virtual_time_us, 601_054);
    assert_every_message_is_accounted_for(&world, "seed 1 double-vote");
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

// ------------------------------------------------------------ the page data

fn page_of(seed: u64, bug: Option<Bug>) -> (World, Page) {
    let options = options(bug);
    let (world, report) = execute(seed, &options, timeline::recording(WorldOptions::default()));
    let page = timeline::page_of_run(&world, &report).expect("recorded");
    (world, page)
}

/// The page's own counts add up: each message one fate, each copy one end.
fn assert_page_counts_add_up(page: &Page) {
    let all = page.counts.last().expect("an `all` row");
    assert_eq!(all.kind, "all");
    assert_eq!(all.fates.iter().sum::<u64>(), all.sent);
    let once = all.fates[SendFate::Sent as usize];
    let twice = all.fates[SendFate::Duplicated as usize];
    assert_eq!(all.arrivals.iter().sum::<u64>(), once + 2 * twice);
    let kinds: u64 = page.counts[..page.counts.len() - 1]
        .iter()
        .map(|c| c.sent)
        .sum();
    assert_eq!(kinds, all.sent);
}

#[test]
fn the_page_of_the_double_vote_seed_marks_the_leader_and_the_violation() {
    let (world, page) = page_of(1, Some(Bug::DoubleVote));
    let leaders: Vec<(u64, u64)> = page
        .statuses
        .iter()
        .filter(|s| s.role == "leader")
        .map(|s| (s.node, s.term.expect("a leader has a term")))
        .collect();
    assert_eq!(leaders.first(), Some(&(2, 1)));
    let [violation] = page.violations.as_slice() else {
        panic!("one violation, not {:?}", page.violations);
    };
    assert_eq!(violation.invariant, "durable-answer");
    assert_eq!((violation.at_us, violation.step), (601_054, 242));
    assert_eq!(violation.nodes, [5]);
    assert!(violation.text.contains("its disk holds term 2 vote n5"));
    assert_eq!(page.outcome.kind, "violation");
    assert_eq!(
        page.outcome.replay.as_deref(),
        Some("raftsim replay --seed 1 --bug double-vote")
    );
    // Five voters and four spare ids (the run may replace nodes).
    assert_eq!(page.node_count, 9);
    assert_eq!(page.end_us, 601_054);
    assert!(page.linearizability.is_none());
    // A short run: every message is kept, and the notes say nothing is left out.
    assert_eq!(page.messages.len() as u64, world.messages_sent());
    assert_eq!(
        page.counts.last().map(|c| c.sent),
        Some(world.messages_sent())
    );
    assert!(page.notes.is_empty(), "{:?}", page.notes);
    assert_page_counts_add_up(&page);
}

#[test]
fn the_page_of_the_stale_read_seed_draws_the_failing_key_with_its_stuck_operations() {
    let (world, page) = page_of(7, Some(Bug::StaleRead));
    assert_eq!(page.violations[0].invariant, "linearizability");
    let panel = page
        .linearizability
        .as_ref()
        .expect("a linearizability panel");
    // `raftsim run --seed 7 --bug stale-read`: on key "k0", after a
    // 5-operation prefix, client 2 reads nil from the old leader n3, cut
    // off with its stale state, after appends were acknowledged.
    assert_eq!(panel.key.as_deref(), Some("k0"));
    assert_eq!(panel.state, "a value no read saw");
    assert_eq!(panel.prefix.len(), 5);
    assert!(panel.operations.iter().all(|op| op.key == "k0"));
    let stuck: Vec<_> = panel
        .operations
        .iter()
        .filter(|op| panel.stuck.contains(&op.id))
        .collect();
    assert_eq!(
        stuck.len(),
        panel.stuck.len(),
        "every stuck operation is drawn"
    );
    assert!(
        stuck
            .iter()
            .any(|op| op.op == "get \"k0\"" && op.result == "nil" && op.client == 2),
        "{stuck:?}"
    );
    let drawn: Vec<u64> = panel.operations.iter().map(|op| op.id).collect();
    assert!(
        panel.prefix.iter().all(|id| drawn.contains(id)),
        "the prefix is drawn"
    );
    assert_eq!(page.operations.len(), world.history().len());
    assert_page_counts_add_up(&page);
}

#[test]
fn a_page_says_what_its_window_left_out() {
    let limits = TimelineLimits {
        messages_max: 50,
        ..TimelineLimits::default()
    };
    let (world, report) = execute(2, &RunOptions::default(), recorded(limits));
    let page = timeline::page_of_run(&world, &report).expect("recorded");
    assert_eq!(page.messages.len(), 50);
    let sent = world.messages_sent();
    let note = page.notes.iter().find(|n| n.starts_with("messages:"));
    let expected = format!(
        "the last 50 of {} are drawn",
        timeline::data::thousands(sent)
    );
    assert!(
        note.is_some_and(|n| n.contains(&expected)),
        "{:?}",
        page.notes
    );
    assert_eq!(
        page.counts.last().map(|c| c.sent),
        Some(sent),
        "counts cover the whole run"
    );
    let traffic: u64 = page.traffic.sent.iter().sum();
    assert_eq!(traffic, sent, "the traffic strip covers the whole run");
}

// ------------------------------------------------------------ the files

#[test]
fn the_page_is_one_file_that_fetches_nothing() {
    let (_, page) = page_of(7, Some(Bug::StaleRead));
    let html = timeline::html::render(&page);
    let lower = html.to_lowercase();
    for outside in [
        "http",
        "src=",
        "<link",
        "@import",
        "url(",
        "fetch(",
        "xmlhttprequest",
    ] {
        assert!(!lower.contains(outside), "the page holds `{outside}`");
    }
    assert_eq!(html.matches("<script").count(), 2, "the data and the code");
    let start =
        html.find("id=\"timeline-data\">").expect("the data") + "id=\"timeline-data\">".len();
    let end = start + html[start..].find("</script>").expect("its end");
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).expect("JSON");
    assert_eq!(data, serde_json::to_value(&page).expect("serializes"));
    assert_eq!(data["linearizability"]["key"], "k0");
}

#[test]
fn the_same_run_gives_the_same_bytes() {
    let first = page_of(23, Some(Bug::StaleRead)).1;
    let second = page_of(23, Some(Bug::StaleRead)).1;
    assert_eq!(
        timeline::html::render(&first),
        timeline::html::render(&second)
    );
    assert_eq!(
        timeline::perfetto_json(&first),
        timeline::perfetto_json(&second)
    );
}

/// The trace's events of phase `ph`.
fn events<'a>(trace: &'a serde_json::Value, ph: &str) -> Vec<&'a serde_json::Value> {
    let all = trace["traceEvents"].as_array().expect("traceEvents");
    all.iter().filter(|e| e["ph"] == ph).collect()
}

#[test]
fn the_perfetto_trace_holds_roles_flows_and_the_violation() {
    let (_, page) = page_of(1, Some(Bug::DoubleVote));
    let trace: serde_json::Value =
        serde_json::from_str(&timeline::perfetto_json(&page)).expect("the trace is JSON");
    let names: Vec<&str> = events(&trace, "M")
        .into_iter()
        .filter(|e| e["name"] == "process_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    for node in 1..=5 {
        assert!(
            names.contains(&format!("node n{node}").as_str()),
            "{names:?}"
        );
    }
    let leaders: Vec<u64> = events(&trace, "X")
        .into_iter()
        .filter(|e| e["name"] == "leader t1")
        .filter_map(|e| e["pid"].as_u64())
        .collect();
    assert_eq!(leaders, [2]);
    let violations: Vec<_> = events(&trace, "i")
        .into_iter()
        .filter(|e| e["s"] == "g" && e["name"] == "VIOLATION durable-answer")
        .collect();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0]["ts"], 601_054);
    assert_flows_bind_to_slices(&trace, &page);
}

/// Every flow has one start and one end, each inside a slice of its thread
/// (what Perfetto binds it to), one flow per delivered copy; and the slices
/// of a thread nest (Perfetto drops a slice that overlaps another partly).
fn assert_flows_bind_to_slices(trace: &serde_json::Value, page: &Page) {
    let key = |e: &serde_json::Value| (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
    let slices: Vec<((u64, u64), f64, f64)> = events(trace, "X")
        .into_iter()
        .map(|e| {
            let ts = e["ts"].as_f64().unwrap();
            (key(e), ts, ts + e["dur"].as_f64().unwrap())
        })
        .collect();
    let starts = events(trace, "s");
    let ends = events(trace, "f");
    let delivered = page
        .messages
        .iter()
        .flat_map(|m| &m.copies)
        .filter(|c| page.arrivals[c[2] as usize] == "delivered")
        .count();
    assert!(delivered > 0);
    assert_eq!((starts.len(), ends.len()), (delivered, delivered));
    let mut start_ids: Vec<u64> = starts.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    let mut end_ids: Vec<u64> = ends.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    start_ids.sort_unstable();
    end_ids.sort_unstable();
    assert_eq!(start_ids, end_ids, "each flow starts and ends once");
    for flow in starts.iter().chain(&ends) {
        let ts = flow["ts"].as_f64().unwrap();
        let inside = slices
            .iter()
            .any(|(k, from, to)| *k == key(flow) && *from <= ts && ts < *to);
        assert!(inside, "flow event outside any slice of its thread: {flow}");
        assert!(
            flow["ph"] == "s" || flow["bp"] == "e",
            "an end binds to its enclosing slice"
        );
    }
    let mut by_thread = slices.clone();
    by_thread.sort_by(|a, b| (a.0, a.1, b.2).partial_cmp(&(b.0, b.1, a.2)).unwrap());
    let mut open: Vec<((u64, u64), f64)> = Vec::new();
    for (thread, from, to) in by_thread {
        open.retain(|(t, end)| *t == thread && *end > from);
        if let Some((_, end)) = open.last() {
            assert!(to <= *end, "slices overlap partly on {thread:?} at {from}");
        }
        open.push((thread, to));
    }
}

// ------------------------------------------------------------ scenarios

#[test]
fn a_scenario_page_accounts_for_held_paused_and_crashed_while_paused_messages() {
    let text = "cluster 3 seed=1\n\
                hold vote n1->n3\n\
                campaign n1\n\
                run 50ms\n\
                release vote n1->n3\n\
                run 50ms\n\
                pause n2\n\
                run 300ms\n\
                resume n2\n\
                run 100ms\n\
                pause n3\n\
                run 100ms\n\
                crash n3\n\
                run 100ms\n";
    let scenario = simulator::commands::scenario::parse(text).expect("parses");
    let page = timeline::scenario::page_of_scenario("pause.scen", &scenario).expect("a page");
    let all = page.counts.last().expect("an `all` row");
    assert!(all.fates[SendFate::Held as usize] >= 1, "the held vote");
    assert!(all.waited_for_pause >= 1, "messages waited for n2");
    assert!(
        all.arrivals[Arrival::LostPaused as usize] >= 1,
        "n3 crashed while paused"
    );
    assert_page_counts_add_up(&page);
    let pauses: Vec<[u64; 2]> = page.pauses.iter().map(|p| [p[1], p[2]]).collect();
    assert_eq!(pauses, [[2, 1], [2, 0], [3, 1], [3, 0]]);
    assert!(page
        .statuses
        .iter()
        .any(|s| s.node == 3 && s.role == "down"));
    let waited = page
        .messages
        .iter()
        .flat_map(|m| &m.copies)
        .filter(|c| c[3] == 1);
    assert!(
        waited.clone().all(|c| c[1] > c[0]),
        "a copy that waited ended after it was due"
    );
    assert_eq!(page.outcome.kind, "pass");
}

#[test]
fn a_recorded_run_scenario_draws_its_seed_run() {
    // What `raftsim shrink --seed 1 --bug double-vote` writes: no fault is
    // needed, only a smaller world under another seed's timeouts.
    let text = "world seed=1 background=3 bug=double-vote nodes=3 clients=1 operations=0 chaos=0.255s\nrun-to-end\nexpect violation durable-answer\n";
    let scenario = simulator::commands::scenario::parse(text).expect("parses");
    let page = timeline::scenario::page_of_scenario("dv.scen", &scenario).expect("a page");
    assert_eq!(page.violations[0].invariant, "durable-answer");
    assert_eq!(page.violations[0].at_us, 254_014);
    assert!(
        page.title.starts_with("dv.scen (world seed=1"),
        "{}",
        page.title
    );
}

// ------------------------------------------------------------ the CLI

fn raftsim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("raftsim runs")
}

#[test]
fn replay_writes_both_files_and_a_file_that_cannot_be_written_is_exit_2() {
    let dir = std::env::temp_dir().join(format!("raftsim-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (html, trace) = (dir.join("s3.html"), dir.join("s3.json"));
    let (html_arg, trace_arg) = (html.to_str().unwrap(), trace.to_str().unwrap());
    let args = [
        "replay",
        "--seed",
        "1",
        "--bug",
        "double-vote",
        "--events",
        "5",
    ];
    let ran = raftsim(&[&args[..], &["--html", html_arg, "--perfetto", trace_arg]].concat());
    assert_eq!(
        ran.status.code(),
        Some(1),
        "the run's own exit code: a violation"
    );
    let html_text = std::fs::read_to_string(&html).expect("the page");
    assert!(html_text.starts_with("<!DOCTYPE html>"));
    let trace_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).expect("JSON");
    assert!(trace_json["traceEvents"]
        .as_array()
        .is_some_and(|e| !e.is_empty()));
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(stdout
        .trim_end()
        .ends_with("replay: raftsim replay --seed 1 --bug double-vote"));
    let nowhere = dir.join("missing-folder/x.html");
    let refused = raftsim(&[&args[..], &["--html", nowhere.to_str().unwrap()]].concat());
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(nowhere.to_str().unwrap()), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scenario_html_draws_one_file_and_refuses_several() {
    let dir = std::env::temp_dir().join(format!("raftsim-timeline-scen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("fv.html");
    let ran = raftsim(&[
        "scenario",
        "scenarios/forget-vote.scen",
        "--html",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        ran.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(String::from_utf8_lossy(&ran.stdout)
        .trim_end()
        .ends_with("1 passed, 0 failed"));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("election-safety"));
    let several = raftsim(&["scenario", "scenarios/", "--html", out.to_str().unwrap()]);
    assert_eq!(several.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&several.stderr).contains("draw one scenario file"));
    std::fs::remove_dir_all(&dir).unwrap();
}
