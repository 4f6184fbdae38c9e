//! One module per packet type: each reads a body (after the fixed header) and
//! writes a whole packet, for protocol levels 3, 4 and 5.

pub mod ack;
pub mod auth;
pub mod connack;
pub mod connect;
pub mod disconnect;
pub mod ping;
pub mod publish;
mod reason_only;
pub mod suback;
pub mod subscribe;
pub mod unsuback;
pub mod unsubscribe;
