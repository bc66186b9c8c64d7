//! JSON input, read as a stream: one or more concatenated documents, each an object or a
//! `kind: List`. Each object is scanned once by a small validating scanner that copies the
//! fields the plugin may read into a slim buffer (skipping the others, and everything of a
//! kind the plugin skips, without building anything), then typed from that buffer by
//! serde_json. A List's items are typed one by one as they are scanned, so neither the
//! input nor a tree of it is ever held.

mod direct;

use std::io::Read;

use super::input::Input;
use super::{Found, Kind, NOT_AN_OBJECT, PendingItems, READ_FIELDS, Sink};
use crate::error::Error;

/// What scanning one object found.
pub(super) struct Scanned<'a> {
    pub kind: Option<String>,
    pub api_version: Option<String>,
    /// The fields that may be read, as a JSON object.
    pub slim: &'a [u8],
    /// The line of the object's `{`.
    pub line: usize,
    /// Lines left out of `slim` (skipped fields): `(slim line, lines skipped)`.
    pub gaps: &'a [(usize, usize)],
}

impl Scanned<'_> {
    /// The line in the file of a line of `slim` (1-based).
    pub fn file_line(&self, slim_line: usize) -> usize {
        let skipped: usize = self
            .gaps
            .iter()
            .filter(|(at, _)| *at < slim_line)
            .map(|(_, n)| n)
            .sum();
        self.line + slim_line - 1 + skipped
    }
}

/// The largest List item tried by [`Scanner::direct_item`]: the window grows to hold it
/// whole, so a larger one (a huge ConfigMap) is scanned, which holds none of it.
const DIRECT_MAX: usize = 1 << 20;

/// Where a scan is in an object: the document itself, or an item of its `items`.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Document,
    Item,
}

/// Reads every document of `input`, handing each object of a kind the plugin reads (or a
/// List's items, once the document is known to be a List) to `found`.
pub(super) fn read<R: Read>(
    input: &mut Input<R>,
    name: &str,
    found: &mut dyn Sink,
) -> Result<(), Error> {
    let mut scanner = Scanner {
        input,
        name,
        line: 1,
        line_start: 0,
        stack: Vec::new(),
        slim: Vec::new(),
        gaps: Vec::new(),
        item_slim: Vec::new(),
        item_gaps: Vec::new(),
    };
    scanner.line_start = scanner.input.pos as u64;
    scanner.documents(found)
}

struct Scanner<'i, R> {
    input: &'i mut Input<R>,
    name: &'i str,
    /// The line of the next byte, and the offset (in the input) where that line starts.
    line: usize,
    line_start: u64,
    /// Open `{` and `[` of the value being walked.
    stack: Vec<u8>,
    slim: Vec<u8>,
    gaps: Vec<(usize, usize)>,
    item_slim: Vec<u8>,
    item_gaps: Vec<(usize, usize)>,
}

