//! Waiting for the socket and the wake-up handle with `poll(2)`, which, unlike
//! `select`, works for descriptors numbered 1024 and above.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use super::error::NetError;

/// What to wait for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Interest {
    /// The broker connection, if there is one.
    pub socket: Option<RawFd>,
    /// The wake-up handle other threads signal.
    pub wakeup: Option<RawFd>,
    /// Wait for the socket to become writable too (queued output, or a connect
    /// in progress).
    pub want_write: bool,
}

/// What became ready. All false after a timeout or an interrupted wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness {
    pub readable: bool,
    pub writable: bool,
    /// The socket reported an error or hang-up; a read will say which.
    pub broken: bool,
    pub woken: bool,
}

/// Waits until something in `interest` is ready or `timeout` passes (`None`: no limit).
/// A signal interrupting the wait is not an error: it returns nothing ready.
pub fn wait(interest: Interest, timeout: Option<Duration>) -> Result<Readiness, NetError> {
    // At most two descriptors, on the stack: the loop polls often.
    let mut fds = [pollfd(-1, 0); 2];
    let mut count = 0;
    if let Some(fd) = interest.socket {
        let write = if interest.want_write {
            libc::POLLOUT
        } else {
            0
        };
        fds[count] = pollfd(fd, libc::POLLIN | write);
        count += 1;
    }
    if let Some(fd) = interest.wakeup {
        fds[count] = pollfd(fd, libc::POLLIN);
        count += 1;
    }
    // `ppoll` takes the timeout to the nanosecond; `poll`'s milliseconds would
    // turn a wait of 0.9 ms into none at all.
    let limit = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let limit_ptr = limit
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);

    // SAFETY: `fds` is a live array of pollfd whose first `count` entries are
    // set, and `limit_ptr` is null or points at `limit`, for the whole call; a
    // null signal mask leaves the thread's mask as it is.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            count as libc::nfds_t,
            limit_ptr,
            std::ptr::null(),
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(Readiness::default());
        }
        return Err(e.into());
    }

    let mut ready = Readiness::default();
    let mut entries = fds[..count].iter();
    if interest.socket.is_some() {
        let events = entries.next().map_or(0, |p| p.revents);
        ready.readable = events & libc::POLLIN != 0;
        ready.writable = events & libc::POLLOUT != 0;
        ready.broken = events & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0;
    }
    if interest.wakeup.is_some() {
        ready.woken = entries
            .next()
            .is_some_and(|p| p.revents & libc::POLLIN != 0);
    }
    Ok(ready)
}

/// Blocks until `fd` is writable (or broken).
pub fn wait_writable(fd: RawFd) -> Result<(), NetError> {
    wait(
        Interest {
            socket: Some(fd),
            wakeup: None,
            want_write: true,
        },
        None,
    )
    .map(|_| ())
}

/// Whether a connect in progress on `fd` has ended, well or not, without waiting.
pub fn connect_ended(fd: RawFd) -> Result<bool, NetError> {
    let interest = Interest {
        socket: Some(fd),
        wakeup: None,
        want_write: true,
    };
    wait(interest, Some(Duration::ZERO)).map(|r| r.writable || r.broken)
}

/// Blocks until `fd` is readable (or broken).
pub fn wait_readable(fd: RawFd) -> Result<(), NetError> {
    wait(
        Interest {
            socket: Some(fd),
            wakeup: None,
            want_write: false,
        },
        None,
    )
    .map(|_| ())
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::time::Instant;

    #[test]
    fn nothing_ready_returns_after_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let start = Instant::now();
        let interest = Interest {
            socket: Some(client.as_raw_fd()),
            wakeup: None,
            want_write: false,
        };
        let ready = wait(interest, Some(Duration::from_millis(30))).unwrap();
        assert_eq!(ready, Readiness::default());
        assert!(start.elapsed() >= Duration::from_millis(25));
    }

    #[test]
    fn a_wait_shorter_than_a_millisecond_still_waits() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let interest = Interest {
            socket: Some(client.as_raw_fd()),
            wakeup: None,
            want_write: false,
        };
        let start = Instant::now();
        wait(interest, Some(Duration::from_micros(900))).unwrap();
        assert!(start.elapsed() >= Duration::from_micros(900));
    }

    #[test]
    fn a_connected_socket_is_writable_only_when_asked() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let fd = Some(client.as_raw_fd());
        let asked = wait(
            Interest {
                socket: fd,
                wakeup: None,
                want_write: true,
            },
            Some(Duration::ZERO),
        )
        .unwrap();
        assert!(asked.writable);
        let not_asked = wait(
            Interest {
                socket: fd,
                wakeup: None,
                want_write: false,
            },
            Some(Duration::ZERO),
        )
        .unwrap();
        assert!(!not_asked.writable);
    }

    #[test]
    fn incoming_bytes_make_the_socket_readable() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"x").unwrap();
        let interest = Interest {
            socket: Some(client.as_raw_fd()),
            wakeup: None,
            want_write: false,
        };
        let ready = wait(interest, Some(Duration::from_secs(5))).unwrap();
        assert!(ready.readable);
    }

    #[test]
    fn descriptors_above_1024_can_be_polled() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        // SAFETY (test): dup a live descriptor to a high number, closed below.
        let high = unsafe { libc::fcntl(client.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 1500) };
        if high < 0 {
            return; // RLIMIT_NOFILE below 1500 here.
        }
        let ready = wait(
            Interest {
                socket: Some(high),
                wakeup: None,
                want_write: true,
            },
            Some(Duration::ZERO),
        );
        // SAFETY (test): `high` is ours and closed once.
        unsafe { libc::close(high) };
        assert!(ready.unwrap().writable);
    }
}
