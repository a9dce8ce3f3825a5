//! The commands of a recorded run: `world seed=N ...`, then its faults as
//! `at TIME [when POINT:] FAULT`, `run-to-end`, and what to expect of it.

use super::*;
use crate::drivers::{About, MessageId};
use crate::world::network::Endpoint;

/// The most clients a `world` may ask for.
const CLIENTS_MAX: u64 = 100;
/// The most operations a `world` may bound its clients to.
const OPERATIONS_MAX: u64 = 1_000_000;

/// Parses `world seed=N [background=N] [profile=standard] [bug=..] [fault=..] [nodes=N]
/// [clients=N] [operations=N] [chaos=5s]`.
pub(super) fn parse_world(words: &mut Words<'_>) -> Result<WorldSpec, ParseError> {
    let mut spec = WorldSpec {
        seed: 0,
        background: None,
        standard: false,
        bugs: Vec::new(),
        faults: Vec::new(),
        overrides: Overrides::default(),
    };
    let mut seed_seen = false;
    each_option(words, |key, value, _| {
        seed_seen |= key == "seed";
        set_world_option(&mut spec, key, value)
    })?;
    if !seed_seen {
        return Err(words.error(
            words.end_col,
            "missing seed=N: a world is drawn from a seed",
        ));
    }
    Ok(spec)
}

fn set_world_option(spec: &mut WorldSpec, key: &str, value: &str) -> Result<(), OptionError> {
    let bad = |message: String| OptionError::BadValue(message);
    match key {
        "seed" => {
            spec.seed = value
                .parse()
                .map_err(|_| bad(format!("`seed` takes an unsigned 64-bit number, found `{value}`")))?;
        }
        "background" => {
            spec.background = Some(value.parse().map_err(|_| {
                bad(format!("`background` takes an unsigned 64-bit number, found `{value}`"))
            })?);
        }
        "profile" => match value {
            "standard" => spec.standard = true,
            "swarm" => spec.standard = false,
            _ => return Err(bad(format!("profiles are swarm and standard, found `{value}`"))),
        },
        "bug" => {
            if Bug::from_name(value).is_none() {
                let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                return Err(bad(format!("unknown bug `{value}`; bugs: {}", names.join(", "))));
            }
            spec.bugs.push(value.to_string());
        }
        "fault" => {
            if FaultKind::from_name(value).is_none() {
                let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                return Err(bad(format!("unknown fault kind `{value}`; kinds: {}", names.join(", "))));
            }
            spec.faults.push(value.to_string());
        }
        "nodes" => spec.overrides.nodes = Some(number_in(key, value, 1..=CLUSTER_SIZE_MAX)?),
        "clients" => spec.overrides.clients = Some(number_in(key, value, 0..=CLIENTS_MAX)?),
        "operations" => {
            spec.overrides.operations = Some(number_in(key, value, 0..=OPERATIONS_MAX)?);
        }
        "compaction" => {
            spec.overrides.compact_every = Some(match value {
                "off" => 0,
                _ => number_in(key, value, 1..=COMPACT_EVERY_MAX)?,
            });
        }
        "chaos" => {
            let us = bounded_duration_us(value, 0..=DURATION_MAX_US)
                .map_err(|m| bad(format!("`chaos`: {m}")))?;
            spec.overrides.chaos_us = Some(us);
        }
        _ => {
            return Err(OptionError::UnknownKey(format!(
                "unknown world setting `{key}`; settings: seed, background, profile, bug, fault, nodes, clients, operations, compaction, chaos"
            )))
        }
    }
    Ok(())
}

