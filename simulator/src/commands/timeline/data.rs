//! The data behind a timeline page and trace: one run's recorded timeline,
//! its client history, its faults and its outcome, as the rows a page draws.
//! Serialized as JSON into the page; the Perfetto trace is written from the
//! same rows, so the two always show the same run.
//!
//! The many rows (messages, status and commit changes, operations) are JSON
//! arrays, not objects: a page of 20,000 messages stays near 2 MB. Their
//! fields, in order, are in the doc comment of each row type.

use invariants::linearizability::{check_kv, CheckOutcome, Explanation, History, Outcome};
use invariants::Invariant;
use raft_core::NodeId;
use serde::ser::{SerializeTuple, Serializer};
use serde::Serialize;

use crate::commands::run::{replay_command, RunReport};
use crate::commands::scenario::ast::Command;
use crate::world::network::Endpoint;
use crate::world::timeline::{
    Arrival, MessageKind, MessageRecord, NodeState, SendFate, Timeline, Window,
};
use crate::world::{
    format_time, Outcome as RunOutcome, ViolationReport, World, RUN_HISTORY_BUDGET,
};

/// The most client operations a page draws (the last ones invoked).
pub const OPERATIONS_SHOWN_MAX: usize = 20_000;
/// The most operations of the failing key the linearizability panel draws
/// (the last ones invoked: the stuck ones are at the end).
pub const PANEL_OPERATIONS_MAX: usize = 2_000;

/// Everything a page or trace shows of one run.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    /// What the run is, e.g. `seed 3 --bug double-vote`.
    pub title: String,
    /// The run's parameters, one line each.
    pub header: Vec<String>,
    /// Voters: lanes `0..node_count` are nodes 1..=node_count.
    pub node_count: u64,
    /// Clients: lanes `node_count..node_count + client_count` are clients 0...
    pub client_count: u64,
    /// Virtual time at the end of the run.
    pub end_us: u64,
    /// When the heal phase began, if it did.
    pub heal_us: Option<u64>,
    /// A message's typical delay, to draw a lost message's stub.
    pub nominal_delay_us: u64,
    /// How the run ended.
    pub outcome: OutcomeRow,
    /// What broke, in time order (a scenario may break several properties).
    pub violations: Vec<ViolationRow>,
    /// Role, term, leader, vote, up and down changes, in time order.
    pub statuses: Vec<StatusRow>,
    /// Commit index changes `[at_us, node, commit]`, in time order.
    pub commits: Vec<[u64; 3]>,
    /// The network's cut links from a time on, in time order.
    pub links: Vec<LinkRow>,
    /// Pauses `[at_us, node, 1 paused / 0 running again]`, in time order.
    pub pauses: Vec<[u64; 3]>,
    /// The names of message kinds, by index.
    pub kinds: Vec<&'static str>,
    /// The names of the fates of messages as they leave, by index.
    pub fates: Vec<&'static str>,
    /// The names of the ends of copies on their way, by index.
    pub arrivals: Vec<&'static str>,
    /// The messages kept, in the order they were sent.
    pub messages: Vec<MessageRow>,
    /// Message counts per kind over the whole run, then all kinds (`all`).
    pub counts: Vec<CountRow>,
    /// Messages sent and lost over the whole run, per stretch of time.
    pub traffic: TrafficRow,
    /// The node and network faults the driver injected (message drops and
    /// duplicates are drawn on their messages), in time order.
    pub faults: Vec<FaultRow>,
    /// Client operations, in invocation order.
    pub operations: Vec<OperationRow>,
    /// For a linearizability violation: the failing key's history.
    pub linearizability: Option<LinearizabilityPanel>,
    /// What was not kept or not drawn, in words: a limit reached is said.
    pub notes: Vec<String>,
}

/// How the run ended.
#[derive(Clone, Debug, Serialize)]
pub struct OutcomeRow {
    /// `pass`, `violation`, `error`, `unknown`.
    pub kind: &'static str,
    /// What happened, as the CLI prints it.
    pub text: String,
    /// The command that replays it, if it is a run of a seed.
    pub replay: Option<String>,
}

/// A broken property.
#[derive(Clone, Debug, Serialize)]
pub struct ViolationRow {
    /// The invariant's name, e.g. `election-safety`.
    pub invariant: &'static str,
    /// Virtual time.
    pub at_us: u64,
    /// The event (1-based) at which it was seen.
    pub step: u64,
    /// The nodes involved.
    pub nodes: Vec<NodeId>,
    /// The whole explanation, as the CLI prints it.
    pub text: String,
}

