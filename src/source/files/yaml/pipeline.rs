//! Parsing batches of YAML on worker threads, their objects handed on in input order.
//!
//! The cutter (one thread) sends each batch of text as it is gathered; workers parse and
//! type batches side by side; what they made is handed on strictly in the order the
//! batches were sent, so duplicates, notes and errors come out as a one-thread reading
//! makes them. At most [`IN_FLIGHT`] entries wait, so the text held stays a few batches.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::Scope;

use super::super::{Found, PendingItems, READER_STACK_BYTES, Sink};
use crate::error::Error;

/// How many batches may be parsed or wait to be handed on at once.
const IN_FLIGHT: usize = 6;

/// The most worker threads: two keep pace with the cutter on this reader.
const MAX_WORKERS: usize = 2;

/// What a batch of text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Work {
    /// Whole documents.
    Documents,
    /// Items of a List, cut at their `- ` lines: a block sequence whose mappings are
    /// objects. What they make is held until the List's own document says it is a List.
    Items,
}

/// What a batch made: its objects (for items: typed or not) in order, and the error that
/// stopped it.
pub(super) struct Parsed {
    pub(super) found: Vec<Result<Found, Error>>,
    pub(super) error: Option<Error>,
}

/// Parses one batch: the reader of the batch's kind, given its text and first line.
pub(super) type ParseFn = fn(&str, usize, &str, Work) -> Parsed;

/// The root of a cut List, parsed once its items are in: given them, it hands them on
/// if it is a List, in order, then its own.
pub(super) type RootFn = fn(&str, usize, &str, PendingItems, &mut dyn Sink) -> Result<(), Error>;

struct Job {
    text: String,
    first_line: usize,
    work: Work,
    reply: mpsc::SyncSender<Parsed>,
}

enum Entry {
    Parsing(mpsc::Receiver<Parsed>, Work),
    Done(Parsed, Work),
    Ready(Box<Found>),
    /// The text of a cut List's document, its items replaced by empty lines.
    ListRoot(String, usize),
    /// The document whose items were held turned out to be of a skipped kind.
    DropHeld,
}

/// Batches sent and not yet handed on, and the workers parsing them.
pub(super) struct Pipeline<'scope, 'env, 'f> {
    scope: &'scope Scope<'scope, 'env>,
    name: &'env str,
    parse: ParseFn,
    root: RootFn,
    found: &'f mut dyn Sink,
    jobs: Option<mpsc::Sender<Job>>,
    queue: VecDeque<Entry>,
    /// A cut List's items, typed, until its document is read; and the first error that
    /// stopped one of their batches.
    held: PendingItems,
    held_error: Option<Error>,
}

impl<'scope, 'env, 'f> Pipeline<'scope, 'env, 'f> {
    pub(super) fn new(
        scope: &'scope Scope<'scope, 'env>,
        name: &'env str,
        parse: ParseFn,
        root: RootFn,
        found: &'f mut dyn Sink,
    ) -> Self {
        Pipeline {
            scope,
            name,
            parse,
            root,
            found,
            jobs: None,
            queue: VecDeque::new(),
            held: PendingItems::default(),
            held_error: None,
        }
    }

    /// Sends a batch to be parsed. The last batch of an input that sent none before is
    /// parsed on this thread: a small input starts no thread.
    pub(super) fn parse(
        &mut self,
        text: String,
        first_line: usize,
        work: Work,
        last: bool,
    ) -> Result<(), Error> {
        if last && self.jobs.is_none() {
            let parsed = (self.parse)(&text, first_line, self.name, work);
            return self.push(Entry::Done(parsed, work));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            text,
            first_line,
            work,
            reply,
        };
        let sent = self.workers().send(job);
        if sent.is_err() {
            return Err(self.stopped());
        }
        self.push(Entry::Parsing(answer, work))
    }

