//! Any bytes as a trace file: the whole-file reader, the tables pass and the
//! event stream never panic, and all three reach the same verdict (the same
//! error, or the same events, tables and truncation).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use tracesieve_engine::trace::read_trace;
use tracesieve_engine::trace::stream::{read_tables, EventStream};

fuzz_target!(|data: &[u8]| {
    let whole = read_trace(data);
    let tables = read_tables(Cursor::new(data));
    let streamed = EventStream::open(Cursor::new(data)).and_then(|mut stream| {
        let mut events = Vec::new();
        while let Some(event) = stream.next_event()? {
            events.push(event);
        }
        Ok((events, stream.finish()?))
    });
    match (whole, tables, streamed) {
        (Ok(whole), Ok(tables), Ok((events, outcome))) => {
            assert_eq!(whole.truncation, tables.truncation);
            assert_eq!(whole.truncation, outcome.truncation);
            assert_eq!(whole.trace.codes, tables.trace.codes);
            assert_eq!(whole.trace.events.len() as u64, tables.events);
            assert_eq!(whole.trace.events, events);
        }
        (Err(whole), Err(tables), Err(streamed)) => {
            assert_eq!(whole.to_string(), tables.to_string());
            assert_eq!(whole.to_string(), streamed.to_string());
        }
        (whole, tables, streamed) => panic!(
            "the readers disagree: whole {:?}, tables {:?}, streamed {:?}",
            whole.map(|_| ()),
            tables.map(|_| ()),
            streamed.map(|_| ())
        ),
    }
});
