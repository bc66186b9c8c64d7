//! YAML input: multi-document files and `kind: List`, read over a fast event parser.
//!
//! The input is cut into documents at their `---` and `...` lines (a YAML document marker
//! cannot occur inside a document), so only one document is held at a time. A document whose
//! `kind:` and `apiVersion:` lines at its root name a kind the plugin skips is dropped as it
//! is cut, never parsed. The others are parsed into events: of each object (the document,
//! or each item of a List) only the fields the plugin may read are recorded, with their
//! lines; those are then built into a small tree and typed. Everything else (a skipped
//! kind's body, fields no read kind has) is passed over event by event, without building
//! anything and without a limit on its nesting.
//!
//! Documents are gathered into batches of about [`BATCH_BYTES`], parsed and typed on two
//! worker threads while the input is cut (see `pipeline`); what they make is handed on in
//! input order. A List's items are cut apart the same way, at their `- ` lines, when
//! nothing can tie one item to another or make the cut read differently from the whole
//! (see [`Cutter::cut_line`]): a List is then held a few batches at a time, not whole.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;

use granit_parser::{Event, Options, Parser, ScalarStyle, ScanError, Span, StrInput};
use serde_json::{Map, Number, Value};

use super::input::Input;
use super::{
    Found, Kind, MAX_DEPTH, Mistyped, NOT_AN_OBJECT, Object, PendingItems, READ_FIELDS, Sink, Step,
    describe, field_error, typed_object,
};
use crate::error::Error;
use open::Open;
use pipeline::{Parsed, Pipeline, Work};

/// The most events aliases may expand to in one document: far more than any manifest
/// needs, far less than an alias bomb (a few lines that expand to millions of nodes).
const MAX_ALIAS_EVENTS: usize = 100_000;

/// How much text is gathered (whole documents, or whole items of a List) before it is
/// parsed. Tests use small batches, so that small inputs cross many.
const BATCH_BYTES: usize = if cfg!(test) { 1 << 12 } else { 1 << 20 };

mod open;
mod pipeline;

const TOO_MANY_ALIASES: &str =
    "anchors and aliases (&name, *name, <<) expand to more than this reader accepts";

/// Reads every document of `input`, handing each object to `found`, in input order:
/// batches of documents (and of a List's items) are parsed on worker threads while the
/// input is cut.
pub(super) fn read<R: Read>(
    input: &mut Input<R>,
    name: &str,
    found: &mut dyn Sink,
) -> Result<(), Error> {
    std::thread::scope(|scope| {
        let mut sink = Pipeline::new(scope, name, parse_batch, document, found);
        let cut = cut_input(input, &mut sink);
        // What was sent before a failure comes first, as a one-thread reading would say.
        let handed = sink.finish();
        handed.and(cut)
    })
}

/// Cuts `input` into batches for `sink`, line by line.
fn cut_input<R: Read>(input: &mut Input<R>, sink: &mut Pipeline) -> Result<(), Error> {
    let mut cutter = Cutter::new(1);
    loop {
        let rest = input.rest();
        let Some(newline) = memchr::memchr(b'\n', rest) else {
            if input.refill()? {
                continue;
            }
            // The last line, without its newline.
            let last = input.rest().to_vec();
            input.pos += last.len();
            if !last.is_empty() {
                cutter.line(&last, sink)?;
            }
            cutter.end_document(sink, false)?;
            return cutter.flush(sink, true, false);
        };
        let len = newline + 1;
        cutter.line(&rest[..len], sink)?;
        input.pos += len;
    }
}

/// Parses one batch of text (on a worker thread).
fn parse_batch(text: &str, first_line: usize, name: &str, work: Work) -> Parsed {
    let mut found = Vec::new();
    let result = match work {
        Work::Documents => document(
            text,
            first_line,
            name,
            PendingItems::default(),
            &mut |object| {
                found.push(Ok(object));
                Ok(())
            },
        ),
        Work::Items => Events::new(text, first_line, name).item_stream(&mut found),
    };
    Parsed {
        found,
        error: result.err(),
    }
}

/// The text of whole lines, which the input has checked to be UTF-8.
fn as_text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Whole lines, as text to send.
fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

/// A line with something of the document on it.
fn is_content(line: &[u8]) -> bool {
    let text = line.trim_ascii_start();
    !(text.is_empty()
        || text.starts_with(b"#")
        || is_marker(line, b"---")
        || is_marker(line, b"..."))
}

/// How many lines the parser reads in `line` (one line for the cutter): a CR not followed
/// by LF breaks a line in YAML too.
fn line_breaks(line: &[u8]) -> usize {
    let lone = memchr::memchr_iter(b'\r', line)
        .filter(|&at| line.get(at + 1) != Some(&b'\n'))
        .count();
    1 + lone
}

/// A line that is a document marker: `---` or `...` followed by white space or nothing.
fn is_marker(line: &[u8], marker: &[u8]) -> bool {
    line.starts_with(marker) && line.get(3).is_none_or(|b| b.is_ascii_whitespace())
}

/// Cuts the input into documents, line by line, keeping of each only what may be read.
struct Cutter {
    /// The first line of `text`, and the line being read (1-based).
    start: usize,
    next: usize,
    /// The documents gathered and not yet parsed: their lines, but those of a root field no
    /// kind reads (a ConfigMap's `data`), kept as empty lines so that lines keep their
    /// numbers (unless one may hold an anchor: see [`Cutter::end_unread`]), and those of a
    /// document of a skipped kind, left out.
    text: Vec<u8>,
    /// The current document's first line and where it starts in `text`.
    doc_start: usize,
    doc_offset: usize,
    /// The document's root `kind:` and `apiVersion:`, from lines at column 0.
    kind: Option<String>,
    api_version: Option<String>,
    /// The document is of a kind the plugin skips: its lines are dropped as they come.
    skipping: bool,
    /// Whether the skipped document was handed on (for a note on its kind).
    told: bool,
    /// The document's first line that is neither blank, a comment nor a marker.
    first_content: Option<usize>,
    /// The root is a block mapping (its first content is a `key:` at column 0).
    block_root: bool,
    /// The lines being read belong to a root field no kind reads.
    in_unread: bool,
    /// The lines of that field (kept until it ends), and whether one may hold an anchor.
    unread: Vec<u8>,
    unread_lines: usize,
    unread_anchor: bool,
    /// The input had a directive (`%YAML`, `%TAG`), which may change what a tag means in
    /// a whole document: its Lists are not cut.
    directive: bool,
    /// The document's first root `items:` line was read (only it may be cut).
    items_seen: bool,
    /// Where the document is in cutting its root `items:` apart.
    cut: Cut,
    /// What the lines read so far leave open (until the items, and inside them).
    open: Open,
}

