//! The servers of `skeeter_servers_set`, parsed from their URIs.
//!
//! `mqtt://host[:port]` (plain TCP, port 1883 by default), `mqtts://host[:port]`
//! (TLS with the `mosquitto_tls_*` settings, port 8883 by default) and
//! `unix:/path` (a Unix domain socket), and MQTT over WebSockets:
//! `ws://host[:port][/path]` (port 80 by default) and `wss://host[:port][/path]`
//! (TLS, port 443). A WebSocket URI without a path upgrades on the
//! `MOSQ_OPT_HTTP_PATH` setting (`/mqtt` unless set, as libmosquitto). An IPv6
//! address goes in brackets: `mqtt://[::1]:1883`. The scheme alone decides the
//! transport: `mqtt://` is plain MQTT even when `MOSQ_OPT_TRANSPORT` says
//! WebSockets.

use crate::error::Error;

const MQTT_PORT: u16 = 1883;
const MQTTS_PORT: u16 = 8883;
const WS_PORT: u16 = 80;
const WSS_PORT: u16 = 443;

/// How MQTT is carried over a TCP server's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// MQTT packets straight on the stream.
    Mqtt,
    /// WebSocket frames, upgraded on the URI's path (`None`: the
    /// `MOSQ_OPT_HTTP_PATH` setting).
    WebSocket { path: Option<Box<str>> },
}

/// Where one server of the list is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    Tcp {
        host: Box<str>,
        port: u16,
        tls: bool,
        framing: Framing,
    },
    Unix {
        path: Box<str>,
    },
}

/// Why a URI was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriError {
    /// Not a URI of a known scheme, or a bad host, port or path.
    Malformed,
}

impl From<UriError> for Error {
    fn from(e: UriError) -> Error {
        match e {
            UriError::Malformed => Error::Inval,
        }
    }
}

impl Server {
    /// Parses one URI of the list.
    pub fn parse(uri: &str) -> Result<Server, UriError> {
        if let Some(path) = uri.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(UriError::Malformed);
            }
            return Ok(Server::Unix { path: path.into() });
        }
        let (scheme, rest) = uri.split_once("://").ok_or(UriError::Malformed)?;
        let (tls, default_port, websocket) = match scheme {
            "mqtt" => (false, MQTT_PORT, false),
            "mqtts" => (true, MQTTS_PORT, false),
            "ws" => (false, WS_PORT, true),
            "wss" => (true, WSS_PORT, true),
            _ => return Err(UriError::Malformed),
        };
        let (authority, framing) = if websocket {
            let (authority, path) = split_path(rest)?;
            (authority, Framing::WebSocket { path })
        } else {
            (rest, Framing::Mqtt)
        };
        let (host, port) = host_and_port(authority, default_port)?;
        Ok(Server::Tcp {
            host: host.into(),
            port,
            tls,
            framing,
        })
    }

    /// The host and port as the connect code takes them: a Unix socket is its
    /// path with port 0.
    pub fn endpoint(&self) -> (&str, u16) {
        match self {
            Server::Tcp { host, port, .. } => (host, *port),
            Server::Unix { path } => (path, 0),
        }
    }

    pub fn uses_tls(&self) -> bool {
        matches!(self, Server::Tcp { tls: true, .. })
    }

    /// For a WebSocket server, its URI's upgrade path (`Some(None)` when the
    /// URI gave none); `None` for plain MQTT and Unix sockets.
    pub fn websocket_path(&self) -> Option<Option<&str>> {
        match self {
            Server::Tcp {
                framing: Framing::WebSocket { path },
                ..
            } => Some(path.as_deref()),
            _ => None,
        }
    }
}