/// A node's state from a time on: `[at_us, node, role, term, leader, vote,
/// cause]`, role one of `follower`, `candidate`, `leader`, `down` (then
/// term, leader and vote are null and cause says why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRow {
    /// Virtual time.
    pub at_us: u64,
    /// The node.
    pub node: NodeId,
    /// Its role, or `down`.
    pub role: &'static str,
    /// Its term while up.
    pub term: Option<u64>,
    /// The leader it believes in.
    pub leader: Option<NodeId>,
    /// Whom it voted for.
    pub vote: Option<NodeId>,
    /// Why it is down.
    pub cause: Option<String>,
}

/// The network's cut links from a time on.
#[derive(Clone, Debug, Serialize)]
pub struct LinkRow {
    /// Virtual time.
    pub at_us: u64,
    /// For a person, e.g. `partition n1 n2 | n3 n4 n5`, or `none`.
    pub description: String,
    /// The directions cut, `[from, to]`.
    pub cuts: Vec<[NodeId; 2]>,
}

/// One message: `[number, from_lane, to_lane, kind, sent_us, fate, label,
/// copies]`, each copy `[due_us, end_us, arrival, waited_for_pause 0/1]`;
/// kind, fate and arrival index [`Page::kinds`], [`Page::fates`],
/// [`Page::arrivals`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    /// Its number in the run.
    pub number: u64,
    /// The sender's lane.
    pub from_lane: u64,
    /// The receiver's lane.
    pub to_lane: u64,
    /// Its kind (index).
    pub kind: usize,
    /// When it left.
    pub sent_us: u64,
    /// Its fate as it left (index).
    pub fate: usize,
    /// What it says.
    pub label: String,
    /// Its copies: due, end, arrival (index), waited for a pause.
    pub copies: Vec<[u64; 4]>,
}

/// Message counts of one kind (or `all`) over the whole run.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CountRow {
    /// The kind's name, or `all`.
    pub kind: &'static str,
    /// Messages sent.
    pub sent: u64,
    /// By fate as they left, indexed as [`Page::fates`].
    pub fates: Vec<u64>,
    /// Copies by how they ended, indexed as [`Page::arrivals`].
    pub arrivals: Vec<u64>,
    /// Copies that waited for a paused receiver.
    pub waited_for_pause: u64,
}

/// Messages sent and lost per stretch of `bucket_us`, from time zero.
#[derive(Clone, Debug, Serialize)]
pub struct TrafficRow {
    /// The length of a stretch.
    pub bucket_us: u64,
    /// Sent per stretch.
    pub sent: Vec<u64>,
    /// Lost per stretch.
    pub lost: Vec<u64>,
}

/// A fault the driver injected.
#[derive(Clone, Debug, Serialize)]
pub struct FaultRow {
    /// Virtual time.
    pub at_us: u64,
    /// As a recorded scenario writes it, e.g. `at 2.1s when n2 leads: partition n2`.
    pub text: String,
}

/// One client operation: `[id, client, invoke_us, complete_us, op, result,
/// outcome, key]`; complete_us null while pending, outcome one of `ok`,
/// `fail`, `unknown`, `pending`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationRow {
    /// Its id in the history (invocation order).
    pub id: u64,
    /// The client.
    pub client: u64,
    /// When it was invoked.
    pub invoke_us: u64,
    /// When it completed, if it did.
    pub complete_us: Option<u64>,
    /// The call, e.g. `put "k0" "c1.4"`.
    pub op: String,
    /// What it returned, e.g. `"c1.4"`, `ok`, or empty.
    pub result: String,
    /// How it ended.
    pub outcome: &'static str,
    /// The key it touched.
    pub key: String,
}

/// The history of the key a linearizability violation broke on, drawn as
/// Porcupine's visualizer draws it.
#[derive(Clone, Debug, Serialize)]
pub struct LinearizabilityPanel {
    /// The key.
    pub key: Option<String>,
    /// The model's state after the longest linearizable prefix.
    pub state: String,
    /// The checker's explanation, as the CLI prints it.
    pub text: String,
    /// The longest linearizable prefix: operation ids in linearization order.
    pub prefix: Vec<u64>,
    /// The operations that cannot be ordered after the prefix.
    pub stuck: Vec<u64>,
    /// The key's operations, in invocation order.
    pub operations: Vec<OperationRow>,
    /// Earlier operations of the key not drawn.
    pub not_shown: usize,
}