/// The cutting of a List's items, each starting with `- ` at one column, into batches
/// of whole items parsed on their own (see [`Cutter::cut_line`]).
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    /// Not (or no longer) cutting.
    No,
    /// A root `items:` line with nothing after it was read: the first item decides.
    Awaiting,
    /// Inside the items, which start with `- ` at column `dash`: `batch` holds the items
    /// not sent yet, from line `first`, `lines` lines; `sent`: some were sent before.
    Items {
        dash: usize,
        batch: Vec<u8>,
        first: usize,
        lines: usize,
        sent: bool,
    },
    /// The items were cut (some of them, or none, then the cutting stopped: the rest
    /// was left to the document): the document is read once they are in.
    Sent,
    Stopped,
}

impl Cutter {
    fn new(start: usize) -> Cutter {
        Cutter {
            start,
            next: start,
            text: Vec::new(),
            doc_start: start,
            doc_offset: 0,
            kind: None,
            api_version: None,
            skipping: false,
            told: false,
            first_content: None,
            block_root: false,
            in_unread: false,
            unread: Vec::new(),
            unread_lines: 0,
            unread_anchor: false,
            directive: false,
            items_seen: false,
            cut: Cut::No,
            open: Open::default(),
        }
    }

    fn line(&mut self, line: &[u8], sink: &mut Pipeline) -> Result<(), Error> {
        if is_marker(line, b"---") && self.next > self.doc_start {
            // This line starts the next document: the one before ends here.
            self.end_document(sink, true)?;
        }
        if matches!(self.cut, Cut::Awaiting | Cut::Items { .. }) && self.cut_line(line, sink)? {
            self.next += 1;
            return Ok(());
        }
        if self.first_content.is_none() && is_content(line) {
            self.first_content = Some(self.next);
            self.block_root = line.first().is_some_and(u8::is_ascii_alphabetic);
        }
        self.root_line(line, sink.name())?;
        if self.skipping && !self.told {
            self.told = true;
            // The documents before this one are read now; of this one nothing is kept.
            let marker = is_marker(&self.text[self.doc_offset..], b"---");
            self.text.truncate(self.doc_offset);
            self.drop_unread();
            self.flush(sink, false, marker)?;
            if matches!(self.cut, Cut::Sent | Cut::Stopped) {
                self.cut = Cut::No;
                sink.drop_held()?;
            }
            let first = self.first_content.unwrap_or(self.next);
            sink.ready(Found::skipped(
                self.kind.as_deref(),
                self.api_version.as_deref(),
                first,
            ))?;
        }
        if !self.skipping {
            if self.text.is_empty() {
                self.start = self.next;
            }
            if self.block_root && line.first().is_some_and(|b| !b" \t\r\n#-".contains(b)) {
                self.end_unread();
                self.in_unread = is_unread_block(line);
            }
            if self.in_unread {
                self.text.push(b'\n');
                self.unread.extend_from_slice(line);
                self.unread_lines += 1;
                self.unread_anchor |= has_anchor_or_alias(line);
            } else {
                self.text.extend_from_slice(line);
                self.watch_for_items(line);
            }
        }
        self.next += line_breaks(line);
        if is_marker(line, b"...") {
            self.end_document(sink, false)?;
        }
        Ok(())
    }

    /// Notes a directive, and the document's first root `items:` line: its items may be
    /// cut when the document's lines before it (as `text` keeps them) hold no anchor or
    /// alias and leave nothing open. Those lines are read only then: most documents have
    /// no `items`.
    fn watch_for_items(&mut self, line: &[u8]) {
        if line.first() == Some(&b'%') {
            self.directive = true;
        }
        if self.items_seen
            || !self.block_root
            || !line.starts_with(b"items:")
            || !line[b"items:".len()..].trim_ascii().is_empty()
        {
            return;
        }
        self.items_seen = true;
        if self.directive || !may_cut() {
            return;
        }
        // `line` is the last in `text`.
        let before = &self.text[self.doc_offset..self.text.len() - line.len()];
        let mut open = Open::default();
        for line in before.split_inclusive(|&b| b == b'\n') {
            if has_anchor_or_alias(line) {
                return;
            }
            open.line(line);
        }
        if open.is_closed_before(0) {
            self.open = Open::default();
            self.cut = Cut::Awaiting;
        }
    }

