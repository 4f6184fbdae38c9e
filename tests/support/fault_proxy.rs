//! A TCP proxy between a client and a broker that fails on demand.
//!
//! ```ignore
//! let proxy = FaultProxy::start(broker.port);   // clients connect to proxy.port
//! proxy.cut();              // close every connection, both sides
//! proxy.stall(true);        // stop forwarding (bytes wait in the kernel), until false
//! proxy.black_hole(true);   // accept and read, but forward nothing, either way
//! ```
//!
//! Each connection is two threads copying bytes, one per direction, with a short
//! read timeout so they see the switches at once. A connection that was black-holed
//! stays so after `black_hole(false)`: to its client it is a dead link that only a
//! keepalive timeout can find. Dropping the proxy cuts everything and stops it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(20);

/// One proxied connection: the client's side and the broker's.
struct Link {
    client: TcpStream,
    upstream: Option<TcpStream>,
    /// Forwards nothing, from when black-holed until it closes.
    black_holed: AtomicBool,
    closed: AtomicBool,
}

impl Link {
    fn close(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.client.shutdown(Shutdown::Both);
            if let Some(upstream) = &self.upstream {
                let _ = upstream.shutdown(Shutdown::Both);
            }
        }
    }
}

#[derive(Default)]
struct Shared {
    stopping: AtomicBool,
    stalled: AtomicBool,
    black_hole: AtomicBool,
    links: Mutex<Vec<Arc<Link>>>,
    accepted: AtomicUsize,
    cuts: AtomicUsize,
}

/// The proxy; clients connect to `127.0.0.1:port`.
pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared::default());
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || accept_loop(listener, upstream, shared))
        };
        FaultProxy {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Closes every open connection on both sides; returns how many there were.
    pub fn cut(&self) -> usize {
        let links = std::mem::take(&mut *self.shared.links.lock().unwrap());
        let open = links
            .iter()
            .filter(|link| !link.closed.load(Ordering::SeqCst))
            .count();
        for link in links {
            link.close();
        }
        self.shared.cuts.fetch_add(1, Ordering::SeqCst);
        open
    }

    /// Stops (true) or resumes (false) forwarding on every connection.
    pub fn stall(&self, on: bool) {
        self.shared.stalled.store(on, Ordering::SeqCst);
    }

    /// While on, new connections are accepted and read but never reach the broker,
    /// and the open ones forward nothing more (for good).
    pub fn black_hole(&self, on: bool) {
        self.shared.black_hole.store(on, Ordering::SeqCst);
        if on {
            for link in self.shared.links.lock().unwrap().iter() {
                link.black_holed.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        let mut links = self.shared.links.lock().unwrap();
        links.retain(|link| !link.closed.load(Ordering::SeqCst));
        links.len()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.cut();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, upstream: u16, shared: Arc<Shared>) {
    while !shared.stopping.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                thread::sleep(POLL);
                continue;
            }
            Err(_) => {
                thread::sleep(POLL);
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let _ = client.set_nonblocking(false);
        let _ = client.set_nodelay(true);
        let black_holed = shared.black_hole.load(Ordering::SeqCst);
        let upstream = if black_holed {
            None
        } else {
            match TcpStream::connect(("127.0.0.1", upstream)) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    Some(stream)
                }
                // The broker is down: the client sees its connection closed.
                Err(_) => {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
            }
        };
        let link = Arc::new(Link {
            client,
            upstream,
            black_holed: AtomicBool::new(black_holed),
            closed: AtomicBool::new(false),
        });
        shared.links.lock().unwrap().push(Arc::clone(&link));
        for to_broker in [true, false] {
            if to_broker || link.upstream.is_some() {
                let (link, shared) = (Arc::clone(&link), Arc::clone(&shared));
                thread::spawn(move || pump(&link, &shared, to_broker));
            }
        }
    }
}

/// Copies one direction of `link` until either side closes or the link is cut.
fn pump(link: &Link, shared: &Shared, to_broker: bool) {
    let (mut from, mut to) = match (to_broker, &link.upstream) {
        (true, Some(upstream)) => (&link.client, Some(upstream)),
        (true, None) => (&link.client, None),
        (false, Some(upstream)) => (upstream, Some(&link.client)),
        (false, None) => return,
    };
    let _ = from.set_read_timeout(Some(POLL));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if link.closed.load(Ordering::SeqCst) || shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        if shared.stalled.load(Ordering::SeqCst) && !link.black_holed.load(Ordering::SeqCst) {
            thread::sleep(POLL);
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if link.black_holed.load(Ordering::SeqCst) {
                    continue;
                }
                if let Some(to) = to.as_mut() {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => break,
        }
    }
    // The broker's end of a black hole may close; its client must not notice.
    if to_broker || !link.black_holed.load(Ordering::SeqCst) {
        link.close();
    }
}
