//! skeeter's own extensions to libmosquitto's API, declared in include/skeeter.h
//! and exported under the symbol version `SKEETER_1.0` (see `symbols`).
//!
//! Each takes the `struct mosquitto *` it extends, returns a `MOSQ_ERR_*` code,
//! returns `MOSQ_ERR_INVAL` for a NULL handle, and may be called from any thread
//! and from callbacks.

use std::os::raw::{c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::ptr::null;
use std::sync::Arc;

use super::actions::{subscribe_with, unsubscribe_with};
use super::boundary::{code_of, guard, guard_with_callbacks};
use super::callbacks::with_c_message;
use super::client::{c_bytes, client_of, with_client};
use super::types::{mosquitto, mosquitto_message};
use crate::client::callbacks::OnMessage;
use std::time::UNIX_EPOCH;

use crate::client::qos_ceiling::QosCeiling;
use crate::client::resilience::Stats;
use crate::client::server_list::Server;
use crate::client::ClientState;
use crate::error::{Error, Result};
use crate::session::offline_queue::{OfflineBound, WhenFull};

/// The URIs of `skeeter_servers_set`, parsed.
///
/// # Safety
/// `uris` is NULL or points to `count` pointers, each NULL or a C string.
unsafe fn servers_from_c(uris: *const *const c_char, count: c_int) -> Result<Vec<Server>> {
    let count = usize::try_from(count).map_err(|_| Error::Inval)?;
    if count == 0 {
        return Ok(Vec::new());
    }
    if uris.is_null() {
        return Err(Error::Inval);
    }
    // SAFETY: `uris` points to `count` pointers (the caller's contract).
    let pointers = unsafe { std::slice::from_raw_parts(uris, count) };
    pointers
        .iter()
        .map(|&uri| {
            // SAFETY: each pointer is NULL or a C string.
            let bytes = unsafe { c_bytes(uri) }.ok_or(Error::Inval)?;
            let text = std::str::from_utf8(bytes).map_err(|_| Error::Inval)?;
            Ok(Server::parse(text)?)
        })
        .collect()
}

/// The body of a setter: `change` runs on the handle's state under its lock;
/// `MOSQ_ERR_INVAL` for a NULL handle.
///
/// # Safety
/// `mosq` is NULL or a live handle.
unsafe fn set_state(
    mosq: *mut mosquitto,
    change: impl FnOnce(&mut ClientState) -> Result<()>,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        unsafe { with_client(mosq, |client| client.with_state(change)) }
    })
}

/// Sets the list of servers to connect to, replacing any list set before and
/// starting again at its first entry (a connection already made is kept).
///
/// Each URI is `mqtt://host[:port]` (port 1883 by default), `mqtts://host[:port]`
/// (TLS with the `mosquitto_tls_*` settings, or the system's trusted roots
/// without them; port 8883 by default), `ws://host[:port][/path]` or
/// `wss://host[:port][/path]` (MQTT over WebSockets, plain or TLS; ports 80
/// and 443 by default; without a path the upgrade uses `MOSQ_OPT_HTTP_PATH`,
/// "/mqtt" unless set) or `unix:/path`; an IPv6 address goes in brackets. The
/// scheme alone decides the transport of each server (`MOSQ_OPT_TRANSPORT` is
/// not read with a list). With a list set, `mosquitto_connect*` and `mosquitto_reconnect*`
/// connect to the list's current server and ignore their host and port (host
/// may then be NULL); keepalive, bind address and properties still apply. After
/// enough failed attempts in a row on one server (when the reconnect delay
/// reaches its maximum, or after `skeeter_failover_attempts_set`'s count), the
/// next one is tried with the delay started afresh; after the last comes the
/// first; a server that works is kept. `count` 0 (or `uris` NULL with 0)
/// removes the list. The strings are copied.
///
/// Returns `MOSQ_ERR_INVAL` for a NULL handle, a negative count, a NULL or
/// malformed URI (a path on anything but `ws://` and `wss://`, or one with
/// spaces or control characters). On error the list is left as it was.
#[no_mangle]
pub unsafe extern "C" fn skeeter_servers_set(
    mosq: *mut mosquitto,
    uris: *const *const c_char,
    count: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle; `uris` as documented above.
        unsafe {
            with_client(mosq, |client| {
                client.set_servers(servers_from_c(uris, count)?);
                Ok(())
            })
        }
    })
}

