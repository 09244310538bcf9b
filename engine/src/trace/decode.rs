//! Decodes the records of one chunk against the state that carries over
//! from chunk to chunk (the string table, the known code ids, the previous
//! time and thread), all or nothing: a damaged chunk leaves the state as it
//! was. The [framing](super::reader) hands it each chunk's decompressed bytes.
//!
//! # Budgets
//!
//! Any file may be hostile, so what a chunk may decode to is bounded, and a
//! chunk over a bound is damage (reported with its number and offset):
//!
//! * [`CHUNK_DECODE_BUDGET`]: the memory a chunk's events and values take
//!   once decoded (a small chunk of tiny events must not expand to
//!   gigabytes);
//! * [`MAX_THREAD_NUMBER`]: thread numbers (the recorder numbers threads from
//!   0, so they stay small; a reader may keep per-thread state);
//! * [`MAX_OPEN_FRAMES`]: frames entered and not left, over all threads (a
//!   reader that follows the call stacks holds them);
//! * [`MAX_EVENTS_PER_COMPRESSED_BYTE`]: events for the chunk's size on
//!   disk (a file of a few hundred KB must not take minutes to read).
//!
//! Ids (of codes, threads, strings) are looked up, never used as indexes
//! into anything sized by them.

use super::codec::{corrupt, tag, Corrupt, Cursor, MAX_VALUE_DEPTH};
use super::model::{
    Attr, CodeInfo, Event, InputsAt, Name, SequenceKind, Slot, SourceFile, Trace, TraceHeader,
    Trailer, Value, Var,
};
use crate::explain::ValueKind;
use crate::identity::ModuleFile;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::Cell;
use std::mem::size_of;

/// The most memory one chunk's decoded events and values may take: 16 MiB
/// (an event counts twice its size, for the slack of the growing list
/// that holds them).
/// A chunk the writer makes (64 KiB of records, or one record of at most
/// [`super::codec::MAX_RECORD_BYTES`]) with the recorder's value bounds
/// stays far below it.
pub const CHUNK_DECODE_BUDGET: usize = 16 << 20;

/// The highest thread number a trace may use.
pub const MAX_THREAD_NUMBER: u32 = (1 << 20) - 1;

/// The most frames that may be open at once, over all threads.
pub const MAX_OPEN_FRAMES: u64 = 1 << 22;

/// The most events a chunk may hold per byte of its compressed form: real
/// recordings hold about one (a few with a coarse clock, whose repeated
/// deltas compress well); LZ4 cannot give more than about 85 of the
/// smallest events per byte. Keeps the time a small file takes to read in
/// proportion to its size.
pub const MAX_EVENTS_PER_COMPRESSED_BYTE: usize = 64;

/// What becomes of decoded events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Appended to the trace's `events`: the whole trace in memory.
    All,
    /// Handed out chunk by chunk ([`super::TraceReader::take_events`]).
    Stream,
    /// Checked, counted and let go: only the tables are wanted.
    Tables,
}

/// The decoding state, which carries over from chunk to chunk.
#[derive(Debug)]
pub(crate) struct Decoder {
    /// The header and tables read so far; `events` only with [`Keep::All`].
    trace: Option<Trace>,
    keep: Keep,
    /// Decoded events of complete chunks, waiting to be taken ([`Keep::Stream`]).
    ready: Vec<Event>,
    /// The events of the chunk being decoded (not with [`Keep::Tables`]).
    chunk_events: Vec<Event>,
    /// The thread and kind of each event of the chunk being decoded, for
    /// the thread and frame budgets (in every mode).
    steps: Vec<Step>,
    /// The `thread_start`s of the chunk being decoded.
    chunk_names: Vec<(u32, Name)>,
    strings: Vec<Name>,
    code_ids: FxHashSet<u32>,
    /// Each thread's name, from its first `thread_start`, in that order.
    thread_names: Vec<(u32, Name)>,
    /// The threads in `thread_names`.
    named: FxHashSet<u32>,
    /// Open frames per thread, and over all threads.
    depths: FxHashMap<u32, u32>,
    open_frames: u64,
    prev_t: u64,
    prev_thread: u32,
    /// Events decoded in complete chunks.
    events: u64,
    /// Memory the current chunk's events and values take so far.
    spent: Cell<usize>,
    /// Set when the chunk that failed went over a budget (rather than
    /// being malformed).
    over_limit: Cell<bool>,
    /// Decoding a chunk again ([`Decoder::replaying`]): its table records
    /// are skipped, the tables being complete already.
    replay: bool,
}

