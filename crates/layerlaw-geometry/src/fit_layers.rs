//! [`FitLayers`]: which layer indices $l$ enter the law fit $\ln D_l = \ln D_0 + l\ln\rho$.
//!
//! The syntax (`--fit-layers` on the command line, `fit_layers=` in Python) is a comma list of
//! indices and inclusive ranges: `3` (layer 3), `a..b` (layers a to b, both included), `a..`
//! (layer a to the last layer), e.g. `1..` or `0,2..5`. Spaces around tokens are ignored,
//! overlapping items are merged. The fit uses the layers' real indices, so $\rho$ stays a
//! per-layer ratio whichever layers are chosen.

use std::fmt;
use std::str::FromStr;

/// Why a fit-layer specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitLayersError {
    /// The specification holds no item.
    #[error("fit layers: the list is empty (give indices or ranges such as `1..` or `0,2..5`)")]
    Empty,
    /// A token is not an index, `a..b` or `a..`.
    #[error("fit layers: bad token `{token}`: {reason}")]
    BadToken {
        /// The offending token, as written.
        token: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An item names a layer the report does not have.
    #[error(
        "fit layers: `{token}` names layer {index}, but the valid layers are {}",
        valid_range(*.layers)
    )]
    OutOfRange {
        /// The item that names it, as written.
        token: String,
        /// The first index out of range.
        index: usize,
        /// Number of layers of the report.
        layers: usize,
    },
    /// The specification selects fewer than two layers, so no line can be fitted.
    #[error(
        "fit layers: `{spec}` selects {selected} layer(s) of {layers}; the fit needs at least 2"
    )]
    TooFew {
        /// The specification, as written.
        spec: String,
        /// Number of layers it selects.
        selected: usize,
        /// Number of layers of the report.
        layers: usize,
    },
}

fn valid_range(layers: usize) -> String {
    match layers {
        0 => "none (there is no layer)".into(),
        1 => "0..0 (one layer)".into(),
        n => format!("0..{} (both ends included)", n - 1),
    }
}

/// One item of a specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    /// One index.
    One(usize),
    /// `a..b`, both included (`a <= b`).
    Range(usize, usize),
    /// `a..`: from `a` to the last layer.
    From(usize),
}

/// Which layers enter the law fit: every layer ([`FitLayers::all`], the default) or a list of
/// indices and ranges parsed with [`FromStr`] (see the module documentation).
///
/// ```
/// use layerlaw_geometry::FitLayers;
///
/// let fit: FitLayers = "0,2..4".parse()?;
/// assert_eq!(fit.resolve(6)?, vec![0, 2, 3, 4]);
/// assert_eq!("1..".parse::<FitLayers>()?.resolve(4)?, vec![1, 2, 3]);
/// assert!(fit.resolve(4).is_err()); // layer 4 does not exist
/// assert!("3..1".parse::<FitLayers>().is_err());
/// # Ok::<(), layerlaw_geometry::FitLayersError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FitLayers {
    /// `None`: every layer.
    items: Option<Vec<(String, Item)>>,
}

impl FitLayers {
    /// Every layer (the default).
    pub fn all() -> Self {
        FitLayers { items: None }
    }

    /// Exactly these indices (any order; duplicates are merged). Errors: an empty list.
    pub fn indices(indices: &[usize]) -> Result<Self, FitLayersError> {
        if indices.is_empty() {
            return Err(FitLayersError::Empty);
        }
        Ok(FitLayers {
            items: Some(
                indices
                    .iter()
                    .map(|&i| (i.to_string(), Item::One(i)))
                    .collect(),
            ),
        })
    }

    /// Whether every layer is fitted.
    pub fn is_all(&self) -> bool {
        self.items.is_none()
    }

    /// The sorted, distinct indices selected among `layers` layers.
    ///
    /// Errors: an item naming a layer $\ge$ `layers` ([`FitLayersError::OutOfRange`], listing
    /// the valid range), fewer than two layers selected ([`FitLayersError::TooFew`]).
    pub fn resolve(&self, layers: usize) -> Result<Vec<usize>, FitLayersError> {
        let mut out: Vec<usize> = match &self.items {
            None => (0..layers).collect(),
            Some(items) => {
                let mut out = Vec::new();
                for (token, item) in items {
                    let out_of_range = |index| FitLayersError::OutOfRange {
                        token: token.clone(),
                        index,
                        layers,
                    };
                    match *item {
                        Item::One(i) if i >= layers => return Err(out_of_range(i)),
                        Item::One(i) => out.push(i),
                        Item::Range(a, b) if b >= layers => {
                            return Err(out_of_range(if a >= layers { a } else { b }))
                        }
                        Item::Range(a, b) => out.extend(a..=b),
                        Item::From(a) if a >= layers => return Err(out_of_range(a)),
                        Item::From(a) => out.extend(a..layers),
                    }
                }
                out
            }
        };
        out.sort_unstable();
        out.dedup();
        if out.len() < 2 {
            return Err(FitLayersError::TooFew {
                spec: self.to_string(),
                selected: out.len(),
                layers,
            });
        }
        Ok(out)
    }
}

