//! TLS settings: `mosquitto_tls_set`, `mosquitto_tls_insecure_set`,
//! `mosquitto_tls_opts_set`, and the two OpenSSL-only calls, which rustls cannot
//! serve. The settings are kept; the rustls configuration is built from them at
//! each connect (`net::tls_config`).

use std::os::raw::{c_char, c_int, c_void};

use super::boundary::{code_of, guard};
use super::client::{c_bytes, client_of};
use super::types::*;
use crate::error::{Error, Result};
use crate::net::tls_keys::KeyPassword;
use crate::net::tls_settings::{TlsSettings, Verification};

/// The C password callback: writes the password into `buf` (`size` bytes) and
/// returns its length.
type PwCallback = unsafe extern "C-unwind" fn(*mut c_char, c_int, c_int, *mut c_void) -> c_int;

/// The size of the buffer the password callback writes into, as OpenSSL gives it.
const PASSWORD_BUFFER: usize = 1024;

/// A C string argument as an owned Rust string (paths and names are taken as
/// bytes; non-UTF-8 bytes are replaced, which a path rarely has).
///
/// # Safety
/// `s` is NULL or a NUL-terminated string.
unsafe fn owned(s: *const c_char) -> Option<String> {
    // SAFETY: forwarded from the caller.
    unsafe { c_bytes(s) }.map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Whether `path` names a file this process can open for reading, the check
/// libmosquitto makes when the setting is made.
fn readable(path: &str) -> bool {
    std::fs::File::open(path).is_ok()
}

/// The checks and storage of `mosquitto_tls_set`. On failure no file setting is
/// left half-changed: all four are cleared, so a later connect cannot use a mix.
fn set_files(
    tls: &mut TlsSettings,
    cafile: Option<String>,
    capath: Option<String>,
    certfile: Option<String>,
    keyfile: Option<String>,
    password: Option<KeyPassword>,
) -> Result<()> {
    if cafile.is_none() && capath.is_none() {
        return Err(Error::Inval);
    }
    if certfile.is_some() != keyfile.is_some() {
        return Err(Error::Inval);
    }
    let files = [&cafile, &certfile, &keyfile];
    if files.into_iter().flatten().any(|f| !readable(f)) {
        tls.cafile = None;
        tls.capath = None;
        tls.certfile = None;
        tls.keyfile = None;
        return Err(Error::Inval);
    }
    tls.cafile = cafile;
    tls.capath = capath;
    tls.certfile = certfile;
    tls.keyfile = keyfile;
    tls.key_password = password;
    Ok(())
}

/// The checks and storage of `mosquitto_tls_opts_set`.
fn set_opts(
    tls: &mut TlsSettings,
    cert_reqs: c_int,
    version: Option<String>,
    ciphers: Option<String>,
) -> Result<()> {
    let version = match version {
        None => "tlsv1.2".to_string(),
        // rustls implements nothing older than TLS 1.2.
        Some(v) if v.eq_ignore_ascii_case("tlsv1.2") || v.eq_ignore_ascii_case("tlsv1.3") => {
            v.to_ascii_lowercase()
        }
        Some(_) => return Err(Error::Inval),
    };
    tls.verification = Verification::from_cert_reqs(cert_reqs);
    tls.version = Some(version);
    tls.ciphers = ciphers;
    Ok(())
}

/// Wraps the program's `pw_callback` so key loading can ask it for a password.
/// Like libmosquitto, the callback's `userdata` is the `struct mosquitto *`.
fn key_password(callback: PwCallback, mosq: *mut mosquitto) -> KeyPassword {
    // An address, not a pointer, so the closure may move to the loop thread; it is
    // only turned back into a pointer to hand to the callback.
    let handle = mosq as usize;
    KeyPassword::new(move || {
        let mut buf = vec![0u8; PASSWORD_BUFFER];
        // SAFETY: `buf` has `PASSWORD_BUFFER` writable bytes, which is the size we
        // pass; `handle` is the live handle that is connecting.
        let len = unsafe {
            callback(
                buf.as_mut_ptr().cast::<c_char>(),
                PASSWORD_BUFFER as c_int,
                0,
                handle as *mut c_void,
            )
        };
        let len = usize::try_from(len).ok().filter(|n| *n > 0)?;
        buf.truncate(len.min(PASSWORD_BUFFER));
        Some(buf)
    })
}

/// Enables TLS with certificate checks. `cafile` (a PEM file of trusted CA
/// certificates) or `capath` (a directory whose every PEM certificate is
/// trusted) must be given; `certfile` and `keyfile` (PEM: PKCS#1, PKCS#8, SEC1,
/// or encrypted PKCS#8) give a client certificate, both or neither. All strings
/// are copied. The files are checked for readability now and read at each
/// connect. `pw_callback` (may be NULL) supplies the password of an encrypted
/// key: it writes it into `buf` (`size` bytes) and returns its length; its
/// `userdata` is `mosq`. Without it an encrypted key fails the connect with a
/// log line that says so.
///
/// Returns `MOSQ_ERR_INVAL` for a NULL handle, neither `cafile` nor `capath`,
/// only one of `certfile`/`keyfile`, or a file that cannot be opened (the file
/// settings are then cleared).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_tls_set(
    mosq: *mut mosquitto,
    cafile: *const c_char,
    capath: *const c_char,
    certfile: *const c_char,
    keyfile: *const c_char,
    pw_callback: Option<
        unsafe extern "C-unwind" fn(*mut c_char, c_int, c_int, *mut c_void) -> c_int,
    >,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let Some(client) = (unsafe { client_of(mosq) }) else {
            return Error::Inval.code();
        };
        // SAFETY: each string is NULL or NUL-terminated, as the API requires.
        let (cafile, capath, certfile, keyfile) = unsafe {
            (
                owned(cafile),
                owned(capath),
                owned(certfile),
                owned(keyfile),
            )
        };
        let password = pw_callback.map(|cb| key_password(cb, mosq));
        code_of(
            client.with_options(|o| {
                set_files(&mut o.tls, cafile, capath, certfile, keyfile, password)
            }),
        )
    })
}

