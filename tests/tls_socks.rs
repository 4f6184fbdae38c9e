//! TLS and SOCKS5 against real components: a mosquitto broker with TLS listeners
//! (good, expired and wrong-name server certificates, and one that requires a
//! client certificate) and microsocks with and without a password. Each test
//! drives `net::Transport` by hand: it writes a raw MQTT CONNECT and expects the
//! broker's CONNACK, which proves the handshake and the tunnel carry bytes.
//!
//! Certificates are made fresh by rcgen (and key formats converted by the
//! `openssl` command) in a temporary directory, so nothing ages.

mod support;

use std::io::IoSlice;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use mosquitto::error::Error;
use mosquitto::net::poll::{self, Interest};
use mosquitto::net::socket::{ConnectState, Endpoint};
use mosquitto::net::socks5::{Socks5Error, Socks5Proxy};
use mosquitto::net::tls_error::{KeyProblem, TlsError};
use mosquitto::net::tls_keys::KeyPassword;
use mosquitto::net::tls_settings::{TlsSettings, Verification};
use mosquitto::net::{NetError, Progress, Transport, TransportPlan};
use support::broker::Broker;
use support::stage::{
    against_debian, c_program, free_port, run, scratch_root, subject, subject_command, Compile,
    Output,
};
use support::tls::{cert_file, Socks};

const CONNACK_ACCEPTED: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

/// The certificates (made once per test run) and a broker with TLS listeners for
/// one test, stopped when the test ends.
struct World {
    plain_port: u16,
    good_port: u16,
    expired_port: u16,
    wrong_name_port: u16,
    cn_only_port: u16,
    client_cert_port: u16,
    _broker: Broker,
}

impl World {
    fn file(&self, name: &str) -> String {
        cert_file(name)
    }
}

fn world() -> World {
    let broker = Broker::builder().tls_listeners().start();
    let tls = broker.tls.unwrap();
    World {
        plain_port: broker.port,
        good_port: tls.good,
        expired_port: tls.expired,
        wrong_name_port: tls.wrong_name,
        cn_only_port: tls.cn_only,
        client_cert_port: tls.client_cert,
        _broker: broker,
    }
}

/// microsocks on a fresh port, with `-u user -P pass` when given.
fn start_socks(credentials: Option<(&str, &str)>) -> (Socks, u16) {
    let socks = Socks::start(credentials);
    let port = socks.port;
    (socks, port)
}

/// A raw MQTT 3.1.1 CONNECT with a clean session and keepalive 60.
fn connect_packet(client_id: &str) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend_from_slice(&body);
    packet
}

/// Connects as the client will (non-blocking, driven by poll), sends CONNECT
/// and returns the first 4 bytes the broker answers.
fn exchange(host: &str, port: u16, plan: &TransportPlan) -> Result<Vec<u8>, NetError> {
    let to = Endpoint {
        host,
        port,
        bind_address: None,
    };
    let (mut transport, state) = Transport::connect(to, plan, false)?;
    if state == ConnectState::InProgress {
        poll::wait_writable(transport.fd())?;
        transport.finish_connect()?;
    }
    let connect = connect_packet("skeeter-tls-test");
    match transport.write(&[IoSlice::new(&connect)])? {
        Progress::Bytes(n) => assert_eq!(n, connect.len(), "the CONNECT is taken whole"),
        Progress::WouldBlock => panic!("a fresh socket takes a small CONNECT"),
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 4 {
        assert!(Instant::now() < deadline, "no CONNACK within 10 s");
        let interest = Interest {
            socket: Some(transport.fd()),
            wakeup: None,
            want_write: transport.wants_write(),
        };
        let ready = poll::wait(interest, Some(Duration::from_millis(200)))?;
        if ready.writable {
            transport.flush()?;
        }
        if ready.readable || ready.broken {
            if let Progress::Bytes(n) = transport.read(&mut buf)? {
                got.extend_from_slice(&buf[..n]);
            }
        }
    }
    assert!(transport.is_established());
    transport.shutdown(true);
    Ok(got)
}

fn tls_settings(w: &World) -> TlsSettings {
    TlsSettings {
        cafile: Some(w.file("ca.pem")),
        ..TlsSettings::default()
    }
}

fn plan(tls: &TlsSettings) -> TransportPlan {
    TransportPlan::from_settings(tls, None).unwrap().0
}

fn handshake_failure(result: Result<Vec<u8>, NetError>) -> String {
    match result {
        Err(NetError::Tls(TlsError::Handshake(reason))) => reason,
        other => panic!("expected a handshake failure, got {other:?}"),
    }
}

#[test]
fn a_verified_tls_connection_carries_connect_and_connack() {
    let w = &world();
    let tls = tls_settings(w);
    assert_eq!(
        exchange("127.0.0.1", w.good_port, &plan(&tls)).unwrap(),
        CONNACK_ACCEPTED
    );
    assert_eq!(
        exchange("localhost", w.good_port, &plan(&tls)).unwrap(),
        CONNACK_ACCEPTED
    );
}

/// A one-connection TLS 1.2-only server (mosquitto's `tls_version` is a minimum,
/// so it cannot play one): it answers a CONNECT with an accepting CONNACK.
fn tls12_only_server(w: &World) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};
    let chain =
        vec![rustls::pki_types::CertificateDer::from_pem_file(w.file("server.pem")).unwrap()];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(w.file("server.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut conn = rustls::ServerConnection::new(std::sync::Arc::new(config)).unwrap();
        let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
        let mut head = [0u8; 2];
        if tls.read_exact(&mut head).is_ok() {
            let mut rest = vec![0u8; head[1] as usize];
            if tls.read_exact(&mut rest).is_ok() {
                let _ = tls.write_all(&CONNACK_ACCEPTED);
                let _ = tls.flush();
            }
        }
    });
    port
}

