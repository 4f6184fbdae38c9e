//! What can go wrong with TLS, from reading the configured files to the handshake,
//! each kept with its reason so the log callback can say why.

use std::fmt;

use super::legacy_pem::LegacyPemError;
use crate::error::Error;

/// Why a client key could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// The file could not be read.
    Unreadable(String),
    /// No PKCS#1, PKCS#8, SEC1 or encrypted key in the file.
    NoKey,
    /// The key is encrypted and no `pw_callback` was given to `mosquitto_tls_set`.
    EncryptedWithoutCallback,
    /// The key is encrypted and the `pw_callback` gave no password.
    NoPassword,
    /// Decryption failed: a wrong password, or a cipher the decoder lacks.
    Decrypt(String),
    /// OpenSSL's legacy encrypted PEM ("Proc-Type: 4,ENCRYPTED") could not be
    /// decrypted: a wrong password, or a cipher or key type it does not cover.
    LegacyPem(LegacyPemError),
    /// rustls cannot sign with this key (an unsupported algorithm or curve).
    Unsupported(String),
}

/// A TLS failure. `Handshake` and `Session` come from the broker connection; the
/// others from building the configuration at connect time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The CA file could not be read or holds no certificate.
    CaFile { path: String, reason: String },
    /// The CA directory could not be read or holds no PEM certificate.
    CaPath { path: String, reason: String },
    /// The operating system's trusted roots could not be loaded.
    OsCerts(String),
    /// The client certificate file could not be read or holds no certificate.
    CertFile { path: String, reason: String },
    /// The client key file could not be used.
    KeyFile { path: String, problem: KeyProblem },
    /// The client certificate and key do not belong together.
    KeyMismatch(String),
    /// A `tls_version` other than "tlsv1.2" or "tlsv1.3".
    Version(String),
    /// The cipher list names no cipher suite rustls offers.
    Ciphers(String),
    /// `MOSQ_OPT_TLS_OCSP_REQUIRED`: no maintained crate verifies stapled OCSP responses.
    OcspUnsupported,
    /// The host cannot be sent as a TLS server name (SNI).
    ServerName(String),
    /// rustls refused the configuration (for example: no cipher suite for the versions).
    Config(String),
    /// The handshake failed: the reason, such as "unknown issuer", "certificate has
    /// expired" or "host name mismatch".
    Handshake(String),
    /// A TLS failure after the handshake (a bad record, an alert from the broker).
    Session(String),
}

impl TlsError {
    /// The `MOSQ_ERR_*` a C caller sees. libmosquitto returns `MOSQ_ERR_TLS` when its
    /// context cannot be built or `SSL_connect` fails, and a failed `SSL_read` or
    /// `SSL_write` after the handshake sets `errno` to `EPROTO` (`MOSQ_ERR_ERRNO`).
    pub fn into_error(self) -> Error {
        match self {
            TlsError::Session(_) => Error::Errno(libc::EPROTO),
            _ => Error::Tls,
        }
    }

    /// Whether this failure happened while talking to the broker rather than
    /// while reading the configuration.
    pub fn is_from_peer(&self) -> bool {
        matches!(self, TlsError::Handshake(_) | TlsError::Session(_))
    }
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::Unreadable(e) => write!(f, "{e}"),
            KeyProblem::NoKey => write!(f, "no private key found (PEM: PKCS#1, PKCS#8 or SEC1)"),
            KeyProblem::EncryptedWithoutCallback => write!(
                f,
                "the key is encrypted and no password callback was given to mosquitto_tls_set"
            ),
            KeyProblem::NoPassword => write!(f, "the password callback returned no password"),
            KeyProblem::Decrypt(e) => write!(f, "cannot decrypt the key (wrong password?): {e}"),
            KeyProblem::LegacyPem(e) => write!(f, "{e}"),
            KeyProblem::Unsupported(e) => write!(f, "unsupported key: {e}"),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::CaFile { path, reason } => write!(
                f,
                "Unable to load CA certificates, check cafile \"{path}\": {reason}"
            ),
            TlsError::CaPath { path, reason } => write!(
                f,
                "Unable to load CA certificates, check capath \"{path}\": {reason}"
            ),
            TlsError::OsCerts(e) => write!(f, "Unable to load the system's CA certificates: {e}"),
            TlsError::CertFile { path, reason } => {
                write!(f, "Unable to load client certificate \"{path}\": {reason}")
            }
            TlsError::KeyFile { path, problem } => {
                write!(f, "Unable to load client key file \"{path}\": {problem}")
            }
            TlsError::KeyMismatch(e) => write!(f, "Client certificate/key are inconsistent: {e}"),
            TlsError::Version(v) => write!(f, "Protocol {v} not supported"),
            TlsError::Ciphers(list) => write!(
                f,
                "Unable to set TLS ciphers. Check cipher list \"{list}\" (no cipher suite of rustls matches)"
            ),
            TlsError::OcspUnsupported => write!(
                f,
                "OCSP stapling checks are not supported: no maintained Rust crate verifies OCSP responses"
            ),
            TlsError::ServerName(host) => write!(f, "\"{host}\" is not a valid TLS server name"),
            TlsError::Config(e) => write!(f, "TLS configuration refused: {e}"),
            TlsError::Handshake(reason) => write!(f, "TLS handshake failed: {reason}"),
            TlsError::Session(reason) => write!(f, "TLS error: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_and_handshake_failures_are_mosq_err_tls() {
        assert_eq!(TlsError::Handshake("x".into()).into_error(), Error::Tls);
        assert_eq!(TlsError::Version("tlsv1".into()).into_error(), Error::Tls);
    }

    #[test]
    fn a_failure_after_the_handshake_is_errno_eproto() {
        assert_eq!(
            TlsError::Session("x".into()).into_error(),
            Error::Errno(libc::EPROTO)
        );
    }

    #[test]
    fn the_message_names_the_file_and_the_reason() {
        let e = TlsError::KeyFile {
            path: "/k.pem".into(),
            problem: KeyProblem::EncryptedWithoutCallback,
        };
        let text = e.to_string();
        assert!(
            text.contains("/k.pem") && text.contains("encrypted"),
            "{text}"
        );
    }
}
