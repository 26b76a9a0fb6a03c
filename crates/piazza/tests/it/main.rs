//! End-to-end tests: the real server on port 0 with a fresh data
//! directory, driven through the client crate the way users drive it;
//! and Pay's state machine over the rules and each engine, without a
//! server (`pay_state_machine.rs`).

mod abuse;
mod bad_input;
mod chaos;
mod chat;
mod cli_chat;
mod cli_pay;
mod cli_profiles;
mod cli_watch;
mod connections;
mod crash;
mod device_details;
mod devices;
mod docs;
mod engines;
mod helpers;
mod integrity;
mod isolation;
mod lists;
mod login_requests;
mod media;
mod merchants;
mod migrate_store;
mod operations;
mod password_attempts;
mod pay_codes;
mod pay_concurrency;
mod pay_crash;
mod pay_pin;
mod pay_rules;
mod pay_state_machine;
mod profiles;
mod read_receipts;
mod recall;
mod red_packets;
mod routes;
mod send_order;
mod serve_output;
mod sync_property;
mod tour;
mod transfers;
mod two_processes;
mod wallet;
mod web_pages;