    /// A line after a root `items:` line, while cutting; `true` when the line went into
    /// a batch of items, `false` when it is the document's.
    ///
    /// An item starts with `- ` at the items' column followed by a plain key, and goes on
    /// while its lines are indented more (or blank, or comments); a line at column 0 ends
    /// the items. Those are the lines the whole document's parser gives the item, so each
    /// batch of whole items parses as that parser would parse them. Whatever is not
    /// plainly so (an anchor or alias, which may tie items together; a quoted scalar,
    /// flow collection or block scalar open across the line (see [`Open`]); a tab where
    /// the items' indentation is; an item of another form; a line less indented than the
    /// items but not at column 0, or between an item's `-` and its keys; a lone CR) stops
    /// the cutting: the items not sent yet, and the rest, are left to the document, which
    /// is then read whole as before.
    fn cut_line(&mut self, line: &[u8], sink: &mut Pipeline) -> Result<bool, Error> {
        let spaces = line.iter().take_while(|&&b| b == b' ').count();
        let rest = &line[spaces..];
        let blank = rest.trim_ascii().is_empty();
        if line_breaks(line) > 1 {
            // A lone CR breaks the line for the parser, not for the cutter.
            if self.cut == Cut::Awaiting {
                self.cut = Cut::No;
            } else {
                self.stop_cutting();
            }
            return Ok(false);
        }
        if self.cut == Cut::Awaiting {
            if blank || rest.starts_with(b"#") {
                return Ok(false);
            }
            if !is_plain_item(rest) || has_anchor_or_alias(line) || !self.open.is_closed() {
                self.cut = Cut::No;
                return Ok(false);
            }
            self.start_items(spaces, line, sink)?;
            return Ok(true);
        }
        let Cut::Items { dash, .. } = self.cut else {
            return Ok(false);
        };
        let tabbed = rest.first() == Some(&b'\t');
        let comment = rest.starts_with(b"#");
        let inside = blank || spaces > dash || comment;
        if inside {
            // A line between the `-` and its item's keys ends the item's mapping: the
            // whole document's parser then tells it in the words of the List's root.
            let between = spaces == dash + 1 && !blank && !comment;
            if between || has_anchor_or_alias(line) {
                self.stop_cutting();
                return Ok(false);
            }
            self.add_to_batch(line);
            return Ok(true);
        }
        // A line that starts a node of the items' sequence or of the root, unless
        // something is open across it.
        if !self.open.is_closed_before(spaces) {
            self.stop_cutting();
            return Ok(false);
        }
        if spaces == dash && is_plain_item(rest) && !has_anchor_or_alias(line) {
            if self.batch_len() >= BATCH_BYTES {
                self.send_items(sink)?;
            }
            self.add_to_batch(line);
            return Ok(true);
        }
        if spaces == 0 && !tabbed && !rest.starts_with(b"-") {
            // A root key: the items end here.
            self.end_items(sink)?;
            return Ok(false);
        }
        self.stop_cutting();
        Ok(false)
    }

    /// The first item: the documents before this one are sent, so that the items come
    /// after them.
    fn start_items(&mut self, dash: usize, line: &[u8], sink: &mut Pipeline) -> Result<(), Error> {
        let document = self.text.split_off(self.doc_offset);
        self.flush(sink, false, is_marker(&document, b"---"))?;
        self.text = document;
        self.start = self.doc_start;
        self.cut = Cut::Items {
            dash,
            batch: line.to_vec(),
            first: self.next,
            lines: 1,
            sent: false,
        };
        Ok(())
    }

    fn add_to_batch(&mut self, line: &[u8]) {
        self.open.line(line);
        if let Cut::Items { batch, lines, .. } = &mut self.cut {
            batch.extend_from_slice(line);
            *lines += 1;
        }
    }

    fn batch_len(&self) -> usize {
        match &self.cut {
            Cut::Items { batch, .. } => batch.len(),
            _ => 0,
        }
    }

    /// Sends the items gathered; the document keeps an empty line for each of their lines.
    fn send_items(&mut self, sink: &mut Pipeline) -> Result<(), Error> {
        let Cut::Items {
            batch,
            first,
            lines,
            sent,
            ..
        } = &mut self.cut
        else {
            return Ok(());
        };
        *sent = true;
        let batch = std::mem::take(batch);
        let batch_first = *first;
        self.text.resize(self.text.len() + *lines, b'\n');
        *first += *lines;
        *lines = 0;
        if batch.is_empty() {
            return Ok(());
        }
        sink.parse(into_text(batch), batch_first, Work::Items, false)
    }

    /// The items end: the last are sent, unless none were: items that fit in one batch
    /// are left to the document (a small List is read whole, on this thread).
    /// Items left open (a quote, a flow collection) are left to the document too: what
    /// ends them there (a document marker, the input's end) is what the parser says.
    fn end_items(&mut self, sink: &mut Pipeline) -> Result<(), Error> {
        let open = !self.open.is_closed_before(0);
        match self.cut {
            Cut::Items { sent, .. } if open || !sent => self.stop_cutting(),
            Cut::Items { sent: true, .. } => {
                self.send_items(sink)?;
                self.cut = Cut::Sent;
            }
            _ => {}
        }
        Ok(())
    }

    /// Leaves the items not sent yet, and the lines after them, to the document.
    fn stop_cutting(&mut self) {
        if let Cut::Items { batch, .. } = &self.cut {
            self.text.extend_from_slice(batch);
        }
        self.cut = Cut::Stopped;
    }

    /// Ends a document: the next starts on the next line (`marker`: with its `---`).
    /// Documents are parsed a batch at a time (a parser costs something to start, and many
    /// documents are small).
    fn end_document(&mut self, sink: &mut Pipeline, marker: bool) -> Result<(), Error> {
        self.end_unread();
        self.end_items(sink)?;
        if matches!(self.cut, Cut::Sent | Cut::Stopped) {
            // The List's document: its items, sent before it, are read with it.
            let mut document = into_text(std::mem::take(&mut self.text));
            if marker {
                document.push_str(NEXT_DOCUMENT);
            }
            sink.list_root(document, self.start)?;
            self.doc_offset = 0;
        }
        self.doc_start = self.next;
        self.kind = None;
        self.api_version = None;
        self.skipping = false;
        self.told = false;
        self.first_content = None;
        self.block_root = false;
        self.in_unread = false;
        self.items_seen = false;
        self.cut = Cut::No;
        self.open = Open::default();
        if self.text.len() >= BATCH_BYTES {
            self.flush(sink, false, marker)?;
        }
        self.doc_offset = self.text.len();
        Ok(())
    }

    /// A root field no kind reads ends. When one of its lines may hold an anchor, which a
    /// node read later may name, its lines (the last in `text`, as empty lines) are put
    /// back for the parser.
    fn end_unread(&mut self) {
        if self.unread_anchor {
            self.text.truncate(self.text.len() - self.unread_lines);
            self.text.extend_from_slice(&self.unread);
        }
        self.drop_unread();
    }

    fn drop_unread(&mut self) {
        self.unread.clear();
        self.unread_lines = 0;
        self.unread_anchor = false;
    }

