//! Crash-safe storage of a client's unfinished QoS 1 and 2 state and offline
//! queue (skeeter's `skeeter_persistence_set`).
//!
//! One directory per client: `lock` (held with `flock` while a store is open, so two
//! processes never share a directory) and `log`, an append-only list of records,
//! each framed with its length and a CRC-32 (`frame`). What a record means is in
//! `record`; which records still matter is the `ledger`'s business; `store` opens,
//! appends, syncs and compacts. The store knows nothing of sockets or sessions:
//! the client hands it records and asks it to sync before bytes go on the wire.
//!
//! Opening replays the log: a torn or damaged record (a crash in the middle of a
//! write, a flipped bit) ends the replay there, every intact record before it is
//! kept, and the file is cut back to that point so new records follow good ones.
#![deny(unsafe_code)]

mod error;
mod frame;
mod ledger;
mod lock;
mod record;
mod store;

pub use error::PersistError;
pub use record::{Message, Record, StoredMessage};
pub use store::{CompactTicket, Restored, Store, StoredOut, SyncTicket};