fn parse_index(token: &str, part: &str) -> Result<usize, FitLayersError> {
    let bad = |reason: String| FitLayersError::BadToken {
        token: token.to_string(),
        reason,
    };
    let part = part.trim();
    if part.is_empty() {
        return Err(bad("an index is missing".into()));
    }
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!(
            "`{part}` is not a layer index (a whole number >= 0)"
        )));
    }
    part.parse()
        .map_err(|_| bad(format!("`{part}` is too large for a layer index")))
}

impl FromStr for FitLayers {
    type Err = FitLayersError;

    /// Parses `3`, `a..b`, `a..` items separated by commas (see the module documentation);
    /// `all` selects every layer.
    fn from_str(s: &str) -> Result<Self, FitLayersError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FitLayersError::Empty);
        }
        if s == "all" {
            return Ok(FitLayers::all());
        }
        let mut items = Vec::new();
        for raw in s.split(',') {
            let token = raw.trim();
            if token.is_empty() {
                return Err(FitLayersError::BadToken {
                    token: raw.to_string(),
                    reason: "empty item (two commas in a row, or a comma at an end)".into(),
                });
            }
            let item = match token.split_once("..") {
                None => Item::One(parse_index(token, token)?),
                Some((a, b)) => {
                    let start = parse_index(token, a)?;
                    if b.trim().is_empty() {
                        Item::From(start)
                    } else {
                        let end = parse_index(token, b)?;
                        if end < start {
                            return Err(FitLayersError::BadToken {
                                token: token.to_string(),
                                reason: format!(
                                    "the range ends ({end}) before it starts ({start})"
                                ),
                            });
                        }
                        Item::Range(start, end)
                    }
                }
            };
            items.push((token.to_string(), item));
        }
        Ok(FitLayers { items: Some(items) })
    }
}

impl fmt::Display for FitLayers {
    /// `all`, or the items as written, joined by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.items {
            None => f.write_str("all"),
            Some(items) => {
                let tokens: Vec<&str> = items.iter().map(|(t, _)| t.as_str()).collect();
                f.write_str(&tokens.join(","))
            }
        }
    }
}

impl serde::Serialize for FitLayers {
    /// As its [`Display`](fmt::Display) form: `"all"` or the items as written.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<FitLayers, FitLayersError> {
        s.parse()
    }

    #[test]
    fn good_specifications_resolve_to_sorted_distinct_indices() {
        assert_eq!(parse("1..").unwrap().resolve(5).unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(
            parse("0,2..5").unwrap().resolve(8).unwrap(),
            vec![0, 2, 3, 4, 5]
        );
        assert_eq!(parse(" 3 , 0 ").unwrap().resolve(4).unwrap(), vec![0, 3]);
        assert_eq!(
            parse("1..3,2,0..1").unwrap().resolve(4).unwrap(),
            vec![0, 1, 2, 3]
        );
        assert_eq!(parse("2..2,4").unwrap().resolve(5).unwrap(), vec![2, 4]);
        assert_eq!(parse("all").unwrap(), FitLayers::all());
        assert_eq!(FitLayers::all().resolve(3).unwrap(), vec![0, 1, 2]);
        assert_eq!(parse("0,2..5").unwrap().to_string(), "0,2..5");
        assert_eq!(FitLayers::all().to_string(), "all");
        assert_eq!(
            FitLayers::indices(&[4, 1, 4]).unwrap().resolve(5).unwrap(),
            vec![1, 4]
        );
    }

    #[test]
    fn bad_tokens_are_named() {
        for (spec, token) in [
            ("1,x", "x"),
            ("-1..", "-1.."),
            ("1...3", "1...3"),
            ("..3", "..3"),
            ("3..1", "3..1"),
            ("1,,2", ""),
            ("1.5", "1.5"),
            ("99999999999999999999999", "99999999999999999999999"),
        ] {
            match parse(spec) {
                Err(FitLayersError::BadToken { token: t, .. }) => assert_eq!(t, token, "{spec}"),
                other => panic!("{spec}: {other:?}"),
            }
        }
        let e = parse("3..1").unwrap_err().to_string();
        assert!(
            e.contains("`3..1`") && e.contains("before it starts"),
            "{e}"
        );
        assert_eq!(parse(" "), Err(FitLayersError::Empty));
        assert_eq!(FitLayers::indices(&[]), Err(FitLayersError::Empty));
    }

    #[test]
    fn out_of_range_and_too_few_layers_are_refused() {
        let e = parse("0,2..5").unwrap().resolve(4).unwrap_err();
        assert_eq!(
            e,
            FitLayersError::OutOfRange {
                token: "2..5".into(),
                index: 5,
                layers: 4
            }
        );
        assert!(e.to_string().contains("0..3"), "{e}");
        assert!(matches!(
            parse("7..").unwrap().resolve(4),
            Err(FitLayersError::OutOfRange { index: 7, .. })
        ));
        assert!(matches!(
            parse("6..9").unwrap().resolve(4),
            Err(FitLayersError::OutOfRange { index: 6, .. })
        ));
        let e = parse("3..").unwrap().resolve(4).unwrap_err();
        assert!(
            matches!(
                e,
                FitLayersError::TooFew {
                    selected: 1,
                    layers: 4,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("at least 2"), "{e}");
        assert!(matches!(
            FitLayers::all().resolve(1),
            Err(FitLayersError::TooFew { selected: 1, .. })
        ));
        assert!(parse("2,2").unwrap().resolve(4).is_err());
    }
}