/// What the budgets need of an event.
#[derive(Debug, Clone, Copy)]
struct Step {
    thread: u32,
    /// The event kind (`codec::tag::EV_*`).
    kind: u8,
}

/// Lengths to roll back to when a chunk turns out to be damaged.
struct Snapshot {
    header: bool,
    strings: usize,
    codes: usize,
    sys_paths: usize,
    modules: usize,
    markers: usize,
    sources: usize,
    trailer: bool,
    prev_t: u64,
    prev_thread: u32,
}

impl Decoder {
    /// A decoder waiting for the header chunk.
    pub fn new(keep: Keep) -> Decoder {
        Decoder {
            trace: None,
            keep,
            ready: Vec::new(),
            chunk_events: Vec::new(),
            steps: Vec::new(),
            chunk_names: Vec::new(),
            strings: Vec::new(),
            code_ids: FxHashSet::default(),
            thread_names: Vec::new(),
            named: FxHashSet::default(),
            depths: FxHashMap::default(),
            open_frames: 0,
            prev_t: 0,
            prev_thread: 0,
            events: 0,
            spent: Cell::new(0),
            over_limit: Cell::new(false),
            replay: false,
        }
    }

    /// What decoding a chunk again needs of this decoder: the header, the
    /// string table and the known code ids (not the other tables, nor any
    /// events), ready to decode any chunk on its own: table records are
    /// skipped, events handed out.
    pub fn replaying(&self) -> Decoder {
        let mut decoder = Decoder::new(Keep::Stream);
        decoder.trace = self
            .trace
            .as_ref()
            .map(|t| Trace::of_header(t.header.clone()));
        decoder.strings = self.strings.clone();
        decoder.code_ids = self.code_ids.clone();
        decoder.replay = true;
        decoder
    }

    /// The time and thread of the last event decoded: where the next chunk
    /// starts from.
    pub fn position(&self) -> (u64, u32) {
        (self.prev_t, self.prev_thread)
    }

    /// Sets where the next chunk starts from (for a chunk decoded again).
    pub fn set_position(&mut self, (t, thread): (u64, u32)) {
        self.prev_t = t;
        self.prev_thread = thread;
    }

    /// The header and tables so far (with the events too under [`Keep::All`]).
    pub fn trace(&self) -> Option<&Trace> {
        self.trace.as_ref()
    }

    /// The trace, when reading ends.
    pub fn into_trace(self) -> Option<Trace> {
        self.trace
    }

    /// Events decoded in complete chunks.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Each thread's name, from its first `thread_start` so far, in that order.
    pub fn thread_names(&self) -> &[(u32, Name)] {
        &self.thread_names
    }

    /// How many distinct threads the events of complete chunks are on.
    pub fn thread_count(&self) -> usize {
        self.depths.len()
    }

