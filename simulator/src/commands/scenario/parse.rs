//! The text form of a scenario: one command a line, `#` comments, and after a
//! command its expected output between a `----` line and a blank line.
//!
//! Errors carry the line and column (1-based, in characters) of the token at
//! fault; the runner adds the file name, giving `file:line:col: what is wrong`.
//! Every number is checked against a range here, so that nothing the file says
//! can overflow, allocate without bound or run without end later.

use std::ops::RangeInclusive;

use invariants::Invariant;
use raft_core::{Bug, Config, ConfigError, ReadOnlyOption};

use crate::world::host::lease_drift_ticks;

use super::ast::{
    ClientOp, ClusterSpec, Command, Condition, ConfSpec, Expectation, Node, Scenario, Step,
    WorldSpec,
};
use crate::drivers::script::{MessagePattern, RuleAction};
use crate::drivers::{DiskFate, Fault, MemberChange, Point, Scheduled, RAFT_KINDS};
use crate::world::params::{FaultKind, Overrides, Params, Profile, ReadPath, RunOptions};

mod recorded;

use recorded::parse_world;

/// The largest cluster a scenario may ask for.
pub const CLUSTER_SIZE_MAX: u64 = 9;
/// `run-until` waits this long when no `within` is given.
pub const RUN_UNTIL_DEFAULT_US: u64 = 10_000_000;
/// The longest duration a file may write (a day): whatever a script adds up,
/// virtual time stays far from overflowing.
pub const DURATION_MAX_US: u64 = 86_400_000_000;
/// The most ticks one `tick` command may give. A node that ticks while time
/// stands still queues a vote request per election it starts, so ticks cost
/// memory until time moves.
pub const TICK_COUNT_MAX: u64 = 100_000;
/// `max-entries-per-message=N`: the batch size, in entries.
pub const MAX_ENTRIES_PER_MESSAGE_RANGE: RangeInclusive<u64> = 1..=100_000;
/// `max-inflight=N`: the window, in messages. raft-core reserves the whole
/// window per follower up front, so it stays small.
pub const MAX_INFLIGHT_RANGE: RangeInclusive<u64> = 1..=1_000;
/// `election-ticks=N`: the minimum election timeout. `campaign` ticks up to
/// twice this, so it bounds that command too.
pub const ELECTION_TICKS_RANGE: RangeInclusive<u64> = 2..=10_000;
/// `heartbeat-ticks=N`: the heartbeat interval (less than `election-ticks`).
pub const HEARTBEAT_TICKS_RANGE: RangeInclusive<u64> = 1..=9_999;
/// `tick=DURATION`: a tick lasts at least a microsecond, so that time moves.
pub const TICK_US_RANGE: RangeInclusive<u64> = 1..=DURATION_MAX_US;
/// The largest clock drift bound a cluster may assume, in parts per thousand.
pub const MAX_DRIFT_PPT: u64 = 500;
/// `spares=N`: ids past the cluster that nodes may `join` with.
pub const SPARES_MAX: u64 = 8;
/// `compact-every=N`: entries applied between two snapshots.
pub const COMPACT_EVERY_MAX: u64 = 1_000_000;
/// `snapshot-chunk=N`: bytes per InstallSnapshot chunk.
pub const SNAPSHOT_CHUNK_RANGE: RangeInclusive<u64> = 1..=(64 << 20);

/// What is wrong with a scenario file, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

/// One word of a command line, with its 1-based column.
#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    text: &'a str,
    col: usize,
}

/// The words of one command line, consumed left to right.
struct Words<'a> {
    line: usize,
    // The line as written: errors turn byte columns into character columns.
    raw: &'a str,
    tokens: Vec<Token<'a>>,
    at: usize,
    // Column just past the last token (for "missing argument" errors).
    end_col: usize,
}

impl<'a> Words<'a> {
    /// An error at byte column `col` (1-based) of this line.
    fn error(&self, col: usize, message: impl Into<String>) -> ParseError {
        // Tokens are sliced by byte; a person counts characters.
        let chars_before = self
            .raw
            .char_indices()
            .take_while(|&(offset, _)| offset + 1 < col)
            .count();
        ParseError {
            line: self.line,
            col: chars_before + 1,
            message: message.into(),
        }
    }

    fn next(&mut self, what: &str) -> Result<Token<'a>, ParseError> {
        let token = self.tokens.get(self.at).copied();
        self.at += 1;
        token.ok_or_else(|| self.error(self.end_col, format!("missing {what}")))
    }

    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.at).copied()
    }

    fn done(&self) -> Result<(), ParseError> {
        match self.peek() {
            Some(token) => {
                Err(self.error(token.col, format!("unexpected argument `{}`", token.text)))
            }
            None => Ok(()),
        }
    }

    /// Takes the next token if it is exactly `word`.
    fn accept(&mut self, word: &str) -> bool {
        let found = self.peek().is_some_and(|t| t.text == word);
        if found {
            self.at += 1;
        }
        found
    }
}

/// Splits a line into tokens; returns them, the inline comment, and the end column.
fn tokenize(text: &str) -> (Vec<Token<'_>>, Option<String>, usize) {
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    for (offset, c) in text.char_indices() {
        if start.is_none() && c == '#' {
            let comment = text[offset + 1..].to_string();
            return (tokens, Some(comment), offset + 1);
        }
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                tokens.push(Token {
                    text: &text[s..offset],
                    col: s + 1,
                });
                start = None;
            }
            (false, None) => start = Some(offset),
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push(Token {
            text: &text[s..],
            col: s + 1,
        });
    }
    let end = text.trim_end().len() + 1;
    (tokens, None, end)
}

