//! The client side of a SOCKS5 handshake (RFC 1928, with RFC 1929's username and
//! password), as a state machine that touches no socket: it says what to send
//! and how many bytes it wants next, and is fed what arrived. The broker's host
//! name goes to the proxy to resolve (address type "domain name"); an IP literal
//! goes as an IPv4 or IPv6 address.

use std::fmt;
use std::net::IpAddr;

use crate::error::Error;

/// A SOCKS5 proxy to connect through (`mosquitto_socks5_set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socks5Proxy {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

const VERSION: u8 = 5;
const AUTH_NONE: u8 = 0x00;
const AUTH_USERPASS: u8 = 0x02;
const USERPASS_VERSION: u8 = 1;
const CMD_CONNECT: u8 = 1;
const ATYP_V4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_V6: u8 = 4;

/// Why the proxy did not open the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socks5Error {
    /// The proxy answered with a SOCKS version other than 5.
    NotSocks5(u8),
    /// The proxy accepts none of the offered methods (no authentication, and
    /// username/password when one is set).
    NoAcceptableMethod,
    /// The proxy chose username/password, but none is set.
    CredentialsRequired,
    /// The proxy refused the username and password.
    AuthenticationFailed(u8),
    /// The proxy refused the connection to the broker (the reply code).
    ConnectRefused(u8),
    /// The proxy's reply has an unknown address type.
    BadAddressType(u8),
    /// The proxy closed the connection during the handshake.
    Closed,
    /// A host name, username or password longer than SOCKS5's 255 bytes.
    TooLong(&'static str),
}

impl Socks5Error {
    /// The `MOSQ_ERR_*` libmosquitto reports for the same answer. libmosquitto
    /// reads a refused login's status with the table of CONNECT reply codes, so
    /// the usual status 2 (microsocks, Dante) is `MOSQ_ERR_AUTH` there too.
    pub fn into_error(self) -> Error {
        match self {
            Socks5Error::NoAcceptableMethod => Error::Auth,
            Socks5Error::ConnectRefused(code) | Socks5Error::AuthenticationFailed(code) => {
                match code {
                    2 => Error::Auth,
                    3..=5 => Error::NoConn,
                    1 | 6..=8 => Error::Proxy,
                    _ => Error::Inval,
                }
            }
            Socks5Error::BadAddressType(_) => Error::Protocol,
            _ => Error::Proxy,
        }
    }
}

impl fmt::Display for Socks5Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Socks5Error::NotSocks5(v) => write!(f, "SOCKS5 proxy answered with version {v}"),
            Socks5Error::NoAcceptableMethod => {
                write!(f, "SOCKS5 proxy accepts none of our authentication methods")
            }
            Socks5Error::CredentialsRequired => {
                write!(f, "SOCKS5 proxy requires a username and password")
            }
            Socks5Error::AuthenticationFailed(code) => {
                write!(
                    f,
                    "SOCKS5 proxy refused the username and password (status {code})"
                )
            }
            Socks5Error::ConnectRefused(code) => write!(
                f,
                "SOCKS5 proxy could not connect to the broker: {} ({code})",
                reply_text(*code)
            ),
            Socks5Error::BadAddressType(t) => {
                write!(f, "SOCKS5 proxy reply has unknown address type {t}")
            }
            Socks5Error::Closed => write!(f, "SOCKS5 proxy closed the connection"),
            Socks5Error::TooLong(what) => write!(f, "SOCKS5 {what} is longer than 255 bytes"),
        }
    }
}

impl std::error::Error for Socks5Error {}

fn reply_text(code: u8) -> &'static str {
    match code {
        1 => "general failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Awaiting the method choice (2 bytes).
    Method,
    /// Awaiting the username/password verdict (2 bytes).
    Auth,
    /// Awaiting the head of the connect reply (5 bytes: through the first address byte).
    ReplyHead,
    /// Awaiting the rest of the connect reply: this many more bytes.
    ReplyTail(usize),
    Done,
}

/// One handshake. Send `output()` (then `consumed` what was sent), read at most
/// `wanted()` bytes and `feed` them, until `is_done()`.
#[derive(Debug)]
pub struct Socks5Handshake {
    state: State,
    output: Vec<u8>,
    input: Vec<u8>,
    request: Vec<u8>,
    credentials: Option<(Vec<u8>, Vec<u8>)>,
}

