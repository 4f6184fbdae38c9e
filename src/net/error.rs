//! What can go wrong below the protocol, kept precise enough to log.

use std::fmt;
use std::io;

use super::socks5::Socks5Error;
use super::tls_error::TlsError;
use super::websocket::WebSocketError;
use crate::error::Error;

/// A failure of name resolution or of a system call.
#[derive(Debug)]
pub enum NetError {
    /// `getaddrinfo` failed; `code` is its `EAI_*` value, for the log.
    Lookup { code: i32, message: String },
    /// A system call failed; the `io::Error` keeps its errno.
    Os(io::Error),
    /// The peer closed the connection (a read returned 0 bytes).
    Closed,
    /// TLS could not be set up, or the handshake or a record failed.
    Tls(TlsError),
    /// The SOCKS5 proxy did not open the tunnel.
    Proxy(Socks5Error),
    /// The WebSocket upgrade failed, or a frame broke RFC 6455.
    WebSocket(WebSocketError),
}

impl NetError {
    /// The `MOSQ_ERR_*` a C caller sees for this failure; an `Os` failure keeps
    /// its errno, which the C boundary hands on in the thread's `errno`.
    pub fn into_error(self) -> Error {
        match self {
            NetError::Lookup { .. } => Error::Eai,
            NetError::Closed => Error::ConnLost,
            NetError::Tls(e) => e.into_error(),
            NetError::Proxy(e) => e.into_error(),
            NetError::WebSocket(e) => e.into_error(),
            NetError::Os(e) => Error::Errno(e.raw_os_error().unwrap_or(libc::EIO)),
        }
    }

    /// The errno of an `Os` failure.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Os(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl From<io::Error> for NetError {
    fn from(e: io::Error) -> Self {
        NetError::Os(e)
    }
}

impl From<TlsError> for NetError {
    fn from(e: TlsError) -> Self {
        NetError::Tls(e)
    }
}

impl From<WebSocketError> for NetError {
    fn from(e: WebSocketError) -> Self {
        NetError::WebSocket(e)
    }
}

impl From<Socks5Error> for NetError {
    fn from(e: Socks5Error) -> Self {
        NetError::Proxy(e)
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Lookup { code, message } => write!(f, "lookup failed: {message} ({code})"),
            NetError::Os(e) => write!(f, "{e}"),
            NetError::Closed => write!(f, "connection closed by peer"),
            NetError::Tls(e) => write!(f, "{e}"),
            NetError::Proxy(e) => write!(f, "{e}"),
            NetError::WebSocket(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NetError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_os_failure_becomes_errno_carrying_its_code() {
        let e = NetError::Os(io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert_eq!(e.errno(), Some(libc::ECONNREFUSED));
        assert_eq!(e.into_error(), Error::Errno(libc::ECONNREFUSED));
    }

    #[test]
    fn a_lookup_failure_is_eai_and_a_closed_peer_is_conn_lost() {
        let lookup = NetError::Lookup {
            code: libc::EAI_NONAME,
            message: "x".into(),
        };
        assert_eq!(lookup.into_error(), Error::Eai);
        assert_eq!(NetError::Closed.into_error(), Error::ConnLost);
    }
}