    /// Sends the documents gathered so far (`last`: the input ends with them; `marker`:
    /// the next document starts with a `---` line).
    fn flush(&mut self, sink: &mut Pipeline, last: bool, marker: bool) -> Result<(), Error> {
        if !self.text.is_empty() {
            let mut text = into_text(std::mem::take(&mut self.text));
            if marker {
                text.push_str(NEXT_DOCUMENT);
            }
            sink.parse(text, self.start, Work::Documents, last)?;
        }
        self.doc_offset = 0;
        Ok(())
    }

    /// Notes a root `kind:` or `apiVersion:` line; once both name a kind the plugin skips
    /// (and not a List), the document is skipped. A second one means two objects without
    /// a `---` between them, which is said here as the parser would have.
    fn root_line(&mut self, line: &[u8], name: &str) -> Result<(), Error> {
        let (key, slot) = if line.starts_with(b"kind:") {
            ("kind", &mut self.kind)
        } else if line.starts_with(b"apiVersion:") {
            ("apiVersion", &mut self.api_version)
        } else {
            return Ok(());
        };
        if slot.is_some() {
            if self.skipping {
                return Err(Error::input(
                    format!("{name}:{}:1", self.next),
                    duplicate_key(key),
                ));
            }
            // The parser tells it, with the rest of the document.
            self.kind = None;
            self.api_version = None;
            return Ok(());
        }
        *slot = plain_word(&line[key.len() + 1..]).map(str::to_string);
        if let (Some(kind), Some(api_version)) = (&self.kind, &self.api_version) {
            self.skipping = !kind.ends_with("List") && Kind::of(kind, api_version).is_none();
        }
        Ok(())
    }
}

/// Ends the text of a batch cut before a `---` line: a quote or flow collection left open
/// at the batch's end meets that marker, as in the whole input, not the end of the text
/// (which the parser tells otherwise). It starts an empty document, which reads as nothing.
const NEXT_DOCUMENT: &str = "---\n";

/// Whether Lists may be cut: always, but in tests that compare with a List read whole.
#[cfg(not(test))]
fn may_cut() -> bool {
    true
}

#[cfg(test)]
thread_local! {
    static CUT_OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn may_cut() -> bool {
    !CUT_OFF.with(std::cell::Cell::get)
}

/// An item's first line (from its `-`): `- ` and a plain `key:`, as kubectl writes them.
fn is_plain_item(rest: &[u8]) -> bool {
    let Some(after) = rest.strip_prefix(b"- ") else {
        return false;
    };
    if !after.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let key = after
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
        .count();
    after[key..].starts_with(b":")
        && after
            .get(key + 1)
            .is_none_or(|b| matches!(b, b' ' | b'\r' | b'\n'))
}

/// Whether a line may hold an anchor (`&name`) or an alias (`*name`, `<<: *name`): a `&`
/// or `*` where a node may start, followed by a name. Text that only looks so (inside
/// quotes) counts too: that only stops a cut.
fn has_anchor_or_alias(line: &[u8]) -> bool {
    memchr::memchr2_iter(b'&', b'*', line).any(|at| {
        let starts_node = at == 0 || matches!(line[at - 1], b' ' | b'\t' | b'[' | b'{' | b',');
        starts_node && line.get(at + 1).is_some_and(|b| !b.is_ascii_whitespace())
    })
}

/// A root `key:` line whose value is a block below it (or a block scalar, `|`, `>`), of
/// a field no kind reads: its lines need not be parsed at all.
fn is_unread_block(line: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', line) else {
        return false;
    };
    let key = as_text(&line[..colon]).trim_end().trim_matches(['"', '\'']);
    let value = as_text(&line[colon + 1..]).trim();
    let value = value.split(" #").next().unwrap_or("").trim();
    let block = value.is_empty()
        || (value.starts_with(['|', '>'])
            && value[1..]
                .chars()
                .all(|c| matches!(c, '+' | '-' | '0'..='9')));
    block && key != "items" && !READ_FIELDS.contains(&key)
}

/// The value of a `key: value` line when it is one plain word (`ConfigMap`, `v1`,
/// `apps/v1`), perhaps followed by a comment; `None` for anything else, which the parser
/// then reads.
fn plain_word(rest: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(rest).ok()?;
    let text = text.trim_start_matches([' ', '\t']);
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_')))
        .unwrap_or(text.len());
    let (word, after) = text.split_at(end);
    let after = after.trim_start_matches([' ', '\t']);
    let ends = after.is_empty() || after.starts_with('#') || after == "\n" || after == "\r\n";
    (!word.is_empty() && ends).then_some(word)
}

/// One event kept for an object, with its line in the file.
#[derive(Clone, Debug)]
enum Ev<'a> {
    /// A scalar, and whether it is text whatever it looks like (quoted, a block, `!!str`).
    Scalar(Cow<'a, str>, bool),
    MapStart,
    MapEnd,
    SeqStart,
    SeqEnd,
    /// An alias inside an anchored node, expanded only when it is read.
    Alias(usize),
}

#[derive(Clone, Debug)]
struct Rec<'a> {
    ev: Ev<'a>,
    line: usize,
}

/// Parses documents' text (its first line is `first_line` of the file). `held`: the items
/// of the List this text is the document of, cut apart and typed before it (see
/// [`Cutter::cut_line`]), handed on before its own if it is a List.
fn document(
    text: &str,
    first_line: usize,
    name: &str,
    held: PendingItems,
    found: &mut dyn Sink,
) -> Result<(), Error> {
    let mut events = Events::new(text, first_line, name);
    events.held = held;
    events.stream(found)
}

struct Events<'a, 'n> {
    parser: Parser<'a, StrInput<'a>>,
    first_line: usize,
    name: &'n str,
    /// Every anchored node's events, and where each anchor's are.
    anchors: Vec<Rec<'a>>,
    anchored: HashMap<usize, Range<usize>>,
    /// Anchored collections being recorded: (anchor, start in `anchors`, depth).
    open_anchors: Vec<(usize, usize, usize)>,
    /// Events expanded from aliases in this document.
    expanded: usize,
    /// The items of a List cut apart, typed (see [`document`]).
    held: PendingItems,
}

