//! What the `piazza` binary shares with its tests: choosing and opening
//! the storage engine. The server knows engines only as
//! `piazza_core::Engine`; this is the one place that names them.

pub mod engines;