/// Sets after how many failed attempts in a row the server list moves to its
/// next server (0, the default: only once the reconnect delay has reached its
/// maximum, as set by `mosquitto_reconnect_delay_set`; otherwise whichever
/// comes first). Returns `MOSQ_ERR_INVAL` for a NULL handle or a negative count.
#[no_mangle]
pub unsafe extern "C" fn skeeter_failover_attempts_set(
    mosq: *mut mosquitto,
    attempts: c_int,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    unsafe {
        set_state(mosq, |state| {
            state.resilience.failover_attempts =
                u32::try_from(attempts).map_err(|_| Error::Inval)?;
            Ok(())
        })
    }
}

/// The index in the server list of the server connected to (in `on_connect`)
/// or to be tried next; -1 for a NULL handle or when no list is set.
#[no_mangle]
pub unsafe extern "C" fn skeeter_server_index(mosq: *mut mosquitto) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        match unsafe { client_of(mosq) } {
            Some(client) => client.with_state(|state| state.server_index()),
            None => -1,
        }
    })
}

/// Spreads each reconnect wait uniformly within ±`percent` (0..=100) of its
/// value, so that many clients that lost the same broker do not all return in
/// the same instant. 0, the default, keeps libmosquitto's exact sequence.
/// Applies to `mosquitto_loop_forever` and `mosquitto_loop_start`'s waits.
/// Returns `MOSQ_ERR_INVAL` for a NULL handle or a percentage out of range.
#[no_mangle]
pub unsafe extern "C" fn skeeter_reconnect_jitter_set(
    mosq: *mut mosquitto,
    percent: c_int,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    unsafe {
        set_state(mosq, |state| {
            let percent = u8::try_from(percent)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or(Error::Inval)?;
            state.resilience.delay_style.jitter_percent = percent;
            Ok(())
        })
    }
}

/// With `doubling` true, the reconnect wait doubles after each failed attempt
/// (delay, 2 × delay, 4 × delay... up to the maximum of
/// `mosquitto_reconnect_delay_set`). libmosquitto's own sequences, kept when
/// false (the default): delay × n for the nth attempt, or with its
/// `reconnect_exponential_backoff` delay × n², which grows quadratically, not
/// exponentially. Returns `MOSQ_ERR_INVAL` for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn skeeter_reconnect_doubling_set(
    mosq: *mut mosquitto,
    doubling: bool,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    unsafe {
        set_state(mosq, |state| {
            state.resilience.delay_style.doubling = doubling;
            Ok(())
        })
    }
}

/// With `resubscribe` true, every subscription made from now on (filter, QoS
/// and options, MQTT 5 properties with the subscription identifier; minus what
/// is unsubscribed) is made again whenever a CONNACK says the broker kept no
/// session (session present 0) after a reconnect: sent once, before anything
/// queued, in as few SUBSCRIBEs as the broker's Maximum Packet Size allows.
/// When the broker kept the session, a SUBSCRIBE whose connection was lost
/// before its SUBACK is sent again the same way (without re-subscribe it is
/// dropped, as libmosquitto drops it). Their SUBACKs call `on_subscribe` (with
/// mids the library chose) as the program's own do. False (the default)
/// forgets the record. Returns
/// `MOSQ_ERR_INVAL` for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn skeeter_resubscribe_set(mosq: *mut mosquitto, resubscribe: bool) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe {
            with_client(mosq, |client| {
                client.set_resubscribe(resubscribe);
                Ok(())
            })
        }
    })
}

