//! What a program asks of TLS (the `mosquitto_tls_*` calls and the TLS options),
//! kept until a connect builds the rustls configuration from them.

/// Whether the broker's certificate must chain to a trusted root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verification {
    /// OpenSSL's `SSL_VERIFY_PEER`: the default, so no path gets the insecure one by accident.
    #[default]
    Required,
    /// `cert_reqs` 0 (`SSL_VERIFY_NONE`): any certificate is accepted.
    Off,
}

impl Verification {
    /// `mosquitto_tls_opts_set`'s `cert_reqs`: 0 turns verification off; any other
    /// value is one of OpenSSL's verify modes, all of which check the peer.
    pub fn from_cert_reqs(cert_reqs: i32) -> Self {
        if cert_reqs == 0 {
            Verification::Off
        } else {
            Verification::Required
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub cafile: Option<String>,
    pub capath: Option<String>,
    pub certfile: Option<String>,
    pub keyfile: Option<String>,
    /// Skip the host name check (`mosquitto_tls_insecure_set`).
    pub insecure: bool,
    pub verification: Verification,
    pub version: Option<String>,
    pub ciphers: Option<String>,
    pub psk: Option<String>,
    pub psk_identity: Option<String>,
    pub alpn: Option<String>,
    pub ocsp_required: bool,
    pub use_os_certs: bool,
    /// Supplies the password of an encrypted client key (`pw_callback`).
    pub key_password: Option<super::tls_keys::KeyPassword>,
}

/// The settings of a client that calls no `mosquitto_tls_*` function.
pub static NO_TLS: TlsSettings = TlsSettings {
    cafile: None,
    capath: None,
    certfile: None,
    keyfile: None,
    insecure: false,
    verification: Verification::Required,
    version: None,
    ciphers: None,
    psk: None,
    psk_identity: None,
    alpn: None,
    ocsp_required: false,
    use_os_certs: false,
    key_password: None,
};

impl TlsSettings {
    /// Whether a connect should use TLS at all.
    pub fn enabled(&self) -> bool {
        self.cafile.is_some() || self.capath.is_some() || self.psk.is_some() || self.use_os_certs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_settings_verify_the_broker() {
        assert_eq!(TlsSettings::default().verification, Verification::Required);
        assert_eq!(NO_TLS, TlsSettings::default());
    }

    #[test]
    fn only_cert_reqs_zero_turns_verification_off() {
        assert_eq!(Verification::from_cert_reqs(0), Verification::Off);
        assert_eq!(Verification::from_cert_reqs(1), Verification::Required);
        assert_eq!(Verification::from_cert_reqs(3), Verification::Required);
    }
}
