//! A page's run as Chrome trace-event JSON (`{"traceEvents": [...]}`), the
//! format the Perfetto UI (ui.perfetto.dev) and chrome://tracing open.
//! Timestamps are the run's virtual microseconds, the format's own unit.
//!
//! The layout: a process per node (`n1`, ...) with threads `role` (a
//! duration event per role and term, `down` while crashed, and a `commit`
//! counter), `paused`, `sent` and `received`; a process per client with
//! `operations` (a duration event per operation, its outcome in the args),
//! `sent` and `received`; a `network` process with the cut links as
//! duration events and the driver's faults as instant events. A message is
//! a flow (`s` at its sender, `f` bound to the enclosing slice at its
//! receiver) between one-microsecond `send` and `receive` slices that group
//! what a lane sent or received at one instant; a lost message is an
//! instant event where it was lost. The violation is a global instant event.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::data::{MessageRow, Page};

/// The pid of the network process (nodes are 1..=N, clients 1000 + c).
const NETWORK_PID: u64 = 999;
/// Threads within a node's or client's process.
const ROLE_TID: u64 = 1;
const PAUSED_TID: u64 = 2;
const SENT_TID: u64 = 3;
const RECEIVED_TID: u64 = 4;

/// The trace of `page`'s run, as the file holds it: one event a line.
pub fn trace(page: &Page) -> String {
    let mut events = Events::default();
    metadata(page, &mut events);
    roles(page, &mut events);
    commits(page, &mut events);
    pauses(page, &mut events);
    network(page, &mut events);
    messages(page, &mut events);
    operations(page, &mut events);
    marks(page, &mut events);
    let other = json!({ "title": page.title, "outcome": page.outcome.text });
    format!(
        "{{\"displayTimeUnit\": \"ms\", \"otherData\": {other},\n\"traceEvents\": [\n{}\n]}}\n",
        events.out
    )
}

/// The trace's events, each serialized as it is made: a trace of 100,000
/// events never holds them all as JSON trees (that took 300 MB).
#[derive(Default)]
struct Events {
    out: String,
}

impl Events {
    fn push(&mut self, event: Value) {
        if !self.out.is_empty() {
            self.out.push_str(",\n");
        }
        self.out.push_str(&event.to_string());
    }
}

/// The process of a lane (a node, or a client).
fn pid_of(page: &Page, lane: u64) -> u64 {
    match lane < page.node_count {
        true => lane + 1,
        false => 1000 + lane - page.node_count,
    }
}

/// The name of a lane, as the page shows it: `n1`, `c0`.
pub fn lane_name(page: &Page, lane: u64) -> String {
    match lane < page.node_count {
        true => format!("n{}", lane + 1),
        false => format!("c{}", lane - page.node_count),
    }
}