/// The counters of `skeeter_stats`. Fields are only ever added at the end, so
/// a program built against an older skeeter.h passes its smaller size and gets
/// the fields it knows.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct skeeter_stats {
    /// Bytes of packets encoded and not yet handed to the socket (what waits in
    /// the library's write buffer; messages not yet encoded count below).
    pub bytes_unsent: u64,
    /// QoS 1 and 2 messages waiting for a connection or for room in the send
    /// window (not yet sent).
    pub messages_queued: u64,
    /// QoS 1 and 2 messages sent and not yet acknowledged by the broker.
    pub messages_in_flight_out: u64,
    /// Incoming QoS 2 messages received and waiting for the broker's PUBREL.
    pub messages_in_flight_in: u64,
    /// Messages the offline queue's bound dropped (`skeeter_offline_queue_set`
    /// with `SKEETER_DROP_OLDEST`), since the first connect.
    pub messages_dropped: u64,
    /// Connects made after the first connection (by `mosquitto_reconnect*`,
    /// a repeated connect call, or `mosquitto_loop_forever`), whether they
    /// succeeded or not.
    pub reconnects: u64,
    /// When the broker accepted the current connection, in milliseconds since
    /// 1970-01-01 UTC by the wall clock (`CLOCK_REALTIME`, so it moves if the
    /// clock is set); 0 while there is no accepted connection.
    pub connected_since_ms: i64,
    /// The server list's current index (as `skeeter_server_index`), -1 without
    /// a list.
    pub server_index: i32,
}

impl skeeter_stats {
    fn of(stats: Stats) -> skeeter_stats {
        let since = stats
            .connected_since
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        skeeter_stats {
            bytes_unsent: stats.bytes_unsent,
            messages_queued: stats.messages_queued,
            messages_in_flight_out: stats.in_flight_out,
            messages_in_flight_in: stats.in_flight_in,
            messages_dropped: stats.dropped,
            reconnects: stats.reconnects,
            connected_since_ms: since
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            server_index: stats.server_index,
        }
    }
}

/// Fills `out` with the client's counters, writing at most `size` bytes (pass
/// `sizeof(struct skeeter_stats)`). Takes the client's lock once and counts
/// nothing on the way, so it is cheap enough to call for every publish.
/// Returns `MOSQ_ERR_INVAL` for a NULL handle, or a NULL `out` with a non-zero
/// `size`.
#[no_mangle]
pub unsafe extern "C" fn skeeter_stats(
    mosq: *mut mosquitto,
    out: *mut skeeter_stats,
    size: usize,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe {
            with_client(mosq, |client| {
                if out.is_null() && size > 0 {
                    return Err(Error::Inval);
                }
                let stats = skeeter_stats::of(client.with_state(|state| state.stats()));
                let len = size.min(std::mem::size_of::<skeeter_stats>());
                // SAFETY: `out` has room for `size` bytes (the caller's
                // contract) and `len` is at most that and at most our struct.
                std::ptr::copy_nonoverlapping(
                    (&stats as *const skeeter_stats).cast::<u8>(),
                    out.cast::<u8>(),
                    len,
                );
                Ok(())
            })
        }
    })
}

/// A handler for the messages of one subscription: called with the handle,
/// the `handler_userdata` given to `skeeter_subscribe_handler`, and the
/// message, which (and everything it points to) is valid only during the call.
pub type skeeter_message_handler =
    Option<unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, *const mosquitto_message)>;

/// Subscribes to `filter` at `qos` as `mosquitto_subscribe` does, and calls
/// `handler` for every message whose topic matches `filter` (a shared
/// subscription `$share/group/filter` matches on its filter part). Each
/// message goes first to `on_message` (as always), then to every matching
/// handler in the order they were added (the handlers as `on_message` left
/// them: one it removed is not called). Adding the same handler and user
/// data for the same filter again replaces it, so calling this from every
/// `on_connect` is harmless. Handlers are kept across reconnects (with
/// `skeeter_resubscribe_set`, so are the subscriptions); `mosquitto_reinitialise`
/// removes them. A handler may call any function of the library.
///
/// Returns as `mosquitto_subscribe` does (`MOSQ_ERR_NO_CONN` without a
/// connection; the handler is then not added), and `MOSQ_ERR_INVAL` for a
/// NULL handler.
#[no_mangle]
pub unsafe extern "C-unwind" fn skeeter_subscribe_handler(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    filter: *const c_char,
    qos: c_int,
    handler: skeeter_message_handler,
    handler_userdata: *mut c_void,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    let client = unsafe { client_of(mosq) };
    guard_with_callbacks(client, || {
        let (Some(client), Some(handler)) = (client, handler) else {
            return Err(Error::Inval);
        };
        // SAFETY: `filter` is NULL or a C string.
        let Some(Ok(text)) = unsafe { c_bytes(filter) }.map(std::str::from_utf8) else {
            return Err(Error::Inval);
        };
        let key = (handler as usize, handler_userdata as usize);
        let (handle, userdata) = (mosq as usize, handler_userdata as usize);
        let call: OnMessage = Arc::new(move |publish| {
            with_c_message(publish, |message, _| {
                // SAFETY: the program's function, called as its type declares,
                // from the client's own loop while the handle is alive.
                unsafe { handler(handle as *mut mosquitto, userdata as *mut c_void, message) }
            })
        });
        // Added first, so a retained message that arrives at once is handled.
        client.set_handlers(|table| table.with(text, key, call));
        // SAFETY: `mid` is NULL or writable; `filter` is a C string.
        let result = unsafe { subscribe_with(mosq, mid, &[filter], qos, 0, null()) };
        if result.is_err() {
            client.set_handlers(|table| table.without_handler(text, key));
        }
        result
    })
}

