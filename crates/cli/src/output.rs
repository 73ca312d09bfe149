//! Printing: aligned tables and "label: value" blocks for people, JSON for
//! scripts. Nothing here decides what data means; it only lays it out.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

/// `println!` that returns an error instead of panicking when stdout is
/// closed early (`circles ... | head`).
macro_rules! say {
    () => {
        $crate::output::write_stdout("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Write text to stdout, reporting failures (a closed pipe) as errors.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).context("cannot write to stdout")?;
    out.flush().context("cannot write to stdout")?;
    Ok(())
}

/// Print any value as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    // Serialized first, so that a write error (a closed pipe) reaches the
    // caller as the io::Error it is rather than inside a serde_json error.
    let mut text = serde_json::to_string_pretty(value).context("cannot turn the result into JSON")?;
    text.push('\n');
    write_stdout(&text)
}

/// A table with a header row; columns are padded to their widest cell.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table { headers: headers.to_vec(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len(), "one cell per column");
        self.rows.push(cells);
    }

    /// The table as text, one line per row, no trailing spaces.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| self.rows.iter().map(|r| width(&r[i])).chain([width(self.headers[i])]).max().unwrap_or(0))
            .collect();
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (i, cell) in cells.enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                text.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(width(cell))));
            }
            text.trim_end().to_string()
        };
        let mut out = line(&mut self.headers.iter().copied());
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(&mut row.iter().map(String::as_str)));
            out.push('\n');
        }
        out
    }

    pub fn print(&self) -> Result<()> {
        write_stdout(&self.render())
    }
}

/// Display width of a cell. Counting characters is right for the Latin,
/// accented and Cyrillic names circles hold; wide (CJK) characters would
/// need a width table, which is not worth a dependency for a CLI listing.
fn width(s: &str) -> usize {
    s.chars().count()
}

/// Print "label: value" lines with the values aligned, skipping empty values
/// (a person reading a record does not need to see what is not there).
pub fn print_fields(fields: &[(&str, String)]) -> Result<()> {
    let shown: Vec<&(&str, String)> = fields.iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let label_width = shown.iter().map(|(l, _)| width(l) + 1).max().unwrap_or(0);
    for (label, value) in shown {
        let label = format!("{label}:");
        let mut lines = value.lines();
        say!("  {label:<label_width$}  {}", lines.next().unwrap_or_default())?;
        // Multi-line values (descriptions, notes) stay under their column.
        for more in lines {
            say!("  {:<label_width$}  {more}", "")?;
        }
    }
    Ok(())
}

/// A single line of text shortened to `max` characters with an ellipsis,
/// for table cells holding free text.
pub fn clip(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut short: String = one_line.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_trim_line_ends() {
        let mut t = Table::new(&["NAME", "ZONE"]);
        t.row(vec!["Círculo de Escrita".into(), "Europe/Lisbon".into()]);
        t.row(vec!["Python".into(), "".into()]);
        assert_eq!(t.render(), "NAME                ZONE\nCírculo de Escrita  Europe/Lisbon\nPython\n");
    }

    #[test]
    fn clip_keeps_short_text_and_shortens_long_text() {
        assert_eq!(clip("a  b\nc", 10), "a b c");
        assert_eq!(clip("abcdefghijk", 5), "abcd…");
    }
}
