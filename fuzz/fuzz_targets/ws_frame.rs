//! WebSocket text frames, as `piazza_server::socket::handle_text` takes
//! them: `serde_json::from_str::<ClientFrame>`, then for `sync` the cursor,
//! for `typing` the conversation id, and for `send` the checks of
//! `socket::parse_send` (conversation id, client message id, text, a
//! place). Never panics; a frame that parses prints back
//! to JSON that parses to the same frame.

#![no_main]

use libfuzzer_sys::fuzz_target;
use piazza_api::ClientFrame;
use piazza_domain::limits;
use piazza_domain::{ClientMsgId, ConversationId, Cursor, Location, MessageText};

fuzz_target!(|data: &[u8]| {
    // The socket refuses bigger frames and binary ones before parsing.
    if data.len() > limits::WEBSOCKET_FRAME_BYTES_MAX {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(frame) = serde_json::from_str::<ClientFrame>(text) else {
        return;
    };
    let json = serde_json::to_value(&frame).expect("a frame serializes");
    let again: ClientFrame = serde_json::from_value(json.clone()).expect("a frame re-parses");
    assert_eq!(serde_json::to_value(&again).ok(), Some(json));
    match frame {
        ClientFrame::Ping => {}
        ClientFrame::Sync { since } => {
            if let Some(Ok(cursor)) = since.as_deref().map(Cursor::parse) {
                assert_eq!(Cursor::parse(&cursor.to_string()), Ok(cursor));
            }
        }
        ClientFrame::Typing { conversation_id } => {
            if let Ok(conversation) = ConversationId::parse(&conversation_id) {
                assert_eq!(conversation.to_string(), conversation_id);
            }
        }
        ClientFrame::Send {
            conversation_id,
            client_msg_id,
            message,
        } => {
            let parsed = (
                ConversationId::parse(&conversation_id),
                ClientMsgId::parse(&client_msg_id),
                MessageText::parse(&message.text),
            );
            if let (Ok(conversation), Ok(id), Ok(text)) = parsed {
                assert_eq!(conversation.to_string(), conversation_id);
                assert_eq!(id.as_str(), client_msg_id);
                assert_eq!(text.as_str(), message.text);
            }
            // A place in range keeps its degrees to 1e-7; any other is an
            // error, never a panic.
            if let Some(place) = &message.location
                && let Ok(parsed) = Location::parse(place.lat, place.lon, place.name.as_deref())
            {
                assert!((parsed.lat() - place.lat).abs() <= 1e-7);
                assert!((parsed.lon() - place.lon).abs() <= 1e-7);
            }
        }
    }
});
