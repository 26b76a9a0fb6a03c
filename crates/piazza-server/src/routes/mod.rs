pub mod accounts;
pub mod contacts;
pub mod conversations;
pub mod paging;
pub mod red_packets;
pub mod sync;
pub mod transfers;
pub mod wallet;
