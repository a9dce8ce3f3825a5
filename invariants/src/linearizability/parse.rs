//! Readers for third-party histories: Jepsen's etcd logs (a compare-and-set
//! register) and Porcupine's kv histories (EDN-like maps). Errors are values
//! that say `file:line: what was wrong`; no input makes them panic.
//!
//! Parsed histories have no clock: an event's "time" is its line number, so an
//! explanation points into the file.

use std::collections::BTreeMap;

use super::history::{
    History, KvOp, KvResult, OpId, Outcome, RegisterHistory, RegisterOp, RegisterResult,
};

/// A history file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    /// The file, as given.
    pub file: String,
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// Pairs invocations with completions per process.
struct Pairing<I> {
    /// Open call of each process: (id, operation kind as written, line).
    open: BTreeMap<u64, (OpId, String, I)>,
}

impl<I> Pairing<I> {
    fn new() -> Self {
        Self {
            open: BTreeMap::new(),
        }
    }

    fn invoke(&mut self, process: u64, id: OpId, f: &str, input: I) -> Result<(), String> {
        if self.open.contains_key(&process) {
            return Err(format!(
                "process {process} invokes while its previous call is still open"
            ));
        }
        self.open.insert(process, (id, f.to_owned(), input));
        Ok(())
    }

    fn complete(&mut self, process: u64, f: &str) -> Result<(OpId, I), String> {
        let Some((id, invoked, input)) = self.open.remove(&process) else {
            return Err(format!(
                "process {process} completes a call it never invoked"
            ));
        };
        if invoked != f {
            return Err(format!(
                "process {process} invoked {invoked} but completes {f}"
            ));
        }
        Ok((id, input))
    }
}

/// Reads a Jepsen etcd log: lines `INFO  jepsen.util - <process> <type> <f> <value>`.
///
/// `:fail` means the call did not happen; `:info` means it may have happened
/// at any time after its invocation, or never.
pub fn parse_jepsen_etcd(text: &str, file: &str) -> Result<RegisterHistory, ParseError> {
    let mut history = RegisterHistory::new();
    let mut pairing = Pairing::new();
    for (index, line) in text.lines().enumerate() {
        let error = |message: String| ParseError {
            file: file.to_owned(),
            line: index + 1,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        jepsen_line(line, index as u64 + 1, &mut history, &mut pairing).map_err(error)?;
    }
    Ok(history)
}

fn jepsen_line(
    line: &str,
    line_number: u64,
    history: &mut RegisterHistory,
    pairing: &mut Pairing<RegisterOp>,
) -> Result<(), String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() < 6 || tokens[..3] != ["INFO", "jepsen.util", "-"] {
        return Err(format!(
            "expected `INFO jepsen.util - <process> <type> <f> <value>`, got {line:?}"
        ));
    }
    let process: u64 = tokens[3]
        .parse()
        .map_err(|_| format!("bad process id {:?}", tokens[3]))?;
    let (kind, f) = (tokens[4], tokens[5]);
    let value = jepsen_value(f, &tokens[6..])?;
    match kind {
        ":invoke" => {
            let input = match f {
                ":read" if value == "nil" => RegisterOp::Read,
                ":write" => RegisterOp::Write(integer(&value)?),
                ":cas" => {
                    let (from, to) = pair(&value)?;
                    RegisterOp::Cas(from, to)
                }
                ":read" => return Err(format!("read invoked with value {value:?}, expected nil")),
                _ => return Err(format!("unknown operation {f:?}")),
            };
            let id = history.invoke(process, input, line_number);
            pairing.invoke(process, id, f, input)
        }
        ":ok" | ":fail" | ":info" => {
            let (id, input) = pairing.complete(process, f)?;
            let outcome = match kind {
                ":ok" => Outcome::Ok(match input {
                    RegisterOp::Read if value == "nil" => RegisterResult::Value(None),
                    RegisterOp::Read => RegisterResult::Value(Some(integer(&value)?)),
                    RegisterOp::Write(_) => RegisterResult::Done,
                    RegisterOp::Cas(..) => RegisterResult::CasOk,
                }),
                ":fail" => Outcome::Fail,
                _ => Outcome::Unknown,
            };
            history.complete(id, outcome, line_number);
            Ok(())
        }
        _ => Err(format!("unknown event type {kind:?}")),
    }
}

