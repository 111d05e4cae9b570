//! Reports measured side by side: the same measurement on several sets of points (the training
//! subset and the test set of a trained network, or several feature files), each named by its
//! split.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::report::Report;

/// A set of points a trained network's features are measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LawSplit {
    /// The training subset the network was trained on (the paper's measurement).
    Train,
    /// The dataset's test set.
    Test,
}

impl LawSplit {
    /// `"train"` or `"test"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LawSplit::Train => "train",
            LawSplit::Test => "test",
        }
    }
}

impl fmt::Display for LawSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LawSplit {
    type Err = String;

    /// `train` or `test` (the error names the bad token).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "train" => Ok(LawSplit::Train),
            "test" => Ok(LawSplit::Test),
            other => Err(format!(
                "unknown split `{other}` (the splits are `train` and `test`)"
            )),
        }
    }
}

/// The report of one split, with its name first (`{"split": .., "n": .., "layers": .., ...}` in
/// JSON).
#[derive(Clone, Debug, Serialize)]
pub struct SplitReport {
    /// The split's name (`train`, `test`, or a file stem).
    pub split: String,
    /// Its report.
    #[serde(flatten)]
    pub report: Report,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parse_and_print() {
        assert_eq!("train".parse::<LawSplit>(), Ok(LawSplit::Train));
        assert_eq!(" test".parse::<LawSplit>(), Ok(LawSplit::Test));
        let e = "val".parse::<LawSplit>().unwrap_err();
        assert!(e.contains("`val`"), "{e}");
        assert_eq!(LawSplit::Test.to_string(), "test");
    }
}