impl CommandParser<'_> {
    /// A command of a recorded run.
    pub(super) fn recorded_command(&mut self, head: Token<'_>) -> Result<Command, ParseError> {
        Ok(match head.text {
            "at" => Command::At(self.at()?),
            "run-to-end" => Command::RunToEnd,
            "expect" => {
                let expectation = self.expectation()?;
                if !matches!(
                    expectation,
                    Expectation::Violation { .. } | Expectation::NoViolation
                ) {
                    return Err(self.words.error(
                        head.col,
                        "a recorded run expects `violation NAME` or `no-violation`",
                    ));
                }
                Command::Expect(expectation)
            }
            other => {
                return Err(self.words.error(
                    head.col,
                    format!("`{other}` does not belong to a recorded run: it holds `at`, `run-to-end` and `expect`"),
                ))
            }
        })
    }

    /// `at TIME [when nN leads:|commits:|syncs:|votes:|counts-ack:|snapshots:] FAULT`
    fn at(&mut self) -> Result<Scheduled, ParseError> {
        let time_us = parse_duration(self.words.next("time")?, &self.words)?;
        let mut point = Point::Timer;
        if self.words.accept("when") {
            let node = self.node()?;
            const POINTS: &str = "`leads:`, `commits:`, `syncs:`, `votes:`, `counts-ack:` or `snapshots:` (the last three may carry a count: `votes(2):`)";
            let what = self.words.next(POINTS)?;
            // `votes(2):`: the third time the point came at this instant.
            let (name, nth) = match what.text.strip_suffix("):").and_then(|t| t.split_once('(')) {
                Some((name, count)) => match count.parse::<u32>() {
                    Ok(nth) => (format!("{name}:"), nth),
                    Err(_) => {
                        return Err(self.words.error(
                            what.col,
                            format!(
                                "expected a count such as `votes(2):`, found `{}`",
                                what.text
                            ),
                        ))
                    }
                },
                None => (what.text.to_string(), 0),
            };
            point = match name.as_str() {
                "leads:" if nth == 0 => Point::NewLeader { node },
                "commits:" if nth == 0 => Point::LeaderCommit { node },
                "syncs:" if nth == 0 => Point::Fsync { node },
                "votes:" => Point::VoteGranted { node, nth },
                "counts-ack:" => Point::AckCounted { node, nth },
                "snapshots:" => Point::SnapshotTaken { node, nth },
                other => {
                    return Err(self
                        .words
                        .error(what.col, format!("expected {POINTS}, found `{other}`")))
                }
            };
        }
        let head = self.words.next("fault")?;
        let fault = self.fault_of_run(head, point)?;
        if let Some((message, _)) = fault.message_fate() {
            point = Point::Send { message };
        }
        Ok(Scheduled {
            time_us,
            point,
            fault,
        })
    }

    fn fault_of_run(&mut self, head: Token<'_>, point: Point) -> Result<Fault, ParseError> {
        Ok(match head.text {
            "partition" => match self.partition()? {
                Command::Partition { groups } => Fault::Partition { groups },
                _ => unreachable!("partition() gives a partition"),
            },
            "cut" | "restore" => {
                let (from, to) = self.link()?;
                match head.text {
                    "cut" => Fault::Cut { from, to },
                    _ => Fault::Restore { from, to },
                }
            }
            "heal" => Fault::Heal,
            "crash" => {
                let node = self.node()?;
                let disk = self.disk_fate()?;
                let restart_after_us = self.restart_after()?;
                Fault::Crash {
                    node,
                    disk,
                    restart_after_us,
                }
            }
            "fsync-crash" => self.fsync_crash(head, point)?,
            "restart" => Fault::Restart { node: self.node()? },
            "pause" => Fault::Pause { node: self.node()? },
            "resume" => Fault::Resume { node: self.node()? },
            "clog" => {
                let (from, to) = self.link()?;
                let extra_delay_us = self.keyed_duration("delay")?;
                Fault::Clog {
                    from,
                    to,
                    extra_delay_us,
                }
            }
            "unclog" => {
                let (from, to) = self.link()?;
                Fault::Unclog { from, to }
            }
            "stall" => {
                let (from, to) = self.link()?;
                let for_us = self.keyed_duration("for")?;
                Fault::Stall { from, to, for_us }
            }
            "skew" => Fault::Skew {
                node: self.node()?,
                ppt: self.ppt()?,
            },
            "unskew" => Fault::Unskew { node: self.node()? },
            "transfer" => Fault::Transfer {
                from: self.node()?,
                to: self.node()?,
            },
            "join" => Fault::Join { node: self.node()? },
            "replace" => {
                let node = self.node()?;
                self.keyword("by")?;
                Fault::Replace {
                    node,
                    by: self.node()?,
                }
            }
            "change" => Fault::ConfChange {
                at: self.node()?,
                changes: self.member_changes()?,
            },
            "compact" => Fault::Compact { node: self.node()? },
            "drop" | "duplicate" | "delay" => self.message_fault(head)?,
            other => {
                return Err(self.words.error(
                    head.col,
                    format!("unknown fault `{other}`; faults: partition, cut, restore, heal, crash, fsync-crash, restart, pause, resume, clog, unclog, stall, skew, unskew, transfer, join, replace, change, compact, drop, duplicate"),
                ))
            }
        })
    }

    /// `disk=kept|synced|prefix|lost`
    fn disk_fate(&mut self) -> Result<DiskFate, ParseError> {
        let token = self.words.next("disk=kept|synced|prefix|lost")?;
        Ok(match token.text {
            "disk=kept" => DiskFate::Kept,
            "disk=synced" => DiskFate::Synced,
            "disk=prefix" => DiskFate::Prefix,
            "disk=lost" => DiskFate::Lost,
            other => {
                return Err(self.words.error(
                    token.col,
                    format!(
                    "expected disk=kept, disk=synced, disk=prefix or disk=lost, found `{other}`"
                ),
                ))
            }
        })
    }

    /// `[restart-after=DURATION]`
    fn restart_after(&mut self) -> Result<Option<u64>, ParseError> {
        let Some(token) = self.words.peek() else {
            return Ok(None);
        };
        let Some(value) = token.text.strip_prefix("restart-after=") else {
            return Ok(None);
        };
        self.words.at += 1;
        let col = token.col + "restart-after=".len();
        bounded_duration_us(value, 0..=DURATION_MAX_US)
            .map(Some)
            .map_err(|message| self.words.error(col, message))
    }

    /// `fsync-crash nN before|after restart-after=DURATION`, only when that
    /// node syncs.
    fn fsync_crash(&mut self, head: Token<'_>, point: Point) -> Result<Fault, ParseError> {
        let node = self.node()?;
        if point != (Point::Fsync { node }) {
            return Err(self.words.error(
                head.col,
                format!("an fsync crash strikes when its node syncs: write `when n{node} syncs: fsync-crash n{node} ...`"),
            ));
        }
        let when = self.words.next("`before` or `after`")?;
        let before = match when.text {
            "before" => true,
            "after" => false,
            other => {
                return Err(self.words.error(
                    when.col,
                    format!("expected `before` or `after`, found `{other}`"),
                ))
            }
        };
        let restart_after_us = self.restart_after()?.ok_or_else(|| {
            self.words
                .error(self.words.end_col, "missing restart-after=DURATION")
        })?;
        Ok(Fault::FsyncCrash {
            node,
            before,
            restart_after_us,
        })
    }

    /// `drop n1->n2 app term=3 index=5 nth=0`,
    /// `duplicate c0->n3 request op=4 attempt=0 nth=0 second-delay=DURATION`,
    /// `delay n1->n2 app term=3 index=5 nth=0 by=DURATION`
    fn message_fault(&mut self, head: Token<'_>) -> Result<Fault, ParseError> {
        let link = self.words.next("a link such as `n1->n2` or `c0->n3`")?;
        let Some((from, to)) = link.text.split_once("->") else {
            return Err(self.words.error(
                link.col,
                format!("expected a link such as `n1->n2`, found `{}`", link.text),
            ));
        };
        let from = self.endpoint_of(from, link.col)?;
        let to = self.endpoint_of(to, link.col + from_len(link.text))?;
        let about = self.about()?;
        let nth = self.keyed_number("nth")?;
        let message = MessageId {
            from,
            to,
            about,
            nth,
        };
        if head.text == "drop" {
            return Ok(Fault::Drop { message });
        }
        if head.text == "delay" {
            let extra_delay_us = self.keyed_duration("by")?;
            return Ok(Fault::Delay {
                message,
                extra_delay_us,
            });
        }
        let second_delay_us = self.keyed_duration("second-delay")?;
        Ok(Fault::Duplicate {
            message,
            second_delay_us,
        })
    }
}

