//! The fake broker's own tests, with a plain `TcpStream` as the client.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::fake_broker::{hex, hex_diff, packet, FakeBroker};

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const DISCONNECT: [u8; 2] = [0xe0, 0x00];

fn connect(broker: &FakeBroker) -> TcpStream {
    let stream = TcpStream::connect(broker.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

#[test]
fn a_script_that_matches_the_client_passes_and_records_what_it_read() {
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK_OK)
        .expect(&DISCONNECT)
        .expect_closed()
        .start();
    let mut client = connect(&broker);
    client.write_all(&[0x10, 0x03, 0xaa, 0xbb, 0xcc]).unwrap();
    let mut connack = [0u8; 4];
    client.read_exact(&mut connack).unwrap();
    assert_eq!(connack, CONNACK_OK);
    client.write_all(&DISCONNECT).unwrap();
    drop(client);

    let transcript = broker.finish();
    assert_eq!(
        transcript.received,
        vec![vec![0x10, 0x03, 0xaa, 0xbb, 0xcc], DISCONNECT.to_vec()]
    );
}

#[test]
fn different_bytes_fail_with_a_hex_diff() {
    let mut broker = FakeBroker::script()
        .expect(&[0x10, 0x02, 0x00, 0x00])
        .start();
    let mut client = connect(&broker);
    client.write_all(&[0x10, 0x02, 0x00, 0x01]).unwrap();
    let report = broker.join().unwrap_err();
    assert!(report.contains("offset 3"), "{report}");
    assert!(report.contains("expected: 10 02 00 00"), "{report}");
    assert!(report.contains("received: 10 02 00 01"), "{report}");
}

#[test]
fn a_packet_of_the_wrong_type_fails() {
    let mut broker = FakeBroker::script()
        .expect_packet_type(packet::SUBSCRIBE)
        .start();
    let mut client = connect(&broker);
    client.write_all(&[0xc0, 0x00]).unwrap();
    let report = broker.join().unwrap_err();
    assert!(report.contains("packet type 12 instead of 8"), "{report}");
}

#[test]
fn a_packet_is_found_by_its_multi_byte_remaining_length() {
    let body = vec![0x55u8; 200];
    let mut whole = vec![0x30, 0xc8, 0x01];
    whole.extend_from_slice(&body);
    let broker = FakeBroker::script()
        .expect_packet_starting_with(&[0x30, 0xc8, 0x01, 0x55])
        .expect(&[0xc0, 0x00])
        .start();
    let mut client = connect(&broker);
    client.write_all(&whole).unwrap();
    client.write_all(&[0xc0, 0x00]).unwrap();
    assert_eq!(broker.finish().received[0], whole);
}

#[test]
fn silence_fails_after_the_timeout() {
    let mut broker = FakeBroker::script()
        .timeout(Duration::from_millis(100))
        .expect(&[0x10])
        .start();
    let _client = connect(&broker);
    let report = broker.join().unwrap_err();
    assert!(report.contains("timed out after 0 of 1 bytes"), "{report}");
}

#[test]
fn no_client_at_all_fails_after_the_timeout() {
    let mut broker = FakeBroker::script()
        .timeout(Duration::from_millis(100))
        .accept()
        .start();
    // The first accept uses the default timeout; connect once so the second one waits.
    let _client = connect(&broker);
    let report = broker.join().unwrap_err();
    assert!(report.contains("no connection within"), "{report}");
}

#[test]
fn a_client_that_closes_early_is_reported() {
    let mut broker = FakeBroker::script()
        .expect(&[0x10, 0x02, 0x00, 0x00])
        .start();
    let mut client = connect(&broker);
    client.write_all(&[0x10]).unwrap();
    drop(client);
    let report = broker.join().unwrap_err();
    assert!(report.contains("closed after 1 of 4 bytes"), "{report}");
}

#[test]
fn expect_closed_fails_when_the_client_sends_instead() {
    let mut broker = FakeBroker::script().expect_closed().start();
    let mut client = connect(&broker);
    client.write_all(&[0xc0, 0x00]).unwrap();
    let report = broker.join().unwrap_err();
    assert!(
        report.contains("received instead of a close: c0 00"),
        "{report}"
    );
}

#[test]
fn close_ends_the_connection_from_the_broker_side() {
    let broker = FakeBroker::script()
        .sleep(Duration::from_millis(10))
        .close()
        .start();
    let mut client = connect(&broker);
    let mut buf = [0u8; 1];
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    broker.finish();
}

#[test]
fn accept_takes_a_second_connection_for_reconnect_tests() {
    let broker = FakeBroker::script()
        .expect(&[1])
        .accept()
        .expect(&[2])
        .start();
    connect(&broker).write_all(&[1]).unwrap();
    connect(&broker).write_all(&[2]).unwrap();
    assert_eq!(broker.finish().received, vec![vec![1], vec![2]]);
}

#[test]
fn hex_and_hex_diff_read_well() {
    assert_eq!(hex(&[0x10, 0x0c, 0x00]), "10 0c 00");
    assert!(hex_diff(&[1, 2], &[1]).contains("offset 1"));
}

#[test]
fn expect_silence_passes_a_quiet_client_and_fails_a_talkative_one() {
    let broker = FakeBroker::script()
        .expect_silence(Duration::from_millis(100))
        .expect(&[1])
        .start();
    let mut client = connect(&broker);
    std::thread::sleep(Duration::from_millis(200));
    client.write_all(&[1]).unwrap();
    broker.finish();

    let mut broker = FakeBroker::script()
        .expect_silence(Duration::from_secs(5))
        .start();
    connect(&broker).write_all(&[0xc0, 0x00]).unwrap();
    let report = broker.join().unwrap_err();
    assert!(
        report.contains("received during the silence: c0 00"),
        "{report}"
    );
}

#[test]
fn drain_until_closed_records_everything_the_client_sent_before_closing() {
    let broker = FakeBroker::script().drain_until_closed().start();
    let mut client = connect(&broker);
    client.write_all(&[0x62, 0x02, 0x12, 0x34]).unwrap();
    client.write_all(&DISCONNECT).unwrap();
    drop(client);
    assert_eq!(
        broker.finish().received,
        vec![vec![0x62, 0x02, 0x12, 0x34, 0xe0, 0x00]]
    );

    let mut broker = FakeBroker::script()
        .timeout(Duration::from_millis(200))
        .drain_until_closed()
        .start();
    let _open = connect(&broker);
    let report = broker.join().unwrap_err();
    assert!(report.contains("kept the connection open"), "{report}");
}