/// The value of an operation from the tokens after its `f`: one token, or
/// `[A B]` over two. Jepsen may print more fields of the operation after it
/// as `:key value` pairs (Porcupine's larger etcd logs carry `:hint N`); they
/// say nothing about what the operation did, and are skipped.
fn jepsen_value(f: &str, tokens: &[&str]) -> Result<String, String> {
    let Some(first) = tokens.first() else {
        return Err(format!("truncated line: {f} has no value"));
    };
    let length = match first.starts_with('[') {
        true => {
            1 + tokens
                .iter()
                .position(|token| token.ends_with(']'))
                .ok_or_else(|| {
                    format!("truncated line: {f} value {first:?} is not closed with `]`")
                })?
        }
        false => 1,
    };
    let extra = &tokens[length..];
    let pairs_of_keys_and_values =
        extra.len().is_multiple_of(2) && extra.chunks(2).all(|pair| pair[0].starts_with(':'));
    if !pairs_of_keys_and_values {
        return Err(format!(
            "unexpected {:?} after the value (further fields come as `:key value`)",
            extra.join(" ")
        ));
    }
    Ok(tokens[..length].join(" "))
}

fn integer(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("expected an integer, got {text:?}"))
}

fn pair(text: &str) -> Result<(i64, i64), String> {
    let inner = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(|| format!("expected [A B], got {text:?}"))?;
    let mut parts = inner.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), None) => Ok((integer(a)?, integer(b)?)),
        _ => Err(format!("expected [A B], got {text:?}")),
    }
}

/// Reads a Porcupine kv history: one EDN-like map a line,
/// `{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}`.
pub fn parse_porcupine_kv(text: &str, file: &str) -> Result<History, ParseError> {
    let mut history = History::new();
    let mut pairing = Pairing::new();
    for (index, line) in text.lines().enumerate() {
        let error = |message: String| ParseError {
            file: file.to_owned(),
            line: index + 1,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let fields = edn_map(line).map_err(error)?;
        kv_event(&fields, index as u64 + 1, &mut history, &mut pairing).map_err(error)?;
    }
    Ok(history)
}

/// A value of an EDN-like map.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Edn {
    Keyword(String),
    Text(String),
    Integer(i64),
    Nil,
}

/// Parses `{:k v, :k v}` (commas are whitespace, as in EDN).
fn edn_map(line: &str) -> Result<BTreeMap<String, Edn>, String> {
    let mut chars = line.trim().chars().peekable();
    if chars.next() != Some('{') {
        return Err(format!("expected a map `{{...}}`, got {line:?}"));
    }
    let mut fields = BTreeMap::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.peek() {
            None => return Err("truncated line: the map is not closed with `}`".into()),
            Some('}') => {
                chars.next();
                break;
            }
            Some(_) => {}
        }
        let key = match edn_value(&mut chars)? {
            Edn::Keyword(key) => key,
            other => return Err(format!("expected a keyword as map key, got {other:?}")),
        };
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if matches!(chars.peek(), None | Some('}')) {
            return Err(format!("truncated line: :{key} has no value"));
        }
        let value = edn_value(&mut chars)?;
        fields.insert(key, value);
    }
    if let Some(rest) = chars.find(|c| !c.is_whitespace()) {
        return Err(format!("unexpected {rest:?} after the map"));
    }
    Ok(fields)
}

