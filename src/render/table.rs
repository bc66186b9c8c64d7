//! kubectl's table look: UPPERCASE headers, no borders, columns three spaces apart. Every
//! cell's text is escaped ([`escape_controls`]) before any colour of ours is put around it.

use owo_colors::OwoColorize;
use tabled::builder::Builder;
use tabled::settings::{Padding, Style};

use super::text::escape_controls;

/// How a cell is coloured on a terminal that shows colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tone {
    #[default]
    Plain,
    Good,
    Warn,
    Bad,
}

/// One cell: text, and the tone it is shown in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Tone {
    /// `text` as shown: escaped, then coloured when `color`.
    pub fn show(self, text: &str, color: bool) -> String {
        let text = escape_controls(text);
        match (color, self) {
            (false, _) | (true, Tone::Plain) => text.into_owned(),
            (true, Tone::Good) => text.green().to_string(),
            (true, Tone::Warn) => text.yellow().to_string(),
            (true, Tone::Bad) => text.red().to_string(),
        }
    }
}

impl Cell {
    pub fn toned(text: impl Into<String>, tone: Tone) -> Cell {
        Cell {
            text: text.into(),
            tone,
        }
    }

    fn shown(&self, color: bool) -> String {
        self.tone.show(&self.text, color)
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell {
            text,
            tone: Tone::Plain,
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

/// A list in a default table's cell: its first item and how many more (`10.0.0.0/24,+3 more`);
/// `-o wide` and JSON give the list whole.
pub fn shortened(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [first, rest @ ..] => format!("{first},+{} more", rest.len()),
    }
}

/// Whether a cell's text is a list [`shortened`] to its first item.
pub fn is_shortened(text: &str) -> bool {
    text.rsplit_once(",+").is_some_and(|(_, tail)| {
        tail.strip_suffix(" more")
            .is_some_and(|n| n.parse::<usize>().is_ok())
    })
}

/// [`layout`] as the view asks: without the header line for `--no-headers`.
pub fn layout_view(headers: &[&str], rows: Vec<Vec<Cell>>, view: &super::View) -> String {
    let text = layout(headers, rows, view.color);
    if view.no_headers {
        return text
            .split_once('\n')
            .map_or(String::new(), |(_, rest)| rest.to_string());
    }
    text
}

/// Lays out `rows` under `headers`.
pub fn layout(headers: &[&str], rows: Vec<Vec<Cell>>, color: bool) -> String {
    let mut builder = Builder::default();
    builder.push_record(headers.iter().map(|h| h.to_string()));
    for row in rows {
        builder.push_record(row.iter().map(|cell| cell.shown(color)));
    }
    let mut table = builder.build();
    table.with(Style::empty()).with(Padding::new(0, 3, 0, 0));
    let mut text = String::new();
    for line in table.to_string().lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_three_spaces_apart_without_trailing_space() {
        let text = layout(
            &["NAME", "USED"],
            vec![
                vec!["public-ips".into(), "3".into()],
                vec!["a".into(), "10".into()],
            ],
            false,
        );
        assert_eq!(text, "NAME         USED\npublic-ips   3\na            10\n");
    }

    #[test]
    fn long_lists_are_shortened_with_a_count() {
        let list =
            |items: &[&str]| shortened(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(list(&[]), "");
        assert_eq!(list(&["10.0.0.0/24"]), "10.0.0.0/24");
        assert_eq!(list(&["10.0.0.0/24", "a", "b", "c"]), "10.0.0.0/24,+3 more");
        assert!(is_shortened("10.0.0.0/24,+3 more"));
        assert!(!is_shortened("10.0.0.0/24,10.0.1.0/24"));
    }

    #[test]
    fn cells_are_escaped_before_they_are_coloured() {
        let text = layout(
            &["NAME"],
            vec![vec![Cell::toned("x\u{1b}[2J", Tone::Bad)]],
            true,
        );
        assert!(text.contains("\u{1b}[31mx\\x1b[2J\u{1b}[39m"), "{text:?}");
    }
}
