//! One input read as a stream of UTF-8 bytes, within [`ReadLimits`]: the readers take the
//! text a window at a time, so a large dump is never held whole (but for a YAML document,
//! which the YAML parser needs whole).

use std::io::Read;

use super::{ReadLimits, byte_size};
use crate::error::Error;

/// How much is read from the input at a time.
const CHUNK: usize = 256 << 10;

/// A window on an input: `buf[pos..valid]` is text read and not yet consumed.
pub(super) struct Input<R> {
    /// The input's name for messages.
    name: String,
    reader: R,
    limit: u64,
    buf: Vec<u8>,
    /// The next byte not consumed.
    pub(super) pos: usize,
    /// The end of the bytes checked to be UTF-8 (a character cut by a read waits for the next).
    valid: usize,
    /// From where bytes must be kept (a YAML document being gathered); `pos` otherwise.
    keep: Option<usize>,
    /// Newlines in the bytes dropped from the front of `buf`.
    dropped_lines: usize,
    /// Bytes dropped from the front of `buf`.
    dropped: u64,
    /// Bytes read from the input so far.
    total: u64,
    eof: bool,
    /// Whether `{{` and `}}` were seen (a Helm template), and the last byte seen.
    helm: (bool, bool, u8),
}

impl<R: Read> Input<R> {
    pub(super) fn new(name: String, reader: R, limits: ReadLimits) -> Input<R> {
        Input {
            name,
            reader,
            limit: limits.max_bytes,
            buf: Vec::new(),
            pos: 0,
            valid: 0,
            keep: None,
            dropped_lines: 0,
            dropped: 0,
            total: 0,
            eof: false,
            helm: (false, false, 0),
        }
    }

    /// The offset in the input of `buf[at]`.
    #[inline]
    pub(super) fn offset(&self, at: usize) -> u64 {
        self.dropped + at as u64
    }

    /// The text read and not yet consumed.
    #[inline]
    pub(super) fn rest(&self) -> &[u8] {
        &self.buf[self.pos..self.valid]
    }

    /// Where the kept bytes start now.
    pub(super) fn kept(&self) -> usize {
        self.keep.unwrap_or(self.pos)
    }

    /// Reads more text: `false` at the end of the input. Consumed bytes (before `pos`, and
    /// before the kept ones) are dropped first.
    pub(super) fn refill(&mut self) -> Result<bool, Error> {
        let drop = self.keep.map_or(self.pos, |k| k.min(self.pos));
        if drop > 0 {
            self.dropped_lines += memchr::memchr_iter(b'\n', &self.buf[..drop]).count();
            self.dropped += drop as u64;
            self.buf.drain(..drop);
            self.pos -= drop;
            self.valid -= drop;
            if let Some(keep) = &mut self.keep {
                *keep -= drop;
            }
        }
        loop {
            if self.eof {
                return Ok(false);
            }
            let before = self.buf.len();
            let want = CHUNK.max(before / 2);
            self.buf.reserve(want);
            let room = (self.limit.saturating_add(1) - self.total).min(want as u64) as usize;
            let read = self
                .reader
                .read_to_end_limited(&mut self.buf, room)
                .map_err(|e| Error::input(&self.name, e))?;
            self.total += read as u64;
            if self.total > self.limit {
                return Err(self.too_large());
            }
            if read == 0 {
                self.eof = true;
            }
            self.watch_helm(before);
            let checked = self.validate()?;
            if checked {
                return Ok(true);
            }
        }
    }

    /// Checks the bytes read since the last check; `true` when some became text.
    fn validate(&mut self) -> Result<bool, Error> {
        let start = self.valid;
        match std::str::from_utf8(&self.buf[self.valid..]) {
            Ok(_) => self.valid = self.buf.len(),
            Err(e) if e.error_len().is_none() && !self.eof => self.valid += e.valid_up_to(),
            Err(e) => return Err(self.not_utf8(self.valid + e.valid_up_to())),
        }
        Ok(self.valid > start)
    }

    fn watch_helm(&mut self, from: usize) {
        let (open, close, last) = self.helm;
        if (open && close) || from == self.buf.len() {
            return;
        }
        let new = &self.buf[from..];
        let pair = |mark: u8| {
            (last == mark && new[0] == mark) || memchr::memmem::find(new, &[mark, mark]).is_some()
        };
        self.helm = (open || pair(b'{'), close || pair(b'}'), new[new.len() - 1]);
    }

    /// Reads the rest of the input, only to check it: called when reading has failed, so
    /// that an input too large or not text is told as such, as if it had been read first.
    /// Whether the whole input looked like a Helm template (`{{ … }}`) is then known.
    pub(super) fn finish(&mut self) -> Result<(), Error> {
        self.keep = None;
        self.pos = self.valid;
        while self.refill()? {
            self.pos = self.valid;
        }
        Ok(())
    }

    /// Whether the input holds both `{{` and `}}` (meaningful after [`Input::finish`]).
    pub(super) fn looks_like_helm(&self) -> bool {
        self.helm.0 && self.helm.1
    }

    /// Skips a byte-order mark at the start (editors on Windows write one).
    pub(super) fn skip_bom(&mut self) -> Result<(), Error> {
        while self.valid - self.pos < 3 && self.refill()? {}
        if self.rest().starts_with("\u{feff}".as_bytes()) {
            self.pos += 3;
        }
        Ok(())
    }

    /// The first byte that is not white space, without consuming anything.
    pub(super) fn first_content_byte(&mut self) -> Result<Option<u8>, Error> {
        let mut from = self.pos;
        self.keep = Some(self.pos);
        let found = loop {
            let rest = &self.buf[from..self.valid];
            if let Some(b) = rest.iter().find(|b| !b.is_ascii_whitespace()) {
                break Some(*b);
            }
            from = self.valid;
            let kept = self.kept();
            if !self.refill()? {
                break None;
            }
            from -= kept - self.kept();
        };
        self.keep = None;
        Ok(found)
    }

    fn too_large(&self) -> Error {
        Error::input(
            &self.name,
            format!(
                "larger than {}, the most one input may hold (raise the limit with {})",
                byte_size(self.limit),
                ReadLimits::FLAG
            ),
        )
    }

    /// `at` indexes `buf`: the error names its byte offset in the input and its line.
    fn not_utf8(&self, at: usize) -> Error {
        let line = 1 + self.dropped_lines + self.buf[..at].iter().filter(|b| **b == b'\n').count();
        Error::input(
            format!("{}:{line}", self.name),
            format!(
                "not UTF-8 text: byte 0x{:02X} at byte offset {} is not valid UTF-8",
                self.buf[at],
                self.dropped + at as u64
            ),
        )
    }
}

/// `read_to_end` that stops after `room` bytes or one short read, so a refill returns as
/// soon as some text is there (a pipe gives what it has).
trait ReadSome {
    fn read_to_end_limited(&mut self, buf: &mut Vec<u8>, room: usize) -> std::io::Result<usize>;
}

impl<R: Read> ReadSome for R {
    fn read_to_end_limited(&mut self, buf: &mut Vec<u8>, room: usize) -> std::io::Result<usize> {
        let start = buf.len();
        buf.resize(start + room, 0);
        let mut filled = 0;
        while filled < room {
            match self.read(&mut buf[start + filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.truncate(start + filled);
                    return Err(e);
                }
            }
        }
        buf.truncate(start + filled);
        Ok(filled)
    }
}
