//! Connecting, reconnecting and disconnecting.
//!
//! The TCP connect (and its name lookup) runs without the client lock, so
//! callbacks and other threads are not held up by it. The CONNECT packet is
//! written as soon as the socket is connected; after a non-blocking connect the
//! loop finishes the handshake and writes it.
//!
//! With TLS, WebSockets or a SOCKS5 proxy, the transport is built fresh for every
//! connect and reconnect (new TLS session, new proxy handshake, new upgrade). As in libmosquitto, a
//! blocking connect waits for the TCP connect only: it sends the proxy greeting
//! or the TLS ClientHello and returns, and the loop completes the handshakes,
//! reporting a failure (`MOSQ_ERR_TLS`, `MOSQ_ERR_PROXY`...) from the loop call.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Instant;

use super::connection::{net_error, Connection};
use super::contain::{contain, contain_result};
use super::dispatch::Work;
use super::incoming_cap;
use super::io::net_failure;
use super::log::MOSQ_LOG_WARNING;
use super::{Client, ClientState};
use crate::error::{Error, Result};
use crate::net::poll;
use crate::net::socket::{ConnectState, Endpoint};
use crate::net::{Transport, TransportPlan};
use crate::protocol::packet::ProtocolVersion;
use crate::protocol::property::{Properties, Property};
use crate::session::Session;

/// Where and how to connect, as the last connect call gave it. Boxed slices, not
/// `String`s and `Vec`s: they never grow, and take 16 bytes inline, not 24.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Box<str>,
    pub port: u16,
    pub bind_address: Option<Box<str>>,
    pub keepalive: u16,
    /// MQTT 5 CONNECT properties.
    pub properties: Box<[Property]>,
}

impl Target {
    /// Checks the arguments of the connect calls as libmosquitto does: a port in
    /// 0..=65535 and a keepalive of 0 (off) or 5..=65535 seconds.
    pub fn new(
        host: String,
        port: i32,
        keepalive: i32,
        bind_address: Option<String>,
    ) -> Result<Target> {
        let port = u16::try_from(port).map_err(|_| Error::Inval)?;
        let keepalive = u16::try_from(keepalive).map_err(|_| Error::Inval)?;
        if (1..5).contains(&keepalive) {
            return Err(Error::Inval);
        }
        Ok(Target {
            host: host.into(),
            port,
            bind_address: bind_address.map(Into::into),
            keepalive,
            properties: Box::default(),
        })
    }
}

/// A client id for an MQTT 3.1 connect without one (3.1 brokers refuse an
/// empty id): "mosq-" and 18 letters and digits, as libmosquitto makes them.
fn random_client_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::from("mosq-");
    let mut bits = 0u64;
    for i in 0..18 {
        if i % 8 == 0 {
            // Each RandomState is seeded from the OS's random source.
            let mut h = RandomState::new().build_hasher();
            h.write_usize(i);
            bits = h.finish();
        }
        id.push(ALPHABET[(bits % ALPHABET.len() as u64) as usize] as char);
        bits /= ALPHABET.len() as u64;
    }
    id
}

/// Whether a non-blocking connect has finished (`Ok(true)`), without waiting.
fn settled(conn: &mut Connection) -> Result<bool> {
    if poll::connect_ended(conn.fd()).map_err(net_error)? {
        conn.finish_connect().map_err(net_error)?;
        return Ok(true);
    }
    Ok(false)
}

impl Client {
    /// `mosquitto_connect*`: remembers `target` and connects. With `blocking`,
    /// waits for the TCP handshake; otherwise the loop completes it. Called
    /// outside `contain`, as `reconnect` is.
    pub fn connect(&self, target: Target, blocking: bool) -> Result<()> {
        contain(|| {
            let mut state = self.lock();
            state.options.keepalive = target.keepalive;
            state.target = Some(target);
        })?;
        self.reconnect(blocking)
    }

