//! One `epoll` instance, for the shared loop's pool threads (see
//! `client::shared_loop`): each waits on many clients' sockets and wake-up
//! handles at once, at a cost that does not grow with how many are idle.
//!
//! Registrations are level-triggered: a socket with bytes left unread, or a
//! wake-up handle not drained, is reported again by the next wait, so a turn
//! that handles only part of what is ready loses nothing.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::error::NetError;

/// What one registration reported ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpollEvent {
    /// The key given at registration.
    pub key: u64,
    pub readable: bool,
    pub writable: bool,
    /// An error or hang-up: a read will say which.
    pub broken: bool,
}

/// Room for the events one wait reports.
#[derive(Debug)]
pub struct Events {
    raw: Vec<libc::epoll_event>,
    len: usize,
}

impl Events {
    /// Room for up to `capacity` events per wait (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Events {
            raw: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)],
            len: 0,
        }
    }

    /// The events of the last wait.
    pub fn iter(&self) -> impl Iterator<Item = EpollEvent> + '_ {
        self.raw[..self.len].iter().map(|e| {
            let bits = e.events;
            EpollEvent {
                key: e.u64,
                readable: bits & libc::EPOLLIN as u32 != 0,
                writable: bits & libc::EPOLLOUT as u32 != 0,
                broken: bits & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0,
            }
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// An epoll instance; closed when dropped.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

fn interest_bits(want_write: bool) -> u32 {
    let write = if want_write { libc::EPOLLOUT } else { 0 };
    (libc::EPOLLIN | write) as u32
}

impl Epoll {
    pub fn new() -> Result<Epoll, NetError> {
        // SAFETY: epoll_create1 takes no pointers; a negative result is checked below.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    fn control(&self, op: libc::c_int, fd: RawFd, key: u64, want_write: bool) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: interest_bits(want_write),
            u64: key,
        };
        // SAFETY: `event` is a live epoll_event for the whole call; the kernel
        // only reads it (and ignores it for EPOLL_CTL_DEL).
        let rc = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Watches `fd` for reading (and writing if `want_write`), reporting
    /// `key`. A descriptor already watched has its interest replaced.
    pub fn watch(&self, fd: RawFd, key: u64, want_write: bool) -> Result<(), NetError> {
        match self.control(libc::EPOLL_CTL_ADD, fd, key, want_write) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => self
                .control(libc::EPOLL_CTL_MOD, fd, key, want_write)
                .map_err(Into::into),
            other => other.map_err(Into::into),
        }
    }

    /// Changes the interest of a watched `fd`; one no longer watched (closed
    /// meanwhile, which removes it) is watched again.
    pub fn change(&self, fd: RawFd, key: u64, want_write: bool) -> Result<(), NetError> {
        match self.control(libc::EPOLL_CTL_MOD, fd, key, want_write) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => self
                .control(libc::EPOLL_CTL_ADD, fd, key, want_write)
                .map_err(Into::into),
            other => other.map_err(Into::into),
        }
    }

    /// Stops watching `fd`. One already gone (closed, which removes it) is
    /// not an error.
    pub fn forget(&self, fd: RawFd) {
        let _ = self.control(libc::EPOLL_CTL_DEL, fd, 0, false);
    }

    /// Waits until something watched is ready or `timeout` passes (`None`: no
    /// limit), filling `events`. A signal interrupting the wait reports nothing.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<(), NetError> {
        // Rounded up: a wait of 0.3 ms must not become a busy look.
        let ms = timeout.map_or(-1, |t| {
            let ms = t.as_micros().div_ceil(1000);
            ms.min(i32::MAX as u128) as libc::c_int
        });
        let capacity = events.raw.len().min(i32::MAX as usize) as libc::c_int;
        // SAFETY: `events.raw` is a live array of `capacity` epoll_events the
        // kernel writes into, for the whole call.
        let n =
            unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.raw.as_mut_ptr(), capacity, ms) };
        if n < 0 {
            events.len = 0;
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(e.into());
        }
        events.len = n as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::wakeup::Wakeup;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_wait_with_nothing_watched_times_out_empty() {
        let epoll = Epoll::new().unwrap();
        let mut events = Events::with_capacity(4);
        epoll
            .wait(&mut events, Some(Duration::from_millis(5)))
            .unwrap();
        assert!(events.is_empty());
    }

    #[test]
    fn a_signalled_wakeup_is_reported_with_its_key_until_drained() {
        let epoll = Epoll::new().unwrap();
        let wakeup = Wakeup::new().unwrap();
        epoll.watch(wakeup.fd(), 7, false).unwrap();
        wakeup.signal();
        let mut events = Events::with_capacity(4);
        for _ in 0..2 {
            epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
            let seen: Vec<_> = events.iter().collect();
            assert_eq!(seen.len(), 1);
            assert_eq!(seen[0].key, 7);
            assert!(seen[0].readable);
        }
        wakeup.drain();
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());
    }

    #[test]
    fn write_interest_is_reported_only_when_asked_for() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let epoll = Epoll::new().unwrap();
        let mut events = Events::with_capacity(4);
        epoll.watch(client.as_raw_fd(), 1, false).unwrap();
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());
        epoll.change(client.as_raw_fd(), 1, true).unwrap();
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.iter().next().unwrap().writable);
    }

    #[test]
    fn incoming_bytes_are_reported_and_a_forgotten_socket_is_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let epoll = Epoll::new().unwrap();
        let mut events = Events::with_capacity(4);
        epoll.watch(client.as_raw_fd(), 2, false).unwrap();
        peer.write_all(b"x").unwrap();
        epoll
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let event = events.iter().next().unwrap();
        assert_eq!((event.key, event.readable), (2, true));
        epoll.forget(client.as_raw_fd());
        epoll.forget(client.as_raw_fd());
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());
    }

    #[test]
    fn changing_a_closed_descriptor_watches_it_again() {
        let epoll = Epoll::new().unwrap();
        let first = Wakeup::new().unwrap();
        let number = first.fd();
        epoll.watch(number, 1, false).unwrap();
        drop(first);
        // The next descriptor is likely to reuse the number; either way it is
        // watched after `change`.
        let second = Wakeup::new().unwrap();
        epoll.change(second.fd(), 3, false).unwrap();
        second.signal();
        let mut events = Events::with_capacity(4);
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.iter().next().unwrap().key, 3);
        let _ = number;
    }
}