/// What a page says of a run besides its world: title, header, outcome,
/// violations.
#[derive(Clone, Debug)]
pub struct Source {
    /// The page's title.
    pub title: String,
    /// Lines describing the run.
    pub header: Vec<String>,
    /// How it ended.
    pub outcome: OutcomeRow,
    /// What broke.
    pub violations: Vec<ViolationReport>,
}

impl Source {
    /// The source of a run of a seed, from its report.
    pub fn of_run(report: &RunReport) -> Source {
        let replay = replay_command(report.seed(), &report.options);
        let title = replay
            .strip_prefix("raftsim replay --")
            .unwrap_or(&replay)
            .to_string();
        let header = report
            .params
            .to_string()
            .lines()
            .map(String::from)
            .collect();
        let text = report.outcome_text();
        let violations = match &report.outcome {
            RunOutcome::Violation(violation) => vec![(**violation).clone()],
            _ => Vec::new(),
        };
        Source {
            title,
            header,
            outcome: OutcomeRow {
                kind: report.outcome_name(),
                text,
                replay: Some(replay),
            },
            violations,
        }
    }
}

impl Page {
    /// The page of `world`, which must have recorded a timeline; `None` if
    /// it did not ([`crate::world::WorldOptions::timeline`] was off).
    pub fn build(world: &World, source: Source) -> Option<Page> {
        let timeline = world.timeline()?;
        let node_count = world.params().node_capacity();
        let messages: Vec<MessageRow> = timeline
            .messages()
            .items()
            .iter()
            .map(|m| MessageRow::of(m, node_count))
            .collect();
        let client_lanes = messages
            .iter()
            .flat_map(|m| [m.from_lane, m.to_lane])
            .map(|lane| (lane + 1).saturating_sub(node_count));
        let client_count = client_lanes
            .chain([world.params().client_count])
            .max()
            .unwrap_or(0);
        let (operations, operations_not_shown) = operations(world.history());
        let mut page = Page {
            title: source.title,
            header: source.header,
            node_count,
            client_count,
            end_us: world.now_us(),
            heal_us: (world.phase == crate::world::Phase::Heal).then_some(world.heal_started_us),
            nominal_delay_us: world.params().delay_us_min + world.params().delay_jitter_us / 2,
            outcome: source.outcome,
            violations: source.violations.iter().map(ViolationRow::of).collect(),
            statuses: statuses(timeline),
            commits: timeline
                .commits()
                .items()
                .iter()
                .map(|c| [c.at_us, c.node, c.commit])
                .collect(),
            links: links(timeline),
            pauses: pauses(timeline),
            kinds: MessageKind::ALL.iter().map(|k| k.name()).collect(),
            fates: SendFate::ALL.iter().map(|f| f.name()).collect(),
            arrivals: Arrival::ALL.iter().map(|a| a.name()).collect(),
            messages,
            counts: counts(timeline),
            traffic: TrafficRow {
                bucket_us: timeline.traffic().bucket_us,
                sent: timeline.traffic().sent.clone(),
                lost: timeline.traffic().lost.clone(),
            },
            faults: faults(world),
            operations,
            linearizability: None,
            notes: Vec::new(),
        };
        let linearizability = source
            .violations
            .iter()
            .any(|v| v.violation.invariant == Invariant::Linearizability);
        if linearizability {
            page.linearizability = LinearizabilityPanel::of(world.history());
        }
        page.notes = notes(timeline, &page, operations_not_shown);
        Some(page)
    }
}

impl ViolationRow {
    fn of(report: &ViolationReport) -> ViolationRow {
        ViolationRow {
            invariant: report.violation.invariant.name(),
            at_us: report.time_us,
            step: report.step,
            nodes: report.violation.nodes.clone(),
            text: report.violation.to_string(),
        }
    }
}