/// Unsubscribes from `filter` as `mosquitto_unsubscribe` does, and removes
/// every handler added for it (even when there is no connection to send the
/// UNSUBSCRIBE on). Returns as `mosquitto_unsubscribe` does.
#[no_mangle]
pub unsafe extern "C-unwind" fn skeeter_unsubscribe_handler(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    filter: *const c_char,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    let client = unsafe { client_of(mosq) };
    guard_with_callbacks(client, || {
        let Some(client) = client else {
            return Err(Error::Inval);
        };
        // SAFETY: `filter` is NULL or a C string.
        if let Some(Ok(text)) = unsafe { c_bytes(filter) }.map(std::str::from_utf8) {
            client.set_handlers(|table| table.without(text));
        }
        // SAFETY: `mid` is NULL or writable; `filter` is NULL or a C string.
        unsafe { unsubscribe_with(mosq, mid, &[filter], null()) }
    })
}

/// For `skeeter_max_qos_set`: send at most at the Maximum QoS of the broker's
/// MQTT 5 CONNACK (before MQTT 5, brokers announce none, and nothing changes).
pub const SKEETER_MAX_QOS_FROM_BROKER: c_int = -1;

/// Downgrades requests above a QoS instead of failing: from now on, a publish
/// or a subscription asked at a higher QoS is sent at `max_qos` (0 or 1; 2,
/// the default, downgrades nothing), or with `SKEETER_MAX_QOS_FROM_BROKER` at
/// the broker's announced Maximum QoS, where libmosquitto returns
/// `MOSQ_ERR_QOS_NOT_SUPPORTED`. Some brokers (AWS Greengrass among them)
/// close the connection without a word over a QoS they do not take. The first
/// downgrade of each connection is logged at `MOSQ_LOG_WARNING`; `on_publish`
/// then follows the QoS sent (at once for QoS 0). Returns `MOSQ_ERR_INVAL` for
/// a NULL handle or another value.
#[no_mangle]
pub unsafe extern "C" fn skeeter_max_qos_set(mosq: *mut mosquitto, max_qos: c_int) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    unsafe {
        set_state(mosq, |state| {
            state.resilience.qos_ceiling = match max_qos {
                SKEETER_MAX_QOS_FROM_BROKER => QosCeiling::Broker,
                0 | 1 => QosCeiling::Fixed(max_qos as u8),
                2 => QosCeiling::Off,
                _ => return Err(Error::Inval),
            };
            Ok(())
        })
    }
}

/// Caps the size of packets accepted from the broker at `bytes` (whole
/// packets, header included), for every protocol version; 0 removes the cap.
/// A packet whose header announces more ends the connection (`on_disconnect`
/// with `MOSQ_ERR_OVERSIZE_PACKET`, and a line at `MOSQ_LOG_ERR`) before any of
/// it is read or room made for it. Over MQTT 5 the cap is also sent in CONNECT
/// as Maximum Packet Size (a smaller one given in the connect properties is
/// kept), so a broker keeps larger messages from the client. Takes effect at
/// the next connect. Returns `MOSQ_ERR_INVAL` for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn skeeter_max_incoming_packet_set(
    mosq: *mut mosquitto,
    bytes: u32,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    unsafe {
        set_state(mosq, |state| {
            state.resilience.incoming_cap = (bytes != 0).then_some(bytes);
            Ok(())
        })
    }
}