impl Socks5Handshake {
    /// A handshake asking the proxy to connect to `host`:`port`, offering
    /// username/password authentication when `username` is set (a missing
    /// password is sent empty).
    pub fn new(
        host: &str,
        port: u16,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<Socks5Handshake, Socks5Error> {
        let credentials = match username {
            Some(user) => {
                let pass = password.unwrap_or("");
                if user.len() > 255 {
                    return Err(Socks5Error::TooLong("username"));
                }
                if pass.len() > 255 {
                    return Err(Socks5Error::TooLong("password"));
                }
                Some((user.as_bytes().to_vec(), pass.as_bytes().to_vec()))
            }
            None => None,
        };
        let output = if credentials.is_some() {
            vec![VERSION, 2, AUTH_NONE, AUTH_USERPASS]
        } else {
            vec![VERSION, 1, AUTH_NONE]
        };
        Ok(Socks5Handshake {
            state: State::Method,
            output,
            input: Vec::new(),
            request: connect_request(host, port)?,
            credentials,
        })
    }

    /// Bytes to send to the proxy now.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// `n` bytes of `output()` were sent.
    pub fn consumed(&mut self, n: usize) {
        self.output.drain(..n.min(self.output.len()));
    }

    /// How many bytes to read next: exactly what this step needs, so no byte
    /// meant for the tunnel (the broker's TLS or MQTT) is ever taken.
    pub fn wanted(&self) -> usize {
        let step = match self.state {
            State::Method | State::Auth => 2,
            State::ReplyHead => 5,
            State::ReplyTail(n) => n,
            State::Done => 0,
        };
        step - self.input.len()
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Takes bytes from the proxy (at most `wanted()`; any beyond are an error of
    /// the caller and are ignored).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Socks5Error> {
        let take = bytes.len().min(self.wanted());
        self.input.extend_from_slice(&bytes[..take]);
        if self.wanted() > 0 || self.state == State::Done {
            return Ok(());
        }
        let msg = std::mem::take(&mut self.input);
        match self.state {
            State::Method => self.on_method(&msg),
            State::Auth => self.on_auth(&msg),
            State::ReplyHead => self.on_reply_head(&msg),
            State::ReplyTail(_) => {
                self.state = State::Done;
                Ok(())
            }
            State::Done => Ok(()),
        }
    }

    fn on_method(&mut self, msg: &[u8]) -> Result<(), Socks5Error> {
        if msg[0] != VERSION {
            return Err(Socks5Error::NotSocks5(msg[0]));
        }
        match msg[1] {
            AUTH_NONE => self.send_request(),
            AUTH_USERPASS => {
                let (user, pass) = self
                    .credentials
                    .as_ref()
                    .ok_or(Socks5Error::CredentialsRequired)?;
                self.output.push(USERPASS_VERSION);
                self.output.push(user.len() as u8);
                self.output.extend_from_slice(user);
                self.output.push(pass.len() as u8);
                self.output.extend_from_slice(pass);
                self.state = State::Auth;
            }
            _ => return Err(Socks5Error::NoAcceptableMethod),
        }
        Ok(())
    }

    fn on_auth(&mut self, msg: &[u8]) -> Result<(), Socks5Error> {
        if msg[0] != USERPASS_VERSION {
            return Err(Socks5Error::NotSocks5(msg[0]));
        }
        if msg[1] != 0 {
            return Err(Socks5Error::AuthenticationFailed(msg[1]));
        }
        self.send_request();
        Ok(())
    }

    fn send_request(&mut self) {
        let request = std::mem::take(&mut self.request);
        self.output.extend_from_slice(&request);
        self.state = State::ReplyHead;
    }

    fn on_reply_head(&mut self, msg: &[u8]) -> Result<(), Socks5Error> {
        if msg[0] != VERSION {
            return Err(Socks5Error::NotSocks5(msg[0]));
        }
        if msg[1] != 0 {
            return Err(Socks5Error::ConnectRefused(msg[1]));
        }
        // The bound address and port follow; the head already holds one address byte.
        let rest = match msg[3] {
            ATYP_V4 => 4 + 2 - 1,
            ATYP_V6 => 16 + 2 - 1,
            ATYP_DOMAIN => msg[4] as usize + 2,
            other => return Err(Socks5Error::BadAddressType(other)),
        };
        self.state = State::ReplyTail(rest);
        Ok(())
    }
}

/// CONNECT to `host`:`port`: an IP literal as an address, anything else as a
/// domain name for the proxy to resolve.
fn connect_request(host: &str, port: u16) -> Result<Vec<u8>, Socks5Error> {
    let mut request = vec![VERSION, CMD_CONNECT, 0];
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            request.push(ATYP_V4);
            request.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            request.push(ATYP_V6);
            request.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            let len = u8::try_from(host.len()).map_err(|_| Socks5Error::TooLong("host name"))?;
            request.push(ATYP_DOMAIN);
            request.push(len);
            request.extend_from_slice(host.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays the proxy's side: each reply is fed a byte at a time, as a slow
    /// proxy would deliver it.
    fn answer(h: &mut Socks5Handshake, reply: &[u8]) -> Result<(), Socks5Error> {
        for byte in reply {
            assert!(h.wanted() > 0, "the handshake wants no more bytes");
            h.feed(std::slice::from_ref(byte))?;
        }
        Ok(())
    }

    fn take_output(h: &mut Socks5Handshake) -> Vec<u8> {
        let out = h.output().to_vec();
        h.consumed(out.len());
        out
    }

    #[test]
    fn without_credentials_only_no_auth_is_offered_and_the_host_goes_as_a_domain() {
        let mut h = Socks5Handshake::new("broker.example", 8883, None, None).unwrap();
        assert_eq!(take_output(&mut h), [5, 1, 0]);
        assert_eq!(h.wanted(), 2);
        answer(&mut h, &[5, 0]).unwrap();
        let mut expected = vec![5, 1, 0, 3, 14];
        expected.extend_from_slice(b"broker.example");
        expected.extend_from_slice(&[0x22, 0xb3]);
        assert_eq!(take_output(&mut h), expected);
        answer(&mut h, &[5, 0, 0, 1, 10, 0, 0, 1, 0x07, 0x5b]).unwrap();
        assert!(h.is_done());
        assert_eq!(h.wanted(), 0);
    }

    #[test]
    fn with_credentials_username_and_password_are_sent_when_chosen() {
        let mut h = Socks5Handshake::new("127.0.0.1", 1883, Some("user"), Some("pw")).unwrap();
        assert_eq!(take_output(&mut h), [5, 2, 0, 2]);
        answer(&mut h, &[5, 2]).unwrap();
        assert_eq!(take_output(&mut h), b"\x01\x04user\x02pw");
        answer(&mut h, &[1, 0]).unwrap();
        assert_eq!(take_output(&mut h), [5, 1, 0, 1, 127, 0, 0, 1, 0x07, 0x5b]);
        // A domain-name reply: length 3, "abc", port.
        answer(&mut h, &[5, 0, 0, 3, 3, b'a', b'b', b'c', 0, 1]).unwrap();
        assert!(h.is_done());
    }

    #[test]
    fn an_ipv6_literal_goes_as_an_ipv6_address() {
        let request = connect_request("::1", 1).unwrap();
        assert_eq!(request[3], ATYP_V6);
        assert_eq!(request.len(), 4 + 16 + 2);
    }

    #[test]
    fn a_refused_password_maps_its_status_as_libmosquitto_does() {
        let refused = |status| {
            let mut h = Socks5Handshake::new("h", 1, Some("u"), Some("bad")).unwrap();
            answer(&mut h, &[5, 2]).unwrap();
            answer(&mut h, &[1, status]).unwrap_err()
        };
        assert_eq!(refused(1), Socks5Error::AuthenticationFailed(1));
        assert_eq!(refused(1).into_error(), Error::Proxy);
        assert_eq!(refused(2).into_error(), Error::Auth);
        assert_eq!(refused(0xff).into_error(), Error::Inval);
    }

    #[test]
    fn no_acceptable_method_is_an_auth_error_as_in_libmosquitto() {
        let mut h = Socks5Handshake::new("h", 1, None, None).unwrap();
        let err = answer(&mut h, &[5, 0xff]).unwrap_err();
        assert_eq!(err.into_error(), Error::Auth);
    }

    #[test]
    fn userpass_chosen_without_credentials_is_refused() {
        let mut h = Socks5Handshake::new("h", 1, None, None).unwrap();
        assert_eq!(
            answer(&mut h, &[5, 2]).unwrap_err(),
            Socks5Error::CredentialsRequired
        );
    }

    #[test]
    fn connect_reply_codes_map_as_libmosquitto_maps_them() {
        for (code, error) in [
            (1, Error::Proxy),
            (2, Error::Auth),
            (4, Error::NoConn),
            (5, Error::NoConn),
            (8, Error::Proxy),
            (9, Error::Inval),
        ] {
            let mut h = Socks5Handshake::new("h", 1, None, None).unwrap();
            answer(&mut h, &[5, 0]).unwrap();
            let err = answer(&mut h, &[5, code, 0, 1, 0]).unwrap_err();
            assert_eq!(err.into_error(), error, "reply {code}");
        }
    }

    #[test]
    fn a_non_socks5_answer_and_a_bad_address_type_are_refused() {
        let mut h = Socks5Handshake::new("h", 1, None, None).unwrap();
        assert_eq!(
            answer(&mut h, &[4, 0]).unwrap_err(),
            Socks5Error::NotSocks5(4)
        );
        let mut h = Socks5Handshake::new("h", 1, None, None).unwrap();
        answer(&mut h, &[5, 0]).unwrap();
        let err = answer(&mut h, &[5, 0, 0, 9, 0]).unwrap_err();
        assert_eq!(err.into_error(), Error::Protocol);
    }

    #[test]
    fn overlong_names_are_refused_up_front() {
        let long = "x".repeat(256);
        assert!(Socks5Handshake::new(&long, 1, None, None).is_err());
        assert!(Socks5Handshake::new("h", 1, Some(&long), None).is_err());
    }
}
