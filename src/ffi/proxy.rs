//! `mosquitto_socks5_set`: connect through a SOCKS5 proxy.

use std::os::raw::{c_char, c_int};

use super::boundary::guard;
use super::client::{c_bytes, client_of};
use super::types::*;
use crate::error::{Error, SUCCESS};
use crate::net::socks5::Socks5Proxy;

/// The longest proxy host libmosquitto accepts.
const MAX_HOST: usize = 256;
/// SOCKS5 sends a username or password with a one-byte length.
const MAX_CREDENTIAL: usize = 255;

/// Makes later connects go through the SOCKS5 proxy at `host`:`port`, which is
/// asked to connect to the broker (by name: the proxy resolves it).
/// `username` (may be NULL) enables username/password authentication;
/// `password` (may be NULL, then empty) is only kept with a username. Strings
/// are copied.
///
/// Returns `MOSQ_ERR_INVAL` for a NULL handle or host, a host longer than 256
/// bytes, a port outside 1..=65535, or a username or password longer than 255
/// bytes (which SOCKS5 cannot carry).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_socks5_set(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    username: *const c_char,
    password: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let Some(client) = (unsafe { client_of(mosq) }) else {
            return Error::Inval.code();
        };
        // SAFETY: each string is NULL or NUL-terminated, as the API requires.
        let (host, username, password) =
            unsafe { (c_bytes(host), c_bytes(username), c_bytes(password)) };
        let Some(host) = host.filter(|h| h.len() <= MAX_HOST) else {
            return Error::Inval.code();
        };
        let Some(port) = u16::try_from(port).ok().filter(|p| *p >= 1) else {
            return Error::Inval.code();
        };
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let too_long = |b: Option<&[u8]>| b.is_some_and(|b| b.len() > MAX_CREDENTIAL);
        if too_long(username) || too_long(password) {
            return Error::Inval.code();
        }
        let proxy = Socks5Proxy {
            host: text(host),
            port,
            username: username.map(text),
            password: username.and(password).map(text),
        };
        client.with_options(|o| o.socks5 = Some(Box::new(proxy)));
        SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::super::client::{mosquitto_destroy, mosquitto_new};
    use super::*;

    #[test]
    fn socks5_set_checks_host_and_port_and_keeps_a_password_only_with_a_username() {
        let mosq = unsafe { mosquitto_new(c"p".as_ptr(), true, std::ptr::null_mut()) };
        let null = std::ptr::null();
        let inval = Error::Inval.code();
        let long = std::ffi::CString::new("h".repeat(257)).unwrap();
        unsafe {
            assert_eq!(mosquitto_socks5_set(mosq, null, 1080, null, null), inval);
            assert_eq!(
                mosquitto_socks5_set(mosq, long.as_ptr(), 1080, null, null),
                inval
            );
            for port in [0, -1, 65_536] {
                assert_eq!(
                    mosquitto_socks5_set(mosq, c"h".as_ptr(), port, null, null),
                    inval
                );
            }
            assert_eq!(
                mosquitto_socks5_set(std::ptr::null_mut(), c"h".as_ptr(), 1, null, null),
                inval
            );
            assert_eq!(
                mosquitto_socks5_set(mosq, c"proxy".as_ptr(), 1080, null, c"pw".as_ptr()),
                SUCCESS
            );
            let stored = (*mosq).client.lock().options.socks5.clone().unwrap();
            assert_eq!((stored.host.as_str(), stored.port), ("proxy", 1080));
            assert_eq!((stored.username, stored.password), (None, None));
            assert_eq!(
                mosquitto_socks5_set(mosq, c"proxy".as_ptr(), 1080, c"u".as_ptr(), c"pw".as_ptr()),
                SUCCESS
            );
            let stored = (*mosq).client.lock().options.socks5.clone().unwrap();
            assert_eq!(stored.username.as_deref(), Some("u"));
            assert_eq!(stored.password.as_deref(), Some("pw"));
            mosquitto_destroy(mosq);
        }
    }
}
