//! The store: a locked directory with its log, opened by replaying it.
//!
//! Appends go to a buffer; `write` hands it to the file (a failed write is cut
//! off the file again and stays buffered, to be tried again), `sync` writes and
//! then, when a record that needs it was written, `fdatasync`s: one sync for
//! every record gathered since the last, which is how publishes of one loop turn
//! share it. When more than half of a log of at least `COMPACT_MIN` is dead,
//! the live records are copied to `log.new`, which is synced and renamed over
//! `log`, and the directory synced: a crash at any point leaves one whole log.
//!
//! A caller with a step outside its lock (the client's loop) compacts there:
//! `begin_compact` hands out the live records' places, `CompactTicket::run`
//! copies them to `log.compacting` and syncs it without the lock, and
//! `end_compact`, under the lock again, appends what was written meanwhile and
//! renames it over `log`; the directory is synced with the next sync, before
//! anything that depends on the new log goes on the wire. Then compaction under
//! the lock (in `sync`) is only a backstop, for a log twice as long.
//!
//! A failed `fdatasync` is not tried again as it is: Linux may have marked the
//! pages it failed to write clean, so a second one could succeed with them never
//! on disk. The next sync writes the live records again, to a new log (a
//! compaction, from the page cache, which still holds them), and only that
//! success counts.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::PersistError;
use super::frame;
use super::ledger::{Ledger, Span};
use super::lock::DirLock;
use super::record::{self, Record, StoredMessage};

/// The first bytes of a log, and its format's version.
const MAGIC: &[u8; 8] = b"SKTRLOG1";
const HEADER: u64 = MAGIC.len() as u64;
/// Below this size a log is never compacted: copying would cost more than it saves.
const COMPACT_MIN: u64 = 1 << 20;
/// Where a compaction outside the lock writes the new log before renaming it.
const COMPACTING: &str = "log.compacting";

/// An outgoing message found in the log, and whether its PUBREC came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOut {
    pub message: StoredMessage,
    pub released: bool,
}

/// What a log held when it was opened, in the order it was stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    pub client_id: Option<String>,
    pub outgoing: Vec<StoredOut>,
    pub incoming: Vec<StoredMessage>,
}

#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    _lock: DirLock,
    file: File,
    /// The file's length: everything before it is intact records.
    len: u64,
    ledger: Ledger,
    /// Framed records not yet written.
    pending: Vec<u8>,
    /// A buffered record needs a sync before the next bytes go on the wire.
    pending_needs_sync: bool,
    /// A written record needs a sync: the log's length after the last such.
    needs_sync_upto: Option<u64>,
    /// Bumped by each compaction, which replaces the file (see `SyncTicket`).
    generation: u64,
    /// A compaction replaced the file and the directory was not synced since.
    dir_unsynced: bool,
    /// A `CompactTicket` is out.
    compacting: bool,
    /// The owner compacts outside its lock (it asked `begin_compact`).
    background: bool,
    /// The log length at which compaction is next considered.
    compact_at: u64,
    /// A compaction that failed, for the client to log (the log is unharmed).
    warning: Option<PersistError>,
    /// An `fdatasync` failed (with this errno): nothing written since the last
    /// good sync counts as durable until the log is written again.
    sync_failed: Option<i32>,
    /// Tests: writes fail with this errno, half written.
    #[cfg(test)]
    fail_writes: Option<i32>,
    /// Tests: `fdatasync` fails with this errno.
    #[cfg(test)]
    fail_syncs: Option<i32>,
}

