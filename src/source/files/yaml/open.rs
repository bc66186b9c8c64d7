//! What a line of YAML leaves open for the lines after it: a quoted scalar, a flow
//! collection, a block scalar. A List is cut only at a line that nothing is open across,
//! which the whole document's parser then also reads as the start of an item or a key.
//!
//! Conservative by design: text that only looks like an opening (a quote in the middle of
//! a block scalar's text, say) may keep the cutter from cutting, never make it cut where
//! the document's parser would read on.

/// The state carried from line to line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Open {
    /// Inside a quoted scalar: its quote.
    quote: Option<u8>,
    /// Flow collections (`[`, `{`) not closed.
    flow: usize,
    /// Inside a block scalar (`|`, `>`): its lines are those indented more than this
    /// column, or blank.
    block: Option<usize>,
}

/// Bytes that may open or close something; a line without any leaves nothing open.
fn is_special(b: u8) -> bool {
    matches!(
        b,
        b'"' | b'\'' | b'[' | b']' | b'{' | b'}' | b'|' | b'>' | b'#'
    )
}

impl Open {
    /// Nothing open: a line may start an item or a key here.
    pub(super) fn is_closed(&self) -> bool {
        self.quote.is_none() && self.flow == 0 && self.block.is_none()
    }

    /// Nothing open across `line` (not blank, indented `spaces`): it starts a node of its
    /// own (it ends a block scalar indented more).
    pub(super) fn is_closed_before(&self, spaces: usize) -> bool {
        self.quote.is_none() && self.flow == 0 && self.block.is_none_or(|k| spaces <= k)
    }

    /// Reads one line (with its line end, if any).
    pub(super) fn line(&mut self, line: &[u8]) {
        let body = line.trim_ascii_end();
        let spaces = body.iter().take_while(|&&b| b == b' ').count();
        if let Some(column) = self.block {
            if spaces == body.len() || spaces > column {
                return;
            }
            self.block = None;
        }
        if self.is_closed() && !body.iter().any(|&b| is_special(b)) {
            return;
        }
        self.scan(body, spaces);
    }

    fn scan(&mut self, body: &[u8], spaces: usize) {
        // Where a node may start (so that a quote or bracket opens one), and the column of
        // the last block node begun on this line (a block scalar's lines are indented more).
        let mut node_start = self.quote.is_none();
        let mut node_column = spaces;
        let mut at = if self.quote.is_some() { 0 } else { spaces };
        while at < body.len() {
            let b = body[at];
            let next = body.get(at + 1).copied();
            if let Some(quote) = self.quote {
                if quote == b'"' && b == b'\\' {
                    at += 2;
                    continue;
                }
                if b == quote {
                    if quote == b'\'' && next == Some(b'\'') {
                        at += 2;
                        continue;
                    }
                    self.quote = None;
                    node_start = false;
                }
                at += 1;
                continue;
            }
            let ends = next.is_none_or(|n| n == b' ' || n == b'\t');
            match b {
                b' ' | b'\t' => {}
                b'#' if at == 0 || matches!(body[at - 1], b' ' | b'\t') => return,
                b'"' | b'\'' if node_start => {
                    self.quote = Some(b);
                    if self.flow == 0 {
                        node_column = at;
                    }
                }
                b'[' | b'{' if node_start || self.flow > 0 => {
                    self.flow += 1;
                    node_start = true;
                }
                b']' | b'}' if self.flow > 0 => {
                    self.flow -= 1;
                    node_start = false;
                }
                b',' if self.flow > 0 => node_start = true,
                b'|' | b'>' if node_start && self.flow == 0 => {
                    self.block = Some(node_column);
                    return;
                }
                b'-' | b'?' if node_start && self.flow == 0 && ends => node_column = at,
                // An anchor or a tag comes before its node, which may still open.
                b'&' | b'!' if node_start => {
                    while at + 1 < body.len() && !matches!(body[at + 1], b' ' | b'\t') {
                        at += 1;
                    }
                }
                b':' if ends || (self.flow > 0 && matches!(next, Some(b',' | b']' | b'}'))) => {
                    node_start = true;
                }
                _ => {
                    if node_start && self.flow == 0 {
                        node_column = at;
                    }
                    node_start = false;
                }
            }
            at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Open;

    fn after(text: &str) -> Open {
        let mut open = Open::default();
        for line in text.split_inclusive('\n') {
            open.line(line.as_bytes());
        }
        open
    }

    #[test]
    fn quotes_left_open_are_seen() {
        assert!(!after("a: \"text\n").is_closed());
        assert!(!after("- a: 'it''s\n").is_closed());
        assert!(!after("a: \"x \\\" y\n").is_closed());
        assert!(after("a: \"x \\\" y\"\n").is_closed());
        assert!(after("a: 'it''s'\nb: \"two\nlines\"\n").is_closed());
        // A quote inside plain text or a comment opens nothing.
        assert!(after("a: it's\nb: x\"y # \"z\n").is_closed());
        assert!(after("a: 1 # it's\n").is_closed());
        // A `#` inside quotes is no comment.
        assert!(!after("a: [\"x #\", 'y\n").is_closed());
        // Nor does an anchor or a tag before a quote hide it.
        assert!(!after("a: !!str \"x\n").is_closed());
        assert!(!after("- &a 'x\n").is_closed());
    }

    #[test]
    fn flow_collections_left_open_are_seen() {
        assert!(!after("a: [1,\n").is_closed());
        assert!(!after("a: {b: [1, 2], c: {\n").is_closed());
        assert!(after("a: {b: [1, 2], c: {}}\n").is_closed());
        assert!(after("a: [1,\n  2]\n").is_closed());
        // Brackets in plain text open nothing.
        assert!(after("a: x[1\n").is_closed());
    }

    #[test]
    fn a_block_scalar_holds_the_lines_indented_more_than_its_key() {
        let open = after("- a: |\n    \"text\n\n    [more\n");
        assert_eq!(open.block, Some(2));
        assert_eq!((open.quote, open.flow), (None, 0));
        // A line indented as its key ends it, and is read.
        assert!(!after("- a: |\n    text\n  b: \"open\n").is_closed());
        assert!(after("- a: >-\n    text\n  b: c\n").is_closed());
        assert_eq!(after("- |\n  text\n").block, Some(0));
        assert_eq!(after("  key: |+ # comment\n").block, Some(2));
    }
}
