//! The C boundary: the only `extern "C"` code in the crate.
//!
//! One file per section of the public API. Every export runs its body inside
//! `boundary::guard`, checks its pointers, converts C values, and calls the safe
//! layers below. Nothing here holds protocol or connection logic.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

pub mod boundary;
pub mod constants;
mod header_check;
/// cbindgen:ignore
pub mod mqtt_protocol;
pub mod symbols;
pub mod types;

pub mod actions;
pub mod callbacks;
pub mod client;
pub mod connect;
pub mod event_loop;
pub mod helpers;
pub mod library;
pub mod message;
pub mod options;
pub mod property;
/// cbindgen:ignore
mod property_node;
pub mod proxy;
/// cbindgen:ignore
pub mod skeeter;
pub mod strings;
#[cfg(test)]
mod test_handle;
pub mod tls;
pub mod topic;
pub mod utf8;
