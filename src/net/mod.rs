//! Sockets and the other operating-system handles the client loop waits on.
//!
//! Everything here is about file descriptors, not MQTT: name resolution, the
//! non-blocking connect, reads and gathered writes, the wake-up handle another
//! thread uses to interrupt `poll`, and `poll` itself. The few `unsafe` calls
//! into libc live here, each in a small function with its reason.

pub mod cancel;
pub mod epoll;
pub mod error;
pub mod host_name_check;
pub mod legacy_pem;
pub mod os_thread;
pub mod poll;
pub mod resolve;
pub mod socket;
pub mod socks5;
pub mod tls;
pub mod tls_config;
pub mod tls_error;
pub mod tls_keys;
pub mod tls_settings;
pub mod transport;
pub mod wakeup;
pub mod websocket;
pub mod websocket_frame;
pub mod websocket_handshake;

pub use error::NetError;
pub use socket::{Progress, Stream};
pub use transport::{Transport, TransportPlan};
