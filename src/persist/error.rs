//! What can go wrong with a persistence directory.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum PersistError {
    /// Another store (in this process or another) holds the directory.
    Locked,
    /// The log's first bytes are not our header: not our file, left alone.
    NotALog,
    /// A record too large to frame (over `frame::MAX_RECORD`).
    TooLarge,
    /// The file system refused: full, read-only, gone. Nothing stored is lost:
    /// a failed append is cut off again.
    Io(io::Error),
    /// A sync of the log failed (with this errno) and has not been made good
    /// since: what the log holds may not survive a power loss.
    NotDurable(i32),
}

impl PersistError {
    /// The OS error number, when there is one (for `MOSQ_ERR_ERRNO`).
    pub fn errno(&self) -> Option<i32> {
        match self {
            PersistError::Io(e) => e.raw_os_error(),
            PersistError::NotDurable(errno) => Some(*errno),
            _ => None,
        }
    }
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::Locked => f.write_str("the directory is in use by another client"),
            PersistError::NotALog => f.write_str("the directory holds a log that is not skeeter's"),
            PersistError::TooLarge => f.write_str("the message is too large to store"),
            PersistError::Io(e) => write!(f, "{e}"),
            PersistError::NotDurable(errno) => write!(
                f,
                "the log cannot be made durable: {}",
                io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl From<io::Error> for PersistError {
    fn from(e: io::Error) -> Self {
        PersistError::Io(e)
    }
}