impl MessageRow {
    fn of(record: &MessageRecord, node_count: u64) -> MessageRow {
        let lane = |endpoint: Endpoint| match endpoint {
            Endpoint::Node(id) => id - 1,
            Endpoint::Client(client) => node_count + client,
        };
        MessageRow {
            number: record.number,
            from_lane: lane(record.from),
            to_lane: lane(record.to),
            kind: record.kind.index(),
            sent_us: record.sent_us,
            fate: record.fate as usize,
            label: record.label.clone(),
            copies: record
                .copies
                .iter()
                .map(|c| {
                    let waited = u64::from(c.waited_for_pause);
                    [c.due_us, c.end_us, c.arrival as u64, waited]
                })
                .collect(),
        }
    }
}

fn statuses(timeline: &Timeline) -> Vec<StatusRow> {
    let row = |change: &crate::world::timeline::StatusChange| match &change.state {
        NodeState::Up {
            role,
            term,
            leader,
            vote,
        } => StatusRow {
            at_us: change.at_us,
            node: change.node,
            role: role.name(),
            term: Some(*term),
            leader: *leader,
            vote: *vote,
            cause: None,
        },
        NodeState::Down { cause } => StatusRow {
            at_us: change.at_us,
            node: change.node,
            role: "down",
            term: None,
            leader: None,
            vote: None,
            cause: Some(cause.clone()),
        },
    };
    timeline.statuses().items().iter().map(row).collect()
}

fn links(timeline: &Timeline) -> Vec<LinkRow> {
    let row = |change: &crate::world::timeline::LinkChange| LinkRow {
        at_us: change.at_us,
        description: change.description.clone(),
        cuts: change.cuts.iter().map(|&(from, to)| [from, to]).collect(),
    };
    timeline.links().items().iter().map(row).collect()
}

fn pauses(timeline: &Timeline) -> Vec<[u64; 3]> {
    let row = |p: &crate::world::timeline::PauseChange| [p.at_us, p.node, u64::from(p.paused)];
    timeline.pauses().items().iter().map(row).collect()
}

fn counts(timeline: &Timeline) -> Vec<CountRow> {
    let row = |kind: &'static str, c: crate::world::timeline::MessageCounts| CountRow {
        kind,
        sent: c.sent,
        fates: c.by_fate.to_vec(),
        arrivals: c.by_arrival.to_vec(),
        waited_for_pause: c.waited_for_pause,
    };
    let mut rows: Vec<CountRow> = MessageKind::ALL
        .iter()
        .map(|&kind| row(kind.name(), timeline.counts(kind)))
        .collect();
    rows.push(row("all", timeline.total_counts()));
    rows
}

/// The driver's node and network faults, as a recorded scenario writes them.
fn faults(world: &World) -> Vec<FaultRow> {
    world
        .schedule()
        .iter()
        .filter(|s| s.fault.message_fate().is_none())
        .map(|s| FaultRow {
            at_us: s.time_us,
            text: Command::At(s.clone()).to_string(),
        })
        .collect()
}

/// The history's operations, the last [`OPERATIONS_SHOWN_MAX`] of them, and
/// how many earlier ones are not.
fn operations(history: &History) -> (Vec<OperationRow>, usize) {
    let all = history.operations();
    let skipped = all.len().saturating_sub(OPERATIONS_SHOWN_MAX);
    let rows = (skipped..all.len())
        .map(|id| OperationRow::of(history, id))
        .collect();
    (rows, skipped)
}

impl OperationRow {
    fn of(history: &History, id: usize) -> OperationRow {
        let op = &history.operations()[id];
        let (outcome, result) = match &op.outcome {
            Some(Outcome::Ok(result)) => ("ok", result.to_string()),
            Some(Outcome::Fail) => ("fail", String::new()),
            Some(Outcome::Unknown) => ("unknown", String::new()),
            None => ("pending", String::new()),
        };
        OperationRow {
            id: id as u64,
            client: op.client,
            invoke_us: op.invoke_us,
            complete_us: op.complete_us,
            op: op.input.to_string(),
            result,
            outcome,
            key: op.input.key().to_string(),
        }
    }
}

impl LinearizabilityPanel {
    /// The panel of a history that is not linearizable; `None` if the
    /// checker finds it linearizable or cannot decide.
    pub fn of(history: &History) -> Option<LinearizabilityPanel> {
        let CheckOutcome::NotLinearizable(explanation) = check_kv(history, RUN_HISTORY_BUDGET)
        else {
            return None;
        };
        Some(LinearizabilityPanel::explained(history, &explanation))
    }

