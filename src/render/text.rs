//! Text that came from someone else (object names, annotations, event messages, file
//! contents) is shown with its control characters escaped: a crafted annotation must not
//! retitle the terminal, clear the screen or hide text. JSON and YAML stay exact; only what
//! reaches a terminal as text goes through here.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1) and every bidirectional-override
/// character written as a visible escape (`\x1b`, `\n`, `\u{202e}`).
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(escaped, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", c as u32);
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// `text` broken into lines of at most `width` characters at spaces, the first line after
/// `first`, the others after `indent`; a word longer than a line stays whole. For prose on
/// an 80-column page: callers escape first, and colour after.
pub fn wrap(text: &str, width: usize, first: &str, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > width {
            lines.push(std::mem::replace(&mut line, indent.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Characters that reorder what follows them on screen (the "Trojan Source" set).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_as_is() {
        assert!(matches!(
            escape_controls("team-a/web 10.0.0.1 ✓"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn prose_wraps_at_spaces_under_its_indent() {
        assert_eq!(
            wrap("one two three four", 12, "A: ", "   "),
            ["A: one two", "   three", "   four"]
        );
        assert_eq!(wrap("short", 80, "", "  "), ["short"]);
        assert_eq!(
            wrap("averyveryverylongword x", 8, "", " "),
            ["averyveryverylongword", " x"],
            "a word longer than the line stays whole"
        );
        for line in wrap(&"word ".repeat(60), 80, "Outcome:     ", "             ") {
            assert!(line.chars().count() <= 80, "{line}");
        }
    }

    #[test]
    fn every_control_is_made_visible() {
        assert_eq!(
            escape_controls("a\u{1b}]0;pwned\u{7}b\u{1b}[2Jc"),
            "a\\x1b]0;pwned\\x07b\\x1b[2Jc"
        );
        assert_eq!(escape_controls("x\ny\rz\t"), "x\\ny\\rz\\t");
        assert_eq!(escape_controls("\u{7f}\u{9b}"), "\\x7f\\u{9b}");
        assert_eq!(escape_controls("ab\u{202e}cd"), "ab\\u{202e}cd");
    }
}