    /// `mosquitto_reconnect*`: connects again to the last target, closing any
    /// current connection first (without a DISCONNECT or `on_disconnect`).
    ///
    /// `on_pre_connect` runs here, between closing the old socket and reading
    /// the settings for the new one, so what it sets is used now. So this is
    /// called outside `contain`, never from an export's panic catch: the ffi
    /// connect and reconnect exports convert their arguments inside the catch
    /// and call this after it, and `loop_forever` calls it from its own frame.
    /// Each locked step here is contained on its own.
    pub fn reconnect(&self, blocking: bool) -> Result<()> {
        self.usable()?;
        contain_result(|| self.close_for_connect())?;
        self.call_pre_connect();
        let mut work = Work::new(self.logging());
        let (target, tls, socks5, upgrade, nodelay) = contain_result(|| {
            let mut state = self.lock();
            let mut target = state.target.clone().ok_or(Error::Inval)?;
            if state.session.is_some() {
                state.resilience.reconnects = state.resilience.reconnects.saturating_add(1);
            }
            let mut tls = state.options.tls.clone();
            let mut socks5 = state.options.socks5.clone();
            let mut upgrade = state.options.upgrade();
            // With a server list, its current entry replaces the connect call's host.
            if let Some(listed) = state.start_attempt() {
                upgrade = listed.upgrade(&state.options);
                let (host, port) = listed.server.endpoint();
                target.host = host.into();
                target.port = port;
                *tls = listed.tls(&tls);
                if port == 0 {
                    socks5 = None;
                }
            }
            Ok((target, tls, socks5, upgrade, state.options.tcp_nodelay))
        })?;
        // Without the lock: reading the key may call the program's pw_callback,
        // which may call the API.
        let plan = match TransportPlan::from_settings(&tls, socks5.as_deref()) {
            Ok((plan, warnings)) => {
                for line in warnings {
                    work.log(MOSQ_LOG_WARNING, || line);
                }
                plan.with_websocket(upgrade).with_nodelay(nodelay)
            }
            Err(e) => {
                let error = net_failure(e, &mut work);
                self.dispatch(work);
                return Err(error);
            }
        };
        let result = contain_result(|| self.open(&target, &plan, blocking, &mut work));
        if result.is_ok() {
            // A loop waiting elsewhere (or between reconnect attempts) picks up
            // the new socket.
            self.wake();
        }
        self.dispatch(work);
        result
    }

    /// Before a connection attempt: closes the current connection, if any
    /// (`Inval`, closing nothing, when no connect call gave a target yet).
    fn close_for_connect(&self) -> Result<()> {
        let mut state = self.lock();
        if state.target.is_none() {
            return Err(Error::Inval);
        }
        state.disconnect_requested = false;
        let closed = state.conn.take().map(|mut conn| conn.shutdown()).is_some();
        if let Some(session) = state.session.as_mut() {
            session.connection_lost();
        }
        drop(state);
        if closed {
            // A loop waiting on the old socket elsewhere: closing it does not
            // end that wait.
            self.wake();
        }
        Ok(())
    }