fn edn_value(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Edn, String> {
    let is_end = |c: &char| c.is_whitespace() || matches!(c, ',' | '}' | '{' | '"');
    match chars.peek().copied() {
        Some('"') => {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    None => return Err("truncated line: unterminated string".into()),
                    Some('"') => return Ok(Edn::Text(text)),
                    Some('\\') => match chars.next() {
                        Some('n') => text.push('\n'),
                        Some('t') => text.push('\t'),
                        Some(c @ ('"' | '\\')) => text.push(c),
                        Some(c) => return Err(format!("unknown escape \\{c} in string")),
                        None => return Err("truncated line: unterminated string".into()),
                    },
                    Some(c) => text.push(c),
                }
            }
        }
        Some(_) => {
            let mut token = String::new();
            while let Some(c) = chars.peek().copied().filter(|c| !is_end(c)) {
                token.push(c);
                chars.next();
            }
            if let Some(keyword) = token.strip_prefix(':').filter(|k| !k.is_empty()) {
                Ok(Edn::Keyword(keyword.to_owned()))
            } else if token == "nil" {
                Ok(Edn::Nil)
            } else if let Ok(number) = token.parse() {
                Ok(Edn::Integer(number))
            } else {
                Err(format!("bad token {token:?}"))
            }
        }
        None => Err("truncated line".into()),
    }
}

fn field<'a>(fields: &'a BTreeMap<String, Edn>, name: &str) -> Result<&'a Edn, String> {
    fields.get(name).ok_or_else(|| format!("missing :{name}"))
}

fn keyword_field<'a>(fields: &'a BTreeMap<String, Edn>, name: &str) -> Result<&'a str, String> {
    match field(fields, name)? {
        Edn::Keyword(keyword) => Ok(keyword),
        other => Err(format!(":{name} must be a keyword, got {other:?}")),
    }
}

fn text_field(fields: &BTreeMap<String, Edn>, name: &str) -> Result<Option<String>, String> {
    match field(fields, name)? {
        Edn::Text(text) => Ok(Some(text.clone())),
        Edn::Nil => Ok(None),
        other => Err(format!(":{name} must be a string or nil, got {other:?}")),
    }
}