/// Bounds each connect attempt at `ms` milliseconds, from the connect or
/// reconnect call to the broker's accepted CONNACK: the TCP handshake of a
/// non-blocking connect (`mosquitto_connect_async`, `loop_forever`'s
/// reconnects), the SOCKS5 and TLS handshakes and the CONNACK together. Past
/// it the attempt ends with `MOSQ_ERR_TIMEOUT` (from the loop call, and
/// `on_disconnect`), and `loop_forever` goes on to the next attempt (the next
/// server, with a list) instead of waiting for a broker that accepted the
/// connection and never answers. The TCP handshake inside a blocking
/// `mosquitto_connect` is bounded by the system, not by this. 0 (the default)
/// sets no bound. Takes effect at the next attempt. Returns `MOSQ_ERR_INVAL`
/// for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn skeeter_connect_timeout_set(mosq: *mut mosquitto, ms: u32) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    unsafe {
        set_state(mosq, |state| {
            state.resilience.connect_timeout =
                (ms != 0).then(|| std::time::Duration::from_millis(u64::from(ms)));
            Ok(())
        })
    }
}

/// For `skeeter_offline_queue_set`: a full queue drops its oldest message to
/// make room (the default).
pub const SKEETER_DROP_OLDEST: c_int = 0;
/// For `skeeter_offline_queue_set`: a full queue refuses the new message.
pub const SKEETER_REFUSE_NEW: c_int = 1;
/// For `skeeter_offline_queue_set`, with either of the above: QoS 0 messages
/// published while offline wait too (libmosquitto refuses them).
pub const SKEETER_KEEP_QOS0: c_int = 2;
/// What a publish refused by a full offline queue returns. It is
/// `MOSQ_ERR_NOMEM`'s value, so a program that handles that code handles this
/// one, and `mosquitto_strerror` stays libmosquitto's.
pub const SKEETER_ERR_QUEUE_FULL: c_int = 1;

/// Bounds what waits to be sent while there is no connection: at most
/// `max_messages` messages and `max_bytes` bytes of topics and payloads (0: no
/// limit on that), counting messages still waiting from before the connection
/// was lost; checked at each publish made while offline. `flags` is
/// `SKEETER_DROP_OLDEST` (the oldest waiting messages are dropped to make room;
/// each is logged once at `MOSQ_LOG_WARNING`, never reaches `on_publish`, and
/// is counted in `skeeter_stats`) or `SKEETER_REFUSE_NEW` (the publish returns
/// `SKEETER_ERR_QUEUE_FULL`), optionally with `| SKEETER_KEEP_QOS0`. A message
/// larger than the whole bound is refused. Messages sent and not yet
/// acknowledged are not in the queue: they are always sent again. Kept
/// messages go after the next CONNACK, in the order published. All zero
/// removes the bound (libmosquitto's behaviour: QoS 1 and 2 kept without
/// limit, QoS 0 refused with `MOSQ_ERR_NO_CONN`). A kept message's publish
/// returns `MOSQ_ERR_NO_CONN`, as libmosquitto's queued QoS 1 and 2 ones do.
/// Returns `MOSQ_ERR_INVAL` for a NULL handle, a negative count or unknown flags.
#[no_mangle]
pub unsafe extern "C" fn skeeter_offline_queue_set(
    mosq: *mut mosquitto,
    max_messages: c_int,
    max_bytes: usize,
    flags: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe {
            with_client(mosq, |client| {
                client.set_offline_bound(offline_bound(max_messages, max_bytes, flags)?);
                Ok(())
            })
        }
    })
}

/// The bound `skeeter_offline_queue_set`'s arguments describe (`None`: none).
fn offline_bound(
    max_messages: c_int,
    max_bytes: usize,
    flags: c_int,
) -> Result<Option<OfflineBound>> {
    let max_messages = usize::try_from(max_messages).map_err(|_| Error::Inval)?;
    if flags & !(SKEETER_REFUSE_NEW | SKEETER_KEEP_QOS0) != 0 {
        return Err(Error::Inval);
    }
    if max_messages == 0 && max_bytes == 0 && flags == 0 {
        return Ok(None);
    }
    let when_full = if flags & SKEETER_REFUSE_NEW != 0 {
        WhenFull::RefuseNew
    } else {
        WhenFull::DropOldest
    };
    Ok(Some(OfflineBound {
        max_messages,
        max_bytes,
        when_full,
        keep_qos0: flags & SKEETER_KEEP_QOS0 != 0,
    }))
}