    /// Takes the events of the chunks decoded since the last call ([`Keep::Stream`]).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.ready)
    }

    fn snapshot(&self) -> Snapshot {
        let t = self.trace.as_ref();
        Snapshot {
            header: t.is_some(),
            strings: self.strings.len(),
            codes: t.map_or(0, |t| t.codes.len()),
            sys_paths: t.map_or(0, |t| t.sys_paths.len()),
            modules: t.map_or(0, |t| t.modules.len()),
            markers: t.map_or(0, |t| t.markers.len()),
            sources: t.map_or(0, |t| t.sources.len()),
            trailer: t.is_some_and(|t| t.trailer.is_some()),
            prev_t: self.prev_t,
            prev_thread: self.prev_thread,
        }
    }

    fn rollback(&mut self, s: Snapshot) {
        self.chunk_events.clear();
        self.steps.clear();
        self.chunk_names.clear();
        self.strings.truncate(s.strings);
        self.prev_t = s.prev_t;
        self.prev_thread = s.prev_thread;
        if !s.header {
            self.trace = None;
            self.code_ids.clear();
            return;
        }
        if let Some(t) = &mut self.trace {
            for code in t.codes.get(s.codes..).unwrap_or(&[]) {
                self.code_ids.remove(&code.id);
            }
            t.codes.truncate(s.codes);
            t.sys_paths.truncate(s.sys_paths);
            t.modules.truncate(s.modules);
            t.markers.truncate(s.markers);
            t.sources.truncate(s.sources);
            if !s.trailer {
                t.trailer = None;
            }
        }
    }

    /// Decodes one chunk's records (`data`, from `compressed` bytes on
    /// disk), all or nothing. Returns whether the trailer was read.
    pub fn decode_chunk(&mut self, data: &[u8], compressed: usize) -> Result<bool, Corrupt> {
        let snapshot = self.snapshot();
        self.spent.set(0);
        self.over_limit.set(false);
        let result = self.records(data).and_then(|ended| {
            if self.replay {
                // Checked when the file was first read.
                self.steps.clear();
                self.chunk_names.clear();
            } else {
                let allowed = compressed.saturating_mul(MAX_EVENTS_PER_COMPRESSED_BYTE);
                if self.steps.len() > allowed {
                    return self.over(format!(
                        "it holds {} events in {compressed} compressed bytes, more than \
                         {MAX_EVENTS_PER_COMPRESSED_BYTE} per byte",
                        self.steps.len()
                    ));
                }
                self.follow_frames()?;
            }
            Ok(ended)
        });
        match result {
            Ok(ended) => {
                match self.keep {
                    Keep::All => {
                        if let Some(t) = &mut self.trace {
                            t.events.append(&mut self.chunk_events);
                        }
                    }
                    Keep::Stream if self.ready.is_empty() => {
                        std::mem::swap(&mut self.ready, &mut self.chunk_events);
                    }
                    Keep::Stream => self.ready.append(&mut self.chunk_events),
                    Keep::Tables => self.chunk_events.clear(),
                }
                if self.chunk_events.capacity() > 1 << 16 {
                    self.chunk_events = Vec::new();
                }
                Ok(ended)
            }
            Err(e) => {
                self.rollback(snapshot);
                Err(e)
            }
        }
    }

    /// Checks the chunk's events against the thread and frame budgets and,
    /// when they hold, takes its thread names and frame depths into the
    /// state (nothing changes otherwise).
    fn follow_frames(&mut self) -> Result<(), Corrupt> {
        let mut depths: FxHashMap<u32, u32> = FxHashMap::default();
        let mut open = self.open_frames;
        for (i, step) in self.steps.iter().enumerate() {
            let thread = step.thread;
            if thread > MAX_THREAD_NUMBER {
                return self.over(format!(
                    "event #{i} of the chunk is on thread {thread}, over the limit of {MAX_THREAD_NUMBER}"
                ));
            }
            let depth = depths
                .entry(thread)
                .or_insert_with(|| self.depths.get(&thread).copied().unwrap_or(0));
            match step.kind {
                tag::EV_CALL | tag::EV_RESUME | tag::EV_THROW => {
                    *depth += 1;
                    open += 1;
                    if open > MAX_OPEN_FRAMES {
                        return self.over(format!(
                            "event #{i} of the chunk opens more than {MAX_OPEN_FRAMES} frames at once"
                        ));
                    }
                }
                tag::EV_RETURN | tag::EV_YIELD | tag::EV_UNWIND if *depth > 0 => {
                    *depth -= 1;
                    open -= 1;
                }
                _ => {}
            }
        }
        for (thread, name) in self.chunk_names.drain(..) {
            if self.named.insert(thread) {
                self.thread_names.push((thread, name));
            }
        }
        self.events += self.steps.len() as u64;
        self.steps.clear();
        self.depths.extend(depths);
        self.open_frames = open;
        Ok(())
    }

    /// Whether the last chunk that failed went over a budget: the file is
    /// hostile or damaged beyond what a recording cut short looks like.
    pub fn over_limit(&self) -> bool {
        self.over_limit.get()
    }

    /// Damage that is a budget overrun.
    fn over<T>(&self, reason: String) -> Result<T, Corrupt> {
        self.over_limit.set(true);
        corrupt(reason)
    }

    /// Counts `bytes` against the chunk's decode budget.
    fn spend(&self, bytes: usize) -> Result<(), Corrupt> {
        let spent = self.spent.get().saturating_add(bytes);
        self.spent.set(spent);
        if spent > CHUNK_DECODE_BUDGET {
            return self.over(format!(
                "it decodes to more than {} MiB of events and values",
                CHUNK_DECODE_BUDGET >> 20
            ));
        }
        Ok(())
    }

    fn records(&mut self, data: &[u8]) -> Result<bool, Corrupt> {
        let mut cur = Cursor::new(data);
        while !cur.is_empty() {
            let at = cur.pos();
            let tg = cur.u8()?;
            if let Err(Corrupt(why)) = self.record(tg, &mut cur) {
                return corrupt(format!(
                    "the record at offset {at} (tag 0x{tg:02x}) is invalid: {why}"
                ));
            }
            if tg == tag::TRAILER {
                if !cur.is_empty() {
                    return corrupt(format!(
                        "{} bytes of records follow the trailer",
                        cur.remaining()
                    ));
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn string(&self, cur: &mut Cursor<'_>) -> Result<String, Corrupt> {
        self.name(cur).map(|name| name.to_string())
    }

    /// A string of the table, shared rather than copied.
    fn name(&self, cur: &mut Cursor<'_>) -> Result<Name, Corrupt> {
        self.name_at(cur.uv()?)
    }

    /// String `id` of the table.
    fn name_at(&self, id: u64) -> Result<Name, Corrupt> {
        match usize::try_from(id).ok().and_then(|i| self.strings.get(i)) {
            Some(s) => Ok(Name::clone(s)),
            None => corrupt(format!(
                "string id {id} is not defined ({} strings so far)",
                self.strings.len()
            )),
        }
    }

    fn ostring(&self, cur: &mut Cursor<'_>) -> Result<Option<String>, Corrupt> {
        match cur.uv()? {
            0 => Ok(None),
            id => self.name_at(id - 1).map(|name| Some(name.to_string())),
        }
    }

    fn record(&mut self, tg: u8, cur: &mut Cursor<'_>) -> Result<(), Corrupt> {
        if self.replay && tg < tag::EVENT {
            return skip_table_record(tg, cur);
        }
        if tg == tag::HEADER {
            let json = cur.str()?;
            if self.trace.is_some() {
                return corrupt("a second header");
            }
            let header: TraceHeader = serde_json::from_str(json)
                .map_err(|e| Corrupt::new(format!("the header does not decode: {e}")))?;
            self.trace = Some(Trace::of_header(header));
            return Ok(());
        }
        if self.trace.is_none() {
            return corrupt("the first record of the file is not the header");
        }
        match tg {
            tag::STRING => {
                let s = cur.str()?;
                if self.strings.len() >= u32::MAX as usize {
                    return corrupt("more than 2^32 strings");
                }
                self.strings.push(Name::from(s));
            }
            tag::SYS_PATH => {
                let n = cur.count()?;
                let mut entries = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    entries.push(self.string(cur)?);
                }
                self.trace_mut()?.sys_paths.push(entries);
            }
            tag::MODULE => {
                let name = self.string(cur)?;
                let path = self.string(cur)?;
                self.trace_mut()?.modules.push(ModuleFile { name, path });
            }
            tag::MARKER => {
                let dir = self.string(cur)?;
                self.trace_mut()?.markers.push(dir);
            }
            tag::SOURCE => {
                let path = self.string(cur)?;
                let text = cur.ostr()?.map(str::to_owned);
                let omitted = cur.ostr()?.map(str::to_owned);
                self.trace_mut()?.sources.push(SourceFile {
                    path,
                    text,
                    omitted,
                });
            }
            tag::CODE => self.code(cur)?,
            tag::TRAILER => {
                let json = cur.str()?;
                let trailer: Trailer = serde_json::from_str(json)
                    .map_err(|e| Corrupt::new(format!("the trailer does not decode: {e}")))?;
                self.trace_mut()?.trailer = Some(trailer);
            }
            tag::EXTENSION_FIRST..=tag::EXTENSION_LAST => {
                cur.bytes()?;
            }
            tag::EVENT..=u8::MAX => self.event(tg, cur)?,
            _ => return corrupt("unknown record tag"),
        }
        Ok(())
    }

    fn trace_mut(&mut self) -> Result<&mut Trace, Corrupt> {
        match &mut self.trace {
            Some(t) => Ok(t),
            None => corrupt("a record before the header"),
        }
    }

    fn code(&mut self, cur: &mut Cursor<'_>) -> Result<(), Corrupt> {
        let id = cur.u32v("code id")?;
        let filename = self.string(cur)?;
        let qualname = self.string(cur)?;
        let first_line = cur.u32v("first line")?;
        let dunder_name = self.ostring(cur)?;
        let inputs = InputsAt {
            sys_path: cur.u32v("sys.path version")?,
            modules: cur.u32v("module count")?,
            markers: cur.u32v("marker count")?,
        };
        if self.code_ids.contains(&id) {
            return corrupt(format!("code object {id} is defined twice"));
        }
        let t = self.trace_mut()?;
        let sys_path_ok = (inputs.sys_path as usize) < t.sys_paths.len()
            || (inputs.sys_path == 0 && t.sys_paths.is_empty());
        if !sys_path_ok
            || inputs.modules as usize > t.modules.len()
            || inputs.markers as usize > t.markers.len()
        {
            return corrupt(format!(
                "code object {id} refers to resolver inputs not read yet \
                 (sys_path {}, modules {}, markers {})",
                inputs.sys_path, inputs.modules, inputs.markers
            ));
        }
        t.codes.push(CodeInfo {
            id,
            filename,
            qualname,
            first_line,
            dunder_name,
            inputs,
        });
        self.code_ids.insert(id);
        Ok(())
    }

    fn known_code(&self, cur: &mut Cursor<'_>) -> Result<u32, Corrupt> {
        let code = cur.u32v("code id")?;
        if !self.code_ids.contains(&code) {
            return corrupt(format!("code object {code} is not defined"));
        }
        Ok(code)
    }

    fn event(&mut self, tg: u8, cur: &mut Cursor<'_>) -> Result<(), Corrupt> {
        let kind = tg & tag::EV_KIND_MASK;
        let thread = if tg & tag::EV_THREAD != 0 {
            cur.u32v("thread")?
        } else {
            self.prev_thread
        };
        let dt = cur.uv()?;
        let t = if tg & tag::EV_BACK != 0 {
            self.prev_t.checked_sub(dt)
        } else {
            self.prev_t.checked_add(dt)
        };
        let Some(t) = t else {
            return corrupt("the event time is out of range");
        };
        let list = tg & tag::EV_LIST != 0;
        if list && kind != tag::EV_CALL && kind != tag::EV_LINE {
            return corrupt("only calls and lines carry a list");
        }
        self.spend(2 * size_of::<Event>())?;
        if kind == tag::EV_THREAD_START {
            let name = self.string(cur)?;
            self.chunk_names.push((thread, Name::from(name.as_str())));
            if self.keep != Keep::Tables {
                self.chunk_events
                    .push(Event::ThreadStart { thread, name, t });
            }
        } else if self.keep == Keep::Tables {
            self.event_body::<false>(kind, list, thread, t, cur)?;
        } else if let Some(event) = self.event_body::<true>(kind, list, thread, t, cur)? {
            self.chunk_events.push(event);
        }
        self.steps.push(Step { thread, kind });
        self.prev_t = t;
        self.prev_thread = thread;
        Ok(())
    }

    /// The fields of an event after its time, checked and counted; built
    /// into an [`Event`] when `BUILD` (`None` otherwise).
    fn event_body<const BUILD: bool>(
        &self,
        kind: u8,
        list: bool,
        thread: u32,
        t: u64,
        cur: &mut Cursor<'_>,
    ) -> Result<Option<Event>, Corrupt> {
        let event = match kind {
            tag::EV_CALL => {
                let code = self.known_code(cur)?;
                let args = self.vars::<BUILD>(list, cur)?;
                args.map(|args| Event::Call {
                    thread,
                    t,
                    code,
                    args,
                })
            }
            tag::EV_RESUME => {
                let code = self.known_code(cur)?;
                BUILD.then_some(Event::Resume { thread, t, code })
            }
            tag::EV_THROW => {
                let code = self.known_code(cur)?;
                self.slot::<BUILD>(cur, 1)?.map(|exception| Event::Throw {
                    thread,
                    t,
                    code,
                    exception: Box::new(exception),
                })
            }
            tag::EV_LINE => {
                let line = cur.u32v("line")?;
                self.vars::<BUILD>(list, cur)?.map(|vars| Event::Line {
                    thread,
                    t,
                    line,
                    vars,
                })
            }
            tag::EV_RETURN => {
                self.slot::<BUILD>(cur, 1)?
                    .map(|value| Event::Return { thread, t, value })
            }
            tag::EV_YIELD => {
                self.slot::<BUILD>(cur, 1)?
                    .map(|value| Event::Yield { thread, t, value })
            }
            tag::EV_UNWIND => {
                self.slot::<BUILD>(cur, 1)?
                    .map(|value| Event::Unwind { thread, t, value })
            }
            tag::EV_RAISE => {
                let line = cur.u32v("line")?;
                self.slot::<BUILD>(cur, 1)?.map(|exception| Event::Raise {
                    thread,
                    t,
                    line,
                    exception: Box::new(exception),
                })
            }
            _ => return corrupt(format!("unknown event kind {kind}")),
        };
        Ok(event)
    }

    /// A call's arguments or a line's variables (none without `list`).
    fn vars<const BUILD: bool>(
        &self,
        list: bool,
        cur: &mut Cursor<'_>,
    ) -> Result<Option<Vec<Var>>, Corrupt> {
        if !list {
            return Ok(BUILD.then(Vec::new));
        }
        let n = cur.count()?;
        let mut vars = Vec::with_capacity(if BUILD { n.min(256) } else { 0 });
        for _ in 0..n {
            let packed = cur.uv()?;
            let kind = match packed & 7 {
                0 => ValueKind::Arg,
                1 => ValueKind::Local,
                2 => ValueKind::Global,
                3 => ValueKind::Ret,
                4 => ValueKind::Attr,
                k => return corrupt(format!("unknown variable kind {k}")),
            };
            let name = self.name_of::<BUILD>(packed >> 3)?;
            self.spend(size_of::<Var>())?;
            let value = self.slot::<BUILD>(cur, 1)?;
            if let (Some(name), Some(value)) = (name, value) {
                vars.push(Var { kind, name, value });
            }
        }
        Ok(BUILD.then_some(vars))
    }

    /// String `id` of the table, checked; shared (not copied) when `BUILD`.
    fn name_of<const BUILD: bool>(&self, id: u64) -> Result<Option<Name>, Corrupt> {
        if BUILD {
            return self.name_at(id).map(Some);
        }
        match usize::try_from(id).ok().and_then(|i| self.strings.get(i)) {
            Some(_) => Ok(None),
            None => self.name_at(id).map(Some),
        }
    }

    fn slot<const BUILD: bool>(
        &self,
        cur: &mut Cursor<'_>,
        depth: usize,
    ) -> Result<Option<Slot>, Corrupt> {
        let b = cur.u8()?;
        Ok(match b {
            tag::SLOT_REDACTED => BUILD.then_some(Slot::Redacted),
            tag::SLOT_DROPPED => BUILD.then_some(Slot::Dropped),
            tag::SLOT_ABSENT => BUILD.then_some(Slot::Absent),
            _ => self
                .value_with::<BUILD>(b, cur, depth)?
                .map(|value| Slot::Value { value }),
        })
    }

    fn value<const BUILD: bool>(
        &self,
        cur: &mut Cursor<'_>,
        depth: usize,
    ) -> Result<Option<Value>, Corrupt> {
        let b = cur.u8()?;
        self.value_with::<BUILD>(b, cur, depth)
    }

    /// The full length of a cut-able value with `n` items.
    fn length(cut: bool, n: usize, cur: &mut Cursor<'_>) -> Result<u64, Corrupt> {
        if cut {
            cur.uv()
        } else {
            Ok(n as u64)
        }
    }

    /// A type or attribute name (`sid`), checked; shared when `BUILD`.
    fn type_name<const BUILD: bool>(&self, cur: &mut Cursor<'_>) -> Result<Option<Name>, Corrupt> {
        let id = cur.uv()?;
        self.name_of::<BUILD>(id)
    }

    /// A string field of `n` bytes, checked and counted; owned when `BUILD`.
    fn text<const BUILD: bool>(
        &self,
        cur: &mut Cursor<'_>,
        n: usize,
    ) -> Result<Option<String>, Corrupt> {
        self.spend(n)?;
        let text = cur.str_of_len(n)?;
        Ok(BUILD.then(|| text.to_owned()))
    }

    /// A length-prefixed string field, checked and counted; owned when `BUILD`.
    fn owned_str<const BUILD: bool>(
        &self,
        cur: &mut Cursor<'_>,
    ) -> Result<Option<String>, Corrupt> {
        let text = cur.str()?;
        self.spend(text.len())?;
        Ok(BUILD.then(|| text.to_owned()))
    }

    /// A value whose first byte is `b`, checked and counted against the
    /// budget; built when `BUILD` (`None` otherwise, having allocated nothing).
    fn value_with<const BUILD: bool>(
        &self,
        b: u8,
        cur: &mut Cursor<'_>,
        depth: usize,
    ) -> Result<Option<Value>, Corrupt> {
        if depth > MAX_VALUE_DEPTH {
            return corrupt(format!(
                "a value nests deeper than {MAX_VALUE_DEPTH} levels"
            ));
        }
        if b & !(tag::VAL_KIND_MASK | tag::VAL_CUT) != 0 {
            return corrupt(format!("0x{b:02x} is not a value"));
        }
        self.spend(size_of::<Value>())?;
        let kind = b & tag::VAL_KIND_MASK;
        let cut = b & tag::VAL_CUT != 0;
        let cuttable = matches!(kind, tag::VAL_STR..=tag::VAL_REPR);
        if cut && !cuttable {
            return corrupt(format!("value kind {kind} cannot be cut"));
        }
        Ok(match kind {
            tag::VAL_NONE => BUILD.then_some(Value::None),
            tag::VAL_FALSE => BUILD.then_some(Value::Bool { value: false }),
            tag::VAL_TRUE => BUILD.then_some(Value::Bool { value: true }),
            tag::VAL_INT => {
                let value = cur.sv()?;
                BUILD.then_some(Value::Int { value })
            }
            tag::VAL_BIGINT => self
                .owned_str::<BUILD>(cur)?
                .map(|digits| Value::BigInt { digits }),
            tag::VAL_FLOAT => {
                let value = cur.f64()?;
                BUILD.then_some(Value::Float { value })
            }
            tag::VAL_STR => {
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                self.text::<BUILD>(cur, n)?
                    .map(|value| Value::Str { value, length })
            }
            tag::VAL_BYTES => {
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                self.spend(n)?;
                let bytes = cur.take(n)?;
                BUILD.then(|| Value::Bytes {
                    value: bytes.to_vec(),
                    length,
                })
            }
            tag::VAL_LIST | tag::VAL_TUPLE | tag::VAL_SET | tag::VAL_FROZENSET => {
                let seq = match kind {
                    tag::VAL_LIST => SequenceKind::List,
                    tag::VAL_TUPLE => SequenceKind::Tuple,
                    tag::VAL_SET => SequenceKind::Set,
                    _ => SequenceKind::FrozenSet,
                };
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                let mut items = Vec::with_capacity(if BUILD { n.min(256) } else { 0 });
                for _ in 0..n {
                    if let Some(item) = self.value::<BUILD>(cur, depth + 1)? {
                        items.push(item);
                    }
                }
                BUILD.then_some(Value::Sequence {
                    kind: seq,
                    items,
                    length,
                })
            }
            tag::VAL_DICT => {
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                let mut entries = Vec::with_capacity(if BUILD { n.min(256) } else { 0 });
                for _ in 0..n {
                    let k = self.value::<BUILD>(cur, depth + 1)?;
                    let v = self.value::<BUILD>(cur, depth + 1)?;
                    if let (Some(k), Some(v)) = (k, v) {
                        entries.push((k, v));
                    }
                }
                BUILD.then_some(Value::Dict { entries, length })
            }
            tag::VAL_OBJECT => {
                let type_name = self.type_name::<BUILD>(cur)?;
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                let mut attrs = Vec::with_capacity(if BUILD { n.min(256) } else { 0 });
                for _ in 0..n {
                    self.spend(size_of::<Attr>())?;
                    let name = self.type_name::<BUILD>(cur)?;
                    let value = self.slot::<BUILD>(cur, depth + 1)?;
                    if let (Some(name), Some(value)) = (name, value) {
                        attrs.push(Attr { name, value });
                    }
                }
                type_name.map(|type_name| Value::Object {
                    type_name,
                    attrs,
                    length,
                })
            }
            tag::VAL_REPR => {
                let type_name = self.type_name::<BUILD>(cur)?;
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                let text = self.text::<BUILD>(cur, n)?;
                type_name.zip(text).map(|(type_name, text)| Value::Repr {
                    type_name,
                    text,
                    length,
                })
            }
            tag::VAL_REPR_ERROR => {
                let type_name = self.type_name::<BUILD>(cur)?;
                let message = self.owned_str::<BUILD>(cur)?;
                type_name
                    .zip(message)
                    .map(|(type_name, message)| Value::ReprError { type_name, message })
            }
            tag::VAL_DEEP => self
                .type_name::<BUILD>(cur)?
                .map(|type_name| Value::Deep { type_name }),
            tag::VAL_CYCLE => self
                .type_name::<BUILD>(cur)?
                .map(|type_name| Value::Cycle { type_name }),
            tag::VAL_REDACTED => Some(Value::Redacted),
            _ => return corrupt(format!("unknown value kind {kind}")),
        })
    }
}

/// Reads past a table record (or the header, the trailer, an extension)
/// without taking it in: for a chunk decoded again, whose tables are known.
fn skip_table_record(tg: u8, cur: &mut Cursor<'_>) -> Result<(), Corrupt> {
    match tg {
        tag::HEADER | tag::STRING | tag::TRAILER => {
            cur.str()?;
        }
        tag::SYS_PATH => {
            for _ in 0..cur.count()? {
                cur.uv()?;
            }
        }
        tag::MODULE => {
            cur.uv()?;
            cur.uv()?;
        }
        tag::MARKER => {
            cur.uv()?;
        }
        tag::SOURCE => {
            cur.uv()?;
            cur.ostr()?;
            cur.ostr()?;
        }
        tag::CODE => {
            for _ in 0..8 {
                cur.uv()?;
            }
        }
        tag::EXTENSION_FIRST..=tag::EXTENSION_LAST => {
            cur.bytes()?;
        }
        _ => return corrupt("unknown record tag"),
    }
    Ok(())
}
