pub mod accounts;
pub mod contacts;
pub mod conversations;
pub mod paging;
pub mod sync;
pub mod wallet;
