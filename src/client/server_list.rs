//! The servers of `skeeter_servers_set`, parsed from their URIs.
//!
//! `mqtt://host[:port]` (plain TCP, port 1883 by default), `mqtts://host[:port]`
//! (TLS with the `mosquitto_tls_*` settings, port 8883 by default) and
//! `unix:/path` (a Unix domain socket). An IPv6 address goes in brackets:
//! `mqtt://[::1]:1883`. `ws://` and `wss://` are recognised but refused, as the
//! library has no WebSocket transport yet.

use crate::error::Error;

const MQTT_PORT: u16 = 1883;
const MQTTS_PORT: u16 = 8883;

/// Where one server of the list is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    Tcp {
        host: Box<str>,
        port: u16,
        tls: bool,
    },
    Unix {
        path: Box<str>,
    },
}

/// Why a URI was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriError {
    /// Not a URI of a known scheme, or a bad host or port.
    Malformed,
    /// A WebSocket URI: there is no WebSocket transport.
    NotSupported,
}

impl From<UriError> for Error {
    fn from(e: UriError) -> Error {
        match e {
            UriError::Malformed => Error::Inval,
            UriError::NotSupported => Error::NotSupported,
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
        let (tls, default_port) = match scheme {
            "mqtt" => (false, MQTT_PORT),
            "mqtts" => (true, MQTTS_PORT),
            "ws" | "wss" => return Err(UriError::NotSupported),
            _ => return Err(UriError::Malformed),
        };
        let (host, port) = host_and_port(rest, default_port)?;
        Ok(Server::Tcp {
            host: host.into(),
            port,
            tls,
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
    fn websocket_uris_are_not_supported_yet() {
        assert_eq!(Server::parse("ws://h:80/mqtt"), Err(UriError::NotSupported));
        assert_eq!(Server::parse("wss://h/mqtt"), Err(UriError::NotSupported));
        assert_eq!(Error::from(UriError::NotSupported), Error::NotSupported);
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