/// Parses a whole file. `Err` names the first thing wrong; a file without a
/// command is an error (it would test nothing).
pub fn parse(text: &str) -> Result<Scenario, ParseError> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut scenario = Scenario::default();
    let mut leading = Vec::new();
    // Set by the first command: the number of nodes, and whether the file
    // is a recorded run (`world`) rather than a script (`cluster`).
    let mut header: Option<Header> = None;
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            leading.push(raw.to_string());
            i += 1;
            continue;
        }
        if trimmed == "----" {
            return Err(ParseError {
                line: i + 1,
                col: 1,
                message: "an output block (`----`) must follow a command".into(),
            });
        }
        let (command, comment) = parse_command(raw, i + 1, header)?;
        match &command {
            Command::Cluster(spec) => {
                header = Some(Header {
                    size: spec.size + spec.spares,
                    recorded: false,
                });
            }
            Command::World(spec) => {
                header = Some(Header {
                    size: world_params(spec).node_capacity(),
                    recorded: true,
                });
            }
            _ => {}
        }
        let mut step = Step {
            leading: std::mem::take(&mut leading),
            command,
            comment,
            output: Vec::new(),
            line: i + 1,
            source: Some(raw.to_string()),
        };
        i += 1;
        if lines.get(i).is_some_and(|l| l.trim_end() == "----") {
            i += 1;
            // A line of spaces ends the block too: it looks blank, and
            // elsewhere it counts as blank.
            while i < lines.len() && !lines[i].trim().is_empty() {
                step.output.push(lines[i].to_string());
                i += 1;
            }
            i += 1; // the blank line that ends the block
        }
        scenario.steps.push(step);
    }
    if scenario.steps.is_empty() {
        let what = if text.trim().is_empty() {
            "the file is empty"
        } else {
            "the file holds no command, only comments"
        };
        return Err(ParseError {
            line: 1,
            col: 1,
            message: format!("{what}: a scenario starts with `cluster N` (or `world seed=N`)"),
        });
    }
    scenario.trailing = leading;
    Ok(scenario)
}

/// What the first command of a file set up.
#[derive(Clone, Copy, Debug)]
struct Header {
    /// Nodes `n1` to `nN`.
    size: u64,
    /// A recorded run (`world`): only `at`, `run-to-end` and `expect` follow.
    recorded: bool,
}

/// The parameters of the world a `world` command describes: drawn from its
/// seed, with its overrides; with `background=N`, every stream of background
/// randomness (delays, timeouts, clocks, disks, the clients' operations),
/// which the world keys from `Params::seed`, comes from seed N instead.
pub fn world_params(spec: &WorldSpec) -> Params {
    let mut params = Params::draw(spec.seed, &world_options(spec)).overridden(&spec.overrides);
    if let Some(background) = spec.background {
        params.seed = background;
    }
    params
}

/// The run options a `world` command describes (its names were checked).
pub fn world_options(spec: &WorldSpec) -> RunOptions {
    RunOptions {
        profile: match spec.standard {
            true => Profile::Standard,
            false => Profile::Swarm,
        },
        bugs: spec.bugs.iter().filter_map(|b| Bug::from_name(b)).collect(),
        forced_faults: spec
            .faults
            .iter()
            .filter_map(|f| FaultKind::from_name(f))
            .collect(),
    }
}

/// Parses one command line; `header` is known once the first command was seen.
fn parse_command(
    raw: &str,
    line: usize,
    header: Option<Header>,
) -> Result<(Command, Option<String>), ParseError> {
    let (tokens, comment, end_col) = tokenize(raw);
    let mut words = Words {
        line,
        raw,
        tokens,
        at: 0,
        end_col,
    };
    let head = words.next("command")?;
    let header = match (head.text, header) {
        ("cluster" | "world", Some(_)) => {
            return Err(words.error(
                head.col,
                "the world is already set up; `cluster` (or `world`) comes once, first",
            ))
        }
        ("cluster", None) => {
            let spec = parse_cluster(&mut words)?;
            return Ok((Command::Cluster(spec), comment));
        }
        ("world", None) => {
            let spec = parse_world(&mut words)?;
            return Ok((Command::World(spec), comment));
        }
        (_, None) => {
            return Err(words.error(
                head.col,
                format!(
                    "`{}` before `cluster`: a scenario starts with `cluster N` (or `world seed=N`)",
                    head.text
                ),
            ))
        }
        (_, Some(header)) => header,
    };
    let mut parser = CommandParser {
        words,
        size: header.size,
    };
    let command = match header.recorded {
        true => parser.recorded_command(head)?,
        false => parser.command(head)?,
    };
    parser.words.done()?;
    Ok((command, comment))
}

struct CommandParser<'a> {
    words: Words<'a>,
    size: u64,
}

