//! The error codes of the C API, as a Rust enum.
//!
//! Each variant stands for the `MOSQ_ERR_*` value a C caller sees, and every layer
//! below the FFI returns `Result<T, Error>` instead of bare integers. An OS failure
//! carries its errno as a value; only the C boundary puts it in the thread's `errno`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    AuthContinue,
    NoSubscribers,
    SubExists,
    ConnPending,
    NoMem,
    Protocol,
    Inval,
    NoConn,
    ConnRefused,
    NotFound,
    ConnLost,
    Tls,
    PayloadSize,
    NotSupported,
    Auth,
    AclDenied,
    Unknown,
    /// `MOSQ_ERR_ERRNO`, with the `errno` of the failed system call.
    Errno(i32),
    Eai,
    Proxy,
    PluginDefer,
    MalformedUtf8,
    Keepalive,
    Lookup,
    MalformedPacket,
    DuplicateProperty,
    TlsHandshake,
    QosNotSupported,
    OversizePacket,
    Ocsp,
    Timeout,
    RetainNotSupported,
    TopicAliasInvalid,
    AdministrativeAction,
    AlreadyExists,
}

pub type Result<T> = std::result::Result<T, Error>;

/// `MOSQ_ERR_SUCCESS`: not an `Error`, but the value C sees for `Ok`.
pub const SUCCESS: i32 = 0;

impl Error {
    /// The `MOSQ_ERR_*` value handed to C.
    pub const fn code(self) -> i32 {
        match self {
            Error::AuthContinue => -4,
            Error::NoSubscribers => -3,
            Error::SubExists => -2,
            Error::ConnPending => -1,
            Error::NoMem => 1,
            Error::Protocol => 2,
            Error::Inval => 3,
            Error::NoConn => 4,
            Error::ConnRefused => 5,
            Error::NotFound => 6,
            Error::ConnLost => 7,
            Error::Tls => 8,
            Error::PayloadSize => 9,
            Error::NotSupported => 10,
            Error::Auth => 11,
            Error::AclDenied => 12,
            Error::Unknown => 13,
            Error::Errno(_) => 14,
            Error::Eai => 15,
            Error::Proxy => 16,
            Error::PluginDefer => 17,
            Error::MalformedUtf8 => 18,
            Error::Keepalive => 19,
            Error::Lookup => 20,
            Error::MalformedPacket => 21,
            Error::DuplicateProperty => 22,
            Error::TlsHandshake => 23,
            Error::QosNotSupported => 24,
            Error::OversizePacket => 25,
            Error::Ocsp => 26,
            Error::Timeout => 27,
            Error::RetainNotSupported => 28,
            Error::TopicAliasInvalid => 29,
            Error::AdministrativeAction => 30,
            Error::AlreadyExists => 31,
        }
    }

    /// The errno an `Errno` failure carries.
    pub const fn errno(self) -> Option<i32> {
        match self {
            Error::Errno(errno) => Some(errno),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self, self.code())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_c_enum() {
        assert_eq!(Error::AuthContinue.code(), -4);
        assert_eq!(Error::NoMem.code(), 1);
        assert_eq!(Error::Errno(libc::EPIPE).code(), 14);
        assert_eq!(Error::AlreadyExists.code(), 31);
        assert_eq!(Error::Errno(libc::EPIPE).errno(), Some(libc::EPIPE));
        assert_eq!(Error::Inval.errno(), None);
    }
}