impl<R: Read> Scanner<'_, R> {
    fn documents(&mut self, found: &mut dyn Sink) -> Result<(), Error> {
        loop {
            self.ws(None)?;
            match self.peek()? {
                None => return Ok(()),
                Some(b'{') => self.document(found)?,
                Some(_) => {
                    // Not an object: read it only to tell a syntax error from a wrong shape.
                    let line = self.line;
                    self.value(None)?;
                    return Err(Error::input(format!("{}:{line}", self.name), NOT_AN_OBJECT));
                }
            }
        }
    }

    fn document(&mut self, found: &mut dyn Sink) -> Result<(), Error> {
        let mut pending = PendingItems::default();
        let mut slim = std::mem::take(&mut self.slim);
        let mut gaps = std::mem::take(&mut self.gaps);
        let head = self.object(Level::Document, &mut slim, &mut gaps, &mut pending);
        let result = head.and_then(|(kind, api_version, line)| {
            if kind.as_deref().is_some_and(|k| k.ends_with("List")) {
                pending.hand_on(found)
            } else {
                let scanned = Scanned {
                    kind,
                    api_version,
                    slim: &slim,
                    line,
                    gaps: &gaps,
                };
                found.found(super::type_json(self.name, &scanned)?)
            }
        });
        self.slim = slim;
        self.gaps = gaps;
        result
    }

    /// Scans one object (at `{`) into `slim`: `(kind, apiVersion, line)`. A document's
    /// `items` are scanned and typed into `pending`.
    fn object(
        &mut self,
        level: Level,
        slim: &mut Vec<u8>,
        gaps: &mut Vec<(usize, usize)>,
        pending: &mut PendingItems,
    ) -> Result<(Option<String>, Option<String>, usize), Error> {
        let line = self.line;
        slim.clear();
        gaps.clear();
        self.bump(Some(slim));
        let mut kind: Option<String> = None;
        let mut api_version: Option<String> = None;
        let mut skipping = false;
        let mut first = true;
        self.ws(Some(slim))?;
        if self.peek()? == Some(b'}') {
            self.bump(Some(slim));
            return Ok((kind, api_version, line));
        }
        let mut key = Vec::new();
        loop {
            self.key(&mut key)?;
            let read = !skipping
                && READ_FIELDS.contains(&std::str::from_utf8(&key[1..key.len() - 1]).unwrap_or(""));
            let before = self.line;
            if level == Level::Document && !skipping && key == b"\"items\"" {
                self.colon(None)?;
                self.items(pending)?;
            } else if read {
                if !first {
                    slim.push(b',');
                }
                first = false;
                slim.extend_from_slice(&key);
                self.colon(Some(slim))?;
                let start = slim.len();
                let value_line = self.line;
                self.value(Some(slim))?;
                let text = |slim: &[u8]| -> Result<Option<String>, Error> {
                    serde_json::from_slice::<Option<String>>(&slim[start..]).map_err(|e| {
                        let field = std::str::from_utf8(&key[1..key.len() - 1]).unwrap_or("");
                        Error::input(
                            format!("{}:{value_line}", self.name),
                            format!("{field}: {}", super::strip_position(&e.to_string())),
                        )
                    })
                };
                match key.as_slice() {
                    b"\"kind\"" => kind = text(slim)?,
                    b"\"apiVersion\"" => api_version = text(slim)?,
                    _ => {}
                }
                if let (Some(k), Some(a)) = (&kind, &api_version) {
                    let list = level == Level::Document && k.ends_with("List");
                    skipping = !list && Kind::of(k, a).is_none();
                }
            } else {
                self.colon(None)?;
                self.value(None)?;
            }
            if !read && self.line > before {
                let slim_line = 1 + slim.iter().filter(|b| **b == b'\n').count();
                gaps.push((slim_line, self.line - before));
            }
            self.ws(Some(slim))?;
            match self.peek()? {
                Some(b',') => {
                    self.bump(None);
                    self.ws(Some(slim))?;
                }
                Some(b'}') => {
                    self.bump(Some(slim));
                    return Ok((kind, api_version, line));
                }
                Some(_) => return Err(self.syntax("expected `,` or `}`")),
                None => return Err(self.syntax("EOF while parsing an object")),
            }
        }
    }

    /// A document's `items`: each object scanned and typed (the document may turn out not
    /// to be a List: nothing is kept until its end).
    fn items(&mut self, pending: &mut PendingItems) -> Result<(), Error> {
        self.ws(None)?;
        if self.peek()? != Some(b'[') {
            return self.value(None);
        }
        self.bump(None);
        self.ws(None)?;
        if self.peek()? == Some(b']') {
            self.bump(None);
            return Ok(());
        }
        let mut slim = std::mem::take(&mut self.item_slim);
        let mut gaps = std::mem::take(&mut self.item_gaps);
        let result = self.item_list(pending, &mut slim, &mut gaps);
        self.item_slim = slim;
        self.item_gaps = gaps;
        result
    }

    fn item_list(
        &mut self,
        pending: &mut PendingItems,
        slim: &mut Vec<u8>,
        gaps: &mut Vec<(usize, usize)>,
    ) -> Result<(), Error> {
        loop {
            self.ws(None)?;
            let line = self.line;
            if self.peek()? == Some(b'{')
                && !pending.failed()
                && let Some(found) = self.direct_item()?
            {
                pending.push(Ok(found));
            } else if self.peek()? == Some(b'{') {
                let (kind, api_version, line) =
                    self.object(Level::Item, slim, gaps, &mut PendingItems::default())?;
                if !pending.failed() {
                    let scanned = Scanned {
                        kind,
                        api_version,
                        slim,
                        line,
                        gaps,
                    };
                    pending.push(super::type_json(self.name, &scanned));
                }
            } else {
                self.value(None)?;
                if !pending.failed() {
                    pending.push(Err(Error::input(
                        format!("{}:{line}", self.name),
                        NOT_AN_OBJECT,
                    )));
                }
            }
            self.ws(None)?;
            match self.peek()? {
                Some(b',') => self.bump(None),
                Some(b']') => {
                    self.bump(None);
                    return Ok(());
                }
                Some(_) => return Err(self.syntax("expected `,` or `]`")),
                None => return Err(self.syntax("EOF while parsing a list")),
            }
        }
    }

    /// A List item (at `{`) typed in one pass from the input (see [`direct`]); `None`, with
    /// nothing consumed, when the scanner must read it.
    fn direct_item(&mut self) -> Result<Option<Found>, Error> {
        loop {
            let rest = self.input.rest();
            let cut = rest.len() < DIRECT_MAX;
            let mut items = serde_json::Deserializer::from_slice(rest).into_iter::<direct::Item>();
            let read = match items.next() {
                Some(Ok(item)) => Ok((item, items.byte_offset())),
                Some(Err(e)) => Err(e.is_eof()),
                None => Err(false),
            };
            match read {
                Ok((item, used)) => {
                    let line = self.line;
                    self.advance(used);
                    return Ok(Some(item.found(line)));
                }
                // Cut by the window: read on, within bounds (a larger item is scanned).
                Err(true) if cut => {
                    if !self.more()? {
                        return Ok(None);
                    }
                }
                Err(_) => return Ok(None),
            }
        }
    }

    /// Consumes `n` bytes read by [`Scanner::direct_item`], counting their lines.
    fn advance(&mut self, n: usize) {
        let start = self.input.pos;
        let taken = &self.input.rest()[..n];
        let newlines = memchr::memchr_iter(b'\n', taken).count();
        if newlines > 0 {
            let last = memchr::memrchr(b'\n', taken).unwrap_or(0);
            self.line += newlines;
            self.line_start = self.input.offset(start + last + 1);
        }
        self.input.pos += n;
    }

    /// A key (at `"`), raw with its quotes, then checks nothing else.
    fn key(&mut self, key: &mut Vec<u8>) -> Result<(), Error> {
        key.clear();
        match self.peek()? {
            Some(b'"') => self.string(Some(key)),
            Some(b'}') => Err(self.syntax("trailing comma")),
            Some(_) => Err(self.syntax("key must be a string")),
            None => Err(self.syntax("EOF while parsing an object")),
        }
    }

    fn colon(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Error> {
        self.ws(out.as_deref_mut())?;
        match self.peek()? {
            Some(b':') => {
                self.bump(out.as_deref_mut());
                self.ws(out)
            }
            Some(_) => Err(self.syntax("expected `:`")),
            None => Err(self.syntax("EOF while parsing an object")),
        }
    }

    /// The next byte, reading more when needed.
    #[inline]
    fn peek(&mut self) -> Result<Option<u8>, Error> {
        if let Some(b) = self.input.rest().first() {
            return Ok(Some(*b));
        }
        self.more()?;
        Ok(self.input.rest().first().copied())
    }

    #[cold]
    fn more(&mut self) -> Result<bool, Error> {
        self.input.refill()
    }

    /// Consumes the byte [`Scanner::peek`] saw.
    #[inline]
    fn bump(&mut self, out: Option<&mut Vec<u8>>) {
        if let Some(out) = out {
            out.push(self.input.rest()[0]);
        }
        self.input.pos += 1;
    }

    fn offset(&self) -> u64 {
        self.input.offset(self.input.pos)
    }

    /// White space; newlines are copied (the slim buffer keeps the object's lines).
    fn ws(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Error> {
        loop {
            let rest = self.input.rest();
            let mut i = 0;
            while i < rest.len() {
                match rest[i] {
                    b' ' | b'\t' | b'\r' => i += 1,
                    b'\n' => {
                        i += 1;
                        self.line += 1;
                        self.line_start = self.input.offset(self.input.pos + i);
                        if let Some(out) = out.as_deref_mut() {
                            out.push(b'\n');
                        }
                    }
                    _ => {
                        self.input.pos += i;
                        return Ok(());
                    }
                }
            }
            self.input.pos += i;
            if !self.more()? {
                return Ok(());
            }
        }
    }

    /// A string (at `"`), checked, copied raw with its quotes when `out` is given.
    fn string(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Error> {
        self.bump(out.as_deref_mut());
        loop {
            let rest = self.input.rest();
            let end = rest
                .iter()
                .position(|b| *b == b'"' || *b == b'\\' || *b < 0x20);
            let taken = end.unwrap_or(rest.len());
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(&rest[..taken]);
            }
            self.input.pos += taken;
            match end.map(|_| self.input.rest()[0]) {
                Some(b'"') => {
                    self.bump(out);
                    return Ok(());
                }
                Some(b'\\') => {
                    self.bump(out.as_deref_mut());
                    self.escape(out.as_deref_mut())?;
                }
                Some(_) => {
                    return Err(self.syntax(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
                None => {
                    if !self.more()? {
                        return Err(self.syntax("EOF while parsing a string"));
                    }
                }
            }
        }
    }

    /// What follows a backslash in a string.
    fn escape(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Error> {
        let Some(b) = self.peek()? else {
            return Err(self.syntax("EOF while parsing a string"));
        };
        match b {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.bump(out);
                Ok(())
            }
            b'u' => {
                self.bump(out.as_deref_mut());
                for _ in 0..4 {
                    match self.peek()? {
                        Some(h) if h.is_ascii_hexdigit() => self.bump(out.as_deref_mut()),
                        Some(_) => return Err(self.syntax("invalid escape")),
                        None => return Err(self.syntax("EOF while parsing a string")),
                    }
                }
                Ok(())
            }
            _ => Err(self.syntax("invalid escape")),
        }
    }

    /// `true`, `false` or `null`.
    fn literal(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Error> {
        let word: &[u8] = match self.peek()? {
            Some(b't') => b"true",
            Some(b'f') => b"false",
            _ => b"null",
        };
        for expected in word {
            match self.peek()? {
                Some(b) if b == *expected => self.bump(out.as_deref_mut()),
                Some(_) => return Err(self.syntax("expected ident")),
                None => return Err(self.syntax("EOF while parsing a value")),
            }
        }
        Ok(())
    }

    /// A number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Error> {
        let mut token = [0u8; 64];
        let mut len = 0;
        while let Some(b) = self.peek()? {
            if !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                break;
            }
            if len < token.len() {
                token[len] = b;
            }
            len += 1;
            self.bump(out.as_deref_mut());
        }
        if len > token.len() || !is_number(&token[..len]) {
            return Err(self.syntax("invalid number"));
        }
        Ok(())
    }

    /// Any value, checked; copied when `out` is given. Iterative: nesting costs no stack,
    /// so an object nested however deep is skipped.
    fn value(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Error> {
        let base = self.stack.len();
        loop {
            // A value is expected here.
            self.ws(out.as_deref_mut())?;
            match self.peek()? {
                Some(b'{') => {
                    self.bump(out.as_deref_mut());
                    self.ws(out.as_deref_mut())?;
                    if self.peek()? == Some(b'}') {
                        self.bump(out.as_deref_mut());
                    } else {
                        self.stack.push(b'{');
                        self.key_into(out.as_deref_mut())?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.bump(out.as_deref_mut());
                    self.ws(out.as_deref_mut())?;
                    if self.peek()? == Some(b']') {
                        self.bump(out.as_deref_mut());
                    } else {
                        self.stack.push(b'[');
                        continue;
                    }
                }
                Some(b'"') => self.string(out.as_deref_mut())?,
                Some(b'-' | b'0'..=b'9') => self.number(out.as_deref_mut())?,
                Some(b't' | b'f' | b'n') => self.literal(out.as_deref_mut())?,
                Some(_) => {
                    self.stack.truncate(base);
                    return Err(self.syntax("expected value"));
                }
                None => {
                    self.stack.truncate(base);
                    return Err(self.syntax("EOF while parsing a value"));
                }
            }
            // After a value: close what ends here, up to the next value.
            loop {
                if self.stack.len() == base {
                    return Ok(());
                }
                self.ws(out.as_deref_mut())?;
                let open = self.stack[self.stack.len() - 1];
                let close = if open == b'{' { b'}' } else { b']' };
                match self.peek()? {
                    Some(b',') => {
                        self.bump(out.as_deref_mut());
                        self.ws(out.as_deref_mut())?;
                        if self.peek()? == Some(close) {
                            self.stack.truncate(base);
                            return Err(self.syntax("trailing comma"));
                        }
                        if open == b'{' {
                            self.key_into(out.as_deref_mut())?;
                        }
                        break;
                    }
                    Some(b) if b == close => {
                        self.bump(out.as_deref_mut());
                        self.stack.pop();
                    }
                    found => {
                        self.stack.truncate(base);
                        return Err(self.syntax(match (open, found) {
                            (b'{', None) => "EOF while parsing an object",
                            (_, None) => "EOF while parsing a list",
                            (b'{', _) => "expected `,` or `}`",
                            _ => "expected `,` or `]`",
                        }));
                    }
                }
            }
        }
    }

    /// A key and its colon, inside [`Scanner::value`].
    fn key_into(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Error> {
        match self.peek()? {
            Some(b'"') => self.string(out.as_deref_mut())?,
            Some(_) => return Err(self.syntax("key must be a string")),
            None => return Err(self.syntax("EOF while parsing an object")),
        }
        self.colon(out)
    }

    /// A syntax error at the next byte: `file:line:column: message`.
    fn syntax(&self, message: &str) -> Error {
        let column = self.offset() - self.line_start + 1;
        Error::input(format!("{}:{}:{column}", self.name, self.line), message)
    }
}

fn is_number(token: &[u8]) -> bool {
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut rest = token.strip_prefix(b"-").unwrap_or(token);
    let int = digits(rest);
    if int == 0 || (int > 1 && rest[0] == b'0') {
        return false;
    }
    rest = &rest[int..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = digits(fraction);
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exponent = exponent
            .strip_prefix(b"+")
            .or_else(|| exponent.strip_prefix(b"-"))
            .unwrap_or(exponent);
        let n = digits(exponent);
        if n == 0 {
            return false;
        }
        rest = &exponent[n..];
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::super::{Found, Kind, PendingItems, ReadLimits, Sink};
    use super::{Input, is_number, read};
    use crate::error::Error;

    /// What a reader handed on, in order.
    #[derive(Debug, PartialEq)]
    enum Handed {
        Expect(Kind, usize),
        Found(usize),
    }

    struct Recorded(Vec<Handed>);

    impl Sink for Recorded {
        fn found(&mut self, found: Found) -> Result<(), Error> {
            self.0.push(Handed::Found(found.line));
            Ok(())
        }

        fn expect(&mut self, kind: Kind, count: usize) {
            self.0.push(Handed::Expect(kind, count));
        }
    }

    /// A List's items (more than fit one chunk) are counted by kind, then handed on in
    /// order, though its `kind` comes after them as kubectl writes it.
    #[test]
    fn a_list_says_what_comes_then_hands_its_items_on_in_order() {
        let services = 2 * PendingItems::CHUNK + 1;
        let mut items: Vec<String> = (0..services)
            .map(|i| {
                format!(r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"s{i}"}}}}"#)
            })
            .collect();
        items.insert(7, r#"{"apiVersion":"v1","kind":"ConfigMap"}"#.to_string());
        items.insert(
            9,
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}}"#.to_string(),
        );
        let text = format!(
            "{{\"apiVersion\":\"v1\",\"items\":[\n{}\n],\"kind\":\"List\"}}",
            items.join(",\n")
        );
        let mut input = Input::new("dump.json".into(), text.as_bytes(), ReadLimits::default());
        let mut recorded = Recorded(Vec::new());
        read(&mut input, "dump.json", &mut recorded).unwrap();
        let handed = recorded.0;
        assert_eq!(
            handed[..2],
            [
                Handed::Expect(Kind::Service, services),
                Handed::Expect(Kind::Namespace, 1)
            ]
        );
        let lines: Vec<usize> = (2..items.len() + 2).collect();
        let found: Vec<usize> = handed[2..]
            .iter()
            .map(|h| match h {
                Handed::Found(line) => *line,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            found, lines,
            "every item, the skipped one too, on its own line"
        );
    }

    #[test]
    fn numbers_are_checked_as_json_writes_them() {
        for good in ["0", "-1", "12", "1.5", "1e9", "-0.5E-3", "2E+2"] {
            assert!(is_number(good.as_bytes()), "{good}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "1-2", "+1", "1.2.3"] {
            assert!(!is_number(bad.as_bytes()), "{bad}");
        }
    }
}