/// What an object's mapping held: its recorded fields, `kind` and `apiVersion`.
#[derive(Default)]
struct Head {
    kind: Option<String>,
    api_version: Option<String>,
}

impl<'a, 'n> Events<'a, 'n> {
    fn new(text: &'a str, first_line: usize, name: &'n str) -> Self {
        let mut options = Options::default();
        options.set_emit_comments(false);
        // The parser keeps its nesting on the heap: only recorded nodes are limited (to
        // MAX_DEPTH), so that a skipped object nested however deep never stops the run.
        options.flow_nesting_limit = usize::MAX;
        options.block_nesting_limit = usize::MAX;
        Events {
            parser: Parser::new_from_str_with_options(text, options),
            first_line,
            name,
            anchors: Vec::new(),
            anchored: HashMap::new(),
            open_anchors: Vec::new(),
            expanded: 0,
            held: PendingItems::default(),
        }
    }

    /// A batch of a List's items, cut apart: one block sequence, whose mappings are typed
    /// into `pending` (up to the first that fails) as the List's items are.
    fn item_stream(&mut self, pending: &mut Vec<Result<Found, Error>>) -> Result<(), Error> {
        loop {
            let (event, line) = self.next()?;
            match event {
                Event::StreamEnd => return Ok(()),
                Event::DocumentStart(..) => {
                    let (first, line) = self.next()?;
                    self.items(first, line, pending)?;
                }
                Event::StreamStart | Event::DocumentEnd => {}
                _ => return Err(self.error(line, NOT_AN_OBJECT)),
            }
        }
    }
    fn next(&mut self) -> Result<(Event<'a>, usize), Error> {
        loop {
            match self.parser.next_event() {
                Some(Ok((Event::Comment(..), _))) => continue,
                Some(Ok((event, span))) => return Ok((event, self.line_of(&span))),
                Some(Err(e)) => return Err(self.scan_error(&e)),
                None => return Ok((Event::StreamEnd, self.first_line)),
            }
        }
    }

    fn line_of(&self, span: &Span) -> usize {
        self.first_line + span.start.line() - 1
    }

    fn scan_error(&self, e: &ScanError) -> Error {
        let at = e.marker();
        let message = super::strip_position(&e.info());
        let message = message
            .lines()
            .next()
            .unwrap_or("malformed YAML")
            .to_string();
        Error::input(
            format!(
                "{}:{}:{}",
                self.name,
                self.first_line + at.line() - 1,
                at.col() + 1
            ),
            message,
        )
    }

    fn error(&self, line: usize, message: impl std::fmt::Display) -> Error {
        Error::input(format!("{}:{line}", self.name), message)
    }

    fn stream(&mut self, found: &mut dyn Sink) -> Result<(), Error> {
        loop {
            let (event, line) = self.next()?;
            match event {
                Event::StreamEnd => return Ok(()),
                Event::DocumentStart(..) => {
                    self.anchors.clear();
                    self.anchored.clear();
                    self.expanded = 0;
                    self.root(found)?;
                }
                Event::StreamStart | Event::DocumentEnd => {}
                _ => return Err(self.error(line, NOT_AN_OBJECT)),
            }
        }
    }

    /// A document's root node.
    fn root(&mut self, found: &mut dyn Sink) -> Result<(), Error> {
        let (event, line) = self.next()?;
        match event {
            Event::MappingStart(..) => {
                let mut record = Vec::new();
                let mut pending = Vec::new();
                let head = self.mapping(line, &mut record, Some(&mut pending))?;
                let mut held = std::mem::take(&mut self.held);
                if head.kind.as_deref().is_some_and(|k| k.ends_with("List")) {
                    for item in pending {
                        held.push(item);
                    }
                    held.hand_on(found)
                } else {
                    found.found(self.typed(&record, line, &head)?)
                }
            }
            Event::Scalar(value, ScalarStyle::Plain, _, None) if is_null(&value) => Ok(()),
            Event::DocumentEnd => Ok(()),
            other => {
                self.node(other, line, None)?;
                Err(self.error(line, NOT_AN_OBJECT))
            }
        }
    }

    /// An object's mapping (its start read): the fields the plugin may read are recorded
    /// (as a mapping, with its lines); `items`, for a document, are typed into `pending`.
    fn mapping(
        &mut self,
        line: usize,
        record: &mut Vec<Rec<'a>>,
        mut pending: Option<&mut Vec<Result<Found, Error>>>,
    ) -> Result<Head, Error> {
        let mut head = Head::default();
        let mut keys: Vec<Cow<'a, str>> = Vec::new();
        let mut skipping = false;
        record.push(Rec {
            ev: Ev::MapStart,
            line,
        });
        loop {
            let (event, key_line) = self.next()?;
            let key = match event {
                Event::MappingEnd => break,
                Event::Scalar(key, _, anchor, _) => {
                    if anchor != 0 {
                        self.store_scalar(anchor, key.clone(), false, key_line);
                    }
                    key
                }
                other => {
                    // A key that is itself a collection: no object's field.
                    self.node(other, key_line, None)?;
                    let (value, value_line) = self.next()?;
                    self.node(value, value_line, None)?;
                    continue;
                }
            };
            if keys.contains(&key) {
                return Err(Error::input(
                    format!("{}:{key_line}:1", self.name),
                    duplicate_key(&key),
                ));
            }
            let (value, value_line) = self.next()?;
            if skipping {
                self.node(value, value_line, None)?;
            } else if key == "items" && pending.is_some() {
                let pending = pending.as_deref_mut().unwrap_or_else(|| unreachable!());
                self.items(value, value_line, pending)?;
            } else if READ_FIELDS.contains(&key.as_ref()) {
                let text = match &value {
                    Event::Scalar(text, ..) => Some(text.to_string()),
                    _ => None,
                };
                record.push(Rec {
                    ev: Ev::Scalar(key.clone(), true),
                    line: key_line,
                });
                self.node(value, value_line, Some(record))?;
                match key.as_ref() {
                    "kind" => head.kind = text,
                    "apiVersion" => head.api_version = text,
                    _ => {}
                }
                if let (Some(kind), Some(api_version)) = (&head.kind, &head.api_version) {
                    let list = pending.is_some() && kind.ends_with("List");
                    skipping = !list && Kind::of(kind, api_version).is_none();
                }
            } else {
                self.node(value, value_line, None)?;
            }
            keys.push(key);
        }
        record.push(Rec {
            ev: Ev::MapEnd,
            line,
        });
        Ok(head)
    }