    /// Connects the transport to `target` and queues CONNECT (writing it at once
    /// when the socket is connected).
    fn open(
        &self,
        target: &Target,
        plan: &TransportPlan,
        blocking: bool,
        work: &mut Work,
    ) -> Result<()> {
        let bind_address = match &target.bind_address {
            Some(address) => Some(address.clone()),
            None => self.lock().options.bind_address.clone(),
        };
        let endpoint = Endpoint {
            host: &target.host,
            port: target.port,
            bind_address: bind_address.as_deref(),
        };
        let (stream, connect_state) =
            Transport::connect(endpoint, plan, blocking).map_err(|e| net_failure(e, work))?;
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            let options = &mut state.options;
            if options.client_id.is_none() && options.protocol == ProtocolVersion::V31 {
                options.client_id = Some(random_client_id().into());
            }
            let cap = state.resilience.incoming_cap;
            let properties = if options.protocol.is_v5() {
                incoming_cap::with_cap(&target.properties, cap)
            } else {
                std::borrow::Cow::Borrowed(&target.properties[..])
            };
            let config = options.connect_config(target.keepalive, &properties);
            let fresh = state.session.is_none();
            let session = state.session.get_or_insert_with(|| Session::new(&config));
            if fresh {
                let persistence = &mut state.resilience.persistence;
                ClientState::start_persistence(persistence, session, &config, work);
            }
            session.set_resubscribe(state.resilience.resubscribe);
            session.set_offline_bound(state.resilience.offline_bound);
            let connect = session.connect_packet(&config, Instant::now());
            let limit = incoming_cap::decoder_limit(session.incoming_packet_limit(), cap);
            let mut connecting = connect_state == ConnectState::InProgress;
            let mut conn = Connection::new(stream, connecting, session.protocol(), limit);
            if connecting {
                // A refusal is often known at once (always on loopback):
                // libmosquitto reports it from connect_async, by writing CONNECT
                // straight away, so look without waiting.
                match settled(&mut conn) {
                    Ok(done) => connecting = !done,
                    Err(e) => {
                        session.connection_lost();
                        return Err(e);
                    }
                }
            }
            if work.logging {
                for line in super::log::sending(session.client_id(config.client_id), &connect) {
                    work.debug(|| line);
                }
            }
            conn.queue(&connect)?;
            state.conn = Some(conn);
            state.pace = Default::default();
            state.pump(work);
            if !connecting {
                // The loop reports a failure here on its next turn.
                let _ = state.write_out(Instant::now(), work);
                // Until CONNACK there is usually nothing more to write: a client
                // connecting many connections hands each one's memory to the next.
                if let Some(conn) = state.conn.as_mut() {
                    conn.release_write_buffers();
                }
            }
        }
        Ok(())
    }

    /// `MOSQ_OPT_HTTP_HEADER_SIZE`: refused (`Inval`) while a connection is
    /// being opened, as its upgrade may be reading the answer.
    pub fn set_http_header_size(&self, size: i32) -> Result<()> {
        let mut state = self.lock();
        let opening = state
            .conn
            .as_ref()
            .is_some_and(|c| c.is_connecting() || c.is_handshaking());
        if opening {
            return Err(Error::Inval);
        }
        state.options.websocket.set_header_size(size)
    }

    /// `mosquitto_disconnect*`: queues DISCONNECT; the socket closes once it is
    /// written and `on_disconnect(0)` follows. Without a connection, returns
    /// `NoConn`, but a `loop_forever` waiting to reconnect still stops.
    pub fn disconnect(&self, reason_code: u8, properties: Properties) -> Result<()> {
        let result = {
            let mut state = self.lock();
            state.disconnect_requested = true;
            if state.conn.is_none() {
                Err(Error::NoConn)
            } else {
                Ok(())
            }
        };
        match result {
            Err(e) => {
                self.wake();
                Err(e)
            }
            Ok(()) => self.request(|state, _| {
                super::actions::session_of(state)?.disconnect(reason_code, properties)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    #[test]
    fn keepalive_must_be_0_or_at_least_5_and_port_in_range() {
        let t =
            |port, keepalive| Target::new("h".into(), port, keepalive, None).map(|t| t.keepalive);
        assert_eq!(t(1883, 0), Ok(0));
        assert_eq!(t(1883, 5), Ok(5));
        assert_eq!(t(1883, 4), Err(Error::Inval));
        assert_eq!(t(1883, -1), Err(Error::Inval));
        assert_eq!(t(1883, 65_536), Err(Error::Inval));
        assert_eq!(t(-1, 60), Err(Error::Inval));
        assert_eq!(t(65_536, 60), Err(Error::Inval));
    }

    /// Whether the client's socket has Nagle's algorithm off.
    fn socket_has_nodelay(client: &Client) -> bool {
        client.lock().conn.as_ref().unwrap().has_nodelay()
    }

    #[test]
    fn tcp_nodelay_reaches_the_socket_of_each_connect_and_only_when_asked_for() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = i32::from(listener.local_addr().unwrap().port());
        let client = Client::new(Some(b"nodelay"), true, 0).unwrap();
        let target = || Target::new("127.0.0.1".into(), port, 60, None).unwrap();
        client.connect(target(), true).unwrap();
        assert!(!socket_has_nodelay(&client));
        client.with_options(|o| o.tcp_nodelay = true);
        client.connect(target(), false).unwrap();
        assert!(socket_has_nodelay(&client));
        client.reconnect(true).unwrap();
        assert!(socket_has_nodelay(&client));
    }

    /// A client whose `on_pre_connect` sets the username to the next of
    /// `names` and notes whether a connection was still open then.
    fn client_naming_itself(
        names: &'static [&'static str],
    ) -> (Arc<Client>, Arc<Mutex<Vec<bool>>>) {
        let client = Arc::new(Client::new(Some(b"pre"), true, 0).unwrap());
        let open_at_call = Arc::new(Mutex::new(Vec::new()));
        let (inner, seen) = (Arc::downgrade(&client), open_at_call.clone());
        client.set_callbacks(|c| {
            c.on_pre_connect = Some(Arc::new(move || {
                let client = inner.upgrade().unwrap();
                let mut seen = seen.lock().unwrap();
                seen.push(client.lock().conn.is_some());
                let name = names[seen.len() - 1];
                client.with_options(|o| o.username = Some(name.into()));
            }))
        });
        (client, open_at_call)
    }

    /// The first bytes the client sent on a connection `listener` accepts;
    /// fails after 5 s without one.
    fn first_packet(listener: &TcpListener) -> Vec<u8> {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let mut socket = loop {
            match listener.accept() {
                Ok((socket, _)) => break socket,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Err(e) => panic!("no connection: {e}"),
            }
        };
        socket.set_nonblocking(false).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut bytes = vec![0; 256];
        let n = socket.read(&mut bytes).unwrap();
        bytes.truncate(n);
        bytes
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn on_pre_connect_runs_before_each_attempt_and_what_it_sets_goes_into_that_connect() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = i32::from(listener.local_addr().unwrap().port());
        let (client, open_at_call) = client_naming_itself(&["alice", "bob"]);
        let target = Target::new("127.0.0.1".into(), port, 60, None).unwrap();
        assert_eq!(client.connect(target, true), Ok(()));
        assert!(contains(&first_packet(&listener), b"alice"));
        assert_eq!(client.reconnect(true), Ok(()));
        assert!(contains(&first_packet(&listener), b"bob"));
        // The first connection was closed before the second call.
        assert_eq!(*open_at_call.lock().unwrap(), [false, false]);
    }

    #[test]
    fn transport_settings_that_on_pre_connect_changes_are_read_after_it() {
        let broker = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy_port = proxy.local_addr().unwrap().port();
        let client = Arc::new(Client::new(Some(b"pre"), true, 0).unwrap());
        let inner = Arc::downgrade(&client);
        client.set_callbacks(|c| {
            c.on_pre_connect = Some(Arc::new(move || {
                let socks5 = crate::net::socks5::Socks5Proxy {
                    host: "127.0.0.1".into(),
                    port: proxy_port,
                    username: None,
                    password: None,
                };
                let client = inner.upgrade().unwrap();
                client.with_options(|o| o.socks5 = Some(Box::new(socks5)));
            }))
        });
        let port = i32::from(broker.local_addr().unwrap().port());
        let target = Target::new("127.0.0.1".into(), port, 60, None).unwrap();
        assert_eq!(client.connect(target, true), Ok(()));
        // The SOCKS5 greeting, version 5, went to the proxy set just now.
        assert_eq!(first_packet(&proxy).first(), Some(&5));
    }

    #[test]
    fn reconnect_without_a_target_calls_no_on_pre_connect() {
        let (client, open_at_call) = client_naming_itself(&["alice"]);
        assert_eq!(client.reconnect(true), Err(Error::Inval));
        assert!(open_at_call.lock().unwrap().is_empty());
    }

    #[test]
    #[cfg(debug_assertions)]
    fn reconnect_inside_contain_is_refused_in_test_builds() {
        // on_pre_connect must not run inside a panic catch (see `reconnect`).
        let (client, _) = client_naming_itself(&["alice"]);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = i32::from(listener.local_addr().unwrap().port());
        let target = Target::new("127.0.0.1".into(), port, 60, None).unwrap();
        client.lock().target = Some(target);
        assert_eq!(
            contain_result(|| client.reconnect(true)),
            Err(Error::Unknown)
        );
    }

    #[test]
    fn a_generated_id_fits_mqtt_31() {
        let id = random_client_id();
        assert_eq!(id.len(), 23);
        assert!(id.starts_with("mosq-"));
        assert!(id[5..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, random_client_id());
    }
}
