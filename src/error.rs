//! The error codes of the C API, as a Rust enum.
//!
//! Each variant's discriminant is the `MOSQ_ERR_*` value a C caller sees, so the
//! conversion at the boundary is a cast, and every layer below the FFI returns
//! `Result<T, Error>` instead of bare integers.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Error {
    AuthContinue = -4,
    NoSubscribers = -3,
    SubExists = -2,
    ConnPending = -1,
    NoMem = 1,
    Protocol = 2,
    Inval = 3,
    NoConn = 4,
    ConnRefused = 5,
    NotFound = 6,
    ConnLost = 7,
    Tls = 8,
    PayloadSize = 9,
    NotSupported = 10,
    Auth = 11,
    AclDenied = 12,
    Unknown = 13,
    Errno = 14,
    Eai = 15,
    Proxy = 16,
    PluginDefer = 17,
    MalformedUtf8 = 18,
    Keepalive = 19,
    Lookup = 20,
    MalformedPacket = 21,
    DuplicateProperty = 22,
    TlsHandshake = 23,
    QosNotSupported = 24,
    OversizePacket = 25,
    Ocsp = 26,
    Timeout = 27,
    RetainNotSupported = 28,
    TopicAliasInvalid = 29,
    AdministrativeAction = 30,
    AlreadyExists = 31,
}

pub type Result<T> = std::result::Result<T, Error>;

/// `MOSQ_ERR_SUCCESS`: not an `Error`, but the value C sees for `Ok`.
pub const SUCCESS: i32 = 0;

impl Error {
    /// The `MOSQ_ERR_*` value handed to C.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Folds a `Result<()>` into the integer a C function returns.
pub fn code_of(result: Result<()>) -> i32 {
    match result {
        Ok(()) => SUCCESS,
        Err(e) => e.code(),
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
        assert_eq!(Error::Errno.code(), 14);
        assert_eq!(Error::AlreadyExists.code(), 31);
        assert_eq!(code_of(Ok(())), 0);
        assert_eq!(code_of(Err(Error::Inval)), 3);
    }
}