/// Turns on the shared loop: from now on, `mosquitto_loop_start` attaches
/// the client to a pool of `threads` threads shared by all clients of the
/// process, instead of starting a thread for it. Each pool thread waits on its
/// clients' sockets with one epoll; `mosquitto_loop_stop` (either variant),
/// `mosquitto_destroy`, reconnects, keepalive, TLS, SOCKS5 and WebSockets work
/// as with a thread per client. A client's callbacks run on its pool thread,
/// never two at once; a callback that blocks (or sleeps) stalls every client
/// of that pool thread meanwhile, and one that ends its thread
/// (`pthread_exit`) ends the pool thread and its clients' loops.
///
/// Call it before the first `mosquitto_loop_start`. `threads` 0 turns the
/// shared loop off again; without a call, the environment variable
/// `SKEETER_LOOP_THREADS` (a number of threads, read once, at the first
/// `mosquitto_loop_start`) decides, so an unchanged program can use it. The
/// pool starts with the first `mosquitto_loop_start` that uses it and is not
/// resized: once it runs, this returns `MOSQ_ERR_ALREADY_EXISTS` and changes
/// nothing. Returns `MOSQ_ERR_INVAL` for `threads` below 0 or above 256.
/// Takes no handle; may be called from any thread.
#[no_mangle]
pub extern "C" fn skeeter_shared_loop_set(threads: c_int) -> c_int {
    guard(|| code_of(crate::client::shared_loop::set_threads(threads)))
}

