//! Explanations: the smallest part of a history that shows it is not
//! linearizable, in a few lines a person can read.

use std::fmt;

use super::history::{OpHistory, OpId, Outcome};

/// One operation as a person reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSummary {
    /// Which operation of the history.
    pub id: OpId,
    /// The client that called it.
    pub client: u64,
    /// When it was invoked (virtual microseconds; line numbers for parsed files).
    pub invoke_us: u64,
    /// When it completed, if it did.
    pub complete_us: Option<u64>,
    /// The call, e.g. `put "k" "v"`.
    pub op: String,
    /// How it ended, e.g. `"v"`, `ok`, `unknown`.
    pub result: String,
}

impl OpSummary {
    /// Summarizes operation `id` of `history`.
    pub fn of<I: fmt::Display, O: fmt::Display>(history: &OpHistory<I, O>, id: OpId) -> Self {
        let op = history
            .get(id)
            .expect("explained operation is in the history");
        let result = match &op.outcome {
            Some(outcome) => outcome.to_string(),
            None => Outcome::<O>::Unknown.to_string(),
        };
        Self {
            id,
            client: op.client,
            invoke_us: op.invoke_us,
            complete_us: op.complete_us,
            op: op.input.to_string(),
            result,
        }
    }
}

impl fmt::Display for OpSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client {} [{}..", self.client, self.invoke_us)?;
        match self.complete_us {
            Some(at) => write!(f, "{at}]")?,
            None => f.write_str("]")?,
        }
        write!(f, " {} -> {}", self.op, self.result)
    }
}

/// Why a history is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The key (partition) whose sub-history fails, if the model splits by key.
    pub key: Option<String>,
    /// A longest linearizable prefix found, in linearization order.
    pub prefix: Vec<OpSummary>,
    /// The model state after `prefix`, as text.
    pub state: String,
    /// The operations that cannot be ordered after `prefix`: the one whose
    /// completion no order can meet, the calls concurrent with it, and the
    /// latest few calls of unknown outcome that could have gone there.
    pub stuck: Vec<OpSummary>,
}

/// How many operations of the prefix are shown: the end is what matters.
const PREFIX_SHOWN: usize = 4;

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not linearizable")?;
        if let Some(key) = &self.key {
            write!(f, " on key {key:?}")?;
        }
        writeln!(f, ": no order of these operations fits the model")?;
        for op in &self.stuck {
            writeln!(f, "  {op}")?;
        }
        write!(
            f,
            "after the longest linearizable prefix ({} operations, state {})",
            self.prefix.len(),
            self.state
        )?;
        let skipped = self.prefix.len().saturating_sub(PREFIX_SHOWN);
        if skipped > 0 {
            write!(f, "\n  ... {skipped} earlier")?;
        }
        for op in &self.prefix[skipped..] {
            write!(f, "\n  {op}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::history::{History, KvOp, KvResult};

    #[test]
    fn explanation_shows_stuck_operations_then_the_end_of_the_prefix() {
        let mut history = History::new();
        let put = history.invoke(
            1,
            KvOp::Put {
                key: "k".into(),
                value: "a".into(),
            },
            10,
        );
        history.complete(put, Outcome::Ok(KvResult::Done), 20);
        let get = history.invoke(2, KvOp::Get { key: "k".into() }, 30);
        history.complete(get, Outcome::Ok(KvResult::Value(Some("b".into()))), 40);
        let explanation = Explanation {
            key: Some("k".into()),
            prefix: vec![OpSummary::of(&history, put)],
            state: "\"a\"".into(),
            stuck: vec![OpSummary::of(&history, get)],
        };
        let text = explanation.to_string();
        assert_eq!(
            text,
            "not linearizable on key \"k\": no order of these operations fits the model\n  \
             client 2 [30..40] get \"k\" -> \"b\"\n\
             after the longest linearizable prefix (1 operations, state \"a\")\n  \
             client 1 [10..20] put \"k\" \"a\" -> ok"
        );
    }
}
