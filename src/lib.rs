//! skeeter: libmosquitto's C ABI, implemented in Rust.
//!
//! Layers, from the bottom up (see README.md, "Architecture"):
//! `protocol` (pure packet codec), `session` (sans-I/O state machine),
//! `net` and `client` (sockets, loops, callbacks), and `ffi` (the C boundary).
#![cfg_attr(not(test), warn(clippy::undocumented_unsafe_blocks))]

/// cbindgen:ignore
pub mod client;
/// cbindgen:ignore
pub mod error;
pub mod ffi;
/// cbindgen:ignore
pub mod lazy_queue;
/// cbindgen:ignore
pub mod net;
/// cbindgen:ignore
pub mod persist;
/// cbindgen:ignore
pub mod protocol;
/// cbindgen:ignore
pub mod session;
