//! The MQTT packet codec for protocol levels 3, 4 and 5: pure functions over bytes,
//! with no sockets, clocks or threads.
#![deny(unsafe_code)]

#[cfg(test)]
mod arbitrary;
pub mod codec;
pub mod decoder;
pub mod packet;
pub mod packets;
pub mod property;
pub mod property_codec;
pub mod reason;
pub mod spare;
pub mod topic;
pub mod utf8;
