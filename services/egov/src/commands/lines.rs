//! Reading JSON Lines files for the import commands: numbered lines, blank lines and `#`
//! comments skipped, and the progress bar (shown only when stderr is a terminal).

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One line that holds a message: its number in the file (from 1) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub text: String,
}

/// The message lines of a file, numbered as in the file.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    number: usize,
    skipped: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            number: 0,
            skipped: 0,
            buf: Vec::new(),
        }
    }

    /// Blank and comment lines passed so far.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The next line with content; a line that is not UTF-8 is returned with its bytes
    /// replaced, so it is rejected by number like any other bad line.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.number += 1;
            let text = String::from_utf8_lossy(&self.buf);
            let text = text.trim();
            if is_skipped(text) {
                self.skipped += 1;
                continue;
            }
            return Ok(Some(Line {
                number: self.number,
                text: text.to_owned(),
            }));
        }
    }
}

fn is_skipped(text: &str) -> bool {
    text.is_empty() || text.starts_with('#')
}

/// Opens a file for reading, with its name in the error.
pub fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(BufReader::with_capacity(1 << 16, file))
}

/// A progress bar of `total` items on stderr, hidden when stderr is not a terminal (logs,
/// pipes, tests).
pub fn progress_bar(total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template =
        format!("{{bar:40.cyan/blue}} {{pos}}/{{len}} {unit} ({{rate}}, {{eta}} left) {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        let style = style
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            )
            .progress_chars("=> ");
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The `event_id` (or `eventId`) of a JSON object that is not a valid message, for the
/// report.
pub fn event_id_of(value: &serde_json::Value) -> Option<String> {
    ["event_id", "eventId"]
        .iter()
        .find_map(|k| value.get(k)?.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_comment_lines_are_skipped_and_numbers_kept() {
        let text = "# header\n\n{\"a\":1}\n   \n  {\"b\":2}  \n# end";
        let mut lines = Lines::new(text.as_bytes());
        let first = lines.next_line().unwrap().unwrap();
        assert_eq!((first.number, first.text.as_str()), (3, "{\"a\":1}"));
        let second = lines.next_line().unwrap().unwrap();
        assert_eq!((second.number, second.text.as_str()), (5, "{\"b\":2}"));
        assert!(lines.next_line().unwrap().is_none());
        assert_eq!(lines.skipped(), 4);
    }
}