impl<'a> CommandParser<'a> {
    fn command(&mut self, head: Token<'a>) -> Result<Command, ParseError> {
        Ok(match head.text {
            "tick" => self.tick()?,
            "campaign" => Command::Campaign { node: self.node()? },
            "run" => Command::Run {
                duration_us: parse_duration(self.words.next("duration")?, &self.words)?,
                verbose: self.words.accept("verbose"),
            },
            "run-until" => self.run_until()?,
            "partition" => self.partition()?,
            "isolate" => Command::Isolate { node: self.node()? },
            "cut" | "restore" => {
                let (from, to) = self.link()?;
                match head.text {
                    "cut" => Command::Cut { from, to },
                    _ => Command::Restore { from, to },
                }
            }
            "drop" | "hold" | "duplicate" => Command::Rule {
                action: match head.text {
                    "drop" => RuleAction::Drop,
                    "hold" => RuleAction::Hold,
                    _ => RuleAction::Duplicate,
                },
                pattern: self.pattern()?,
            },
            "release" => Command::Release {
                pattern: self.pattern()?,
                // More than could ever be held means all of them.
                count: self
                    .optional_number("count")?
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            },
            "heal" => Command::Heal,
            "crash" => Command::Crash {
                node: self.node()?,
                lose_unsynced: self.words.accept("lose-unsynced"),
            },
            "restart" => Command::Restart { node: self.node()? },
            "wipe" => Command::Wipe { node: self.node()? },
            "pause" => Command::Pause { node: self.node()? },
            "resume" => Command::Resume { node: self.node()? },
            "skew" => Command::Skew {
                node: self.node()?,
                ppt: self.ppt()?,
            },
            "unskew" => Command::Unskew { node: self.node()? },
            "transfer" => Command::Transfer {
                from: self.node()?,
                to: self.node()?,
            },
            "clog" => {
                let (from, to) = self.link()?;
                let delay_us = self.keyed_duration("delay")?;
                Command::Clog { from, to, delay_us }
            }
            "unclog" => {
                let (from, to) = self.link()?;
                Command::Unclog { from, to }
            }
            "stall" => {
                let (from, to) = self.link()?;
                let for_us = self.keyed_duration("for")?;
                Command::Stall { from, to, for_us }
            }
            "join" => Command::Join { node: self.node()? },
            "replace" => {
                let node = self.node()?;
                self.keyword("by")?;
                Command::Replace {
                    node,
                    by: self.node()?,
                }
            }
            "change" => Command::Change {
                at: self.node()?,
                changes: self.member_changes()?,
            },
            "compact" => Command::Compact { node: self.node()? },
            "put" | "get" | "append" | "cas" => self.client(head.text)?,
            "status" => Command::Status,
            "held" => Command::Held,
            "expect" => Command::Expect(self.expectation()?),
            "at" | "run-to-end" => {
                return Err(self.words.error(
                    head.col,
                    format!(
                        "`{}` belongs to a recorded run, a file that starts with `world seed=N`",
                        head.text
                    ),
                ))
            }
            other => {
                return Err(self.words.error(
                    head.col,
                    format!("unknown command `{other}` (see scenarios/README.md)"),
                ))
            }
        })
    }

    fn node_token(&self, token: Token<'_>, bare_digits: bool) -> Result<Node, ParseError> {
        let digits = match token.text.strip_prefix('n') {
            Some(digits) => digits,
            None if bare_digits => token.text,
            None => {
                return Err(self.words.error(
                    token.col,
                    format!("expected a node such as `n1`, found `{}`", token.text),
                ))
            }
        };
        let id: u64 = digits.parse().map_err(|_| {
            self.words.error(
                token.col,
                format!("expected a node such as `n1`, found `{}`", token.text),
            )
        })?;
        if id == 0 || id > self.size {
            return Err(self.words.error(
                token.col,
                format!(
                    "unknown node `{}`: the cluster has n1..n{} (spares included)",
                    token.text, self.size
                ),
            ));
        }
        Ok(id)
    }

    /// `ppt=N`: a clock's rate off true time, in parts per thousand
    /// (positive: slow, 10000 is 11 times slow; -999 is 1000 times fast).
    fn ppt(&mut self) -> Result<i64, ParseError> {
        let token = self.words.next("ppt=N")?;
        token
            .text
            .strip_prefix("ppt=")
            .and_then(|digits| digits.parse::<i64>().ok())
            .filter(|ppt| (-999..=10_000).contains(ppt))
            .ok_or_else(|| {
                self.words.error(
                    token.col,
                    format!(
                        "expected ppt=N (parts per thousand, -999 to 10000), found `{}`",
                        token.text
                    ),
                )
            })
    }

    /// `KEY=DURATION`, such as `delay=200ms`.
    fn keyed_duration(&mut self, key: &str) -> Result<u64, ParseError> {
        let token = self.words.next(&format!("{key}=DURATION"))?;
        let Some(value) = token
            .text
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
        else {
            return Err(self
                .words
                .error(token.col, format!("expected {key}=DURATION")));
        };
        let col = token.col + key.len() + 1;
        bounded_duration_us(value, 0..=DURATION_MAX_US)
            .map_err(|message| self.words.error(col, message))
    }

    fn node(&mut self) -> Result<Node, ParseError> {
        let token = self.words.next("node (such as `n1`)")?;
        self.node_token(token, false)
    }