    fn explained(history: &History, explanation: &Explanation) -> LinearizabilityPanel {
        let on_key: Vec<usize> = (0..history.len())
            .filter(|&id| {
                let key = history.operations()[id].input.key();
                explanation.key.as_deref().is_none_or(|k| k == key)
            })
            .collect();
        let not_shown = on_key.len().saturating_sub(PANEL_OPERATIONS_MAX);
        LinearizabilityPanel {
            key: explanation.key.clone(),
            state: explanation.state.clone(),
            text: explanation.to_string(),
            prefix: explanation
                .prefix
                .iter()
                .map(|op| u64::from(op.id.0))
                .collect(),
            stuck: explanation
                .stuck
                .iter()
                .map(|op| u64::from(op.id.0))
                .collect(),
            operations: on_key[not_shown..]
                .iter()
                .map(|&id| OperationRow::of(history, id))
                .collect(),
            not_shown,
        }
    }
}

/// What the page does not show, in words.
fn notes(timeline: &Timeline, page: &Page, operations_not_shown: usize) -> Vec<String> {
    let mut notes = Vec::new();
    let messages = timeline.messages();
    if let (Some(first), true) = (messages.items().front(), messages.not_kept() > 0) {
        notes.push(format!(
            "messages: the last {} of {} are drawn, from {} on (a window before the end of \
             the run); the traffic strip and the counts cover all of them",
            thousands(messages.items().len() as u64),
            thousands(messages.items().len() as u64 + messages.not_kept()),
            format_time(first.sent_us)
        ));
    }
    window_note(
        &mut notes,
        "role, term and vote changes",
        timeline.statuses(),
        |c| c.at_us,
    );
    window_note(&mut notes, "commit changes", timeline.commits(), |c| {
        c.at_us
    });
    window_note(&mut notes, "link changes", timeline.links(), |c| c.at_us);
    window_note(&mut notes, "pauses", timeline.pauses(), |c| c.at_us);
    if operations_not_shown > 0 {
        notes.push(format!(
            "client operations: the last {} are drawn; {} earlier ones are not",
            thousands(OPERATIONS_SHOWN_MAX as u64),
            thousands(operations_not_shown as u64)
        ));
    }
    if let Some(panel) = page.linearizability.as_ref().filter(|p| p.not_shown > 0) {
        notes.push(format!(
            "linearizability panel: the last {} operations of the key are drawn; {} earlier ones are not",
            thousands(PANEL_OPERATIONS_MAX as u64),
            thousands(panel.not_shown as u64)
        ));
    }
    notes
}

fn window_note<T>(notes: &mut Vec<String>, what: &str, window: &Window<T>, at: fn(&T) -> u64) {
    if let (Some(first), true) = (window.items().front(), window.not_kept() > 0) {
        notes.push(format!(
            "{what}: the last {} are kept, from {} on; {} earlier ones are not",
            thousands(window.capacity() as u64),
            format_time(at(first)),
            thousands(window.not_kept())
        ));
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl Serialize for StatusRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut row = serializer.serialize_tuple(7)?;
        row.serialize_element(&self.at_us)?;
        row.serialize_element(&self.node)?;
        row.serialize_element(self.role)?;
        row.serialize_element(&self.term)?;
        row.serialize_element(&self.leader)?;
        row.serialize_element(&self.vote)?;
        row.serialize_element(&self.cause)?;
        row.end()
    }
}

impl Serialize for MessageRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut row = serializer.serialize_tuple(8)?;
        row.serialize_element(&self.number)?;
        row.serialize_element(&self.from_lane)?;
        row.serialize_element(&self.to_lane)?;
        row.serialize_element(&self.kind)?;
        row.serialize_element(&self.sent_us)?;
        row.serialize_element(&self.fate)?;
        row.serialize_element(&self.label)?;
        row.serialize_element(&self.copies)?;
        row.end()
    }
}

impl Serialize for OperationRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut row = serializer.serialize_tuple(8)?;
        row.serialize_element(&self.id)?;
        row.serialize_element(&self.client)?;
        row.serialize_element(&self.invoke_us)?;
        row.serialize_element(&self.complete_us)?;
        row.serialize_element(&self.op)?;
        row.serialize_element(&self.result)?;
        row.serialize_element(self.outcome)?;
        row.serialize_element(&self.key)?;
        row.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
