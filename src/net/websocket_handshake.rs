//! The client's opening handshake of RFC 6455: the HTTP upgrade request, and the
//! check of the server's answer (status 101, the `Upgrade` and `Connection`
//! headers, `Sec-WebSocket-Accept` derived from our random key, and the MQTT
//! subprotocol). Sans-I/O: the request is appended to a buffer, and the answer
//! is fed in as it arrives, kept in a buffer no larger than the configured
//! header size.

use std::fmt::Write as _;

use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

use super::websocket::WebSocketError;

/// The most header lines an upgrade answer may have.
const MAX_HEADERS: usize = 64;
/// Where the header block of an HTTP message ends.
const HEADER_END: &[u8] = b"\r\n\r\n";

/// How to ask for the upgrade, decided once per connect from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The request path (`MOSQ_OPT_HTTP_PATH`).
    pub path: String,
    /// The most bytes the server's answer may take (`MOSQ_OPT_HTTP_HEADER_SIZE`).
    pub header_size: usize,
    /// `mqtt`, or `mqttv3.1` for MQTT 3.1.
    pub subprotocol: &'static str,
}

/// One upgrade waiting for (or reading) the server's answer.
#[derive(Debug)]
pub struct Handshake {
    /// The `Sec-WebSocket-Accept` the server must send back.
    accept: String,
    subprotocol: &'static str,
    /// The answer so far; never longer than `limit`.
    response: Vec<u8>,
    limit: usize,
}

impl Handshake {
    /// Starts an upgrade to `host`:`port` (the broker, also through a proxy):
    /// appends the request to `out`.
    pub fn start(upgrade: &Upgrade, host: &str, port: u16, out: &mut Vec<u8>) -> Handshake {
        let key = generate_key();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let mut request = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(
            request,
            "GET {path} HTTP/1.1\r\n\
             Host: {host}:{port}\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: {protocol}\r\n\r\n",
            path = upgrade.path,
            protocol = upgrade.subprotocol,
        );
        out.extend_from_slice(request.as_bytes());
        Handshake {
            accept: derive_accept_key(key.as_bytes()),
            subprotocol: upgrade.subprotocol,
            response: Vec::new(),
            limit: upgrade.header_size,
        }
    }

    /// Takes bytes of the answer. `Ok(Some(n))` once the answer is complete and
    /// accepts the upgrade: its end is `n` bytes into `bytes` (what follows is
    /// WebSocket frames). `Ok(None)`: all of `bytes` taken, more needed.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<usize>, WebSocketError> {
        let before = self.response.len();
        let room = self.limit.saturating_sub(before);
        let taken = bytes.len().min(room);
        self.response.extend_from_slice(&bytes[..taken]);
        let search_from = before.saturating_sub(HEADER_END.len() - 1);
        let Some(at) = find(&self.response[search_from..], HEADER_END) else {
            if taken < bytes.len() || self.response.len() >= self.limit {
                return Err(WebSocketError::ResponseTooLarge(self.limit));
            }
            return Ok(None);
        };
        let end = search_from + at + HEADER_END.len();
        self.check(&self.response[..end])?;
        Ok(Some(end - before))
    }

    /// Checks a whole answer (through its blank line).
    fn check(&self, response: &[u8]) -> Result<(), WebSocketError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(response) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) | Err(_) => {
                return Err(WebSocketError::NotHttp(status_line(response)))
            }
        }
        if parsed.code != Some(101) {
            return Err(WebSocketError::Refused(status_line(response)));
        }
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
        };
        let upgrade_ok = header("Upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        let connection_ok = header("Connection").is_some_and(|v| {
            v.split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
        });
        if !upgrade_ok || !connection_ok {
            return Err(WebSocketError::NotUpgraded);
        }
        if header("Sec-WebSocket-Accept").as_deref() != Some(self.accept.as_str()) {
            return Err(WebSocketError::AcceptMismatch);
        }
        match header("Sec-WebSocket-Protocol") {
            Some(p) if p == self.subprotocol => {}
            other => return Err(WebSocketError::Subprotocol(other)),
        }
        // We asked for no extension, so the server may not use one.
        if let Some(extensions) = header("Sec-WebSocket-Extensions") {
            return Err(WebSocketError::Extension(extensions));
        }
        Ok(())
    }
}

