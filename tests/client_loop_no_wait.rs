//! `mosquitto_loop(mosq, 0, 1)` never waits: it reads what is there instead of
//! polling first. A TCP connect still in progress is the one thing a read cannot
//! see end, so the loop must still look for it. On loopback a connect ends at
//! once, unless the broker's accept queue is full: then the kernel drops the
//! SYN and the client's kernel sends it again about a second later.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mosquitto::client::{Client, Target};
use socket2::{Domain, Socket, Type};

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

#[test]
fn a_loop_that_never_waits_still_sees_a_slow_connect_end() {
    // A listener whose accept queue holds one connection, and one waiting in it.
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let _filler = TcpStream::connect(addr).unwrap();

    let client = Client::new(Some(b"no-wait"), true, 0).unwrap();
    let connacks = Arc::new(AtomicUsize::new(0));
    let counted = connacks.clone();
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |_| {
            counted.fetch_add(1, Ordering::AcqRel);
        }))
    });
    let target = Target::new("127.0.0.1".into(), i32::from(addr.port()), 60, None).unwrap();
    client.connect(target, false).unwrap();

    // Make room in the queue for the client's next SYN, then answer its CONNECT.
    let broker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        drop(listener.accept().unwrap());
        let (ours, _) = listener.accept().unwrap();
        let mut ours: TcpStream = ours.into();
        let mut header = [0u8; 2];
        ours.read_exact(&mut header).unwrap();
        assert_eq!(header[0], 0x10, "CONNECT expected");
        let mut body = vec![0u8; usize::from(header[1])];
        ours.read_exact(&mut body).unwrap();
        ours.write_all(&CONNACK_OK).unwrap();
        // Handed back to the test, so the connection stays open until it ends.
        ours
    });

    let deadline = Instant::now() + Duration::from_secs(10);
    while connacks.load(Ordering::Acquire) == 0 {
        assert!(Instant::now() < deadline, "no CONNACK within 10 s");
        let started = Instant::now();
        client.run_loop(0, 1).unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "mosquitto_loop with timeout 0 waited {:?}",
            started.elapsed()
        );
        thread::sleep(Duration::from_millis(1));
    }
    let _connection = broker.join().unwrap();
}
