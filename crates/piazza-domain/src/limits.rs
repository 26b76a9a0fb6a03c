//! Every limit Piazza enforces, in one place, with the unit last in the name.

/// Members of one conversation, the owner included.
pub const GROUP_MEMBERS_MAX: usize = 500;
/// Bytes of UTF-8 in one message's text.
pub const MESSAGE_TEXT_BYTES_MAX: usize = 16 * 1024;
/// Characters in a `client_msg_id`.
pub const CLIENT_MSG_ID_CHARS_MAX: usize = 64;
/// Items in one page of any list endpoint.
pub const PAGE_LEN_MAX: u32 = 200;
/// Items in a page when the client does not say.
pub const PAGE_LEN_DEFAULT: u32 = 50;
/// Accounts a history page names for one emoji on one message (the count
/// is exact): a page of 200 messages in a group of 500 stays small.
pub const REACTION_ACCOUNTS_SHOWN: usize = 20;
/// Accounts one message may mention by name (`mention_all` reaches the
/// rest of a group).
pub const MENTIONS_MAX: usize = 100;
/// Characters in a shared location's place name.
pub const PLACE_NAME_CHARS_MAX: usize = 200;
/// Conversations one account may pin to the top of its list.
pub const PINNED_CONVERSATIONS_MAX: usize = 10;
/// Characters of a message's text that a conversation list's
/// `last_message` preview carries.
pub const PREVIEW_CHARS_MAX: usize = 100;
/// Events in one page of `GET /sync`, a list like the others: api-v1
/// caps every `limit` at 200, and larger ones are clamped.
pub const SYNC_PAGE_LEN_MAX: u32 = PAGE_LEN_MAX;
/// Events in a sync page when the client does not say.
pub const SYNC_PAGE_LEN_DEFAULT: u32 = 200;
/// Events a socket's replay reads from the log at a time: internal, so
/// not bound by the API's list cap; fewer, larger reads replay faster.
pub const REPLAY_PAGE_LEN_MAX: u32 = 1000;
/// Longest long-poll wait.
pub const LONG_POLL_WAIT_MS_MAX: u64 = 30_000;
/// Bytes in a request body (uploads have their own cap).
pub const REQUEST_BODY_BYTES_MAX: usize = 64 * 1024;
/// Bytes in one uploaded image (the default of `limits.media_bytes_max`).
pub const MEDIA_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Bytes in one WebSocket frame or message from a client.
pub const WEBSOCKET_FRAME_BYTES_MAX: usize = 64 * 1024;
/// Events waiting for one connected device before it is disconnected.
pub const DEVICE_SEND_QUEUE_LEN_MAX: usize = 1024;
/// Sends from one socket that may wait for their commit at once.
pub const SOCKET_SENDS_IN_FLIGHT_MAX: usize = 256;
/// Characters in a username (which is also at least 3).
pub const USERNAME_CHARS_MAX: usize = 32;
/// Characters in a username, at least.
pub const USERNAME_CHARS_MIN: usize = 3;
/// Characters in a password, at least.
pub const PASSWORD_CHARS_MIN: usize = 8;
/// Bytes in a password: Argon2 does not need more, and it bounds the work.
pub const PASSWORD_BYTES_MAX: usize = 1024;
/// Characters in a display name.
pub const DISPLAY_NAME_CHARS_MAX: usize = 64;
/// Characters in a profile's bio.
pub const BIO_CHARS_MAX: usize = 300;
/// How long a declined contact request keeps its sender's later requests
/// to the same account from reaching it again (they are kept silently, as
/// the first one looks pending to its sender): one a week at most.
pub const CONTACT_REQUEST_RETRY_AFTER_DECLINE_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Characters in a device name.
pub const DEVICE_NAME_CHARS_MAX: usize = 64;
/// Characters in a group title.
pub const GROUP_TITLE_CHARS_MAX: usize = 100;
/// Characters in a group's announcement (line breaks allowed).
pub const ANNOUNCEMENT_CHARS_MAX: usize = 2_000;
/// How long a group invitation lasts unless revoked: seven days.
pub const GROUP_INVITE_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Live invitations one group may hold at once: each is a row an abusive
/// member could otherwise multiply without bound.
pub const GROUP_INVITES_LIVE_MAX: usize = 100;
/// Join requests waiting in one group at once (approval mode).
pub const JOIN_REQUESTS_PENDING_MAX: usize = 500;
/// Characters in a contact request's greeting.
pub const GREETING_CHARS_MAX: usize = 200;
/// Characters in a remark, an account's private name for a contact: as
/// many as a display name, which it stands in for.
pub const REMARK_CHARS_MAX: usize = 64;
/// Characters in a Moments post's text (line breaks allowed).
pub const MOMENT_TEXT_CHARS_MAX: usize = 2_000;
/// Pictures one Moments post may show (WeChat's grid of nine).
pub const MOMENT_MEDIA_MAX: usize = 9;
/// Accounts a Moments post's `only` or `except` list may name.
pub const MOMENT_AUDIENCE_MAX: usize = 1_000;
/// Characters in a comment on a Moments post (line breaks allowed).
pub const MOMENT_COMMENT_CHARS_MAX: usize = 500;
/// Comments one Moments post may hold: each is shown with the post.
pub const MOMENT_COMMENTS_MAX: usize = 1_000;
/// Likes shown with a Moments post (the newest of those the viewer may
/// see); the post says how many there are in all, so a post liked by
/// thousands costs a page no more than one liked by fifty.
pub const MOMENT_LIKES_SHOWN_MAX: usize = 50;
/// Accounts one of the Moments privacy lists (`moments_hidden_from`,
/// `moments_not_shown`) may hold; a list is replaced whole, in one body.
pub const MOMENT_PRIVACY_LIST_MAX: usize = 2_000;
/// Posts of a feed page looked at, at most, to fill one page: a page of
/// fewer (with a cursor to go on) is the answer past it, so a run of posts
/// the caller may not see never makes one request slow.
pub const MOMENT_FEED_SCAN_MAX: usize = 1_000;
/// Live (not revoked) devices one account may hold.
pub const DEVICES_PER_ACCOUNT_MAX: usize = 100;
/// Contacts one account may hold.
pub const CONTACTS_PER_ACCOUNT_MAX: usize = 5000;
/// Bytes in an `Idempotency-Key` (Stripe's limit).
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 255;
/// Wrong payment PINs in a row before money-out is locked (the default;
/// the server's configuration may change it).
pub const PIN_ATTEMPTS_MAX: u32 = 5;
/// How long money-out stays locked after too many wrong PINs (the default).
pub const PIN_LOCK_MS: i64 = 15 * 60 * 1000;