#[test]
fn versions_and_cipher_lists_are_honoured_against_a_tls12_only_server() {
    let w = &world();
    let tls = tls_settings(w);
    assert_eq!(
        exchange("127.0.0.1", tls12_only_server(w), &plan(&tls)).unwrap(),
        CONNACK_ACCEPTED,
        "the default offers TLS 1.2"
    );
    let mut only13 = tls_settings(w);
    only13.version = Some("tlsv1.3".into());
    handshake_failure(exchange("127.0.0.1", tls12_only_server(w), &plan(&only13)));
    assert_eq!(
        exchange("127.0.0.1", w.good_port, &plan(&only13)).unwrap(),
        CONNACK_ACCEPTED
    );

    // The server key is ECDSA: an ECDSA suite works, an RSA-only list cannot.
    let mut ecdsa = tls_settings(w);
    ecdsa.ciphers = Some("ECDHE-ECDSA-AES128-GCM-SHA256".into());
    assert_eq!(
        exchange("127.0.0.1", tls12_only_server(w), &plan(&ecdsa)).unwrap(),
        CONNACK_ACCEPTED
    );
    let mut rsa = tls_settings(w);
    rsa.ciphers = Some("ECDHE-RSA-AES128-GCM-SHA256".into());
    handshake_failure(exchange("127.0.0.1", tls12_only_server(w), &plan(&rsa)));
}

#[test]
fn a_ca_directory_is_trusted_like_a_ca_file() {
    let w = &world();
    let tls = TlsSettings {
        capath: Some(w.file("capath")),
        ..TlsSettings::default()
    };
    assert_eq!(
        exchange("localhost", w.good_port, &plan(&tls)).unwrap(),
        CONNACK_ACCEPTED
    );
}

#[test]
fn an_unknown_ca_fails_the_handshake_with_unknown_issuer() {
    let w = &world();
    let mut tls = tls_settings(w);
    tls.cafile = Some(w.file("other-ca.pem"));
    let result = exchange("127.0.0.1", w.good_port, &plan(&tls));
    let reason = handshake_failure(result);
    assert!(reason.contains("unknown issuer"), "{reason}");
    let error = NetError::Tls(TlsError::Handshake(reason)).into_error();
    assert_eq!(error, Error::Tls);
}

#[test]
fn a_wrong_name_fails_unless_insecure_which_still_checks_the_chain() {
    let w = &world();
    let mut tls = tls_settings(w);
    let reason = handshake_failure(exchange("127.0.0.1", w.wrong_name_port, &plan(&tls)));
    assert!(reason.contains("name mismatch"), "{reason}");

    tls.insecure = true;
    assert_eq!(
        exchange("127.0.0.1", w.wrong_name_port, &plan(&tls)).unwrap(),
        CONNACK_ACCEPTED
    );
    // Insecure skips only the name: an unknown CA still fails.
    tls.cafile = Some(w.file("other-ca.pem"));
    let reason = handshake_failure(exchange("127.0.0.1", w.wrong_name_port, &plan(&tls)));
    assert!(reason.contains("unknown issuer"), "{reason}");
}

#[test]
fn an_expired_certificate_fails_even_when_insecure() {
    let w = &world();
    let mut tls = tls_settings(w);
    let reason = handshake_failure(exchange("localhost", w.expired_port, &plan(&tls)));
    assert!(reason.contains("expired"), "{reason}");
    tls.insecure = true;
    let reason = handshake_failure(exchange("localhost", w.expired_port, &plan(&tls)));
    assert!(reason.contains("expired"), "{reason}");
}

#[test]
fn cert_reqs_zero_accepts_any_certificate_and_warns() {
    let w = &world();
    let mut tls = tls_settings(w);
    tls.cafile = Some(w.file("other-ca.pem"));
    tls.verification = Verification::Off;
    let (plan, warnings) = TransportPlan::from_settings(&tls, None).unwrap();
    assert!(warnings.iter().any(|l| l.contains("not secure")));
    assert_eq!(
        exchange("127.0.0.1", w.expired_port, &plan).unwrap(),
        CONNACK_ACCEPTED
    );
}