    fn optional_node(&mut self) -> Result<Option<Node>, ParseError> {
        match self.words.peek() {
            Some(t) if t.text.starts_with('n') && t.text.len() > 1 => {
                self.words.at += 1;
                self.node_token(t, false).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn number(&mut self, what: &str) -> Result<u64, ParseError> {
        let token = self.words.next(what)?;
        token.text.parse().map_err(|_| {
            self.words.error(
                token.col,
                format!("expected {what} (a number), found `{}`", token.text),
            )
        })
    }

    fn optional_number(&mut self, what: &str) -> Result<Option<u64>, ParseError> {
        match self.words.peek() {
            Some(t) if t.text.starts_with(|c: char| c.is_ascii_digit()) => {
                self.number(what).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn tick(&mut self) -> Result<Command, ParseError> {
        let node = self.optional_node()?;
        let col = self.words.peek().map_or(self.words.end_col, |t| t.col);
        let count = self.optional_number("tick count")?.unwrap_or(1);
        if count > TICK_COUNT_MAX {
            return Err(self.words.error(
                col,
                format!("a tick count is at most {TICK_COUNT_MAX}, found {count}"),
            ));
        }
        let count = u32::try_from(count).expect("TICK_COUNT_MAX fits a u32");
        Ok(Command::Tick { node, count })
    }

    fn run_until(&mut self) -> Result<Command, ParseError> {
        let until = self.condition()?;
        let within_us = if self.words.accept("within") {
            parse_duration(self.words.next("duration")?, &self.words)?
        } else {
            RUN_UNTIL_DEFAULT_US
        };
        let verbose = self.words.accept("verbose");
        Ok(Command::RunUntil {
            until,
            within_us,
            verbose,
        })
    }

    fn condition(&mut self) -> Result<Condition, ParseError> {
        let token = self.words.next("condition")?;
        Ok(match token.text {
            "leader-exists" => Condition::LeaderExists,
            "leader" => Condition::Leader { node: self.node()? },
            "committed" => {
                let node = self.optional_node()?;
                let index = self.number("index")?;
                Condition::Committed { node, index }
            }
            "converged" => Condition::Converged,
            "violation" => Condition::Violation,
            "config" => Condition::Config(self.conf_spec()?),
            text if text.starts_with("op") => {
                let op = parse_op_number(token, &self.words)?;
                let done = self.words.next("`done`")?;
                if done.text != "done" {
                    return Err(self.words.error(done.col, "expected `done` after the op"));
                }
                Condition::OpDone { op }
            }
            other => {
                return Err(self.words.error(
                    token.col,
                    format!("unknown condition `{other}`; conditions: leader-exists, leader nN, committed [nN] N, opN done, converged, violation, config voters nN... [learners nN...]"),
                ))
            }
        })
    }

    fn partition(&mut self) -> Result<Command, ParseError> {
        let mut groups: Vec<Vec<Node>> = vec![Vec::new()];
        while let Some(token) = self.words.peek() {
            self.words.at += 1;
            let mut col = token.col;
            for piece in token.text.split_inclusive(['|', ',']) {
                let (name, separator) = match piece.strip_suffix(['|', ',']) {
                    Some(name) => (name, piece.chars().last()),
                    None => (piece, None),
                };
                if !name.is_empty() {
                    let node = self.node_token(Token { text: name, col }, true)?;
                    if groups.iter().flatten().any(|&n| n == node) {
                        return Err(self.words.error(col, format!("n{node} is in two groups")));
                    }
                    groups.last_mut().expect("one group at least").push(node);
                }
                if separator == Some('|') {
                    groups.push(Vec::new());
                }
                col += piece.len();
            }
        }
        groups.retain(|g| !g.is_empty());
        if groups.is_empty() {
            return Err(self.words.error(
                self.words.end_col,
                "missing groups, e.g. `partition 1,2 | 3,4,5`",
            ));
        }
        Ok(Command::Partition { groups })
    }

    fn endpoint(&self, text: &str, col: usize) -> Result<Option<Node>, ParseError> {
        if text == "*" {
            return Ok(None);
        }
        self.node_token(Token { text, col }, false).map(Some)
    }

    fn link_token(&mut self) -> Result<(Option<Node>, Option<Node>), ParseError> {
        let token = self.words.next("link such as `n1->n2`")?;
        let Some((from, to)) = token.text.split_once("->") else {
            return Err(self.words.error(
                token.col,
                format!("expected a link such as `n1->n2`, found `{}`", token.text),
            ));
        };
        let from_node = self.endpoint(from, token.col)?;
        let to_node = self.endpoint(to, token.col + from.len() + 2)?;
        Ok((from_node, to_node))
    }

    fn link(&mut self) -> Result<(Node, Node), ParseError> {
        let col = self.words.peek().map_or(self.words.end_col, |t| t.col);
        match self.link_token()? {
            (Some(from), Some(to)) if from != to => Ok((from, to)),
            (Some(_), Some(_)) => Err(self.words.error(col, "a link joins two different nodes")),
            _ => Err(self
                .words
                .error(col, "cut and restore name both nodes (no `*`)")),
        }
    }

    fn pattern(&mut self) -> Result<MessagePattern, ParseError> {
        let token = self.words.next("message kind")?;
        let kind = match token.text {
            "*" | "any" => None,
            text if RAFT_KINDS.contains(&text) => Some(text.to_string()),
            other => {
                return Err(self.words.error(
                    token.col,
                    format!(
                        "unknown message kind `{other}`; kinds: {}, *",
                        RAFT_KINDS.join(", ")
                    ),
                ))
            }
        };
        let (from, to) = self.link_token()?;
        Ok(MessagePattern { kind, from, to })
    }

    /// `voters n1 n2 [learners n4 n5]`, each list ascending and disjoint.
    fn conf_spec(&mut self) -> Result<ConfSpec, ParseError> {
        self.keyword("voters")?;
        let mut voters = Vec::new();
        let mut learners = Vec::new();
        let mut in_learners = false;
        while let Some(token) = self.words.peek() {
            if token.text == "learners" && !in_learners {
                self.words.at += 1;
                in_learners = true;
                continue;
            }
            if !token.text.starts_with('n') {
                break;
            }
            self.words.at += 1;
            let node = self.node_token(token, false)?;
            let repeated = in_learners && voters.contains(&node);
            let list = if in_learners {
                &mut learners
            } else {
                &mut voters
            };
            if repeated || list.last().is_some_and(|&last| last >= node) {
                return Err(self.words.error(
                    token.col,
                    "list each node once, in ascending order (voters, then learners)",
                ));
            }
            list.push(node);
        }
        if voters.is_empty() {
            let col = self.words.end_col;
            return Err(self
                .words
                .error(col, "a configuration has at least one voter"));
        }
        Ok(ConfSpec { voters, learners })
    }

    /// The word `word`, as in `replace n2 by n6`.
    fn keyword(&mut self, word: &str) -> Result<(), ParseError> {
        let token = self.words.next(&format!("`{word}`"))?;
        if token.text != word {
            return Err(self.words.error(
                token.col,
                format!("expected `{word}`, found `{}`", token.text),
            ));
        }
        Ok(())
    }

    /// `add-voter n4 remove n2 ...`: one or more changes, to the end of the command.
    fn member_changes(&mut self) -> Result<Vec<MemberChange>, ParseError> {
        let mut changes: Vec<MemberChange> = Vec::new();
        while let Some(token) = self.words.peek() {
            self.words.at += 1;
            let make: fn(u64) -> MemberChange = match token.text {
                "add-voter" => MemberChange::AddVoter,
                "add-learner" => MemberChange::AddLearner,
                "remove" => MemberChange::Remove,
                other => {
                    return Err(self.words.error(
                        token.col,
                        format!("expected add-voter, add-learner or remove, found `{other}`"),
                    ))
                }
            };
            let node_token = self.words.next("node (such as `n4`)")?;
            let node = self.node_token(node_token, false)?;
            if changes.iter().any(|c| c.node() == node) {
                return Err(self.words.error(
                    node_token.col,
                    format!("n{node} is changed twice: one change per node"),
                ));
            }
            changes.push(make(node));
        }
        if changes.is_empty() {
            let col = self.words.end_col;
            return Err(self.words.error(
                col,
                "expected at least one change: add-voter nN, add-learner nN or remove nN",
            ));
        }
        Ok(changes)
    }

    fn word(&mut self, what: &str) -> Result<String, ParseError> {
        Ok(self.words.next(what)?.text.to_string())
    }

    fn client(&mut self, verb: &str) -> Result<Command, ParseError> {
        let node = self.node()?;
        let key = self.word("key")?;
        let op = match verb {
            "put" => ClientOp::Put {
                key,
                value: self.word("value")?,
            },
            "get" => ClientOp::Get { key },
            "append" => ClientOp::Append {
                key,
                value: self.word("value")?,
            },
            _ => {
                let expected = self.word("expected value (or `nil`)")?;
                ClientOp::Cas {
                    key,
                    expected: (expected != "nil").then_some(expected),
                    new: self.word("new value")?,
                }
            }
        };
        Ok(Command::Client { node, op })
    }

    fn expectation(&mut self) -> Result<Expectation, ParseError> {
        let token = self.words.next("what to expect")?;
        Ok(match token.text {
            "leader" => Expectation::Leader { node: self.node()? },
            "no-leader" => Expectation::NoLeader,
            "config" => Expectation::Config(self.conf_spec()?),
            "role" => {
                let node = self.node()?;
                let role = self.words.next("role")?;
                if !["leader", "candidate", "follower", "down"].contains(&role.text) {
                    return Err(self.words.error(role.col, format!("unknown role `{}`; roles: leader, candidate, follower, down", role.text)));
                }
                Expectation::Role { node, role: role.text.to_string() }
            }
            "term" => Expectation::Term { node: self.node()?, term: self.number("term")? },
            "committed" => {
                let node = self.optional_node()?;
                Expectation::Committed { node, index: self.number("index")? }
            }
            "log" => {
                let node = self.node()?;
                let mut runs = Vec::new();
                while let Some(t) = self.words.peek() {
                    self.words.at += 1;
                    runs.push(t.text);
                }
                if runs.is_empty() {
                    return Err(self.words.error(self.words.end_col, "missing log, e.g. `t1x2 t2x1` or `empty`"));
                }
                Expectation::Log { node, runs: runs.join(" ") }
            }
            "value" => self.expect_value()?,
            "violation" => {
                let name = self.words.next("invariant")?;
                if Invariant::from_name(name.text).is_none() {
                    let names: Vec<&str> = Invariant::ALL.iter().map(|i| i.name()).collect();
                    return Err(self.words.error(name.col, format!("unknown invariant `{}`; invariants: {}", name.text, names.join(", "))));
                }
                Expectation::Violation { invariant: name.text.to_string() }
            }
            "no-violation" => Expectation::NoViolation,
            other => {
                return Err(self.words.error(
                    token.col,
                    format!("unknown expectation `{other}`; expectations: leader, no-leader, role, term, committed, log, value, violation, no-violation"),
                ))
            }
        })
    }

    fn expect_value(&mut self) -> Result<Expectation, ParseError> {
        let node = match self.words.peek() {
            Some(t) if self.words.tokens.len() - self.words.at == 3 => {
                self.words.at += 1;
                Some(self.node_token(t, false)?)
            }
            _ => None,
        };
        let key = self.word("key")?;
        let value = self.word("value (or `nil`)")?;
        Ok(Expectation::Value {
            node,
            key,
            value: (value != "nil").then_some(value),
        })
    }
}

fn parse_op_number(token: Token<'_>, words: &Words<'_>) -> Result<usize, ParseError> {
    token.text[2..]
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            words.error(
                token.col,
                format!("expected an op such as `op1`, found `{}`", token.text),
            )
        })
}

/// Parses `500ms`, `5s`, `250us`, `1.5s` into microseconds, at most a day.
fn parse_duration(token: Token<'_>, words: &Words<'_>) -> Result<u64, ParseError> {
    bounded_duration_us(token.text, 0..=DURATION_MAX_US)
        .map_err(|message| words.error(token.col, message))
}

/// A duration within `range` (microseconds), or why not.
fn bounded_duration_us(text: &str, range: RangeInclusive<u64>) -> Result<u64, String> {
    let Some(us) = duration_us(text) else {
        return Err(format!(
            "expected a duration such as `500ms`, `5s` or `250us`, found `{text}`"
        ));
    };
    if !range.contains(&us) {
        return Err(format!(
            "a duration from {} to {}, found `{text}`",
            super::ast::format_duration(*range.start()),
            super::ast::format_duration(*range.end())
        ));
    }
    Ok(us)
}

fn duration_us(text: &str) -> Option<u64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1_000)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000_000)
    } else {
        return None;
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 6 {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let fraction_scaled = if fraction.is_empty() {
        0
    } else {
        let digits: u64 = fraction.parse().ok()?;
        digits * scale / 10u64.pow(fraction.len() as u32)
    };
    whole.checked_mul(scale)?.checked_add(fraction_scaled)
}

/// Parses `cluster N key=value...`.
fn parse_cluster(words: &mut Words<'_>) -> Result<ClusterSpec, ParseError> {
    let size_token = words.next("cluster size")?;
    let size: u64 = size_token
        .text
        .parse()
        .ok()
        .filter(|n| (1..=CLUSTER_SIZE_MAX).contains(n))
        .ok_or_else(|| {
            words.error(
                size_token.col,
                format!(
                    "the cluster size is a number from 1 to {CLUSTER_SIZE_MAX}, found `{}`",
                    size_token.text
                ),
            )
        })?;
    let mut spec = ClusterSpec::with_size(size);
    // Where the timing settings were written, to point at them if they clash.
    let mut timing_col = size_token.col;
    let mut features_col = size_token.col;
    each_option(words, |key, value, col| {
        set_cluster_option(&mut spec, key, value)?;
        match key {
            "election-ticks" | "heartbeat-ticks" => timing_col = col,
            "read" | "check-quorum" | "follower-reads" | "max-drift" => features_col = col,
            _ => {}
        }
        Ok(())
    })?;
    if spec.features.follower_reads && spec.features.read_path == ReadPath::Log {
        return Err(words.error(
            features_col,
            "invalid cluster settings: `follower-reads=on` needs `read=read-index` or `read=lease` (a follower cannot serve a read through the log)",
        ));
    }
    // The configuration every node gets (see `Host::new`), checked here so
    // that a clash is the file's error, not a node that cannot start.
    let lease = spec.features.read_path == ReadPath::Lease;
    let config = Config {
        election_timeout_ticks_min: spec.election_ticks,
        heartbeat_interval_ticks: spec.heartbeat_ticks,
        max_entries_per_message: spec.max_entries_per_message,
        max_inflight_messages: spec.max_inflight,
        pre_vote: spec.features.pre_vote,
        check_quorum: spec.features.check_quorum,
        read_only: match lease {
            true => ReadOnlyOption::LeaseBased,
            false => ReadOnlyOption::Safe,
        },
        max_clock_drift_ticks: match lease {
            true => lease_drift_ticks(spec.election_ticks, spec.max_drift_ppt),
            false => 1,
        },
        ..Config::new(1, vec![1])
    };
    if let Err(error) = config.validate() {
        let (col, message) = match error {
            ConfigError::LeaseWithoutCheckQuorum => (
                features_col,
                "`read=lease` needs `check-quorum=on` (the lease stands on the vote lease CheckQuorum gives)".to_string(),
            ),
            ConfigError::DriftNotBelowElectionTimeout { drift, election } => (
                features_col,
                format!(
                    "`max-drift={}` leaves no lease at `election-ticks={election}` (the lease gives up {drift} ticks to drift and tick alignment)",
                    spec.max_drift_ppt
                ),
            ),
            other => (timing_col, other.to_string()),
        };
        return Err(words.error(col, format!("invalid cluster settings: {message}")));
    }
    Ok(spec)
}

/// Reads the rest of the line as `key=value` settings, handing each to
/// `set` with the column of its key; a refusal points at the key (unknown)
/// or at the value (malformed).
fn each_option(
    words: &mut Words<'_>,
    mut set: impl FnMut(&str, &str, usize) -> Result<(), OptionError>,
) -> Result<(), ParseError> {
    while let Some(token) = words.peek() {
        words.at += 1;
        let Some((key, value)) = token.text.split_once('=') else {
            return Err(words.error(
                token.col,
                format!("expected key=value, found `{}`", token.text),
            ));
        };
        let value_col = token.col + key.len() + 1;
        set(key, value, token.col).map_err(|error| match error {
            OptionError::UnknownKey(message) => words.error(token.col, message),
            OptionError::BadValue(message) => words.error(value_col, message),
        })?;
    }
    Ok(())
}

/// Why a `key=value` cluster setting was refused.
enum OptionError {
    /// No such setting (points at the key).
    UnknownKey(String),
    /// The value is malformed or out of range (points at the value).
    BadValue(String),
}

/// `value` as a number within `range`, or why not.
fn number_in(key: &str, value: &str, range: RangeInclusive<u64>) -> Result<u64, OptionError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            OptionError::BadValue(format!(
                "`{key}` takes a number from {} to {}, found `{value}`",
                range.start(),
                range.end()
            ))
        })
}