/// With `value` true, the broker's certificate need not name the host connected
/// to; it must still chain to a trusted CA and be in date. Insecure: for
/// testing only. Returns `MOSQ_ERR_INVAL` for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_tls_insecure_set(mosq: *mut mosquitto, value: bool) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        match unsafe { client_of(mosq) } {
            Some(client) => {
                client.with_options(|o| o.tls.insecure = value);
                crate::error::SUCCESS
            }
            None => Error::Inval.code(),
        }
    })
}

/// Advanced TLS settings. `cert_reqs`: 0 accepts any server certificate
/// (insecure; logged as such at connect), 1 (the default) verifies it.
/// `tls_version`: "tlsv1.2" (TLS 1.2 or 1.3, the default when NULL) or
/// "tlsv1.3" (1.3 only). `ciphers`: an OpenSSL-style list ("ECDHE-RSA-AES128-GCM-SHA256:...",
/// aliases such as HIGH or AESGCM, `!` to remove) mapped to the suites rustls
/// has; a list that matches none fails the connect with `MOSQ_ERR_TLS`. Strings
/// are copied. Returns `MOSQ_ERR_INVAL` for a NULL handle or any other version,
/// including "tlsv1.1" and older, which rustls does not implement.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_tls_opts_set(
    mosq: *mut mosquitto,
    cert_reqs: c_int,
    tls_version: *const c_char,
    ciphers: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let Some(client) = (unsafe { client_of(mosq) }) else {
            return Error::Inval.code();
        };
        // SAFETY: each string is NULL or NUL-terminated, as the API requires.
        let (version, ciphers) = unsafe { (owned(tls_version), owned(ciphers)) };
        code_of(client.with_options(|o| set_opts(&mut o.tls, cert_reqs, version, ciphers)))
    })
}

/// TLS with a pre-shared key: `MOSQ_ERR_NOT_SUPPORTED`, always. rustls has no
/// PSK cipher suites; libmosquitto built without TLS-PSK answers the same.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_tls_psk_set(
    mosq: *mut mosquitto,
    psk: *const c_char,
    identity: *const c_char,
    ciphers: *const c_char,
) -> c_int {
    guard(|| {
        let _ = (mosq, psk, identity, ciphers);
        Error::NotSupported.code()
    })
}

