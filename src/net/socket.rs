//! The connection to the broker: a non-blocking stream socket (TCP over IPv4 or
//! IPv6, or a Unix domain socket), opened the way libmosquitto opens it.

use std::io::{self, IoSlice, Read};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

use super::error::NetError;
use super::resolve::resolve;

/// How far a read or write got without blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// This many bytes moved (never 0 for a read: end of stream is `NetError::Closed`).
    Bytes(usize),
    /// The socket is not ready; wait for readiness and try again.
    WouldBlock,
}

/// Whether `connect` finished the handshake or left it running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectState {
    Connected,
    /// The handshake continues in the kernel; wait until the socket is writable,
    /// then call `Stream::finish_connect`.
    InProgress,
}

/// Where to connect and from where.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// A host name or address; with `port == 0`, the path of a Unix domain socket.
    pub host: &'a str,
    pub port: u16,
    /// A local address to bind to first (`MOSQ_OPT_BIND_ADDRESS`).
    pub bind_address: Option<&'a str>,
}

/// A connected (or connecting) stream socket, always in non-blocking mode once
/// `connect` returns.
#[derive(Debug)]
pub struct Stream {
    socket: Socket,
}

impl Stream {
    /// Resolves `to.host` and tries each address in turn until one connects or
    /// reports that its connect is in progress. With `blocking`, the handshake is
    /// awaited (as `mosquitto_connect` does); otherwise it may be left running
    /// (as `mosquitto_connect_async` does). The last address's failure is returned
    /// when none works.
    pub fn connect(to: Endpoint<'_>, blocking: bool) -> Result<(Stream, ConnectState), NetError> {
        Stream::connect_with(to, blocking, false)
    }

    /// `connect`, with Nagle's algorithm off on a TCP socket when `nodelay`
    /// (`MOSQ_OPT_TCP_NODELAY`; a Unix socket has no such switch). Set where
    /// the socket is made, as its kind is known there.
    pub fn connect_with(
        to: Endpoint<'_>,
        blocking: bool,
        nodelay: bool,
    ) -> Result<(Stream, ConnectState), NetError> {
        if to.port == 0 {
            let stream = Stream::connect_unix(Path::new(to.host))?;
            return Ok((stream, ConnectState::Connected));
        }
        let mut last_error = None;
        for addr in resolve(to.host, to.port)? {
            match Stream::connect_to(addr, to.bind_address, blocking, nodelay) {
                Ok(done) => return Ok(done),
                Err(e) => last_error = Some(e),
            }
        }
        Err(
            last_error.unwrap_or(NetError::Os(io::Error::from_raw_os_error(
                libc::ECONNREFUSED,
            ))),
        )
    }