fn kv_event(
    fields: &BTreeMap<String, Edn>,
    line_number: u64,
    history: &mut History,
    pairing: &mut Pairing<KvOp>,
) -> Result<(), String> {
    let process = match field(fields, "process")? {
        Edn::Integer(process) => {
            u64::try_from(*process).map_err(|_| format!("bad process id {process}"))?
        }
        other => return Err(format!(":process must be an integer, got {other:?}")),
    };
    let kind = keyword_field(fields, "type")?;
    let f = keyword_field(fields, "f")?;
    let key = text_field(fields, "key")?.ok_or(":key must be a string")?;
    let value = text_field(fields, "value")?;
    match kind {
        "invoke" => {
            let input = match f {
                "get" => KvOp::Get { key },
                "put" => KvOp::Put {
                    key,
                    value: value.ok_or("put without a value")?,
                },
                "append" => KvOp::Append {
                    key,
                    value: value.ok_or("append without a value")?,
                },
                _ => return Err(format!("unknown operation :{f}")),
            };
            let id = history.invoke(process, input.clone(), line_number);
            pairing.invoke(process, id, f, input)
        }
        "ok" | "fail" | "info" => {
            let (id, input) = pairing.complete(process, f)?;
            if input.key() != key {
                return Err(format!(
                    "completes key {key:?} but invoked key {:?}",
                    input.key()
                ));
            }
            let outcome = match kind {
                "ok" => Outcome::Ok(match input {
                    KvOp::Get { .. } => KvResult::Value(value),
                    _ => KvResult::Done,
                }),
                "fail" => Outcome::Fail,
                _ => Outcome::Unknown,
            };
            history.complete(id, outcome, line_number);
            Ok(())
        }
        _ => Err(format!("unknown event type :{kind}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jepsen_log_pairs_calls_per_process() {
        let text = "INFO  jepsen.util - 4\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 2   :invoke :cas    [1 2]\n\
                    INFO  jepsen.util - 4\t:ok\t:read\t3\n\
                    INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n";
        let history = parse_jepsen_etcd(text, "t.log").unwrap();
        let ops = history.operations();
        assert_eq!(ops.len(), 2);
        assert_eq!(
            ops[0].outcome,
            Some(Outcome::Ok(RegisterResult::Value(Some(3))))
        );
        assert_eq!(ops[1].input, RegisterOp::Cas(1, 2));
        assert_eq!(ops[1].outcome, Some(Outcome::Unknown));
        assert_eq!((ops[1].invoke_us, ops[1].complete_us), (2, Some(4)));
    }

    #[test]
    fn jepsen_fields_after_the_value_are_skipped_when_they_are_key_value_pairs() {
        let text = "INFO  jepsen.util - 6 \t:invoke :write \t38 \t:hint 0\n\
                    INFO  jepsen.util - 4 \t:invoke :cas \t[38 7] \t:hint 0\n\
                    INFO  jepsen.util - 6 \t:ok :write \t38 \t:hint 2\n\
                    INFO  jepsen.util - 4 \t:ok :cas \t[38 7] \t:hint 3\n";
        let history = parse_jepsen_etcd(text, "etcd.log").expect("hints are skipped");
        let inputs: Vec<RegisterOp> = history.operations().iter().map(|op| op.input).collect();
        assert_eq!(inputs, [RegisterOp::Write(38), RegisterOp::Cas(38, 7)]);
        let error =
            parse_jepsen_etcd("INFO  jepsen.util - 6\t:invoke\t:write\t38 39", "f").unwrap_err();
        assert!(
            error.message.contains("unexpected \"39\" after the value"),
            "{error}"
        );
    }

    #[test]
    fn jepsen_truncated_line_is_an_error_with_file_and_line() {
        let text = "INFO  jepsen.util - 1\t:invoke\t:write\t3\nINFO  jepsen.util - 1\t:ok\t:wri";
        let error = parse_jepsen_etcd(text, "etcd.log").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.to_string().starts_with("etcd.log:2: "), "{error}");
        let error = parse_jepsen_etcd("INFO  jepsen.util - 1\t:invoke\t:cas\t[1", "f").unwrap_err();
        assert!(error.message.contains("not closed with `]`"), "{error}");
        let error =
            parse_jepsen_etcd("INFO  jepsen.util - 1\t:invoke\t:cas\t[1]", "f").unwrap_err();
        assert!(error.message.contains("expected [A B]"), "{error}");
        let error = parse_jepsen_etcd("INFO  jepsen.util - 1\t:ok\t:read\t1", "f").unwrap_err();
        assert!(error.message.contains("never invoked"), "{error}");
    }

    #[test]
    fn porcupine_kv_reads_maps_and_strings() {
        let text = "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
                    {:process 1, :type :invoke, :f :get, :key \"4\", :value nil}\n\
                    {:process 0, :type :ok, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
                    {:process 1, :type :ok, :f :get, :key \"4\", :value \"x 0 1 y\"}\n";
        let history = parse_porcupine_kv(text, "kv.txt").unwrap();
        let ops = history.operations();
        assert_eq!(
            ops[0].input,
            KvOp::Append {
                key: "4".into(),
                value: "x 0 1 y".into()
            }
        );
        assert_eq!(
            ops[1].outcome,
            Some(Outcome::Ok(KvResult::Value(Some("x 0 1 y".into()))))
        );
    }

    #[test]
    fn porcupine_kv_truncated_lines_are_errors_not_panics() {
        let full = "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}";
        for cut in 0..full.len() {
            let text = format!("{full}\n{}", &full[..cut]);
            match parse_porcupine_kv(&text, "kv.txt") {
                Ok(history) => assert!(cut == 0, "cut at {cut} parsed as {history:?}"),
                Err(error) => assert_eq!(error.line, 2, "cut at {cut}: {error}"),
            }
        }
        let error = parse_porcupine_kv("{:process 0, :type :invoke, :f :get, :key \"4", "kv.txt")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "kv.txt:1: truncated line: unterminated string"
        );
    }
}