/// A WebSocket URI's authority and path: the path is everything from the
/// first `/` on, sent as it is in the upgrade's request line, so it may hold
/// no whitespace or control characters.
fn split_path(rest: &str) -> Result<(&str, Option<Box<str>>), UriError> {
    let Some(slash) = rest.find('/') else {
        return Ok((rest, None));
    };
    let (authority, path) = rest.split_at(slash);
    if path
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(UriError::Malformed);
    }
    Ok((authority, Some(path.into())))
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with nothing after it (a single
/// trailing `/` is allowed).
fn host_and_port(authority: &str, default_port: u16) -> Result<(&str, u16), UriError> {
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(UriError::Malformed)?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or(UriError::Malformed)?),
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err(UriError::Malformed);
    }
    let port = match port {
        None => default_port,
        Some(text) => match text.parse::<u16>() {
            Ok(0) | Err(_) => return Err(UriError::Malformed),
            Ok(port) => port,
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16, tls: bool) -> Server {
        Server::Tcp {
            host: host.into(),
            port,
            tls,
            framing: Framing::Mqtt,
        }
    }

    fn ws(host: &str, port: u16, tls: bool, path: Option<&str>) -> Server {
        Server::Tcp {
            host: host.into(),
            port,
            tls,
            framing: Framing::WebSocket {
                path: path.map(Into::into),
            },
        }
    }

    #[test]
    fn mqtt_and_mqtts_uris_give_host_port_and_tls() {
        assert_eq!(
            Server::parse("mqtt://broker:1884"),
            Ok(tcp("broker", 1884, false))
        );
        assert_eq!(
            Server::parse("mqtts://broker:9000"),
            Ok(tcp("broker", 9000, true))
        );
        assert_eq!(
            Server::parse("mqtt://127.0.0.1/"),
            Ok(tcp("127.0.0.1", 1883, false))
        );
    }

    #[test]
    fn a_missing_port_is_the_schemes_default() {
        assert_eq!(Server::parse("mqtt://h"), Ok(tcp("h", 1883, false)));
        assert_eq!(Server::parse("mqtts://h"), Ok(tcp("h", 8883, true)));
    }

    #[test]
    fn an_ipv6_address_is_written_in_brackets() {
        assert_eq!(
            Server::parse("mqtt://[::1]:1999"),
            Ok(tcp("::1", 1999, false))
        );
        assert_eq!(Server::parse("mqtt://[::1]"), Ok(tcp("::1", 1883, false)));
        assert_eq!(Server::parse("mqtt://[::1]x"), Err(UriError::Malformed));
    }

    #[test]
    fn a_unix_uri_is_a_socket_path_with_port_0() {
        let server = Server::parse("unix:/run/mosquitto.sock").unwrap();
        assert_eq!(server.endpoint(), ("/run/mosquitto.sock", 0));
        assert!(!server.uses_tls());
        assert_eq!(Server::parse("unix:"), Err(UriError::Malformed));
    }

    #[test]
    fn websocket_uris_give_host_port_tls_and_the_path() {
        assert_eq!(
            Server::parse("ws://h:15675/ws"),
            Ok(ws("h", 15675, false, Some("/ws")))
        );
        assert_eq!(
            Server::parse("wss://[::1]/a/b?x=1"),
            Ok(ws("::1", 443, true, Some("/a/b?x=1")))
        );
        assert_eq!(Server::parse("ws://h"), Ok(ws("h", 80, false, None)));
        assert_eq!(Server::parse("ws://h/"), Ok(ws("h", 80, false, Some("/"))));
        let server = Server::parse("wss://h:9/mqtt").unwrap();
        assert!(server.uses_tls());
        assert_eq!(server.websocket_path(), Some(Some("/mqtt")));
        assert_eq!(Server::parse("mqtt://h").unwrap().websocket_path(), None);
    }

    #[test]
    fn a_websocket_path_that_would_break_the_request_line_is_refused() {
        for uri in ["ws://h/a b", "ws://h/a\r\nX: y", "ws://:80/", "ws://h:0/"] {
            assert_eq!(Server::parse(uri), Err(UriError::Malformed), "{uri}");
        }
    }

    #[test]
    fn bad_uris_are_refused() {
        for uri in [
            "",
            "broker:1883",
            "http://h",
            "mqtt://",
            "mqtt://h:",
            "mqtt://h:0",
            "mqtt://h:65536",
            "mqtt://h:12x",
            "mqtt://h/path",
            "mqtt://user@h",
        ] {
            assert_eq!(Server::parse(uri), Err(UriError::Malformed), "{uri}");
        }
    }
}