fn metadata(page: &Page, events: &mut Events) {
    let mut name = |pid: u64, tid: Option<u64>, text: String| {
        let (kind, tid) = match tid {
            Some(tid) => ("thread_name", tid),
            None => ("process_name", 0),
        };
        events
            .push(json!({"ph": "M", "name": kind, "pid": pid, "tid": tid, "args": {"name": text}}));
    };
    for lane in 0..page.node_count + page.client_count {
        let pid = pid_of(page, lane);
        let is_node = lane < page.node_count;
        let label = lane_name(page, lane);
        name(
            pid,
            None,
            format!("{} {label}", if is_node { "node" } else { "client" }),
        );
        let first = if is_node { "role" } else { "operations" };
        name(pid, Some(ROLE_TID), first.into());
        if is_node {
            name(pid, Some(PAUSED_TID), "paused".into());
        }
        name(pid, Some(SENT_TID), "sent".into());
        name(pid, Some(RECEIVED_TID), "received".into());
    }
    name(NETWORK_PID, None, "network and faults".into());
    name(NETWORK_PID, Some(1), "cut links".into());
    name(NETWORK_PID, Some(2), "faults".into());
    for lane in 0..page.node_count + page.client_count {
        let pid = pid_of(page, lane);
        events.push(json!({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": pid}}));
    }
}

/// A duration event.
fn span(pid: u64, tid: u64, name: String, from_us: u64, to_us: u64, args: Value) -> Value {
    json!({"ph": "X", "name": name, "pid": pid, "tid": tid, "ts": from_us,
           "dur": to_us.saturating_sub(from_us), "args": args})
}

fn roles(page: &Page, events: &mut Events) {
    for node in 1..=page.node_count {
        let changes: Vec<_> = page.statuses.iter().filter(|s| s.node == node).collect();
        for (i, change) in changes.iter().enumerate() {
            let until = changes.get(i + 1).map_or(page.end_us, |next| next.at_us);
            let name = match change.term {
                Some(term) => format!("{} t{term}", change.role),
                None => "down".to_string(),
            };
            let args = json!({"role": change.role, "term": change.term, "leader": change.leader,
                              "vote": change.vote, "cause": change.cause});
            events.push(span(node, ROLE_TID, name, change.at_us, until, args));
        }
    }
}

fn commits(page: &Page, events: &mut Events) {
    for &[at_us, node, commit] in &page.commits {
        events.push(
            json!({"ph": "C", "name": "commit", "pid": node, "tid": ROLE_TID,
                           "ts": at_us, "args": {"commit": commit}}),
        );
    }
}

fn pauses(page: &Page, events: &mut Events) {
    let mut since: BTreeMap<u64, u64> = BTreeMap::new();
    for &[at_us, node, paused] in &page.pauses {
        match (paused, since.remove(&node)) {
            (1, _) => {
                since.insert(node, at_us);
            }
            (_, Some(from)) => events.push(span(
                node,
                PAUSED_TID,
                "paused".into(),
                from,
                at_us,
                json!({}),
            )),
            _ => {}
        }
    }
    for (node, from) in since {
        events.push(span(
            node,
            PAUSED_TID,
            "paused".into(),
            from,
            page.end_us,
            json!({}),
        ));
    }
}

fn network(page: &Page, events: &mut Events) {
    for (i, link) in page.links.iter().enumerate() {
        let until = page.links.get(i + 1).map_or(page.end_us, |next| next.at_us);
        if !link.cuts.is_empty() {
            let args = json!({"cuts": link.cuts});
            events.push(span(
                NETWORK_PID,
                1,
                link.description.clone(),
                link.at_us,
                until,
                args,
            ));
        }
    }
    for fault in &page.faults {
        events.push(
            json!({"ph": "i", "s": "t", "name": fault.text, "pid": NETWORK_PID,
                           "tid": 2, "ts": fault.at_us}),
        );
    }
}

/// Messages: grouped send and receive slices, a flow per delivered copy,
/// an instant event per loss.
fn messages(page: &Page, events: &mut Events) {
    let mut groups = Groups::default();
    for message in &page.messages {
        message_events(page, message, &mut groups, events);
    }
    for (tid, name, group) in [
        (SENT_TID, "send", groups.sends),
        (RECEIVED_TID, "receive", groups.receives),
    ] {
        for ((lane, at_us), what) in group {
            let args = json!({ "messages": what });
            let pid = pid_of(page, lane);
            events.push(span(pid, tid, name.into(), at_us, at_us + 1, args));
        }
    }
}

/// What each lane sent or received at each instant, in message order:
/// (lane, time) -> the messages.
#[derive(Default)]
struct Groups {
    sends: BTreeMap<(u64, u64), Vec<String>>,
    receives: BTreeMap<(u64, u64), Vec<String>>,
}

/// One message: into its send group; a flow per delivered copy (and the
/// copy into its receive group); an instant event per loss.
fn message_events(page: &Page, message: &MessageRow, groups: &mut Groups, events: &mut Events) {
    let from = lane_name(page, message.from_lane);
    let to = lane_name(page, message.to_lane);
    let (kind, fate) = (page.kinds[message.kind], page.fates[message.fate]);
    let what = format!(
        "#{} {kind} {from} -> {to}: {}",
        message.number, message.label
    );
    let sent_at = (message.from_lane, message.sent_us);
    groups
        .sends
        .entry(sent_at)
        .or_default()
        .push(format!("{what} ({fate})"));
    if message.copies.is_empty() {
        let name = format!("{fate} {kind} -> {to}");
        let at = (message.from_lane, SENT_TID, message.sent_us);
        events.push(lost(page, at, name, &what));
    }
    for (copy, &[_, end_us, arrival, _]) in message.copies.iter().enumerate() {
        match page.arrivals[arrival as usize] {
            "delivered" => {
                let received_at = (message.to_lane, end_us);
                groups
                    .receives
                    .entry(received_at)
                    .or_default()
                    .push(what.clone());
                for end in flow(page, message, copy, end_us) {
                    events.push(end);
                }
            }
            "in-flight" => {}
            lost_how => {
                let name = format!("{lost_how} {kind} from {from}");
                events.push(lost(
                    page,
                    (message.to_lane, RECEIVED_TID, end_us),
                    name,
                    &what,
                ));
            }
        }
    }
}

/// An instant event where a message was lost: on `(lane, tid, at_us)`.
fn lost(page: &Page, (lane, tid, at_us): (u64, u64, u64), name: String, what: &str) -> Value {
    json!({"ph": "i", "s": "t", "name": name, "pid": pid_of(page, lane), "tid": tid,
           "ts": at_us, "args": {"message": what}})
}

/// The two ends of copy `copy` of `message`, inside the send and receive
/// slices (half a microsecond in, so that each binds to its enclosing slice).
fn flow(page: &Page, message: &MessageRow, copy: usize, end_us: u64) -> [Value; 2] {
    let id = message.number * 2 + copy as u64;
    let start = json!({"ph": "s", "cat": "message", "name": "message", "id": id,
                       "pid": pid_of(page, message.from_lane), "tid": SENT_TID,
                       "ts": message.sent_us as f64 + 0.5});
    let end = json!({"ph": "f", "bp": "e", "cat": "message", "name": "message", "id": id,
                     "pid": pid_of(page, message.to_lane), "tid": RECEIVED_TID,
                     "ts": end_us as f64 + 0.5});
    [start, end]
}

fn operations(page: &Page, events: &mut Events) {
    for op in &page.operations {
        let pid = pid_of(page, page.node_count + op.client);
        let until = op.complete_us.unwrap_or(page.end_us);
        let args = json!({"id": op.id, "outcome": op.outcome, "result": op.result});
        events.push(span(
            pid,
            ROLE_TID,
            op.op.clone(),
            op.invoke_us,
            until,
            args,
        ));
    }
}

/// The violations and the start of the heal phase, across the whole trace.
fn marks(page: &Page, events: &mut Events) {
    for violation in &page.violations {
        events.push(
            json!({"ph": "i", "s": "g", "name": format!("VIOLATION {}", violation.invariant),
                           "pid": NETWORK_PID, "tid": 2, "ts": violation.at_us,
                           "args": {"text": violation.text, "step": violation.step}}),
        );
    }
    if let Some(heal_us) = page.heal_us {
        events.push(
            json!({"ph": "i", "s": "g", "name": "heal: faults stop", "pid": NETWORK_PID,
                           "tid": 2, "ts": heal_us}),
        );
    }
}
