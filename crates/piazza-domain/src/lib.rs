//! The rules of Piazza, with no I/O.
//!
//! Everything that comes from the network is parsed into one of the types
//! here before it reaches the store; a function that receives a
//! [`Username`] or a [`MessageText`] never checks it again. The rules
//! that need data are in `piazza-core`, over the engines (SQLite,
//! PostgreSQL); these know no database.

pub mod channel;
pub mod contact_code;
pub mod cursor;
pub mod emvco;
pub mod event;
pub mod ids;
pub mod ledger;
pub mod limits;
pub mod media;
pub mod money;
pub mod order;
pub mod red_packet;
pub mod search;
pub mod shop;
pub mod store;
pub mod time;
pub mod values;

pub use contact_code::ContactCode;
pub use cursor::{Cursor, CursorError, LogSeq};
pub use event::{ConversationKind, Event, GroupRole, LogEntry, Message, Notice};
pub use ids::{
    AccountId, ArticleId, ChannelId, CommentId, ContactRequestId, ConversationId, DeviceId,
    EntryId, ExportId, IdError, InviteId, MediaId, MerchantId, MessageId, MomentCommentId,
    MomentId, OrderId, PaymentId, ProductId, RedPacketId, RefundId, ShopId, TransactionId,
    TransferId, VariantId,
};
pub use store::{Rejection, StoreError};
pub use time::Timestamp;
pub use values::{
    Announcement, Bio, ClientMsgId, CommentText, DeviceName, DisplayName, Emoji, Greeting,
    GroupTitle, Location, MessageText, MomentText, Password, PlaceName, Remark, Seq, Username,
    ValueError,
};
