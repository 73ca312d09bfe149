//! Push decoding and merge checks: what a server does first with the body a
//! client pushes. Decoding a `PushRequest`, `merge::check` on each change and
//! `schema::check_value` on any table, field and value must refuse or accept,
//! never panic: a client controls every byte of it.
#![no_main]

use circles_core::schema::{self, ALL_TABLES};
use circles_core::sync::merge;
use circles_core::sync::wire::PushRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<PushRequest>(data) {
        for change in &request.changes {
            match merge::check(change) {
                Ok(table) => assert_eq!(table.name, change.table),
                // The refusal is shown to a person and sent back as `refused`.
                Err(refused) => {
                    let _ = (refused.to_string(), refused.field(), refused.rule());
                }
            }
        }
        return;
    }
    // Not a push: read it as <table byte><field byte><field name>\n<JSON value>
    // so that every field of every table meets arbitrary values, not only the
    // ones a well-formed push reaches.
    let [table_byte, field_byte, rest @ ..] = data else { return };
    let table = ALL_TABLES[usize::from(*table_byte) % ALL_TABLES.len()];
    let (name, value) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&[][..], rest),
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(value) else { return };
    // An empty name picks one of the table's own fields.
    let field = match std::str::from_utf8(name) {
        Ok("") => table.fields[usize::from(*field_byte) % table.fields.len()].to_string(),
        Ok(name) => name.to_string(),
        Err(_) => return,
    };
    if let Err(e) = schema::check_value(table, &field, &value) {
        let _ = (e.to_string(), e.field(), e.rule());
    }
});