/// Keeps what the client has accepted and not finished in `directory` (made if
/// missing; one client per directory), so that it survives a crash, a `kill -9`
/// or a power loss: outgoing QoS 1 and 2 messages not yet acknowledged (ids,
/// properties, retain flag), QoS 2 messages past PUBREC, incoming QoS 2
/// messages received and not yet released, and the offline queue. A message
/// goes on the wire only once it is on disk (`fdatasync`; what one loop turn
/// sends shares one). On the first connect after a restart with the same client
/// id and clean session false (MQTT 5: clean start false and a session expiry
/// above 0), the stored messages are sent again with their ids and DUP set, and
/// `on_publish` is called as they complete; any other first connect empties the
/// directory. A publish that cannot be stored (a full disk) returns
/// `MOSQ_ERR_ERRNO` with `errno` set and a log line, and is not sent. QoS 0
/// messages are never kept, except by the offline queue. Call before the first
/// connect. Returns `MOSQ_ERR_INVAL` (and logs why) for a NULL handle or
/// directory, after the first connect, or when the directory is in use by
/// another client (it is locked while open) or cannot be read or written.
#[no_mangle]
pub unsafe extern "C" fn skeeter_persistence_set(
    mosq: *mut mosquitto,
    directory: *const c_char,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    let Some(client) = (unsafe { client_of(mosq) }) else {
        return Error::Inval.code();
    };
    // The log line saying why a directory is refused runs after the body.
    guard_with_callbacks(Some(client), || {
        // SAFETY: `directory` is NULL or a C string.
        let bytes = unsafe { c_bytes(directory) }.ok_or(Error::Inval)?;
        let dir = std::path::Path::new(std::ffi::OsStr::from_bytes(bytes));
        client.set_persistence(dir)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SUCCESS;
    use crate::ffi::test_handle::Handle;
    use std::ptr::{null, null_mut};

    const INVAL: c_int = Error::Inval.code();

    fn index(h: &Handle) -> c_int {
        unsafe { skeeter_server_index(h.0) }
    }

    #[test]
    fn a_server_list_is_set_from_its_first_entry_and_removed_with_count_0() {
        let h = Handle::new();
        let uris = [c"mqtt://127.0.0.1:1".as_ptr(), c"unix:/tmp/x".as_ptr()];
        assert_eq!(index(&h), -1);
        assert_eq!(
            unsafe { skeeter_servers_set(h.0, uris.as_ptr(), 2) },
            SUCCESS
        );
        let websockets = [c"ws://127.0.0.1:1/ws".as_ptr(), c"wss://h".as_ptr()];
        assert_eq!(
            unsafe { skeeter_servers_set(h.0, websockets.as_ptr(), 2) },
            SUCCESS
        );
        assert_eq!(index(&h), 0);
        assert_eq!(unsafe { skeeter_servers_set(h.0, null(), 0) }, SUCCESS);
        assert_eq!(index(&h), -1);
    }

    #[test]
    fn a_bad_list_is_refused_and_the_old_one_kept() {
        let h = Handle::new();
        let good = [c"mqtt://h".as_ptr()];
        assert_eq!(
            unsafe { skeeter_servers_set(h.0, good.as_ptr(), 1) },
            SUCCESS
        );
        let with_null = [c"mqtt://h".as_ptr(), null()];
        let bad = [c"tcp:h".as_ptr()];
        unsafe {
            assert_eq!(skeeter_servers_set(h.0, with_null.as_ptr(), 2), INVAL);
            assert_eq!(skeeter_servers_set(h.0, bad.as_ptr(), 1), INVAL);
            assert_eq!(skeeter_servers_set(h.0, good.as_ptr(), -1), INVAL);
            assert_eq!(skeeter_servers_set(h.0, null(), 1), INVAL);
        }
        assert_eq!(index(&h), 0);
    }

    #[test]
    fn every_call_refuses_a_null_handle() {
        let uris = [c"mqtt://h".as_ptr()];
        unsafe {
            assert_eq!(skeeter_servers_set(null_mut(), uris.as_ptr(), 1), INVAL);
            assert_eq!(skeeter_failover_attempts_set(null_mut(), 1), INVAL);
            assert_eq!(skeeter_server_index(null_mut()), -1);
            assert_eq!(skeeter_reconnect_jitter_set(null_mut(), 10), INVAL);
            assert_eq!(skeeter_reconnect_doubling_set(null_mut(), true), INVAL);
            assert_eq!(skeeter_resubscribe_set(null_mut(), true), INVAL);
            assert_eq!(skeeter_max_qos_set(null_mut(), 0), INVAL);
            assert_eq!(skeeter_max_incoming_packet_set(null_mut(), 100), INVAL);
            assert_eq!(skeeter_connect_timeout_set(null_mut(), 100), INVAL);
            assert_eq!(skeeter_offline_queue_set(null_mut(), 1, 0, 0), INVAL);
            assert_eq!(
                skeeter_subscribe_handler(
                    null_mut(),
                    null_mut(),
                    c"t".as_ptr(),
                    0,
                    Some(ignore),
                    null_mut()
                ),
                INVAL
            );
            assert_eq!(
                skeeter_unsubscribe_handler(null_mut(), null_mut(), c"t".as_ptr()),
                INVAL
            );
            let mut stats = skeeter_stats::default();
            let size = std::mem::size_of::<skeeter_stats>();
            assert_eq!(skeeter_stats(null_mut(), &mut stats, size), INVAL);
        }
    }

    #[test]
    fn the_failover_attempt_count_may_not_be_negative() {
        let h = Handle::new();
        unsafe {
            assert_eq!(skeeter_failover_attempts_set(h.0, -1), INVAL);
            assert_eq!(skeeter_failover_attempts_set(h.0, 3), SUCCESS);
        }
    }

    #[test]
    fn jitter_is_a_percentage_from_0_to_100_and_doubling_a_switch() {
        let h = Handle::new();
        let style = || unsafe { &(*h.0).client }.with_state(|s| s.resilience.delay_style);
        unsafe {
            assert_eq!(skeeter_reconnect_jitter_set(h.0, 101), INVAL);
            assert_eq!(skeeter_reconnect_jitter_set(h.0, -1), INVAL);
            assert_eq!(skeeter_reconnect_jitter_set(h.0, 100), SUCCESS);
            assert_eq!(skeeter_reconnect_doubling_set(h.0, true), SUCCESS);
        }
        assert_eq!((style().jitter_percent, style().doubling), (100, true));
    }

    #[test]
    fn stats_write_at_most_the_size_given() {
        let h = Handle::new();
        let mut stats = skeeter_stats {
            server_index: 77,
            reconnects: 99,
            ..skeeter_stats::default()
        };
        // Only the first field (8 bytes): the rest is left as it was.
        unsafe {
            assert_eq!(skeeter_stats(h.0, &mut stats, 8), SUCCESS);
        }
        assert_eq!(
            (stats.bytes_unsent, stats.reconnects, stats.server_index),
            (0, 99, 77)
        );
        unsafe {
            let size = std::mem::size_of::<skeeter_stats>();
            assert_eq!(skeeter_stats(h.0, &mut stats, size), SUCCESS);
            assert_eq!(skeeter_stats(h.0, null_mut(), 0), SUCCESS);
            assert_eq!(skeeter_stats(h.0, null_mut(), 8), INVAL);
        }
        assert_eq!(
            stats,
            skeeter_stats {
                server_index: -1,
                ..skeeter_stats::default()
            }
        );
    }

    #[test]
    fn connected_since_is_milliseconds_of_the_wall_clock() {
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let stats = Stats {
            connected_since: Some(at),
            ..Stats::default()
        };
        assert_eq!(
            skeeter_stats::of(stats).connected_since_ms,
            1_700_000_000_123
        );
        assert_eq!(skeeter_stats::of(Stats::default()).connected_since_ms, 0);
    }

    unsafe extern "C-unwind" fn ignore(
        _: *mut mosquitto,
        _: *mut c_void,
        _: *const mosquitto_message,
    ) {
    }

    #[test]
    fn a_handler_is_not_kept_when_its_subscribe_fails() {
        let h = Handle::new();
        let client = unsafe { &(*h.0).client };
        unsafe {
            // Not connected: NO_CONN, and no handler.
            assert_eq!(
                skeeter_subscribe_handler(
                    h.0,
                    null_mut(),
                    c"t".as_ptr(),
                    0,
                    Some(ignore),
                    null_mut()
                ),
                Error::NoConn.code()
            );
            assert_eq!(
                skeeter_subscribe_handler(h.0, null_mut(), c"t".as_ptr(), 0, None, null_mut()),
                INVAL
            );
            assert_eq!(
                skeeter_subscribe_handler(h.0, null_mut(), null(), 0, Some(ignore), null_mut()),
                INVAL
            );
        }
        assert!(client.handlers().is_empty());
    }

    #[test]
    fn the_qos_ceiling_takes_0_1_2_or_the_brokers() {
        let h = Handle::new();
        let ceiling = || unsafe { &(*h.0).client }.with_state(|s| s.resilience.qos_ceiling);
        unsafe {
            assert_eq!(skeeter_max_qos_set(h.0, 3), INVAL);
            assert_eq!(skeeter_max_qos_set(h.0, -2), INVAL);
            assert_eq!(skeeter_max_qos_set(h.0, 1), SUCCESS);
            assert_eq!(ceiling(), QosCeiling::Fixed(1));
            assert_eq!(
                skeeter_max_qos_set(h.0, SKEETER_MAX_QOS_FROM_BROKER),
                SUCCESS
            );
            assert_eq!(ceiling(), QosCeiling::Broker);
            assert_eq!(skeeter_max_qos_set(h.0, 2), SUCCESS);
            assert_eq!(ceiling(), QosCeiling::Off);
        }
    }

    #[test]
    fn the_offline_queue_arguments_make_a_bound_or_none() {
        assert_eq!(offline_bound(0, 0, 0), Ok(None));
        assert_eq!(offline_bound(-1, 0, 0), Err(Error::Inval));
        assert_eq!(offline_bound(1, 0, 4), Err(Error::Inval));
        let bound = offline_bound(10, 1000, SKEETER_REFUSE_NEW | SKEETER_KEEP_QOS0)
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                bound.max_messages,
                bound.max_bytes,
                bound.when_full,
                bound.keep_qos0
            ),
            (10, 1000, WhenFull::RefuseNew, true)
        );
        let keep_all_qos0 = offline_bound(0, 0, SKEETER_KEEP_QOS0).unwrap().unwrap();
        assert_eq!(keep_all_qos0.when_full, WhenFull::DropOldest);
        assert_eq!(SKEETER_ERR_QUEUE_FULL, Error::NoMem.code());
    }
}