impl Store {
    /// Locks `dir` (made if missing), replays its log and returns what it holds.
    pub fn open(dir: &Path) -> Result<(Store, Restored), PersistError> {
        fs::create_dir_all(dir)?;
        let lock = DirLock::take(dir)?;
        // A compaction a crash cut short; the log it would have replaced is whole.
        match fs::remove_file(dir.join(COMPACTING)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let path = dir.join("log");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut store = Store {
            dir: dir.to_owned(),
            _lock: lock,
            file,
            len: HEADER,
            ledger: Ledger::default(),
            pending: Vec::new(),
            pending_needs_sync: false,
            needs_sync_upto: None,
            generation: 0,
            dir_unsynced: false,
            compacting: false,
            background: false,
            compact_at: COMPACT_MIN,
            warning: None,
            sync_failed: None,
            #[cfg(test)]
            fail_writes: None,
            #[cfg(test)]
            fail_syncs: None,
        };
        if bytes.len() < MAGIC.len() {
            // New, or torn while its header was written: nothing was stored yet.
            store.file.set_len(0)?;
            store.file.write_all_at(MAGIC, 0)?;
            store.file.sync_all()?;
            sync_dir(dir)?;
            return Ok((store, Restored::default()));
        }
        if &bytes[..MAGIC.len()] != MAGIC {
            return Err(PersistError::NotALog);
        }
        let end = store.replay(&bytes[MAGIC.len()..]);
        let restored = restore(&bytes, &store.ledger);
        store.len = HEADER + end;
        if store.len < bytes.len() as u64 {
            // Damage after the last intact record: cut it off, so that new
            // records follow good ones.
            store.file.set_len(store.len)?;
            store.file.sync_data()?;
        }
        store.compact_if_due();
        Ok((store, restored))
    }

    /// Takes in the intact records of `log` (the file after its header) up to
    /// the first damaged one; returns where they end.
    fn replay(&mut self, log: &[u8]) -> u64 {
        let (found, _) = frame::scan(log);
        let mut end = 0;
        for one in found {
            let Some(record) = Record::decode(one.record) else {
                break;
            };
            let span = Span {
                offset: HEADER + one.offset as u64,
                len: one.frame_len as u64,
            };
            self.ledger.apply(&record, span);
            end = (one.offset + one.frame_len) as u64;
        }
        end
    }

    /// Buffers a record; nothing touches the file until `write` or `sync`.
    pub fn append(&mut self, record: &Record<'_>) -> Result<(), PersistError> {
        let size = match record {
            Record::Published(m) | Record::IncomingHeld(m) => record::message_len(m),
            _ => 64,
        };
        if size > frame::MAX_RECORD {
            return Err(PersistError::TooLarge);
        }
        let mut bytes = Vec::with_capacity(size);
        record.encode(&mut bytes);
        frame::put(&mut self.pending, &bytes);
        self.pending_needs_sync |= record.needs_sync();
        Ok(())
    }

    /// Where the buffer ends now, for `forget_from`.
    pub fn mark(&self) -> usize {
        self.pending.len()
    }

    /// Drops the records buffered since `mark` (a publish that was refused).
    pub fn forget_from(&mut self, mark: usize) {
        self.pending.truncate(mark);
    }

    /// Writes the buffer to the file (no sync). On failure the file is cut back
    /// to what it held, and the buffer kept.
    pub fn write(&mut self) -> Result<(), PersistError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.write_at_end() {
            let _ = self.file.set_len(self.len);
            return Err(PersistError::Io(e));
        }
        let pending = std::mem::take(&mut self.pending);
        let (found, _) = frame::scan(&pending);
        for one in found {
            if let Some(record) = Record::decode(one.record) {
                let span = Span {
                    offset: self.len + one.offset as u64,
                    len: one.frame_len as u64,
                };
                self.ledger.apply(&record, span);
            }
        }
        self.len += pending.len() as u64;
        self.pending = pending;
        self.pending.clear();
        if self.pending_needs_sync {
            self.needs_sync_upto = Some(self.len);
        }
        self.pending_needs_sync = false;
        Ok(())
    }

    fn write_at_end(&self) -> io::Result<()> {
        #[cfg(test)]
        if let Some(errno) = self.fail_writes {
            // Half the bytes make it, as when a disk fills mid-write.
            let half = &self.pending[..self.pending.len() / 2];
            self.file.write_all_at(half, self.len)?;
            return Err(io::Error::from_raw_os_error(errno));
        }
        self.file.write_all_at(&self.pending, self.len)
    }

    /// Whether a record gathered or written since the last sync must be on disk
    /// before the next bytes go on the wire.
    pub fn wants_sync(&self) -> bool {
        self.pending_needs_sync || self.needs_sync_upto.is_some() || self.sync_failed.is_some()
    }

    /// The errno of a failed sync not yet made good by a later one.
    pub fn sync_failure(&self) -> Option<i32> {
        self.sync_failed
    }

    /// Writes the buffer and makes everything written durable, when anything
    /// needs it; then compacts if most of the log is dead. After a failed sync,
    /// the log is written again instead (see the module's doc).
    pub fn sync(&mut self) -> Result<(), PersistError> {
        self.write()?;
        if self.sync_failed.is_some() {
            return self.compact();
        }
        if self.needs_sync_upto.is_some() {
            if let Err(e) = self.sync_file() {
                self.sync_failed = Some(e.raw_os_error().unwrap_or(libc::EIO));
                return Err(PersistError::Io(e));
            }
            self.needs_sync_upto = None;
            self.dir_unsynced = false;
            self.compact_if_due();
        }
        Ok(())
    }