fn set_cluster_option(spec: &mut ClusterSpec, key: &str, value: &str) -> Result<(), OptionError> {
    let duration = |range| {
        bounded_duration_us(value, range)
            .map_err(|m| OptionError::BadValue(format!("`{key}`: {m}")))
    };
    let percent = || {
        value
            .strip_suffix('%')
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&p| p <= 100)
            .ok_or_else(|| {
                OptionError::BadValue(format!(
                    "`{key}` takes a percentage from 0% to 100%, found `{value}`"
                ))
            })
    };
    let on_off = || match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(OptionError::BadValue(format!(
            "`{key}` is `on` or `off`, found `{value}`"
        ))),
    };
    // Each range fits the field it fills, so the conversions cannot fail.
    let small = |n: u64| u32::try_from(n).expect("the range fits a u32");
    let size = |n: u64| usize::try_from(n).expect("the range fits a usize");
    match key {
        "seed" => spec.seed = number_in(key, value, 0..=u64::MAX)?,
        "bug" | "bugs" => set_bugs(spec, value)?,
        "ticks" => {
            spec.manual_ticks = match value {
                "manual" => true,
                "auto" => false,
                _ => {
                    return Err(OptionError::BadValue(format!(
                        "`ticks` is `auto` or `manual`, found `{value}`"
                    )))
                }
            }
        }
        "max-entries-per-message" => {
            spec.max_entries_per_message =
                size(number_in(key, value, MAX_ENTRIES_PER_MESSAGE_RANGE)?)
        }
        "max-inflight" => spec.max_inflight = size(number_in(key, value, MAX_INFLIGHT_RANGE)?),
        "election-ticks" => spec.election_ticks = small(number_in(key, value, ELECTION_TICKS_RANGE)?),
        "heartbeat-ticks" => {
            spec.heartbeat_ticks = small(number_in(key, value, HEARTBEAT_TICKS_RANGE)?)
        }
        "tick" => spec.tick_us = duration(TICK_US_RANGE)?,
        "delay" => spec.delay_us = duration(0..=DURATION_MAX_US)?,
        "jitter" => spec.jitter_us = duration(0..=DURATION_MAX_US)?,
        "fsync" => spec.fsync_us = duration(0..=DURATION_MAX_US)?,
        "drop" => spec.drop_percent = percent()?,
        "duplicate" => spec.duplicate_percent = percent()?,
        "pre-vote" => spec.features.pre_vote = on_off()?,
        "check-quorum" => spec.features.check_quorum = on_off()?,
        "follower-reads" => spec.features.follower_reads = on_off()?,
        "read" => {
            spec.features.read_path = ReadPath::from_name(value).ok_or_else(|| {
                OptionError::BadValue(format!(
                    "`read` is `log`, `read-index` or `lease`, found `{value}`"
                ))
            })?
        }
        "max-drift" => {
            spec.max_drift_ppt = number_in(key, value, 0..=MAX_DRIFT_PPT)? as i64;
        }
        "spares" => spec.spares = number_in(key, value, 0..=SPARES_MAX)?,
        "compact-every" => spec.compact_every = Some(number_in(key, value, 1..=COMPACT_EVERY_MAX)?),
        "snapshot-chunk" => {
            spec.snapshot_chunk_bytes = size(number_in(key, value, SNAPSHOT_CHUNK_RANGE)?)
        }
        _ => return Err(OptionError::UnknownKey(format!("unknown setting `{key}`; settings: seed, bug, ticks, max-entries-per-message, max-inflight, election-ticks, heartbeat-ticks, tick, delay, jitter, fsync, drop, duplicate, pre-vote, check-quorum, read, follower-reads, max-drift, spares, compact-every, snapshot-chunk"))),
    }
    Ok(())
}