    /// The input's name, for messages.
    pub(super) fn name(&self) -> &'env str {
        self.name
    }

    /// An object the cutter found itself (a document of a skipped kind).
    pub(super) fn ready(&mut self, found: Found) -> Result<(), Error> {
        self.push(Entry::Ready(Box::new(found)))
    }

    /// A cut List's document, read once the batches of its items are handed on.
    pub(super) fn list_root(&mut self, text: String, first_line: usize) -> Result<(), Error> {
        self.push(Entry::ListRoot(text, first_line))
    }

    /// The held items belong to a document of a skipped kind: nothing of them is kept.
    pub(super) fn drop_held(&mut self) -> Result<(), Error> {
        self.push(Entry::DropHeld)
    }

    /// Hands on everything sent, in order; the first error ends it.
    pub(super) fn finish(&mut self) -> Result<(), Error> {
        while let Some(entry) = self.queue.pop_front() {
            self.hand_on(entry)?;
        }
        Ok(())
    }

    fn push(&mut self, entry: Entry) -> Result<(), Error> {
        self.queue.push_back(entry);
        while self.queue.len() > IN_FLIGHT {
            let entry = self.queue.pop_front().unwrap_or_else(|| unreachable!());
            if let Err(error) = self.hand_on(entry) {
                // What came after it is not read: `finish` must not tell a later error.
                self.queue.clear();
                return Err(error);
            }
        }
        Ok(())
    }

    fn hand_on(&mut self, entry: Entry) -> Result<(), Error> {
        match entry {
            Entry::Parsing(answer, work) => {
                let parsed = answer.recv().map_err(|_| self.stopped())?;
                self.hand_on_parsed(parsed, work)
            }
            Entry::Done(parsed, work) => self.hand_on_parsed(parsed, work),
            Entry::Ready(found) => self.found.found(*found),
            Entry::ListRoot(text, first_line) => {
                let held = std::mem::take(&mut self.held);
                if let Some(error) = self.held_error.take() {
                    return Err(error);
                }
                (self.root)(&text, first_line, self.name, held, self.found)
            }
            Entry::DropHeld => {
                self.held = PendingItems::default();
                self.held_error = None;
                Ok(())
            }
        }
    }

    fn hand_on_parsed(&mut self, parsed: Parsed, work: Work) -> Result<(), Error> {
        match work {
            Work::Documents => {
                for found in parsed.found {
                    self.found.found(found?)?;
                }
                parsed.error.map_or(Ok(()), Err)
            }
            Work::Items => {
                // As a List read whole: the items up to the first that fails to be typed;
                // a batch that does not parse fails the List.
                if self.held_error.is_some() {
                    return Ok(());
                }
                for found in parsed.found {
                    if !self.held.failed() {
                        self.held.push(found);
                    }
                }
                self.held_error = parsed.error;
                Ok(())
            }
        }
    }

    /// The channel to the workers, started at the first batch sent.
    fn workers(&mut self) -> &mpsc::Sender<Job> {
        let (scope, parse) = (self.scope, self.parse);
        let name = self.name;
        self.jobs.get_or_insert_with(|| {
            let (jobs, queue) = mpsc::channel::<Job>();
            let queue = Arc::new(Mutex::new(queue));
            let count = std::thread::available_parallelism()
                .map_or(1, usize::from)
                .clamp(1, MAX_WORKERS);
            for _ in 0..count {
                let queue = Arc::clone(&queue);
                // The reader recurses once per level of nesting (see `on_reader_stack`).
                let spawned = std::thread::Builder::new()
                    .name("yaml-reader".into())
                    .stack_size(READER_STACK_BYTES)
                    .spawn_scoped(scope, move || work(&queue, name, parse));
                // Without a worker, the jobs sent are answered by none: `stopped` says so.
                drop(spawned);
            }
            jobs
        })
    }

    fn stopped(&self) -> Error {
        Error::input(
            self.name,
            "the YAML reader could not start or lost a thread",
        )
    }
}

/// A worker: parses the batches it takes until the cutter is done.
fn work(queue: &Mutex<mpsc::Receiver<Job>>, name: &str, parse: ParseFn) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let parsed = parse(&job.text, job.first_line, name, job.work);
        // The cutter gone (it stopped at an error) wants no answer.
        let _ = job.reply.send(parsed);
    }
}