/// The OpenSSL `SSL *` of the connection: always NULL, as there is no OpenSSL
/// object (libmosquitto without TLS also returns NULL).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_ssl_get(mosq: *mut mosquitto) -> *mut c_void {
    guard(|| {
        let _ = mosq;
        std::ptr::null_mut()
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_handle::Handle;
    use super::*;
    use std::ffi::CString;

    const OK: c_int = crate::error::SUCCESS;
    const INVAL: c_int = Error::Inval.code();

    /// A readable file for the file checks (its content is only read at connect).
    fn existing_file() -> CString {
        CString::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap()
    }

    #[test]
    fn tls_set_needs_a_ca_and_both_or_neither_of_cert_and_key() {
        let h = Handle::new();
        let file = existing_file();
        let null = std::ptr::null();
        unsafe {
            assert_eq!(mosquitto_tls_set(h.0, null, null, null, null, None), INVAL);
            assert_eq!(
                mosquitto_tls_set(h.0, file.as_ptr(), null, file.as_ptr(), null, None),
                INVAL
            );
            assert_eq!(
                mosquitto_tls_set(h.0, file.as_ptr(), null, null, file.as_ptr(), None),
                INVAL
            );
            assert_eq!(
                mosquitto_tls_set(std::ptr::null_mut(), file.as_ptr(), null, null, null, None),
                INVAL
            );
            assert_eq!(
                mosquitto_tls_set(h.0, file.as_ptr(), null, file.as_ptr(), file.as_ptr(), None),
                OK
            );
        }
        let tls = h.options().tls;
        assert!(tls.enabled());
        assert_eq!(tls.cafile.as_deref(), file.to_str().ok());
        assert!(tls.certfile.is_some() && tls.keyfile.is_some());
    }

    #[test]
    fn tls_set_refuses_a_missing_file_and_clears_the_files() {
        let h = Handle::new();
        let file = existing_file();
        let missing = c"/nonexistent/skeeter/ca.pem";
        let null = std::ptr::null();
        unsafe {
            assert_eq!(
                mosquitto_tls_set(h.0, file.as_ptr(), null, null, null, None),
                OK
            );
            assert_eq!(
                mosquitto_tls_set(h.0, missing.as_ptr(), null, null, null, None),
                INVAL
            );
            assert!(!h.options().tls.enabled());
            assert_eq!(
                mosquitto_tls_set(
                    h.0,
                    file.as_ptr(),
                    null,
                    missing.as_ptr(),
                    file.as_ptr(),
                    None
                ),
                INVAL
            );
            // A capath is not checked when set, as in libmosquitto.
            assert_eq!(
                mosquitto_tls_set(h.0, null, c"/nonexistent/dir".as_ptr(), null, null, None),
                OK
            );
        }
    }

    unsafe extern "C-unwind" fn password_callback(
        buf: *mut c_char,
        size: c_int,
        rwflag: c_int,
        userdata: *mut c_void,
    ) -> c_int {
        assert!(size >= 6 && rwflag == 0 && !userdata.is_null());
        unsafe { std::ptr::copy_nonoverlapping(b"secret".as_ptr(), buf.cast::<u8>(), 6) };
        6
    }

    #[test]
    fn the_password_callback_is_asked_with_a_buffer_and_the_handle() {
        let h = Handle::new();
        let file = existing_file();
        let null = std::ptr::null();
        unsafe {
            mosquitto_tls_set(
                h.0,
                file.as_ptr(),
                null,
                null,
                null,
                Some(password_callback),
            );
        }
        let password = h.options().tls.key_password.clone().unwrap();
        assert_eq!(password.ask().as_deref(), Some(&b"secret"[..]));
    }

    #[test]
    fn tls_opts_set_takes_tls12_and_tls13_only() {
        let h = Handle::new();
        let null = std::ptr::null();
        unsafe {
            assert_eq!(
                mosquitto_tls_opts_set(h.0, 1, c"tlsv1.3".as_ptr(), null),
                OK
            );
            assert_eq!(h.options().tls.version.as_deref(), Some("tlsv1.3"));
            assert_eq!(
                mosquitto_tls_opts_set(h.0, 1, c"TLSv1.2".as_ptr(), null),
                OK
            );
            assert_eq!(h.options().tls.version.as_deref(), Some("tlsv1.2"));
            for old in [c"tlsv1.1", c"tlsv1", c"sslv3", c"x"] {
                assert_eq!(mosquitto_tls_opts_set(h.0, 1, old.as_ptr(), null), INVAL);
            }
            assert_eq!(
                mosquitto_tls_opts_set(h.0, 0, null, c"ECDHE-RSA-AES128-GCM-SHA256".as_ptr()),
                OK
            );
            assert_eq!(
                mosquitto_tls_opts_set(std::ptr::null_mut(), 1, null, null),
                INVAL
            );
        }
        let tls = h.options().tls;
        assert_eq!(tls.verification, Verification::Off);
        assert_eq!(tls.version.as_deref(), Some("tlsv1.2"));
        assert_eq!(tls.ciphers.as_deref(), Some("ECDHE-RSA-AES128-GCM-SHA256"));
    }

    #[test]
    fn insecure_psk_and_ssl_get() {
        let h = Handle::new();
        let null = std::ptr::null();
        unsafe {
            assert_eq!(mosquitto_tls_insecure_set(h.0, true), OK);
            assert!(h.options().tls.insecure);
            assert_eq!(
                mosquitto_tls_insecure_set(std::ptr::null_mut(), true),
                INVAL
            );
            assert_eq!(
                mosquitto_tls_psk_set(h.0, c"abcd".as_ptr(), c"id".as_ptr(), null),
                Error::NotSupported.code()
            );
            assert!(mosquitto_ssl_get(h.0).is_null());
        }
    }
}