    fn connect_to(
        addr: SocketAddr,
        bind_address: Option<&str>,
        blocking: bool,
        nodelay: bool,
    ) -> Result<(Stream, ConnectState), NetError> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM.cloexec(), None)?;
        if nodelay {
            // Best effort, as in libmosquitto: a socket without the switch still works.
            let _ = socket.set_tcp_nodelay(true);
        }
        if let Some(local) = bind_address {
            socket.bind(&SockAddr::from(bind_address_for(local, addr)?))?;
        }
        if blocking {
            connect_retrying_on_eintr(&socket, &addr.into())?;
            socket.set_nonblocking(true)?;
            return Ok((Stream { socket }, ConnectState::Connected));
        }
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => Ok((Stream { socket }, ConnectState::Connected)),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                Ok((Stream { socket }, ConnectState::InProgress))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn connect_unix(path: &Path) -> Result<Stream, NetError> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
        connect_retrying_on_eintr(&socket, &SockAddr::unix(path)?)?;
        socket.set_nonblocking(true)?;
        Ok(Stream { socket })
    }

    /// After an `InProgress` connect became writable: whether the handshake
    /// succeeded, from `SO_ERROR`.
    pub fn finish_connect(&self) -> Result<(), NetError> {
        match self.socket.take_error()? {
            None => Ok(()),
            Some(e) => Err(e.into()),
        }
    }

    /// Whether Nagle's algorithm is off.
    #[cfg(test)]
    pub fn has_nodelay(&self) -> bool {
        self.socket.tcp_nodelay().unwrap_or(false)
    }

    /// Reads what is available into `buf`.
    pub fn read(&self, buf: &mut [u8]) -> Result<Progress, NetError> {
        loop {
            match (&self.socket).read(buf) {
                Ok(0) if !buf.is_empty() => return Err(NetError::Closed),
                Ok(n) => return Ok(Progress::Bytes(n)),
                Err(e) => match would_block_or_retry(e)? {
                    Some(progress) => return Ok(progress),
                    None => continue,
                },
            }
        }
    }

    /// Writes as much of `bufs`, in order, as the socket takes now, with one
    /// system call. Never raises SIGPIPE: a closed peer is an `EPIPE` error.
    #[inline]
    pub fn write(&self, bufs: &[IoSlice<'_>]) -> Result<Progress, NetError> {
        match send_uncancellable(self.socket.as_raw_fd(), bufs) {
            Ok(n) => Ok(Progress::Bytes(n)),
            Err(e) => self.write_failed(e, bufs),
        }
    }

    /// `write` after a failed send: would block, interrupted (tried again), or
    /// the error. Kept apart so the usual way is a few instructions inline.
    #[cold]
    #[inline(never)]
    fn write_failed(&self, mut e: io::Error, bufs: &[IoSlice<'_>]) -> Result<Progress, NetError> {
        loop {
            if let Some(progress) = would_block_or_retry(e)? {
                return Ok(progress);
            }
            match send_uncancellable(self.socket.as_raw_fd(), bufs) {
                Ok(n) => return Ok(Progress::Bytes(n)),
                Err(again) => e = again,
            }
        }
    }

    /// A second descriptor for the same socket, so a write made without the
    /// client lock stays safe if another thread closes the connection meanwhile
    /// (the write then fails with `EPIPE` instead of reaching a reused number).
    pub fn try_clone(&self) -> Result<Stream, NetError> {
        Ok(Stream {
            socket: self.socket.try_clone()?,
        })
    }

    /// Ends both directions, so a peer (or our own loop) sees the close at once.
    pub fn shutdown(&self) {
        // A socket that is already disconnected reports ENOTCONN; that is the goal.
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }

    /// The descriptor, for `mosquitto_socket` and for `poll`.
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// The local address (for tests and logs).
    pub fn local_addr(&self) -> Result<SockAddr, NetError> {
        Ok(self.socket.local_addr()?)
    }
}

/// The bind address of the same family as `target`, with an ephemeral port.
fn bind_address_for(local: &str, target: SocketAddr) -> Result<SocketAddr, NetError> {
    resolve(local, 0)?
        .into_iter()
        .find(|a| a.is_ipv4() == target.is_ipv4())
        .ok_or(NetError::Os(io::Error::from_raw_os_error(
            libc::EAFNOSUPPORT,
        )))
}

fn connect_retrying_on_eintr(socket: &Socket, addr: &SockAddr) -> Result<(), NetError> {
    match socket.connect(addr) {
        Ok(()) => Ok(()),
        // An interrupted blocking connect keeps going in the kernel: wait for it.
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            super::poll::wait_writable(socket.as_raw_fd())?;
            match socket.take_error()? {
                None => Ok(()),
                Some(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The most buffers one `sendmsg` takes (Linux's `UIO_MAXIOV`); a write of
/// more sends the first ones, which callers treat as a partial write.
const MAX_IOV: usize = 1024;

/// `send` (one buffer, the usual case: it spares the kernel copying an iovec
/// array in, measurably cheaper per message) or `sendmsg`, with
/// `MSG_NOSIGNAL`, made as system calls of their own rather than through the C
/// library's wrappers: those are cancellation points, and this way a write is
/// never where a pending `pthread_cancel` acts, so the publish path, which
/// writes at once, need not hold cancellation off (see
/// `Client::publish_qos0_from_program`). Also a little cheaper.
#[inline]
fn send_uncancellable(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let flags = libc::c_long::from(libc::MSG_NOSIGNAL);
    let fd = libc::c_long::from(fd);
    let sent = match bufs {
        // SAFETY: `one` is a valid buffer of `one.len()` bytes; no address.
        [one] => unsafe {
            libc::syscall(
                libc::SYS_sendto,
                fd,
                one.as_ptr(),
                one.len(),
                flags,
                std::ptr::null::<libc::sockaddr>(),
                0 as libc::socklen_t,
            )
        },
        _ => {
            // SAFETY: an all-zero `msghdr` is valid (no address, no control data).
            let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
            // `IoSlice` has `iovec`'s layout on Unix; the kernel only reads them.
            message.msg_iov = bufs.as_ptr().cast_mut().cast::<libc::iovec>();
            message.msg_iovlen = bufs.len().min(MAX_IOV);
            // SAFETY: `message` points to `msg_iovlen` valid buffers.
            unsafe { libc::syscall(libc::SYS_sendmsg, fd, &message, flags) }
        }
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// `Some(WouldBlock)` for EAGAIN, `None` for EINTR (retry), the error otherwise.
fn would_block_or_retry(e: io::Error) -> Result<Option<Progress>, NetError> {
    match e.kind() {
        io::ErrorKind::WouldBlock => Ok(Some(Progress::WouldBlock)),
        io::ErrorKind::Interrupted => Ok(None),
        _ => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;
    use std::os::unix::net::UnixListener;
    use std::time::Duration;

    fn endpoint(host: &str, port: u16) -> Endpoint<'_> {
        Endpoint {
            host,
            port,
            bind_address: None,
        }
    }

    fn read_all_of(stream: &Stream, n: usize) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < n {
            match stream.read(&mut buf).unwrap() {
                Progress::Bytes(k) => got.extend_from_slice(&buf[..k]),
                Progress::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        got
    }

    #[test]
    fn a_blocking_connect_to_an_ipv4_listener_connects_and_carries_bytes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stream, state) = Stream::connect(endpoint("127.0.0.1", port), true).unwrap();
        assert_eq!(state, ConnectState::Connected);
        let (mut peer, _) = listener.accept().unwrap();

        let written = stream
            .write(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
            .unwrap();
        assert_eq!(written, Progress::Bytes(4));
        let mut got = [0u8; 4];
        std::io::Read::read_exact(&mut peer, &mut got).unwrap();
        assert_eq!(&got, b"abcd");

        peer.write_all(b"xyz").unwrap();
        assert_eq!(read_all_of(&stream, 3), b"xyz");
    }

    #[test]
    fn a_connect_to_an_ipv6_listener_works() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            return; // No IPv6 loopback on this machine.
        };
        let port = listener.local_addr().unwrap().port();
        let (stream, _) = Stream::connect(endpoint("::1", port), true).unwrap();
        stream.finish_connect().unwrap();
        listener.accept().unwrap();
    }

    #[test]
    fn a_non_blocking_connect_completes_once_writable() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stream, _) = Stream::connect(endpoint("localhost", port), false).unwrap();
        super::super::poll::wait_writable(stream.fd()).unwrap();
        stream.finish_connect().unwrap();
        listener.accept().unwrap();
    }

    #[test]
    fn a_refused_connect_is_an_os_error_with_econnrefused() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let err = Stream::connect(endpoint("127.0.0.1", port), true).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ECONNREFUSED));
    }

    #[test]
    fn a_refused_non_blocking_connect_shows_in_finish_connect() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        match Stream::connect(endpoint("127.0.0.1", port), false) {
            Err(e) => assert_eq!(e.errno(), Some(libc::ECONNREFUSED)),
            Ok((stream, _)) => {
                super::super::poll::wait_writable(stream.fd()).unwrap();
                let err = stream.finish_connect().unwrap_err();
                assert_eq!(err.errno(), Some(libc::ECONNREFUSED));
            }
        }
    }

    #[test]
    fn an_unresolvable_host_is_a_lookup_error() {
        let err = Stream::connect(endpoint("no-such-host.invalid", 1883), true).unwrap_err();
        assert!(matches!(err, NetError::Lookup { .. }));
    }

    #[test]
    fn the_bind_address_becomes_the_local_address() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let to = Endpoint {
            host: "127.0.0.1",
            port,
            bind_address: Some("127.0.0.1"),
        };
        let (stream, _) = Stream::connect(to, true).unwrap();
        let (_, peer_addr) = listener.accept().unwrap();
        let local = stream.local_addr().unwrap().as_socket().unwrap();
        assert_eq!(local, peer_addr);
    }

    #[test]
    fn an_unusable_bind_address_fails_the_connect() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // 192.0.2.1 (TEST-NET-1) is not an address of this machine.
        let to = Endpoint {
            host: "127.0.0.1",
            port,
            bind_address: Some("192.0.2.1"),
        };
        let err = Stream::connect(to, true).unwrap_err();
        assert_eq!(err.errno(), Some(libc::EADDRNOTAVAIL));
    }

    #[test]
    fn nodelay_is_set_on_a_tcp_socket_when_asked_for() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        for blocking in [true, false] {
            let (on, _) =
                Stream::connect_with(endpoint("127.0.0.1", port), blocking, true).unwrap();
            assert!(on.socket.tcp_nodelay().unwrap());
            let (off, _) = Stream::connect(endpoint("127.0.0.1", port), blocking).unwrap();
            assert!(!off.socket.tcp_nodelay().unwrap());
        }
    }

    #[test]
    fn reading_an_idle_socket_would_block_and_a_closed_peer_is_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stream, _) = Stream::connect(endpoint("127.0.0.1", port), true).unwrap();
        let (peer, _) = listener.accept().unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(stream.read(&mut buf).unwrap(), Progress::WouldBlock);
        drop(peer);
        super::super::poll::wait_readable(stream.fd()).unwrap();
        assert!(matches!(stream.read(&mut buf), Err(NetError::Closed)));
    }

    #[test]
    fn writing_to_a_reset_peer_is_an_error_not_a_signal() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stream, _) = Stream::connect(endpoint("127.0.0.1", port), true).unwrap();
        let (peer, _) = listener.accept().unwrap();
        let peer = Socket::from(peer);
        peer.set_linger(Some(Duration::ZERO)).unwrap(); // close with RST
        drop(peer);
        std::thread::sleep(Duration::from_millis(50));
        let data = [0u8; 1024];
        let mut failed = false;
        for _ in 0..100 {
            if stream.write(&[IoSlice::new(&data)]).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }

    #[test]
    fn port_zero_connects_to_a_unix_socket_path() {
        let dir = std::env::temp_dir().join(format!("skeeter-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broker.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        // Nagle's switch asked for on a Unix socket, which has none: ignored.
        let (stream, state) =
            Stream::connect_with(endpoint(path.to_str().unwrap(), 0), false, true).unwrap();
        assert_eq!(state, ConnectState::Connected);
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"hi").unwrap();
        assert_eq!(read_all_of(&stream, 2), b"hi");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