/// The first line of an answer, for the log.
fn status_line(response: &[u8]) -> String {
    let line = response.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line).trim_end().to_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade() -> Upgrade {
        Upgrade {
            path: "/ws".into(),
            header_size: 4096,
            subprotocol: "mqtt",
        }
    }

    /// A handshake and the key its request carries.
    fn started(upgrade: &Upgrade) -> (Handshake, String, String) {
        let mut out = Vec::new();
        let h = Handshake::start(upgrade, "broker", 8080, &mut out);
        let request = String::from_utf8(out).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .to_owned();
        (h, key, request)
    }

    fn answer(accept: &str, protocol: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{protocol}\r\n"
        )
    }

    #[test]
    fn the_request_asks_for_the_path_host_and_mqtt_subprotocol_with_a_random_key() {
        let (_, key, request) = started(&upgrade());
        assert!(request.starts_with("GET /ws HTTP/1.1\r\n"));
        assert!(request.contains("\r\nHost: broker:8080\r\n"));
        assert!(request.contains("\r\nSec-WebSocket-Protocol: mqtt\r\n"));
        assert!(request.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(request.ends_with("\r\n\r\n"));
        assert_eq!(key.len(), 24, "16 bytes in base64");
        assert_ne!(key, started(&upgrade()).1);
    }

    #[test]
    fn an_ipv6_host_is_bracketed_in_the_host_header() {
        let mut out = Vec::new();
        Handshake::start(&upgrade(), "::1", 80, &mut out);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("Host: [::1]:80\r\n"));
    }

    #[test]
    fn a_good_answer_split_anywhere_is_accepted_and_the_frames_after_it_are_left() {
        let (_, key, _) = started(&upgrade());
        let accept = derive_accept_key(key.as_bytes());
        let mut bytes = answer(&accept, "Sec-WebSocket-Protocol: mqtt\r\n").into_bytes();
        let len = bytes.len();
        bytes.extend_from_slice(&[0x82, 0x00]);
        for split in 1..len {
            let (mut h, _, _) = started(&upgrade());
            h.accept = accept.clone();
            assert_eq!(h.feed(&bytes[..split]), Ok(None));
            assert_eq!(h.feed(&bytes[split..]), Ok(Some(len - split)));
        }
    }

    #[test]
    fn a_wrong_accept_key_a_missing_subprotocol_or_a_refusal_fail_the_upgrade() {
        let (mut h, _, _) = started(&upgrade());
        let wrong = answer(
            "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol: mqtt\r\n",
        );
        assert_eq!(
            h.feed(wrong.as_bytes()),
            Err(WebSocketError::AcceptMismatch)
        );
        let (mut h, key, _) = started(&upgrade());
        let none = answer(&derive_accept_key(key.as_bytes()), "");
        assert_eq!(
            h.feed(none.as_bytes()),
            Err(WebSocketError::Subprotocol(None))
        );
        let (mut h, _, _) = started(&upgrade());
        assert_eq!(
            h.feed(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
            Err(WebSocketError::Refused("HTTP/1.1 403 Forbidden".into()))
        );
    }

    #[test]
    fn an_answer_longer_than_the_header_size_is_refused() {
        let small = Upgrade {
            header_size: 100,
            ..upgrade()
        };
        let (mut h, _, _) = started(&small);
        let long = format!("HTTP/1.1 101 OK\r\nX: {}\r\n\r\n", "a".repeat(100));
        assert_eq!(
            h.feed(long.as_bytes()),
            Err(WebSocketError::ResponseTooLarge(100))
        );
    }

    #[test]
    fn mqtt_31_asks_for_the_mqttv31_subprotocol() {
        let v31 = Upgrade {
            subprotocol: "mqttv3.1",
            ..upgrade()
        };
        let (_, _, request) = started(&v31);
        assert!(request.contains("\r\nSec-WebSocket-Protocol: mqttv3.1\r\n"));
    }
}