/// `bug=a,b`: every name must be a planted bug.
fn set_bugs(spec: &mut ClusterSpec, value: &str) -> Result<(), OptionError> {
    for name in value.split(',') {
        if Bug::from_name(name).is_none() {
            let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
            return Err(OptionError::BadValue(format!(
                "unknown bug `{name}`; planted bugs: {}",
                names.join(", ")
            )));
        }
        spec.bugs.push(name.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_any_unit() {
        assert_eq!(duration_us("500ms"), Some(500_000));
        assert_eq!(duration_us("1.5s"), Some(1_500_000));
        assert_eq!(duration_us("250us"), Some(250));
        assert_eq!(duration_us("5"), None);
        assert_eq!(duration_us("ms"), None);
    }

    #[test]
    fn raft_feature_settings_that_no_node_could_run_are_errors_at_their_column() {
        for (line, col, expected) in [
            (
                "cluster 3 read=lease",
                11,
                "`read=lease` needs `check-quorum=on`",
            ),
            (
                "cluster 3 check-quorum=on read=lease election-ticks=3 max-drift=500",
                55,
                "`max-drift=500` leaves no lease at `election-ticks=3`",
            ),
            (
                "cluster 3 follower-reads=on",
                11,
                "`follower-reads=on` needs",
            ),
            ("cluster 3 pre-vote=yes", 20, "`pre-vote` is `on` or `off`"),
            (
                "cluster 3 read=quorum",
                16,
                "`read` is `log`, `read-index` or `lease`",
            ),
        ] {
            let error = parse(&format!("{line}\n")).unwrap_err();
            assert_eq!((error.line, error.col), (1, col), "{line}: {error}");
            assert!(error.message.contains(expected), "{line}: {error}");
        }
        let fine =
            "cluster 3 pre-vote=on check-quorum=on read=lease follower-reads=on max-drift=50\n";
        assert!(parse(fine).is_ok());
    }

    #[test]
    fn an_unknown_node_points_at_its_column() {
        let error = parse("cluster 3\ncrash n4\n").unwrap_err();
        assert_eq!((error.line, error.col), (2, 7));
        assert!(error.message.contains("unknown node"), "{error}");
    }

    #[test]
    fn partitions_read_with_or_without_spaces() {
        let scenario = parse("cluster 5\npartition 1,2 | n3,4,5\npartition 1|2\n").unwrap();
        assert_eq!(
            scenario.steps[1].command,
            Command::Partition {
                groups: vec![vec![1, 2], vec![3, 4, 5]]
            }
        );
        assert_eq!(
            scenario.steps[2].command,
            Command::Partition {
                groups: vec![vec![1], vec![2]]
            }
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // `é` and `ü` are two bytes each: byte columns would say 14.
        let error = parse("cluster 3\nput n1 é ü extra\n").unwrap_err();
        assert_eq!((error.line, error.col), (2, 12), "{error}");
        let error = parse("cluster 3 seed=é\n").unwrap_err();
        assert_eq!((error.line, error.col), (1, 16), "{error}");
    }

    #[test]
    fn a_file_without_a_command_is_refused_at_its_start() {
        for text in ["", "\n\n", "# just a note\n"] {
            let error = parse(text).unwrap_err();
            assert_eq!((error.line, error.col), (1, 1), "{text:?}: {error}");
            assert!(error.message.contains("`cluster N`"), "{error}");
        }
    }

    #[test]
    fn numbers_past_their_range_are_refused_not_wrapped() {
        // Each once panicked, aborted or allocated without bound further on.
        let refused = [
            ("cluster 3 election-ticks=4294967296\n", 26),
            ("cluster 3 election-ticks=4294967295\n", 26),
            ("cluster 3 max-inflight=18446744073709551615\n", 24),
            ("cluster 3 max-inflight=1001\n", 24),
            ("cluster 3 max-entries-per-message=100001\n", 35),
            ("cluster 3 heartbeat-ticks=0\n", 27),
            ("cluster 3 tick=0us\n", 16),
            ("cluster 3 fsync=86401s\n", 17),
        ];
        for (text, col) in refused {
            let error = parse(text).unwrap_err();
            assert_eq!((error.line, error.col), (1, col), "{text}: {error}");
        }
        let error = parse("cluster 3\ntick n1 100001\n").unwrap_err();
        assert_eq!((error.line, error.col), (2, 9), "{error}");
        let at_the_edges = "cluster 3 election-ticks=10000 heartbeat-ticks=9999 max-inflight=1000 \
                            tick=86400s delay=86400s\ntick n1 100000\nrun 86400s\n";
        parse(at_the_edges).unwrap();
    }

    #[test]
    fn a_release_count_past_usize_means_all() {
        let scenario = parse("cluster 3\nrelease * *->* 18446744073709551615\n").unwrap();
        let Command::Release { count, .. } = &scenario.steps[1].command else {
            panic!("not a release: {:?}", scenario.steps[1].command);
        };
        assert_eq!(*count, Some(usize::MAX));
    }

    #[test]
    fn a_line_of_spaces_ends_an_output_block() {
        // Found by the scenario fuzz: a line of spaces after an output block
        // used to extend the block, swallowing the commands after it, so the
        // file read back differently once rewritten.
        let text = "cluster 3\nstatus\n----\nn1 follower\n  \nheal\n";
        let scenario = parse(text).unwrap();
        assert_eq!(scenario.steps.len(), 3);
        assert_eq!(scenario.steps[1].output, vec!["n1 follower"]);
        assert_eq!(scenario.steps[2].command, Command::Heal);
    }

    #[test]
    fn output_blocks_end_at_a_blank_line() {
        let text = "# intro\ncluster 3\nstatus\n----\nline one\nline two\n\nheal\n";
        let scenario = parse(text).unwrap();
        assert_eq!(scenario.steps[1].output, vec!["line one", "line two"]);
        assert_eq!(scenario.steps[2].line, 8);
        assert_eq!(scenario.to_string(), text);
    }
}