impl CommandParser<'_> {
    /// What a message is about: `KIND term=T index=I` for a Raft message
    /// (KIND one of [`RAFT_KINDS`]), `request op=N attempt=A` or
    /// `reply op=N attempt=A` for a client's.
    fn about(&mut self) -> Result<About, ParseError> {
        let kinds = format!("{}, request or reply", RAFT_KINDS.join(", "));
        let word = self
            .words
            .next(&format!("what the message is about ({kinds})"))?;
        match word.text {
            "request" | "reply" => {
                let op = self.keyed_number("op")?;
                let attempt = self.keyed_number("attempt")?;
                let attempt = u32::try_from(attempt)
                    .map_err(|_| self.words.error(word.col, "attempt is too large"))?;
                Ok(match word.text {
                    "request" => About::Request { op, attempt },
                    _ => About::Reply { op, attempt },
                })
            }
            name => {
                let Some(kind) = RAFT_KINDS.iter().position(|k| *k == name) else {
                    return Err(self
                        .words
                        .error(word.col, format!("expected one of {kinds}, found `{name}`")));
                };
                let term = self.keyed_number("term")?;
                let index = self.keyed_number("index")?;
                Ok(About::Raft {
                    kind: kind as u8,
                    term,
                    index,
                })
            }
        }
    }

    /// `KEY=N`.
    fn keyed_number(&mut self, key: &str) -> Result<u64, ParseError> {
        let token = self.words.next(&format!("{key}=N"))?;
        let value = token
            .text
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='));
        value.and_then(|digits| digits.parse().ok()).ok_or_else(|| {
            self.words.error(
                token.col,
                format!("expected {key}=N, found `{}`", token.text),
            )
        })
    }
}

/// Where the receiver of `link` (`from->to`) starts, counted from its start.
fn from_len(link: &str) -> usize {
    link.find("->").map_or(0, |at| at + 2)
}

impl CommandParser<'_> {
    /// `n3` (a node of the world) or `c0` (a client).
    fn endpoint_of(&self, text: &str, col: usize) -> Result<Endpoint, ParseError> {
        if let Some(digits) = text.strip_prefix('c') {
            return digits.parse().map(Endpoint::Client).map_err(|_| {
                self.words.error(
                    col,
                    format!("expected a client such as `c0`, found `{text}`"),
                )
            });
        }
        self.node_token(Token { text, col }, false)
            .map(Endpoint::Node)
    }
}
