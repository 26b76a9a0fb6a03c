//! Sync cursors (`GET /api/v1/sync?since=`, the WebSocket `sync` frame) and
//! the list cursors of the paged lists (`?cursor=p1.…`). Never panics; a
//! cursor that parses prints back to text that parses to the same cursor,
//! and every position a server can hand out parses back to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use piazza_domain::{Cursor, DeviceId, EntryId};
use piazza_fuzz::{conversation_page_key, log_seq, page_key};

fuzz_target!(|data: &[u8]| {
    let given = Cursor::at(log_seq(data));
    assert_eq!(Cursor::parse(&given.to_string()), Ok(given));

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cursor) = Cursor::parse(text) {
        assert!(cursor.log_seq().get() >= 0, "{text:?}");
        let printed = cursor.to_string();
        assert_eq!(Cursor::parse(&printed), Ok(cursor), "{text:?}");
        // The printed form is the canonical one: it differs from the
        // input only by leading zeros.
        assert_eq!(
            printed.trim_start_matches("v1.").trim_start_matches('0'),
            text.trim_start_matches("v1.").trim_start_matches('0'),
        );
    }
    if let Some(key) = page_key(text) {
        if let Some((at, conversation)) = conversation_page_key(key) {
            let again = format!("{}.{conversation}", at.unix_ms());
            assert_eq!(conversation_page_key(&again), Some((at, conversation)));
            // The page's timestamp is printed in answers; any i64 must do.
            let _ = at.to_rfc3339();
        }
        let _ = DeviceId::parse(key);
        let _ = EntryId::parse(key);
    }
});
