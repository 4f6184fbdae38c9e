//! The MQTT packet codec for protocol levels 3, 4 and 5: pure functions over bytes,
//! with no sockets, clocks or threads.

pub mod packet;
pub mod property;
pub mod topic;
pub mod utf8;
