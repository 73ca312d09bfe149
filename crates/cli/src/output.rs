//! Printing: aligned tables and "label: value" blocks for people, JSON for
//! scripts. Nothing here decides what data means; it only lays it out.
//!
//! Everything the CLI prints goes through `write_stdout` or `write_stderr`
//! (or `write_data` for exports), which pass it through `terminal_safe`:
//! names and notes come from other laptops too, and must not be able to
//! drive the terminal (escape sequences) or disguise what is shown.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

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

/// Write text to stdout, made `terminal_safe`, reporting failures (a
/// closed pipe) as errors.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(terminal_safe(text).as_bytes()).context("cannot write to stdout")?;
    out.flush().context("cannot write to stdout")?;
    Ok(())
}

/// Write a line to stderr (errors, progress), made `terminal_safe`. A
/// failure to write there has nowhere to be reported, so it is ignored.
pub fn write_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", terminal_safe(line));
}

/// What an export written to stdout holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// JSON: always made `terminal_safe`, which keeps it valid and equal.
    Json,
    /// CSV or PDF: the bytes exactly as made for a file or a pipe.
    Bytes,
}

/// Write an export to stdout: JSON like every other output; other bytes
/// exactly as made, for a file or a pipe, unless a person is reading them
/// in a terminal, who gets them `terminal_safe`.
pub fn write_data(bytes: &[u8], data: Data) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if data == Data::Json || out.is_terminal() {
        out.write_all(terminal_safe(&String::from_utf8_lossy(bytes)).as_bytes()).context("cannot write to stdout")?;
    } else {
        out.write_all(bytes).context("cannot write to stdout")?;
    }
    out.flush().context("cannot write to stdout")?;
    Ok(())
}

/// Text made safe to show in a terminal: control characters (C0 other than
/// newline and tab, DEL, C1), which a terminal would obey (ESC starts
/// colours, cursor moves, title changes...), and the invisible characters
/// that reorder or hide the text after them (bidi marks, embeddings,
/// overrides and isolates; line and paragraph separators) are shown as
/// `\uXXXX` escapes instead. Those are JSON's escapes, so JSON passed
/// through here stays valid and means exactly the same.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe_for_terminal(c) {
            // Every such character is in the Basic Multilingual Plane, so
            // four digits always suffice.
            safe.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

fn is_unsafe_for_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061c}' // Arabic letter mark
                | '\u{200e}' | '\u{200f}' // left-to-right and right-to-left marks
                | '\u{202a}'..='\u{202e}' // embeddings and overrides
                | '\u{2066}'..='\u{2069}' // isolates
                | '\u{2028}' | '\u{2029}' // line and paragraph separators
        )
}

/// The last `count` characters of `text` (never a cut character): the
/// distinctive end of an id, whatever characters it holds.
pub fn last_chars(text: &str, count: usize) -> String {
    let skip = text.chars().count().saturating_sub(count);
    text.chars().skip(skip).collect()
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
        // Made safe here, not only when printed, so columns are padded to
        // the width the escapes will take.
        self.rows.push(cells.into_iter().map(|cell| terminal_safe(&cell).into_owned()).collect());
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
    fn terminal_safe_escapes_controls_and_bidi_but_keeps_text_and_lines() {
        assert!(matches!(terminal_safe("Ana Souza\nCírculo 🙂\tdone"), Cow::Borrowed(_)));
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\rDEL\u{7f} C1\u{9b}31m \u{202e}gnp.exe \u{2066}x\u{2069} \u{200f}";
        let safe = terminal_safe(hostile);
        assert_eq!(
            safe,
            "\\u001b]0;pwned\\u0007\\u001b[2J\\u000dDEL\\u007f C1\\u009b31m \\u202egnp.exe \\u2066x\\u2069 \\u200f"
        );
        assert!(!safe.chars().any(is_unsafe_for_terminal));
        assert_eq!(terminal_safe(&safe), safe, "escaping twice changes nothing");
    }

    #[test]
    fn json_through_terminal_safe_means_the_same() {
        let value = serde_json::json!({ "name": "\u{1b}[31mred\u{7f}\u{85}\u{202e}txt\u{2028}", "n": -1 });
        let text = serde_json::to_string_pretty(&value).unwrap();
        let safe = terminal_safe(&text);
        assert!(!safe.chars().any(is_unsafe_for_terminal), "{safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), value);
    }

    #[test]
    fn tables_pad_escaped_cells_to_their_shown_width() {
        let mut t = Table::new(&["NAME", "ID"]);
        t.row(vec!["a\u{1b}b".into(), "1".into()]);
        t.row(vec!["plain".into(), "2".into()]);
        assert_eq!(t.render(), "NAME      ID\na\\u001bb  1\nplain     2\n");
    }

    #[test]
    fn last_chars_never_cuts_a_character() {
        assert_eq!(last_chars("0190-abcdef12", 8), "abcdef12");
        assert_eq!(last_chars("é🙂", 8), "é🙂");
        assert_eq!(last_chars("ñandú-é🙂-row-9", 4), "ow-9");
        assert_eq!(last_chars("ab🙂é", 2), "🙂é");
    }

    #[test]
    fn clip_keeps_short_text_and_shortens_long_text() {
        assert_eq!(clip("a  b\nc", 10), "a b c");
        assert_eq!(clip("abcdefghijk", 5), "abcd…");
    }
}