    /// A List's `items`: each mapping typed as soon as it is read.
    fn items(
        &mut self,
        first: Event<'a>,
        line: usize,
        pending: &mut Vec<Result<Found, Error>>,
    ) -> Result<(), Error> {
        let Event::SequenceStart(..) = first else {
            return self.node(first, line, None);
        };
        let mut record = Vec::new();
        loop {
            let (event, line) = self.next()?;
            match event {
                Event::SequenceEnd => return Ok(()),
                Event::MappingStart(..) => {
                    record.clear();
                    let head = self.mapping(line, &mut record, None)?;
                    if !pending.last().is_some_and(Result::is_err) {
                        pending.push(self.typed(&record, line, &head));
                    }
                }
                // Not an object: nothing to read in it.
                other => self.node(other, line, None)?,
            }
        }
    }

    /// Types a recorded object: straight from its events, or, when it merges mappings
    /// (`<<`) or has a collection as a key, through a tree.
    fn typed(&self, record: &[Rec<'a>], line: usize, head: &Head) -> Result<Found, Error> {
        let (kind, api_version) = (
            head.kind.as_deref().unwrap_or(""),
            head.api_version.as_deref().unwrap_or(""),
        );
        let Some(read) = Kind::of(kind, api_version) else {
            return Ok(Found::skipped(Some(kind), Some(api_version), line));
        };
        let typed = if needs_tree(record) {
            self.typed_through_tree(record)
        } else {
            let mut de = Records {
                recs: record,
                pos: 0,
            };
            match Object::read_fast(read, &mut de) {
                Ok(object) => Ok(object),
                Err(_) => self.typed_with_path(read, record, line),
            }
        }?;
        Ok(Found {
            kind: Some((read, typed)),
            line,
            note: super::kinds::misspelling(kind, api_version),
        })
    }

    /// Types a recorded object again, keeping the path to the field that failed.
    fn typed_with_path(
        &self,
        read: Kind,
        record: &[Rec<'a>],
        line: usize,
    ) -> Result<Object, Error> {
        let mut de = Records {
            recs: record,
            pos: 0,
        };
        Object::read(read, &mut de).map_err(|e| {
            let at = e.inner().line.unwrap_or(line);
            let name = |key: &str| {
                let path = [Step::Key("metadata".into()), Step::Key(key.into())];
                locate(record, &path).and_then(|at| match &record[at].ev {
                    Ev::Scalar(text, _) => Some(text.to_string()),
                    _ => None,
                })
            };
            let what = describe(read, name("namespace").as_deref(), name("name").as_deref());
            self.error(at, format!("{what}: {}", field_error(&e)))
        })
    }

    fn typed_through_tree(&self, record: &[Rec<'a>]) -> Result<Object, Error> {
        let value = build(record, &mut 0).map_err(|(line, message)| self.error(line, message))?;
        match typed_object(value) {
            Ok(Some((_, object))) => Ok(object),
            Ok(None) => Err(self.error(record[0].line, NOT_AN_OBJECT)),
            Err(Mistyped { message, path }) => {
                let at = locate(record, &path).map_or(record[0].line, |at| record[at].line);
                Err(self.error(at, message))
            }
        }
    }

    /// Keeps an anchored scalar for its aliases.
    fn store_scalar(&mut self, anchor: usize, value: Cow<'a, str>, text: bool, line: usize) {
        let start = self.anchors.len();
        self.anchors.push(Rec {
            ev: Ev::Scalar(value, text),
            line,
        });
        self.anchored.insert(anchor, start..start + 1);
    }

    /// Ends the anchored collections opened at `depth`.
    fn close_anchors(&mut self, depth: usize) {
        while let Some(&(anchor, start, at)) = self.open_anchors.last() {
            if at != depth {
                break;
            }
            self.open_anchors.pop();
            self.anchored.insert(anchor, start..self.anchors.len());
        }
    }

    /// Reads the rest of one node (its first event given), recording it into `record` when
    /// given; the events of anchored nodes are kept for their aliases. Iterative: a node
    /// nested however deep costs no stack, and only a recorded one is limited in depth.
    fn node(
        &mut self,
        first: Event<'a>,
        first_line: usize,
        mut record: Option<&mut Vec<Rec<'a>>>,
    ) -> Result<(), Error> {
        let base = self.open_anchors.len();
        // Anchored collections already open (the object's own mapping) keep recording.
        let mut depth = 0usize;
        let mut event = first;
        let mut line = first_line;
        loop {
            let rec = match event {
                Event::Scalar(value, style, anchor, tag) => {
                    let text = style != ScalarStyle::Plain
                        || tag.as_deref().is_some_and(|t| t.suffix() == "str");
                    if anchor != 0 {
                        self.store_scalar(anchor, value.clone(), text, line);
                    } else if self.open_anchors.len() > base {
                        self.anchors.push(Rec {
                            ev: Ev::Scalar(value.clone(), text),
                            line,
                        });
                    }
                    Some(Ev::Scalar(value, text))
                }
                Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                    let map = matches!(event, Event::MappingStart(..));
                    depth += 1;
                    if record.is_some() && depth > MAX_DEPTH {
                        return Err(
                            self.error(line, format!("nested more than {MAX_DEPTH} levels deep"))
                        );
                    }
                    let ev = if map { Ev::MapStart } else { Ev::SeqStart };
                    if anchor != 0 {
                        self.open_anchors.push((anchor, self.anchors.len(), depth));
                    }
                    self.push_anchored(&ev, line, base);
                    Some(ev)
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let ev = if matches!(event, Event::MappingEnd) {
                        Ev::MapEnd
                    } else {
                        Ev::SeqEnd
                    };
                    self.push_anchored(&ev, line, base);
                    self.close_anchors(depth);
                    depth -= 1;
                    Some(ev)
                }
                Event::Alias(anchor) => {
                    if self.open_anchors.len() > base {
                        self.anchors.push(Rec {
                            ev: Ev::Alias(anchor),
                            line,
                        });
                    }
                    if let Some(record) = record.as_deref_mut() {
                        self.expand(anchor, line, record)?;
                    }
                    None
                }
                _ => None,
            };
            if let (Some(record), Some(ev)) = (record.as_deref_mut(), rec) {
                record.push(Rec { ev, line });
            }
            if depth == 0 {
                return Ok(());
            }
            (event, line) = self.next()?;
        }
    }

    /// Copies what an alias stands for into `record`, within [`MAX_ALIAS_EVENTS`].
    fn expand(
        &mut self,
        anchor: usize,
        line: usize,
        record: &mut Vec<Rec<'a>>,
    ) -> Result<(), Error> {
        let Some(range) = self.anchored.get(&anchor).cloned() else {
            return Err(self.error(line, "an alias (*name) names no anchor before it"));
        };
        for at in range {
            match self.anchors[at].ev {
                Ev::Alias(inner) => self.expand(inner, line, record)?,
                _ => {
                    self.expanded += 1;
                    if self.expanded > MAX_ALIAS_EVENTS {
                        return Err(self.error(line, TOO_MANY_ALIASES));
                    }
                    record.push(self.anchors[at].clone());
                }
            }
        }
        Ok(())
    }

    /// Inside an anchored collection, its events are kept for its aliases.
    fn push_anchored(&mut self, ev: &Ev<'a>, line: usize, base: usize) {
        if self.open_anchors.len() > base {
            self.anchors.push(Rec {
                ev: ev.clone(),
                line,
            });
        }
    }
}

fn duplicate_key(key: &str) -> String {
    format!("duplicate key {key} (is a --- line between two objects missing?)")
}

fn is_null(value: &str) -> bool {
    matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

/// Builds the tree of one recorded node from `at`: what the typed read takes.
fn build(record: &[Rec], at: &mut usize) -> Result<Value, (usize, String)> {
    let rec = &record[*at];
    *at += 1;
    Ok(match &rec.ev {
        Ev::Scalar(value, text) => scalar(value, *text),
        Ev::SeqStart => {
            let mut list = Vec::new();
            while !matches!(record[*at].ev, Ev::SeqEnd) {
                list.push(build(record, at)?);
            }
            *at += 1;
            Value::Array(list)
        }
        Ev::MapStart => {
            let mut map = Map::new();
            let mut merged = Vec::new();
            while !matches!(record[*at].ev, Ev::MapEnd) {
                let key_line = record[*at].line;
                let key = match build(record, at)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let value = build(record, at)?;
                if key == "<<" {
                    merged.push(value);
                } else if map.insert(key.clone(), value).is_some() {
                    return Err((key_line, duplicate_key(&key)));
                }
            }
            *at += 1;
            // `<<` merges: keys the mapping has itself win.
            for value in merged {
                let maps = match value {
                    Value::Array(list) => list,
                    other => vec![other],
                };
                for merged in maps {
                    if let Value::Object(merged) = merged {
                        for (k, v) in merged {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            Value::Object(map)
        }
        Ev::MapEnd | Ev::SeqEnd | Ev::Alias(_) => Value::Null,
    })
}

/// A scalar as YAML reads it: text when quoted; otherwise null, a boolean (YAML 1.1's
/// words too: `yes`, `off`), a number, or text.
fn scalar(value: &str, text: bool) -> Value {
    if text {
        return Value::String(value.to_string());
    }
    match resolve(value) {
        Plain::Null => Value::Null,
        Plain::Bool(b) => Value::Bool(b),
        Plain::Number(n) => Value::Number(n),
        Plain::Text => Value::String(value.to_string()),
    }
}

/// What a plain (unquoted) scalar is.
enum Plain {
    Null,
    Bool(bool),
    Number(Number),
    Text,
}

fn resolve(value: &str) -> Plain {
    if is_null(value) {
        return Plain::Null;
    }
    if value.len() <= 5 {
        let word = |words: [&str; 4]| words.iter().any(|w| value.eq_ignore_ascii_case(w));
        if word(["true", "yes", "y", "on"]) {
            return Plain::Bool(true);
        }
        if word(["false", "no", "n", "off"]) {
            return Plain::Bool(false);
        }
    }
    // Only what starts like a number may be one.
    if value
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'))
        && let Some(number) = integer(value).or_else(|| float(value))
    {
        return Plain::Number(number);
    }
    Plain::Text
}

fn integer(value: &str) -> Option<Number> {
    let (negative, digits) = match value.as_bytes().first()? {
        b'-' => (true, &value[1..]),
        b'+' => (false, &value[1..]),
        _ => (false, value),
    };
    let (radix, digits) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = digits.strip_prefix("0o") {
        (8, octal)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let n = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Number::from(n))
    } else {
        Some(Number::from(magnitude))
    }
}

fn float(value: &str) -> Option<Number> {
    let looks = value
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && value.bytes().any(|b| b.is_ascii_digit());
    if !looks {
        return None;
    }
    Number::from_f64(value.parse().ok()?)
}

/// Where the value at `path` is in a recorded object.
fn locate(record: &[Rec], path: &[Step]) -> Option<usize> {
    let mut at = 0;
    for step in path {
        match (&record.get(at)?.ev, step) {
            (Ev::MapStart, Step::Key(wanted)) => {
                at += 1;
                loop {
                    match &record.get(at)?.ev {
                        Ev::MapEnd => return None,
                        Ev::Scalar(key, _) if key == wanted => {
                            at += 1;
                            break;
                        }
                        _ => {
                            at = skip(record, at)?;
                            at = skip(record, at)?;
                        }
                    }
                }
            }
            (Ev::SeqStart, Step::Index(wanted)) => {
                at += 1;
                for _ in 0..*wanted {
                    if matches!(record.get(at)?.ev, Ev::SeqEnd) {
                        return None;
                    }
                    at = skip(record, at)?;
                }
            }
            _ => return None,
        }
    }
    record.get(at).map(|_| at)
}

/// The index after the node at `at`.
fn skip(record: &[Rec], mut at: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match record.get(at)?.ev {
            Ev::MapStart | Ev::SeqStart => depth += 1,
            Ev::MapEnd | Ev::SeqEnd => depth -= 1,
            Ev::Scalar(..) | Ev::Alias(_) => {}
        }
        at += 1;
        if depth == 0 {
            return Some(at);
        }
    }
}

/// Whether a recorded object must be built into a tree to be typed: it merges mappings
/// (`<<`) or has a key that is a collection.
fn needs_tree(record: &[Rec]) -> bool {
    #[derive(PartialEq)]
    enum Frame {
        Key,
        Value,
        Seq,
    }
    fn done(stack: &mut [Frame]) {
        if let Some(top) = stack.last_mut() {
            *top = match top {
                Frame::Key => Frame::Value,
                Frame::Value => Frame::Key,
                Frame::Seq => Frame::Seq,
            };
        }
    }
    let mut stack = Vec::new();
    for rec in record {
        match &rec.ev {
            Ev::MapStart | Ev::SeqStart => {
                if stack.last() == Some(&Frame::Key) {
                    return true;
                }
                stack.push(if matches!(rec.ev, Ev::MapStart) {
                    Frame::Key
                } else {
                    Frame::Seq
                });
            }
            Ev::MapEnd | Ev::SeqEnd => {
                stack.pop();
                done(&mut stack);
            }
            Ev::Scalar(value, text) => {
                if stack.last() == Some(&Frame::Key) && !text && value == "<<" {
                    return true;
                }
                done(&mut stack);
            }
            Ev::Alias(_) => done(&mut stack),
        }
    }
    false
}

/// A typing error, with the line of the event it is about (set by the innermost node).
#[derive(Debug)]
struct DeError {
    message: String,
    line: Option<usize>,
}

impl std::fmt::Display for DeError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl serde::de::Error for DeError {
    fn custom<T: std::fmt::Display>(message: T) -> DeError {
        DeError {
            message: message.to_string(),
            line: None,
        }
    }
}

trait AtLine<T> {
    fn at(self, line: usize) -> Result<T, DeError>;
}

impl<T> AtLine<T> for Result<T, DeError> {
    fn at(self, line: usize) -> Result<T, DeError> {
        self.map_err(|mut e| {
            e.line.get_or_insert(line);
            e
        })
    }
}

/// A recorded object read by serde straight from its events, as YAML reads scalars (see
/// [`scalar`]): no tree is built.
struct Records<'r, 'a> {
    recs: &'r [Rec<'a>],
    pos: usize,
}

impl<'r, 'a> Records<'r, 'a> {
    fn take(&mut self) -> Result<&'r Rec<'a>, DeError> {
        let rec = self
            .recs
            .get(self.pos)
            .ok_or_else(|| <DeError as serde::de::Error>::custom("unexpected end"))?;
        self.pos += 1;
        Ok(rec)
    }
}

impl<'de> serde::Deserializer<'de> for &mut Records<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let rec = self.take()?;
        let line = rec.line;
        match &rec.ev {
            Ev::Scalar(value, true) => visitor.visit_str(value),
            Ev::Scalar(value, false) => match resolve(value) {
                Plain::Null => visitor.visit_unit(),
                Plain::Bool(b) => visitor.visit_bool(b),
                Plain::Number(n) => {
                    if let Some(n) = n.as_u64() {
                        visitor.visit_u64(n)
                    } else if let Some(n) = n.as_i64() {
                        visitor.visit_i64(n)
                    } else {
                        visitor.visit_f64(n.as_f64().unwrap_or_default())
                    }
                }
                Plain::Text => visitor.visit_str(value),
            },
            Ev::MapStart => visitor.visit_map(Entries {
                de: self,
                keys: Vec::new(),
            }),
            Ev::SeqStart => visitor.visit_seq(Elements { de: self }),
            Ev::MapEnd | Ev::SeqEnd | Ev::Alias(_) => {
                Err(<DeError as serde::de::Error>::custom("unexpected end"))
            }
        }
        .at(line)
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.recs.get(self.pos).map(|r| &r.ev) {
            Some(Ev::Scalar(value, false)) if is_null(value) => {
                self.pos += 1;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_ignored_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.pos = skip(self.recs, self.pos).unwrap_or(self.recs.len());
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier
    }
}

/// A mapping's entries; a key is always text (as a tree's keys are), and a key twice is
/// refused.
struct Entries<'d, 'r, 'a> {
    de: &'d mut Records<'r, 'a>,
    keys: Vec<&'r str>,
}

impl<'de> serde::de::MapAccess<'de> for Entries<'_, '_, '_> {
    type Error = DeError;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let rec = self.de.take()?;
        match &rec.ev {
            Ev::MapEnd => Ok(None),
            Ev::Scalar(key, _) => {
                if self.keys.contains(&key.as_ref()) {
                    return Err(<DeError as serde::de::Error>::custom(duplicate_key(key)))
                        .at(rec.line);
                }
                self.keys.push(key.as_ref());
                let key: &str = key;
                seed.deserialize(serde::de::value::StrDeserializer::<DeError>::new(key))
                    .map(Some)
                    .at(rec.line)
            }
            _ => Err(<DeError as serde::de::Error>::custom(
                "a mapping key is not text",
            ))
            .at(rec.line),
        }
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        seed.deserialize(&mut *self.de)
    }
}

struct Elements<'d, 'r, 'a> {
    de: &'d mut Records<'r, 'a>,
}

impl<'de> serde::de::SeqAccess<'de> for Elements<'_, '_, '_> {
    type Error = DeError;

    fn next_element_seed<T: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        if matches!(
            self.de.recs.get(self.de.pos).map(|r| &r.ev),
            Some(Ev::SeqEnd)
        ) {
            self.de.pos += 1;
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }
}

#[cfg(test)]
mod tests;