    /// `fdatasync` of the log, and of the directory after a rename.
    fn sync_file(&self) -> io::Result<()> {
        #[cfg(test)]
        if let Some(errno) = self.fail_syncs {
            return Err(io::Error::from_raw_os_error(errno));
        }
        self.file.sync_data()?;
        if self.dir_unsynced {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The first half of a sync run without the caller's lock: writes the
    /// buffer and, when something needs syncing, hands out what `SyncTicket::run`
    /// syncs. Records written meanwhile are not covered: `end_sync` leaves them
    /// for the next sync.
    /// After a failed sync there is none to hand out: `sync` writes the log
    /// again.
    pub fn begin_sync(&mut self) -> Result<Option<SyncTicket>, PersistError> {
        self.write()?;
        if self.needs_sync_upto.is_none() || self.sync_failed.is_some() {
            return Ok(None);
        }
        Ok(Some(SyncTicket {
            file: self.file.try_clone()?,
            dir: self.dir_unsynced.then(|| self.dir.clone()),
            upto: self.len,
            generation: self.generation,
            #[cfg(test)]
            fail: self.fail_syncs,
        }))
    }

    /// The second half: what `ticket` synced is durable (unless a compaction,
    /// which syncs everything itself, replaced the file meanwhile).
    pub fn end_sync(&mut self, ticket: &SyncTicket) {
        if ticket.generation == self.generation
            && self.needs_sync_upto.is_some_and(|at| at <= ticket.upto)
        {
            self.needs_sync_upto = None;
            self.dir_unsynced &= ticket.dir.is_none();
            self.compact_if_due();
        }
    }

    /// The first half of a compaction run without the caller's lock: when most
    /// of the log is dead, the places of its live records (the buffer written
    /// first). None while one is out, or after a failed sync (`sync` writes the
    /// log again then).
    pub fn begin_compact(&mut self) -> Result<Option<CompactTicket>, PersistError> {
        self.background = true;
        if self.compacting || self.sync_failed.is_some() || !self.compaction_due(self.compact_at) {
            return Ok(None);
        }
        self.write()?;
        let ticket = CompactTicket {
            file: self.file.try_clone()?,
            spans: self.ledger.live_spans(),
            path: self.dir.join(COMPACTING),
            upto: self.len,
            generation: self.generation,
            #[cfg(test)]
            fail: self.fail_syncs,
        };
        self.compacting = true;
        Ok(Some(ticket))
    }

    /// The second half: the compacted log, with what was written since
    /// `begin_compact` appended as it is, replaces the log; unless a compaction
    /// under the lock came first (then it is dropped). A failure is kept for
    /// `take_warning` (the log is unharmed).
    pub fn end_compact(&mut self, ticket: &CompactTicket, compacted: io::Result<Compacted>) {
        self.compacting = false;
        let result = match compacted {
            Ok(new) if ticket.generation == self.generation => self.swap_in(ticket, new),
            Ok(_) => Err(None),
            Err(e) => Err(Some(PersistError::Io(e))),
        };
        if let Err(e) = result {
            let _ = fs::remove_file(&ticket.path);
            if let Some(e) = e {
                // Try again only once the log has grown as much again.
                self.compact_at = self.len.saturating_mul(2);
                self.warning = Some(e);
            }
        }
    }

    fn swap_in(
        &mut self,
        ticket: &CompactTicket,
        new: Compacted,
    ) -> Result<(), Option<PersistError>> {
        self.write().map_err(Some)?;
        let mut tail = vec![0u8; (self.len - ticket.upto) as usize];
        let file = OpenOptions::new().read(true).write(true).open(&ticket.path);
        let file = file
            .and_then(|file| {
                self.file.read_exact_at(&mut tail, ticket.upto)?;
                file.write_all_at(&tail, new.len)?;
                fs::rename(&ticket.path, self.dir.join("log"))?;
                Ok(file)
            })
            .map_err(|e| Some(PersistError::Io(e)))?;
        let mut moved = new.moved;
        for span in self.ledger.live_spans() {
            if span.offset >= ticket.upto {
                moved.insert(span.offset, new.len + (span.offset - ticket.upto));
            }
            debug_assert!(moved.contains_key(&span.offset), "every live record copied");
        }
        self.ledger.relocate(&moved);
        self.file = file;
        self.len = new.len + tail.len() as u64;
        self.generation += 1;
        // The copied records are durable in the new file; what was written
        // since and still needs a sync, and the rename, wait for the next sync.
        if self.needs_sync_upto.is_some() {
            self.needs_sync_upto = Some(self.len);
        }
        self.dir_unsynced = true;
        self.compact_at = COMPACT_MIN.max(self.len.saturating_mul(2));
        Ok(())
    }

    /// `ticket`'s sync failed: as for a failed `sync` (unless a compaction
    /// replaced the file meanwhile, having synced everything itself).
    pub fn sync_failed(&mut self, ticket: &SyncTicket, e: &io::Error) {
        if ticket.generation == self.generation {
            self.sync_failed = Some(e.raw_os_error().unwrap_or(libc::EIO));
        }
    }

    /// Forgets everything: the log then holds only `client_id`'s record.
    pub fn reset(&mut self, client_id: &str) -> Result<(), PersistError> {
        self.pending.clear();
        self.pending_needs_sync = false;
        self.ledger = Ledger::default();
        self.compact()?;
        self.append(&Record::Client(client_id))?;
        self.sync()
    }

    /// A compaction that failed since the last call (the log is unharmed).
    pub fn take_warning(&mut self) -> Option<PersistError> {
        self.warning.take()
    }

    /// The log's length in bytes, header included.
    pub fn log_len(&self) -> u64 {
        self.len
    }

    /// Whether the log is at least `at` long and more than half of it dead.
    fn compaction_due(&self, at: u64) -> bool {
        self.len >= at && self.ledger.live_bytes() * 2 < self.len - HEADER
    }

    /// Compaction under the lock: the usual one when the owner has no step
    /// outside it, else a backstop for a log twice as long as due.
    fn compact_if_due(&mut self) {
        let at = if self.background {
            self.compact_at.saturating_mul(2)
        } else {
            self.compact_at
        };
        if !self.compaction_due(at) {
            return;
        }
        if let Err(e) = self.compact() {
            // Try again only once the log has grown as much again.
            self.compact_at = self.len.saturating_mul(2);
            self.warning = Some(e);
        }
    }

    /// Copies the live records, in order, to a new log that replaces this one.
    fn compact(&mut self) -> Result<(), PersistError> {
        self.write()?;
        let (out, moved) = live_copy(&self.file, &self.ledger.live_spans())?;
        let path = self.dir.join("log");
        let new_path = self.dir.join("log.new");
        #[cfg(test)]
        if let Some(errno) = self.fail_syncs {
            // The new log's sync fails as every other does.
            return Err(PersistError::Io(io::Error::from_raw_os_error(errno)));
        }
        let result = write_new_log(&new_path, &out).and_then(|()| {
            fs::rename(&new_path, &path)?;
            sync_dir(&self.dir)
        });
        if let Err(e) = result {
            let _ = fs::remove_file(&new_path);
            return Err(PersistError::Io(e));
        }
        self.file = OpenOptions::new().read(true).write(true).open(&path)?;
        self.len = out.len() as u64;
        self.ledger.relocate(&moved);
        self.generation += 1;
        // Everything live is in the new file, synced, and the rename too.
        self.needs_sync_upto = None;
        self.sync_failed = None;
        self.dir_unsynced = false;
        self.compact_at = COMPACT_MIN.max(self.len.saturating_mul(2));
        Ok(())
    }

    #[cfg(test)]
    pub fn fail_writes(&mut self, errno: Option<i32>) {
        self.fail_writes = errno;
    }

    #[cfg(test)]
    pub fn fail_syncs(&mut self, errno: Option<i32>) {
        self.fail_syncs = errno;
    }

    #[cfg(test)]
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// A sync to run without the store's owner's lock (`Store::begin_sync`).
#[derive(Debug)]
pub struct SyncTicket {
    file: File,
    /// The directory, to sync after a compaction's rename.
    dir: Option<PathBuf>,
    upto: u64,
    generation: u64,
    #[cfg(test)]
    fail: Option<i32>,
}

impl SyncTicket {
    /// `fdatasync` of everything written up to `begin_sync`.
    pub fn run(&self) -> io::Result<()> {
        #[cfg(test)]
        if let Some(errno) = self.fail {
            return Err(io::Error::from_raw_os_error(errno));
        }
        self.file.sync_data()?;
        match &self.dir {
            Some(dir) => sync_dir(dir),
            None => Ok(()),
        }
    }
}

/// A compaction to run without the store's owner's lock (`Store::begin_compact`).
#[derive(Debug)]
pub struct CompactTicket {
    file: File,
    spans: Vec<Span>,
    path: PathBuf,
    upto: u64,
    generation: u64,
    #[cfg(test)]
    fail: Option<i32>,
}

/// What `CompactTicket::run` wrote: its length, and where each record went.
#[derive(Debug)]
pub struct Compacted {
    len: u64,
    moved: HashMap<u64, u64>,
}

impl CompactTicket {
    /// Copies the live records to the new log and syncs it.
    pub fn run(&self) -> io::Result<Compacted> {
        #[cfg(test)]
        if let Some(errno) = self.fail {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let (out, moved) = live_copy(&self.file, &self.spans)?;
        write_new_log(&self.path, &out)?;
        Ok(Compacted {
            len: out.len() as u64,
            moved,
        })
    }
}

/// A new log of the records at `spans` of `file`, and where each one went.
fn live_copy(file: &File, spans: &[Span]) -> io::Result<(Vec<u8>, HashMap<u64, u64>)> {
    let mut out = MAGIC.to_vec();
    let mut moved = HashMap::new();
    for span in spans {
        let start = out.len();
        out.resize(start + span.len as usize, 0);
        file.read_exact_at(&mut out[start..], span.offset)?;
        moved.insert(span.offset, start as u64);
    }
    Ok((out, moved))
}

fn write_new_log(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all_at(bytes, 0)?;
    file.sync_all()
}

/// Makes a rename or a new file in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The messages behind the live records of `bytes` (the whole file), in order.
fn restore(bytes: &[u8], ledger: &Ledger) -> Restored {
    let mut restored = Restored::default();
    // Index in `outgoing` of each QoS 1 or 2 message, for its PUBREC record.
    let mut by_mid = HashMap::new();
    for span in ledger.live_spans() {
        let start = (span.offset + frame::HEADER as u64) as usize;
        let end = (span.offset + span.len) as usize;
        let Some(record) = bytes.get(start..end).and_then(Record::decode) else {
            continue;
        };
        match record {
            Record::Client(id) => restored.client_id = Some(id.to_owned()),
            Record::Published(m) => {
                if m.qos > 0 {
                    by_mid.insert(m.mid, restored.outgoing.len());
                }
                restored.outgoing.push(StoredOut {
                    message: m.to_owned(),
                    released: false,
                });
            }
            Record::PubRecReceived(mid) => {
                if let Some(&i) = by_mid.get(&mid) {
                    restored.outgoing[i].released = true;
                }
            }
            Record::IncomingHeld(m) => restored.incoming.push(m.to_owned()),
            _ => {}
        }
    }
    restored
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::record::Message;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the target's temporary space, unique per call.
    pub(crate) fn scratch(name: &str) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("skeeter-persist-{}-{name}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn message(mid: u16, qos: u8, payload: &[u8]) -> Message<'_> {
        Message {
            mid,
            qos,
            retain: mid.is_multiple_of(2),
            topic: "t/x",
            properties: if mid.is_multiple_of(3) {
                &[0x01, 0x01]
            } else {
                &[]
            },
            payload,
        }
    }

    fn stored(mid: u16, qos: u8, payload: &[u8], released: bool) -> StoredOut {
        StoredOut {
            message: message(mid, qos, payload).to_owned(),
            released,
        }
    }

    fn put(store: &mut Store, records: &[Record<'_>]) {
        for record in records {
            store.append(record).unwrap();
        }
        store.sync().unwrap();
    }

    /// A small log that uses every kind of record; what it restores to.
    fn small_log(dir: &Path) -> Restored {
        let (mut store, _) = Store::open(dir).unwrap();
        put(
            &mut store,
            &[
                Record::Client("c1"),
                Record::Published(message(1, 1, b"one")),
                Record::Published(message(2, 2, b"two")),
                Record::Published(message(3, 0, b"queued")),
                Record::PubRecReceived(2),
                Record::Completed(1),
                Record::IncomingHeld(message(9, 2, b"in")),
                Record::IncomingHeld(message(10, 2, b"in2")),
                Record::IncomingReleased(10),
                Record::Published(message(4, 1, b"four")),
            ],
        );
        Restored {
            client_id: Some("c1".into()),
            outgoing: vec![
                stored(2, 2, b"two", true),
                stored(3, 0, b"queued", false),
                stored(4, 1, b"four", false),
            ],
            incoming: vec![message(9, 2, b"in").to_owned()],
        }
    }

    #[test]
    fn a_reopened_store_restores_what_is_unfinished_in_order() {
        let dir = scratch("reopen");
        let expected = small_log(&dir);
        let (_, restored) = Store::open(&dir).unwrap();
        assert_eq!(restored, expected);
    }

    #[test]
    fn a_new_directory_is_made_and_restores_nothing() {
        let dir = scratch("new").join("deeper");
        let (store, restored) = Store::open(&dir).unwrap();
        assert_eq!(restored, Restored::default());
        assert_eq!(store.log_len(), HEADER);
        assert!(dir.join("log").exists());
    }

    #[test]
    fn a_directory_held_by_an_open_store_is_refused() {
        let dir = scratch("held");
        let (store, _) = Store::open(&dir).unwrap();
        assert!(matches!(Store::open(&dir), Err(PersistError::Locked)));
        drop(store);
        assert!(Store::open(&dir).is_ok());
    }

    #[test]
    fn a_file_that_is_not_a_log_is_refused_and_left_alone() {
        let dir = scratch("foreign");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("log"), b"something else entirely").unwrap();
        assert!(matches!(Store::open(&dir), Err(PersistError::NotALog)));
        assert_eq!(
            fs::read(dir.join("log")).unwrap(),
            b"something else entirely"
        );
    }

    /// What replaying the records wholly inside `keep` bytes gives, by the rules.
    fn expected_prefix(full: &[u8], keep: usize) -> Restored {
        let mut ledger = Ledger::default();
        let (found, _) = frame::scan(&full[MAGIC.len()..keep.max(MAGIC.len())]);
        for one in found {
            let record = Record::decode(one.record).unwrap();
            let span = Span {
                offset: HEADER + one.offset as u64,
                len: one.frame_len as u64,
            };
            ledger.apply(&record, span);
        }
        restore(full, &ledger)
    }

    #[test]
    fn a_log_cut_at_every_byte_keeps_every_whole_record_before_the_cut() {
        let dir = scratch("cut-source");
        small_log(&dir);
        let full = fs::read(dir.join("log")).unwrap();
        for cut in 0..=full.len() {
            let damaged = scratch("cut");
            fs::create_dir_all(&damaged).unwrap();
            fs::write(damaged.join("log"), &full[..cut]).unwrap();
            let (mut store, restored) = Store::open(&damaged).unwrap();
            assert_eq!(restored, expected_prefix(&full, cut), "cut at {cut}");
            // New records follow the intact ones and survive the next open.
            put(&mut store, &[Record::Published(message(50, 1, b"after"))]);
            drop(store);
            let (_, again) = Store::open(&damaged).unwrap();
            assert_eq!(
                again.outgoing.last(),
                Some(&stored(50, 1, b"after", false)),
                "cut at {cut}"
            );
            fs::remove_dir_all(&damaged).unwrap();
        }
    }

    #[test]
    fn a_flipped_bit_in_a_record_keeps_every_record_before_it() {
        let dir = scratch("flip-source");
        small_log(&dir);
        let full = fs::read(dir.join("log")).unwrap();
        let (found, _) = frame::scan(&full[MAGIC.len()..]);
        let starts: Vec<usize> = found.iter().map(|f| MAGIC.len() + f.offset).collect();
        for byte in MAGIC.len()..full.len() {
            for bit in [0, 3, 7] {
                let mut bytes = full.clone();
                bytes[byte] ^= 1 << bit;
                let damaged = scratch("flip");
                fs::create_dir_all(&damaged).unwrap();
                fs::write(damaged.join("log"), &bytes).unwrap();
                let (_, restored) = Store::open(&damaged).unwrap();
                let record_start = *starts.iter().rev().find(|&&s| s <= byte).unwrap();
                assert_eq!(
                    restored,
                    expected_prefix(&full, record_start),
                    "byte {byte} bit {bit}"
                );
                fs::remove_dir_all(&damaged).unwrap();
            }
        }
    }

    #[test]
    fn a_failed_write_loses_nothing_stored_and_is_tried_again() {
        let dir = scratch("full");
        let expected = small_log(&dir);
        let (mut store, _) = Store::open(&dir).unwrap();
        let before = store.log_len();
        store.fail_writes(Some(libc::ENOSPC));
        store.append(&Record::Completed(2)).unwrap();
        let mark = store.mark();
        store
            .append(&Record::Published(message(60, 1, b"refused")))
            .unwrap();
        assert!(matches!(store.sync(), Err(PersistError::Io(_))));
        assert_eq!(fs::metadata(dir.join("log")).unwrap().len(), before);
        store.forget_from(mark);
        drop(store);
        let (mut store, restored) = Store::open(&dir).unwrap();
        assert_eq!(restored, expected, "the half-written records are gone");
        // Once the disk has room, the kept completion goes in.
        store.append(&Record::Completed(2)).unwrap();
        store.sync().unwrap();
        drop(store);
        let (_, restored) = Store::open(&dir).unwrap();
        assert_eq!(restored.outgoing.len(), 2);
    }

    #[test]
    fn after_a_failed_sync_the_log_is_written_again_rather_than_synced_again() {
        let dir = scratch("sync-fails");
        let expected = small_log(&dir);
        let (mut store, _) = Store::open(&dir).unwrap();
        store.fail_syncs(Some(libc::EIO));
        store
            .append(&Record::Published(message(70, 1, b"late")))
            .unwrap();
        let err = store.sync().unwrap_err();
        assert_eq!(err.errno(), Some(libc::EIO));
        assert_eq!(store.sync_failure(), Some(libc::EIO));
        // Still wanted, and not by a sync run without the lock.
        assert!(store.wants_sync());
        assert!(store.begin_sync().unwrap().is_none());
        // The disk is back: a second fdatasync is not trusted, the log is
        // written anew.
        store.fail_syncs(None);
        let generation = store.generation();
        store.sync().unwrap();
        assert_eq!(store.generation(), generation + 1);
        assert_eq!(store.sync_failure(), None);
        assert!(!store.wants_sync());
        drop(store);
        let (_, restored) = Store::open(&dir).unwrap();
        let mut outgoing = expected.outgoing;
        outgoing.push(stored(70, 1, b"late", false));
        assert_eq!(restored.outgoing, outgoing);
    }

    #[test]
    fn a_failed_sync_run_without_the_lock_counts_as_a_failed_sync() {
        let dir = scratch("ticket-fails");
        let (mut store, _) = Store::open(&dir).unwrap();
        store.append(&Record::PubRecReceived(1)).unwrap();
        store.fail_syncs(Some(libc::ENOSPC));
        let ticket = store.begin_sync().unwrap().unwrap();
        let e = ticket.run().unwrap_err();
        store.sync_failed(&ticket, &e);
        assert_eq!(store.sync_failure(), Some(libc::ENOSPC));
        store.fail_syncs(None);
        store.sync().unwrap();
        assert_eq!(store.sync_failure(), None);
    }

    #[test]
    fn a_mostly_dead_log_is_compacted_and_restores_the_same() {
        let dir = scratch("compact");
        let (mut store, _) = Store::open(&dir).unwrap();
        put(&mut store, &[Record::Client("c")]);
        let payload = vec![7u8; 1000];
        let mut shrank = false;
        for i in 0..3000u32 {
            let mid = (i % 60000 + 1) as u16;
            let last = store.log_len();
            put(&mut store, &[Record::Published(message(mid, 1, &payload))]);
            if i % 3 != 0 {
                put(&mut store, &[Record::Completed(mid)]);
            }
            shrank |= store.log_len() < last;
        }
        assert!(shrank, "compaction ran");
        assert!(store.log_len() < 2 * COMPACT_MIN + 4096);
        assert!(!dir.join("log.new").exists());
        drop(store);
        let (_, restored) = Store::open(&dir).unwrap();
        assert_eq!(restored.client_id.as_deref(), Some("c"));
        let mids: Vec<u16> = restored.outgoing.iter().map(|o| o.message.mid).collect();
        let expected: Vec<u16> = (0..3000u16).filter(|i| i % 3 == 0).map(|i| i + 1).collect();
        assert_eq!(mids, expected);
    }

    /// A store whose owner compacts outside its lock, with a log past
    /// `COMPACT_MIN` of which only every tenth message (mids 1, 11, 21, ...) is
    /// live; those mids.
    fn mostly_dead_log(dir: &Path) -> (Store, Vec<u16>) {
        let (mut store, _) = Store::open(dir).unwrap();
        assert!(store.begin_compact().unwrap().is_none(), "not due yet");
        put(&mut store, &[Record::Client("c")]);
        let payload = vec![7u8; 1000];
        let mut live = Vec::new();
        for mid in 1..=1100u16 {
            put(&mut store, &[Record::Published(message(mid, 1, &payload))]);
            if mid % 10 == 1 {
                live.push(mid);
            } else {
                put(&mut store, &[Record::Completed(mid)]);
            }
        }
        assert!(
            store.log_len() > COMPACT_MIN,
            "no compaction under the lock"
        );
        (store, live)
    }

    fn restored_mids(dir: &Path) -> Vec<(u16, bool)> {
        let (_, restored) = Store::open(dir).unwrap();
        assert_eq!(restored.client_id.as_deref(), Some("c"));
        restored
            .outgoing
            .iter()
            .map(|o| (o.message.mid, o.released))
            .collect()
    }

    #[test]
    fn a_compaction_run_outside_the_lock_keeps_what_was_written_meanwhile() {
        let dir = scratch("background");
        let (mut store, live) = mostly_dead_log(&dir);
        let before = store.log_len();
        let ticket = store.begin_compact().unwrap().expect("due");
        assert!(store.begin_compact().unwrap().is_none(), "one at a time");
        // Meanwhile, under the lock: a copied message ends, a new one starts.
        store.append(&Record::Completed(1)).unwrap();
        store
            .append(&Record::Published(message(2000, 2, b"meanwhile")))
            .unwrap();
        store.append(&Record::PubRecReceived(2000)).unwrap();
        store.write().unwrap();
        let compacted = ticket.run();
        store.end_compact(&ticket, compacted);
        assert!(store.take_warning().is_none());
        assert!(store.log_len() < before / 2, "compacted");
        assert!(!dir.join("log.compacting").exists());
        assert!(store.wants_sync(), "what came meanwhile waits for a sync");
        store.sync().unwrap();
        // The moved records are where the store thinks: a compaction under the
        // lock copies them again.
        put(&mut store, &[Record::Completed(11)]);
        store.compact().unwrap();
        drop(store);
        let mut expected: Vec<(u16, bool)> = live
            .iter()
            .filter(|&&m| m > 11)
            .map(|&m| (m, false))
            .collect();
        expected.push((2000, true));
        assert_eq!(restored_mids(&dir), expected);
    }

    #[test]
    fn a_compaction_cut_short_by_a_crash_leaves_no_file_after_the_next_open() {
        let dir = scratch("crashed-compaction");
        let (store, live) = mostly_dead_log(&dir);
        drop(store);
        // What a compaction outside the lock had written when the process died.
        fs::write(dir.join(COMPACTING), b"half a compacted log").unwrap();
        let expected: Vec<(u16, bool)> = live.iter().map(|&m| (m, false)).collect();
        assert_eq!(restored_mids(&dir), expected);
        assert!(!dir.join(COMPACTING).exists());
    }

    #[test]
    fn a_compaction_outside_the_lock_overtaken_by_one_under_it_is_dropped() {
        let dir = scratch("overtaken");
        let (mut store, live) = mostly_dead_log(&dir);
        let ticket = store.begin_compact().unwrap().expect("due");
        store.compact().unwrap();
        let compacted = ticket.run();
        store.end_compact(&ticket, compacted);
        assert!(store.take_warning().is_none());
        assert!(!dir.join("log.compacting").exists());
        drop(store);
        let expected: Vec<(u16, bool)> = live.iter().map(|&m| (m, false)).collect();
        assert_eq!(restored_mids(&dir), expected);
    }

    #[test]
    fn a_failed_compaction_outside_the_lock_leaves_the_log_as_it_was() {
        let dir = scratch("compact-fails");
        let (mut store, live) = mostly_dead_log(&dir);
        let before = store.log_len();
        store.fail_syncs(Some(libc::ENOSPC));
        let ticket = store.begin_compact().unwrap().expect("due");
        let compacted = ticket.run();
        store.end_compact(&ticket, compacted);
        assert!(store.take_warning().is_some());
        assert_eq!(store.log_len(), before);
        store.fail_syncs(None);
        assert!(
            store.begin_compact().unwrap().is_none(),
            "not again at once"
        );
        drop(store);
        let expected: Vec<(u16, bool)> = live.iter().map(|&m| (m, false)).collect();
        assert_eq!(restored_mids(&dir), expected);
    }

    #[test]
    fn reset_forgets_everything_but_the_new_client_id() {
        let dir = scratch("reset");
        small_log(&dir);
        let (mut store, restored) = Store::open(&dir).unwrap();
        assert!(!restored.outgoing.is_empty());
        store.reset("other").unwrap();
        drop(store);
        let (_, restored) = Store::open(&dir).unwrap();
        assert_eq!(
            restored,
            Restored {
                client_id: Some("other".into()),
                ..Restored::default()
            }
        );
    }

    #[test]
    fn a_sync_run_in_two_halves_covers_only_what_was_written_before_it() {
        let dir = scratch("halves");
        let (mut store, _) = Store::open(&dir).unwrap();
        store.append(&Record::PubRecReceived(1)).unwrap();
        let ticket = store.begin_sync().unwrap().unwrap();
        // Written while the sync runs: not covered by it.
        store.append(&Record::PubRecReceived(2)).unwrap();
        store.write().unwrap();
        ticket.run().unwrap();
        store.end_sync(&ticket);
        assert!(store.wants_sync());
        let ticket = store.begin_sync().unwrap().unwrap();
        ticket.run().unwrap();
        store.end_sync(&ticket);
        assert!(!store.wants_sync());
        assert!(store.begin_sync().unwrap().is_none());
    }

    #[test]
    fn only_records_that_need_it_ask_for_a_sync() {
        let dir = scratch("wants");
        let (mut store, _) = Store::open(&dir).unwrap();
        store.append(&Record::Completed(1)).unwrap();
        assert!(!store.wants_sync());
        store.write().unwrap();
        assert!(!store.wants_sync());
        store.append(&Record::PubRecReceived(1)).unwrap();
        assert!(store.wants_sync());
        store.sync().unwrap();
        assert!(!store.wants_sync());
    }
}