fn with_client_cert(w: &World, cert: &str, key: &str) -> TlsSettings {
    let mut tls = tls_settings(w);
    tls.certfile = Some(w.file(cert));
    tls.keyfile = Some(w.file(key));
    tls
}

#[test]
fn a_broker_that_requires_a_certificate_refuses_a_client_without_one() {
    let w = &world();
    let result = exchange("127.0.0.1", w.client_cert_port, &plan(&tls_settings(w)));
    // The broker's refusal reaches us as an alert (TLS 1.3 may report it after
    // the client's own handshake is done, as a session error) or as a close.
    match result {
        Err(NetError::Tls(e)) => assert!(e.is_from_peer(), "{e}"),
        Err(NetError::Closed) | Err(NetError::Os(_)) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn client_certificates_with_pkcs8_sec1_and_pkcs1_keys_are_accepted() {
    let w = &world();
    for (cert, key) in [
        ("client.pem", "client.key"),
        ("client.pem", "client-sec1.key"),
        ("rsa-client.pem", "rsa-client-pkcs1.key"),
    ] {
        let tls = with_client_cert(w, cert, key);
        assert_eq!(
            exchange("127.0.0.1", w.client_cert_port, &plan(&tls)).unwrap(),
            CONNACK_ACCEPTED,
            "{key}"
        );
    }
}

#[test]
fn an_encrypted_key_is_decrypted_with_the_callbacks_password() {
    let w = &world();
    let mut tls = with_client_cert(w, "client.pem", "client-enc.key");
    tls.key_password = Some(KeyPassword::new(|| Some(b"secret".to_vec())));
    assert_eq!(
        exchange("127.0.0.1", w.client_cert_port, &plan(&tls)).unwrap(),
        CONNACK_ACCEPTED
    );
}

#[test]
fn an_encrypted_key_without_a_callback_or_with_a_wrong_password_is_a_clear_error() {
    let w = &world();
    let mut tls = with_client_cert(w, "client.pem", "client-enc.key");
    let err = TransportPlan::from_settings(&tls, None).unwrap_err();
    assert!(
        matches!(
            &err,
            NetError::Tls(TlsError::KeyFile {
                problem: KeyProblem::EncryptedWithoutCallback,
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("encrypted"));
    assert_eq!(err.into_error(), Error::Tls);

    tls.key_password = Some(KeyPassword::new(|| Some(b"wrong".to_vec())));
    let err = TransportPlan::from_settings(&tls, None).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Tls(TlsError::KeyFile {
                problem: KeyProblem::Decrypt(_),
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let w = &world();
    let tls = with_client_cert(w, "client.pem", "rsa-client-pkcs1.key");
    let err = TransportPlan::from_settings(&tls, None).unwrap_err();
    assert!(
        matches!(err, NetError::Tls(TlsError::KeyMismatch(_))),
        "{err}"
    );
}

#[test]
fn a_cipher_list_rustls_cannot_serve_fails_the_setup() {
    let w = &world();
    let mut tls = tls_settings(w);
    tls.ciphers = Some("RC4-MD5".into());
    let err = TransportPlan::from_settings(&tls, None).unwrap_err();
    assert_eq!(err.into_error(), Error::Tls);
}

fn socks(port: u16, credentials: Option<(&str, &str)>) -> Socks5Proxy {
    Socks5Proxy {
        host: "127.0.0.1".into(),
        port,
        username: credentials.map(|c| c.0.to_string()),
        password: credentials.map(|c| c.1.to_string()),
    }
}

#[test]
fn socks5_without_authentication_tunnels_plain_mqtt_by_host_name() {
    let w = &world();
    let (_proxy, port) = start_socks(None);
    let (plan, _) =
        TransportPlan::from_settings(&TlsSettings::default(), Some(&socks(port, None))).unwrap();
    assert_eq!(
        exchange("localhost", w.plain_port, &plan).unwrap(),
        CONNACK_ACCEPTED
    );
}

#[test]
fn socks5_with_a_password_tunnels_tls() {
    let w = &world();
    let (_proxy, port) = start_socks(Some(("user", "pass")));
    let proxy = socks(port, Some(("user", "pass")));
    let (plan, _) = TransportPlan::from_settings(&tls_settings(w), Some(&proxy)).unwrap();
    assert_eq!(
        exchange("localhost", w.good_port, &plan).unwrap(),
        CONNACK_ACCEPTED
    );
}

#[test]
fn socks5_refusals_are_reported_as_libmosquitto_reports_them() {
    let w = &world();
    let (_proxy, port) = start_socks(Some(("user", "pass")));

    let wrong = socks(port, Some(("user", "wrong")));
    let (plan, _) = TransportPlan::from_settings(&TlsSettings::default(), Some(&wrong)).unwrap();
    let err = exchange("127.0.0.1", w.plain_port, &plan).unwrap_err();
    assert!(
        matches!(err, NetError::Proxy(Socks5Error::AuthenticationFailed(2))),
        "{err:?}"
    );
    // Status 2 ("not allowed"), which libmosquitto reports as AUTH.
    assert_eq!(err.into_error(), Error::Auth);

    // No credentials offered to a proxy that needs them: libmosquitto says AUTH.
    let none = socks(port, None);
    let (plan, _) = TransportPlan::from_settings(&TlsSettings::default(), Some(&none)).unwrap();
    let err = exchange("127.0.0.1", w.plain_port, &plan).unwrap_err();
    assert!(
        matches!(err, NetError::Proxy(Socks5Error::NoAcceptableMethod)),
        "{err:?}"
    );
}

#[test]
fn socks5_reports_a_broker_the_proxy_cannot_reach() {
    let (_proxy, port) = start_socks(None);
    let closed_port = free_port();
    let (plan, _) =
        TransportPlan::from_settings(&TlsSettings::default(), Some(&socks(port, None))).unwrap();
    let err = exchange("127.0.0.1", closed_port, &plan).unwrap_err();
    assert!(matches!(err, NetError::Proxy(_)), "{err:?}");
}

/// An MQTT remaining length.
fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            return;
        }
    }
}

#[test]
fn a_large_message_goes_through_tls_and_comes_back() {
    let w = &world();
    let to = Endpoint {
        host: "localhost",
        port: w.good_port,
        bind_address: None,
    };
    let (mut transport, state) = Transport::connect(to, &plan(&tls_settings(w)), true).unwrap();
    assert_eq!(state, ConnectState::Connected);

    // CONNECT, SUBSCRIBE to "big" (QoS 0), and a 4 MB QoS 0 PUBLISH to "big",
    // all handed over at once: far more than the socket takes in one go.
    let payload = vec![0x5a; 4 << 20];
    let subscribe = [0x82, 8, 0, 1, 0, 3, b'b', b'i', b'g', 0];
    let mut publish = vec![0x30];
    varint(2 + 3 + payload.len(), &mut publish);
    publish.extend_from_slice(&[0, 3, b'b', b'i', b'g']);
    let connect = connect_packet("skeeter-big");
    let parts = [
        IoSlice::new(&connect),
        IoSlice::new(&subscribe),
        IoSlice::new(&publish),
        IoSlice::new(&payload),
    ];
    let total: usize = parts.iter().map(|p| p.len()).sum();
    assert_eq!(transport.write(&parts).unwrap(), Progress::Bytes(total));

    // CONNACK (4) + SUBACK (5) + the PUBLISH coming back.
    let expected = 4 + 5 + publish.len() + payload.len();
    let mut got = Vec::with_capacity(expected);
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < expected {
        assert!(Instant::now() < deadline, "got {} of {expected}", got.len());
        let interest = Interest {
            socket: Some(transport.fd()),
            wakeup: None,
            want_write: transport.wants_write(),
        };
        let ready = poll::wait(interest, Some(Duration::from_millis(200))).unwrap();
        if ready.writable {
            transport.flush().unwrap();
        }
        if ready.readable {
            while let Progress::Bytes(n) = transport.read(&mut buf).unwrap() {
                got.extend_from_slice(&buf[..n]);
            }
        }
    }
    assert!(!transport.wants_write());
    assert_eq!(&got[..4], CONNACK_ACCEPTED);
    assert_eq!(&got[4..9], [0x90, 3, 0, 1, 0]);
    assert_eq!(&got[9..9 + publish.len()], publish.as_slice());
    assert!(got[9 + publish.len()..].iter().all(|b| *b == 0x5a));
    transport.shutdown(true);
}

// ---------------------------------------------------------------------------------
// The client over TLS and SOCKS5: the C programs in cbindings-tests/tls/, on the
// library under test (ours, or Debian's with SKEETER_TEST_AGAINST_DEBIAN=1).

const PROGRAM_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cbindings-tests/tls/<name>.c` with `args`.
fn run_program(name: &str, args: &[&str]) -> Output {
    let program = c_program(&format!("tls/{name}.c"));
    let mut command = subject_command(program);
    command.args(args);
    run(&mut command, PROGRAM_TIMEOUT)
}

/// A round trip in `mode` to `host:port` with the CA file and `extra` options.
fn round_trip(mode: &str, host: &str, port: u16, extra: &[&str]) -> Output {
    run_verified("roundtrip", mode, host, port, extra)
}

/// Runs the TLS program `name` in `mode` against `host:port`, verifying the
/// broker with the test CA, with `extra` options; it must pass.
fn run_verified(name: &str, mode: &str, host: &str, port: u16, extra: &[&str]) -> Output {
    let port = port.to_string();
    let cafile = cert_file("ca.pem");
    let mut args = vec![mode, host, &port, "--cafile", &cafile];
    args.extend_from_slice(extra);
    let output = run_program(name, &args);
    output.assert_passed();
    output
}

#[test]
fn tls_round_trip_in_loop_forever() {
    let w = &world();
    round_trip("forever", "localhost", w.good_port, &[]);
}

#[test]
fn tls_round_trip_with_mosquitto_loop() {
    let w = &world();
    round_trip("loop", "localhost", w.good_port, &[]);
}

#[test]
fn tls_round_trip_calling_mosquitto_loop_without_waiting() {
    let w = &world();
    round_trip("busy", "localhost", w.good_port, &[]);
}

#[test]
fn a_burst_over_tls_is_all_handed_over_to_the_programs_own_poll_loop() {
    let w = &world();
    run_verified("burst", "poll", "localhost", w.good_port, &[]);
}

#[test]
fn tls_round_trip_on_the_loop_start_thread() {
    let w = &world();
    round_trip("start", "127.0.0.1", w.good_port, &[]);
}

#[test]
fn tls_round_trip_in_the_programs_own_poll_loop() {
    let w = &world();
    round_trip("poll", "localhost", w.good_port, &[]);
}

#[test]
fn insecure_mode_accepts_a_certificate_for_another_name() {
    let w = &world();
    round_trip("loop", "localhost", w.wrong_name_port, &["--insecure"]);
}

#[test]
fn a_client_certificate_is_sent_to_a_broker_that_requires_one() {
    let w = &world();
    let (cert, key) = (cert_file("client.pem"), cert_file("client.key"));
    for mode in ["forever", "poll"] {
        round_trip(
            mode,
            "localhost",
            w.client_cert_port,
            &["--cert", &cert, "--key", &key],
        );
    }
}

#[test]
fn plain_mqtt_through_socks5_with_and_without_a_password() {
    let w = &world();
    let port = w.plain_port.to_string();
    let open = Socks::start(None);
    let open_port = open.port.to_string();
    run_program(
        "roundtrip",
        &["start", "127.0.0.1", &port, "--socks", &open_port],
    )
    .assert_passed();
    let guarded = Socks::start(Some(("user", "pass")));
    let guarded_port = guarded.port.to_string();
    let login = [
        "--socks",
        &guarded_port,
        "--socks-user",
        "user",
        "--socks-pass",
        "pass",
    ];
    for mode in ["forever", "poll"] {
        let mut args = vec![mode, "localhost", &port];
        args.extend_from_slice(&login);
        run_program("roundtrip", &args).assert_passed();
    }
}

#[test]
fn tls_through_socks5_with_and_without_a_password() {
    let w = &world();
    let open = Socks::start(None);
    let open_port = open.port.to_string();
    round_trip("loop", "localhost", w.good_port, &["--socks", &open_port]);
    let guarded = Socks::start(Some(("user", "pass")));
    let guarded_port = guarded.port.to_string();
    for mode in ["start", "poll"] {
        round_trip(
            mode,
            "localhost",
            w.good_port,
            &[
                "--socks",
                &guarded_port,
                "--socks-user",
                "user",
                "--socks-pass",
                "pass",
            ],
        );
    }
}

/// What `refused` saw: the first failing call's code (connect's or the loop's),
/// the MOSQ_LOG_ERR lines, and on_disconnect's rc if it was called.
struct Refusal {
    rc: Option<i32>,
    errno: Option<i32>,
    log: Vec<String>,
    disconnect: Option<i32>,
    /// The code came from the connect call itself.
    from_connect: bool,
}

fn refused(mode: &str, host: &str, port: u16, extra: &[&str]) -> Refusal {
    let port = port.to_string();
    let mut args = vec![mode, host, &port];
    args.extend_from_slice(extra);
    let out = run_program("refused", &args);
    out.assert_passed();
    let field = |prefix: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_string)
    };
    let connect: i32 = field("connect: ").unwrap().parse().unwrap();
    let failed = field("failed: ");
    let loop_rc = failed
        .as_deref()
        .map(|f| f.split(' ').next().unwrap().parse::<i32>().unwrap());
    Refusal {
        rc: if connect != 0 { Some(connect) } else { loop_rc },
        errno: failed
            .as_deref()
            .and_then(|f| f.split(' ').nth(2))
            .and_then(|e| e.parse().ok()),
        log: out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("log: "))
            .map(str::to_string)
            .collect(),
        disconnect: field("disconnect: ").map(|d| d.parse().unwrap()),
        from_connect: connect != 0,
    }
}

const MOSQ_ERR_AUTH: i32 = 11;
const MOSQ_ERR_TLS: i32 = 8;
const MOSQ_ERR_ERRNO: i32 = 14;

/// A handshake refused by our side: MOSQ_ERR_TLS (from connect in
/// libmosquitto when the broker's answer is already there, as it usually is on
/// loopback; from the loop here, which never waits for a handshake in
/// connect), the reason logged at MOSQ_LOG_ERR, and no on_disconnect.
fn assert_handshake_refused(r: &Refusal, mode: &str, ours: &str, openssl: &str) {
    if mode != "start" || r.from_connect {
        assert_eq!(r.rc, Some(MOSQ_ERR_TLS), "{mode}: {:?}", r.log);
    }
    let reason = if against_debian() { openssl } else { ours };
    assert!(
        r.log.iter().any(|l| l.contains(reason)),
        "{mode}: no log line with {reason:?}: {:?}",
        r.log
    );
    assert_eq!(r.disconnect, None, "{mode}: on_disconnect was called");
    if !against_debian() {
        assert!(
            !r.from_connect,
            "{mode}: our connect waited for the handshake"
        );
    }
}

#[test]
fn an_unknown_ca_is_mosq_err_tls_with_the_reason_in_the_log() {
    let w = &world();
    let other = cert_file("other-ca.pem");
    for mode in ["loop", "forever", "start"] {
        let r = refused(mode, "localhost", w.good_port, &["--cafile", &other]);
        assert_handshake_refused(&r, mode, "unknown issuer", "certificate verify failed");
    }
}

#[test]
fn a_certificate_for_another_name_is_mosq_err_tls_with_the_reason_in_the_log() {
    let w = &world();
    let ca = cert_file("ca.pem");
    for mode in ["loop", "forever"] {
        let r = refused(mode, "localhost", w.wrong_name_port, &["--cafile", &ca]);
        assert_handshake_refused(
            &r,
            mode,
            "host name mismatch",
            "host name verification failed",
        );
    }
}

#[test]
fn an_expired_certificate_is_mosq_err_tls_with_the_reason_in_the_log() {
    let w = &world();
    let ca = cert_file("ca.pem");
    let r = refused("loop", "localhost", w.expired_port, &["--cafile", &ca]);
    assert_handshake_refused(&r, "loop", "expired", "certificate verify failed");
}

#[test]
fn a_broker_that_requires_a_client_certificate_ends_the_connection() {
    let w = &world();
    let ca = cert_file("ca.pem");
    // TLS 1.3: the client's side of the handshake is done when the broker
    // refuses, so this is a failure after the handshake: MOSQ_ERR_ERRNO.
    let r = refused("loop", "localhost", w.client_cert_port, &["--cafile", &ca]);
    assert_eq!(r.rc, Some(MOSQ_ERR_ERRNO), "{:?}", r.log);
    if !against_debian() {
        assert_eq!(r.errno, Some(libc::EPROTO));
        assert!(
            r.log.iter().any(|l| l.contains("CertificateRequired")),
            "{:?}",
            r.log
        );
    }
}

#[test]
fn a_refused_proxy_login_is_mosq_err_auth_as_libmosquitto_reports_it() {
    let w = &world();
    let guarded = Socks::start(Some(("user", "pass")));
    let proxy = guarded.port.to_string();
    for mode in ["loop", "start"] {
        let login = [
            "--socks",
            &proxy,
            "--socks-user",
            "user",
            "--socks-pass",
            "bad",
        ];
        let r = refused(mode, "localhost", w.plain_port, &login);
        assert_eq!(r.disconnect, Some(MOSQ_ERR_AUTH), "{mode}: {:?}", r.log);
        if mode == "loop" {
            assert_eq!(r.rc, Some(MOSQ_ERR_AUTH));
        }
        // Without credentials, microsocks accepts none of our methods.
        let r = refused(mode, "localhost", w.plain_port, &["--socks", &proxy]);
        assert_eq!(r.disconnect, Some(MOSQ_ERR_AUTH), "{mode}: {:?}", r.log);
        if !against_debian() {
            assert!(r.log.iter().any(|l| l.contains("SOCKS5")), "{:?}", r.log);
        }
    }
}

// ---------------------------------------------------------------------------------
// What OpenSSL, and so libmosquitto, accepts: a broker certificate named only by
// its Common Name, a capath that gives nothing beside a cafile, and client keys
// in OpenSSL's legacy encrypted PEM. The files are made by the openssl command.

/// The lines `roundtrip` printed for MOSQ_LOG_WARNING.
fn warnings(output: &Output) -> Vec<&str> {
    output
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("log 4: "))
        .collect()
}

/// The certificate file really has no subjectAltName, as openssl reads it.
fn assert_no_subject_alt_name(name: &str) {
    let mut command = std::process::Command::new("openssl");
    command.args(["x509", "-noout", "-text", "-in", &cert_file(name)]);
    let text = run(&mut command, PROGRAM_TIMEOUT);
    text.assert_success("openssl x509 -text");
    assert!(text.stdout.contains("Subject: CN = localhost"), "{text}");
    assert!(!text.stdout.contains("Subject Alternative Name"), "{text}");
}

#[test]
fn a_broker_certificate_without_subject_alt_name_is_matched_on_its_common_name() {
    let w = &world();
    assert_no_subject_alt_name("cn-only.pem");
    for mode in ["loop", "start"] {
        let output = round_trip(mode, "localhost", w.cn_only_port, &[]);
        if !against_debian() {
            assert!(
                warnings(&output)
                    .iter()
                    .any(|l| l.contains("Common Name \"localhost\"")),
                "{mode}: no warning about the Common Name:\n{output}"
            );
        }
    }
}

#[test]
fn a_common_name_that_is_not_the_host_is_refused_unless_insecure() {
    let w = &world();
    let ca = cert_file("ca.pem");
    let r = refused("loop", "127.0.0.1", w.cn_only_port, &["--cafile", &ca]);
    assert_handshake_refused(
        &r,
        "loop",
        "host name mismatch",
        "host name verification failed",
    );
    round_trip("loop", "127.0.0.1", w.cn_only_port, &["--insecure"]);
}

#[test]
fn a_capath_that_is_missing_or_empty_is_passed_over_when_the_cafile_gives_the_roots() {
    let w = &world();
    let empty = support::stage::Scratch::new("empty-capath");
    let missing = "/nonexistent/skeeter-capath";
    for capath in [missing, empty.path().to_str().unwrap()] {
        let output = round_trip("loop", "localhost", w.good_port, &["--capath", capath]);
        if !against_debian() {
            assert!(
                warnings(&output).iter().any(|l| l.contains(capath)),
                "no warning about capath {capath}:\n{output}"
            );
        }
    }
}

#[test]
fn a_capath_that_gives_no_certificate_and_no_cafile_is_mosq_err_tls() {
    let w = &world();
    let capath = "/nonexistent/skeeter-capath";
    let r = refused("loop", "localhost", w.good_port, &["--capath", capath]);
    assert_eq!(r.rc, Some(MOSQ_ERR_TLS), "{:?}", r.log);
    assert_eq!(r.disconnect, None);
}

/// The key file is OpenSSL's legacy encrypted PEM with `cipher`, not PKCS#8.
fn assert_legacy_encrypted(key: &str, cipher: &str) {
    let text = std::fs::read_to_string(key).unwrap();
    assert!(
        text.contains("Proc-Type: 4,ENCRYPTED") && text.contains(&format!("DEK-Info: {cipher},")),
        "{key} is not legacy encrypted PEM with {cipher}:\n{text}"
    );
}

#[test]
fn legacy_encrypted_rsa_and_ec_keys_are_decrypted_with_the_pw_callbacks_password() {
    let w = &world();
    for (cert, key, cipher) in [
        ("legacy-rsa.pem", "legacy-rsa-aes256.key", "AES-256-CBC"),
        ("legacy-rsa.pem", "legacy-rsa-des3.key", "DES-EDE3-CBC"),
        ("legacy-ec.pem", "legacy-ec-aes128.key", "AES-128-CBC"),
    ] {
        let (cert, key) = (cert_file(cert), cert_file(key));
        assert_legacy_encrypted(&key, cipher);
        let login = ["--cert", &cert, "--key", &key, "--key-password", "secret"];
        round_trip("loop", "localhost", w.client_cert_port, &login);
    }
}

#[test]
fn a_legacy_encrypted_key_with_a_wrong_password_is_mosq_err_tls_from_connect() {
    let w = &world();
    let (ca, cert, key) = (
        cert_file("ca.pem"),
        cert_file("legacy-rsa.pem"),
        cert_file("legacy-rsa-aes256.key"),
    );
    assert_legacy_encrypted(&key, "AES-256-CBC");
    let args = [
        "--cafile",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
        "--key-password",
        "wrong",
    ];
    let r = refused("loop", "localhost", w.client_cert_port, &args);
    assert_eq!(r.rc, Some(MOSQ_ERR_TLS), "{:?}", r.log);
    assert!(r.from_connect, "the key is read by connect");
    let reason = if against_debian() {
        "Unable to load client key file"
    } else {
        "wrong password"
    };
    assert!(
        r.log.iter().any(|l| l.contains(reason)),
        "no log line with {reason:?}: {:?}",
        r.log
    );
}

// ---------------------------------------------------------------------------------
// Drop-in: Debian's mosquitto_pub and mosquitto_sub over TLS and through SOCKS5.

/// `/usr/bin/<tool> <args>` on the library under test, with the loader's trace
/// in `trace` (to prove which libmosquitto it loaded).
fn tool(name: &str, trace: &std::path::Path, args: &[&str]) -> std::process::Command {
    let path = format!("/usr/bin/{name}");
    support::stage::require(&path, "mosquitto-clients");
    let mut command = subject_command(&path);
    command
        .env("LD_DEBUG", "libs")
        .env("LD_DEBUG_OUTPUT", trace)
        .args(args);
    command
}

/// Every process traced under `dir` initialised the library under test.
fn assert_traced_subject(dir: &std::path::Path) {
    let expected = support::stage::subject().expected.clone();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let trace = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in trace.lines() {
            if let Some((_, file)) = line.split_once("calling init: ") {
                if file.contains("libmosquitto.so") {
                    assert_eq!(std::fs::canonicalize(file.trim()).unwrap(), expected);
                    seen += 1;
                }
            }
        }
    }
    assert!(seen >= 3, "{seen} traced tool runs loaded libmosquitto");
}

#[test]
fn debian_mosquitto_pub_and_sub_work_over_tls_and_through_socks5() {
    let w = &world();
    let scratch = support::stage::Scratch::new("tls-dropin");
    let trace = scratch.path().join("ld");
    let ca = cert_file("ca.pem");
    let port = w.good_port.to_string();
    let topic = format!("skeeter/tls-dropin/{}", std::process::id());
    let tls = ["-h", "localhost", "-p", &port, "--cafile", &ca];

    let mut first = tool("mosquitto_pub", &trace, &tls);
    first.args(["-t", &topic, "-m", "first", "-r", "-q", "1"]);
    run(&mut first, PROGRAM_TIMEOUT).assert_success("mosquitto_pub over TLS");

    let mut sub = tool("mosquitto_sub", &trace, &tls);
    sub.args(["-t", &topic, "-C", "2", "-v", "-q", "2"])
        .stdin(std::process::Stdio::null());
    let mut sub = support::stage::Process::spawn(&mut sub);
    sub.wait_for_line("first", Duration::from_secs(20));

    // The second message through a SOCKS5 proxy with a password, still TLS.
    let proxy = Socks::start(Some(("user", "pass")));
    let via = format!("socks5h://user:pass@127.0.0.1:{}", proxy.port);
    let mut second = tool("mosquitto_pub", &trace, &tls);
    second.args(["--proxy", &via, "-t", &topic, "-m", "second", "-q", "2"]);
    run(&mut second, PROGRAM_TIMEOUT).assert_success("mosquitto_pub through SOCKS5");

    let output = sub.finish(PROGRAM_TIMEOUT);
    output.assert_success("mosquitto_sub over TLS");
    assert!(
        output.stdout.contains(&format!("{topic} second")),
        "{output}"
    );
    assert_traced_subject(scratch.path());
}

#[test]
fn loop_start_reconnects_with_a_new_tls_session_directly_and_through_socks5() {
    // debian_known_bug: libmosquitto 2.0.11's loop_start thread never connects
    // again after the broker behind a TLS connection restarts (measured: one
    // connection in 30 s); its loop_forever gives up on the failed SSL_read.
    if against_debian() {
        eprintln!("skipped against Debian's libmosquitto (debian_known_bug: no TLS reconnect)");
        return;
    }
    let mut w = world();
    let ca = cert_file("ca.pem");
    let port = w.good_port.to_string();
    let proxy = Socks::start(None);
    let proxy_port = proxy.port.to_string();
    for via_proxy in [false, true] {
        let mut args = vec!["localhost", port.as_str(), ca.as_str()];
        if via_proxy {
            args.push(&proxy_port);
        }
        let mut command = subject_command(c_program("tls/reconnect.c"));
        command.args(&args).stdin(std::process::Stdio::null());
        let mut program = support::stage::Process::spawn(&mut command);
        program.wait_for_line("connected 1", Duration::from_secs(20));
        w._broker.restart();
        program.finish(PROGRAM_TIMEOUT).assert_passed();
    }
}

// ---------------------------------------------------------------------------------
// examples-c/tls.c, the example a user copies for a verified TLS connection.

/// Builds examples-c/tls.c once and runs it against `localhost:port` with the CA.
fn run_tls_example(port: u16) -> Output {
    static PROGRAM: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let program = PROGRAM.get_or_init(|| {
        let program = scratch_root().join("example-tls");
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples-c/tls.c");
        Compile::c(source, subject())
            .link(subject())
            .build(&program);
        program
    });
    let port = port.to_string();
    let cafile = cert_file("ca.pem");
    let mut command = subject_command(program);
    command.args(["localhost", &port, &cafile]);
    run(&mut command, PROGRAM_TIMEOUT)
}

#[test]
fn the_tls_example_makes_a_verified_connection_and_a_round_trip() {
    let w = &world();
    let output = run_tls_example(w.good_port);
    output.assert_success("examples-c/tls.c");
    assert!(
        output.stdout.contains("demo/tls hello over TLS"),
        "the message did not come back:\n{output}"
    );
}

#[test]
fn the_tls_example_refuses_a_broker_whose_name_does_not_match() {
    let w = &world();
    let output = run_tls_example(w.wrong_name_port);
    assert!(
        !output.status.success(),
        "a wrong name was accepted:\n{output}"
    );
    assert!(!output.stdout.contains("hello over TLS"), "{output}");
}
