//! Writing reports: JSON files, stdout JSON and aligned text tables.

use std::path::Path;

use serde::Serialize;

use crate::error::CliError;

/// Serialises `value` as pretty JSON into `path`.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).expect("report types serialise to JSON");
    std::fs::write(path, text + "\n").map_err(|source| CliError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `text` into `path` as it is (e.g. a CSV file).
pub fn write_text(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Prints `value` as one pretty JSON object on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("report types serialise to JSON")
    );
}

/// Creates the output directory (and parents).
pub fn create_dir(path: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(path).map_err(|source| CliError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A plain-text table with a header row, right-aligned numeric columns.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends one row (as many cells as the header).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table with two spaces between columns.
    pub fn render(&self) -> String {
        let ncol = self.header.len();
        let mut width = vec![0usize; ncol];
        for r in std::iter::once(&self.header).chain(self.rows.iter()) {
            for (j, c) in r.iter().enumerate().take(ncol) {
                width[j] = width[j].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for (i, r) in std::iter::once(&self.header)
            .chain(self.rows.iter())
            .enumerate()
        {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .take(ncol)
                .map(|(j, c)| {
                    if j == 0 {
                        format!("{c:<w$}", w = width[j])
                    } else {
                        format!("{c:>w$}", w = width[j])
                    }
                })
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
            if i == 0 {
                let total = width.iter().sum::<usize>() + 2 * ncol.saturating_sub(1);
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        out
    }
}

/// Formats a number for tables: 4 significant digits, scientific when very small or large.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

/// Formats an optional number ("n/a" when absent).
pub fn fmt_opt(x: Option<f64>) -> String {
    x.map(fmt_num).unwrap_or_else(|| "n/a".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&["layer", "D"]);
        t.row(vec!["input".into(), "12.5".into()]);
        t.row(vec!["block10".into(), "0.3".into()]);
        let s = t.render();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[2], "input    12.5");
        assert_eq!(lines[3], "block10   0.3");
    }

    #[test]
    fn numbers_format_compactly() {
        assert_eq!(fmt_num(0.5), "0.5000");
        assert_eq!(fmt_num(1.5e-7), "1.500e-7");
        assert_eq!(fmt_opt(None), "n/a");
    }
}
