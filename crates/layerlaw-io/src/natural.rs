//! Numeric-aware ordering of array keys, so `layer2` sorts before `layer10`.

use std::cmp::Ordering;

/// Compares two keys "naturally": maximal runs of ASCII digits compare as numbers
/// (`"layer2" < "layer10"`, `"block.3.relu" < "block.12.relu"`), everything else byte-wise.
///
/// Numbers of any length are compared without overflow (leading zeros stripped, then by length,
/// then digit by digit). When two keys are equal under this rule (e.g. `"a01"` vs `"a1"`), the
/// plain byte order decides, so this is a total order consistent with `==`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(cx), Some(cy)) if cx.is_ascii_digit() && cy.is_ascii_digit() => {
                let (nx, rx) = split_digits(x);
                let (ny, ry) = split_digits(y);
                let ord = compare_numbers(nx, ny);
                if ord != Ordering::Equal {
                    return ord;
                }
                x = rx;
                y = ry;
            }
            (Some(cx), Some(cy)) => {
                if cx != cy {
                    return cx.cmp(cy);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// Splits off the leading run of ASCII digits.
fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Compares two digit strings as unbounded non-negative integers.
fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &[u8]| -> usize { s.iter().position(|&c| c != b'0').unwrap_or(s.len()) };
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use std::cmp::Ordering::*;

    #[test]
    fn numeric_runs_compare_as_numbers() {
        assert_eq!(natural_cmp("layer2", "layer10"), Less);
        assert_eq!(natural_cmp("block.3.relu", "block.12.relu"), Less);
        assert_eq!(natural_cmp("block.12.relu", "block.3.relu"), Greater);
        assert_eq!(natural_cmp("layer10", "layer10"), Equal);
        assert_eq!(
            natural_cmp("a99999999999999999999999", "a100000000000000000000000"),
            Less
        );
        assert_eq!(natural_cmp("layer", "layer0"), Less);
        assert_eq!(natural_cmp("a01", "a1"), Less); // tie broken by bytes, never Equal
        assert_eq!(natural_cmp("x1y", "x1z"), Less);
    }

    #[test]
    fn sorting_gives_natural_order() {
        let mut keys = vec!["layer10", "labels", "layer2", "layer1", "fc", "layer0"];
        keys.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            keys,
            ["fc", "labels", "layer0", "layer1", "layer2", "layer10"]
        );
    }
}
