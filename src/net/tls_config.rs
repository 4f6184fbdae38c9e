//! The rustls client configuration built, at each connect, from the settings of
//! `mosquitto_tls_set`, `mosquitto_tls_insecure_set`, `mosquitto_tls_opts_set` and
//! the TLS options: trusted roots, client certificate, versions, cipher suites,
//! ALPN, and how strictly the broker's certificate is checked.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::host_name_check::{HandshakeWarnings, HostNameCheck, NameRule};
use super::tls_error::TlsError;
use super::tls_keys;
use super::tls_settings::{TlsSettings, Verification};

/// A configuration ready for connections, and what the log should say about it.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    pub config: Arc<ClientConfig>,
    /// Lines for `MOSQ_LOG_WARNING` (verification switched off, unreadable OS roots).
    pub warnings: Vec<String>,
    /// Where the handshake leaves its own warning lines (a Common Name match).
    pub handshake_warnings: HandshakeWarnings,
}

/// Builds the configuration. Reads the CA, certificate and key files now (so a
/// file changed between connects is read again, as libmosquitto does), and asks
/// the password callback for an encrypted key.
pub fn client_config(settings: &TlsSettings) -> Result<TlsSetup, TlsError> {
    if settings.ocsp_required {
        return Err(TlsError::OcspUnsupported);
    }
    let mut warnings = Vec::new();
    let handshake_warnings = HandshakeWarnings::default();
    let versions = protocol_versions(settings.version.as_deref())?;
    let base = ring::default_provider();
    let cipher_suites = select_cipher_suites(settings.ciphers.as_deref(), &base.cipher_suites)?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        ..base
    });
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?;

    let verifier: Arc<dyn ServerCertVerifier> = if settings.verification == Verification::Off {
        warnings.push(
            "TLS: server certificate verification is disabled (cert_reqs 0); \
             this connection is not secure"
                .into(),
        );
        Arc::new(AcceptAnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        })
    } else {
        let roots = Arc::new(root_store(settings, &mut warnings)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let rule = if settings.insecure {
            warnings.push(
                "TLS: the broker's host name is not checked (mosquitto_tls_insecure_set); \
                 this connection is not secure"
                    .into(),
            );
            NameRule::Skip
        } else {
            NameRule::CommonNameFallback
        };
        Arc::new(HostNameCheck::new(webpki, rule, handshake_warnings.clone()))
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);

    let mut config = match (&settings.certfile, &settings.keyfile) {
        (Some(cert), Some(key)) => {
            let chain = tls_keys::load_cert_chain(cert)?;
            let key = tls_keys::load_private_key(key, settings.key_password.as_ref())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::KeyMismatch(e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    if let Some(alpn) = &settings.alpn {
        config.alpn_protocols = vec![alpn.as_bytes().to_vec()];
    }
    Ok(TlsSetup {
        config: Arc::new(config),
        warnings,
        handshake_warnings,
    })
}

/// The name the broker's certificate must carry, also sent as SNI (rustls sends
/// no SNI for an IP address, and checks it against the certificate's IP entries).
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_string()).map_err(|_| TlsError::ServerName(host.into()))
}

/// libmosquitto's meaning: "tlsv1.2" is TLS 1.2 or newer (the default), "tlsv1.3"
/// is TLS 1.3 only. rustls has nothing older.
fn protocol_versions(
    version: Option<&str>,
) -> Result<&'static [&'static SupportedProtocolVersion], TlsError> {
    static AT_LEAST_12: &[&SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    static ONLY_13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    match version {
        None => Ok(AT_LEAST_12),
        Some(v) if v.eq_ignore_ascii_case("tlsv1.2") => Ok(AT_LEAST_12),
        Some(v) if v.eq_ignore_ascii_case("tlsv1.3") => Ok(ONLY_13),
        Some(v) => Err(TlsError::Version(v.into())),
    }
}

/// The OpenSSL name of each suite rustls (with ring) offers.
const OPENSSL_NAMES: &[(&str, rustls::CipherSuite)] = &[
    (
        "TLS_AES_256_GCM_SHA384",
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// The OpenSSL name of a suite if it has one, else its IANA name.
fn openssl_name(suite: &SupportedCipherSuite) -> String {
    let id = suite.suite();
    OPENSSL_NAMES
        .iter()
        .find(|(_, s)| *s == id)
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| format!("{id:?}"))
}

/// Whether one element of an OpenSSL cipher list selects `suite`: its OpenSSL or
/// IANA name, or one of the common aliases (`DEFAULT`, `HIGH`, `AESGCM`, ...).
fn selects(token: &str, suite: &SupportedCipherSuite) -> bool {
    let name = openssl_name(suite);
    let iana = format!("{:?}", suite.suite());
    match token.to_ascii_uppercase().as_str() {
        "DEFAULT" | "ALL" | "HIGH" | "ECDHE" | "EECDH" | "KECDHE" | "KEECDH" | "AECDH"
        | "SHA256" | "SHA384" | "TLSV1.2" => !is_tls13(suite),
        "AESGCM" => name.contains("GCM") && !is_tls13(suite),
        "AES" => name.contains("AES") && !is_tls13(suite),
        "AES128" => name.contains("AES128") && !is_tls13(suite),
        "AES256" => name.contains("AES256") && !is_tls13(suite),
        "CHACHA20" => name.contains("CHACHA20") && !is_tls13(suite),
        "ECDSA" | "AECDSA" => name.contains("ECDSA"),
        "RSA" | "ARSA" => name.contains("-RSA-"),
        upper => upper == name || upper == iana,
    }
}

fn is_tls13(suite: &SupportedCipherSuite) -> bool {
    matches!(suite, SupportedCipherSuite::Tls13(_))
}

/// The suites an OpenSSL-style list (`:`, `,` or space separated; `!` or `-`
/// removes) selects. As with OpenSSL's cipher list, TLS 1.3 suites stay unless
/// the list names TLS 1.3 suites itself. Unknown names are skipped, as OpenSSL
/// skips them; a list that selects no TLS 1.2 and no TLS 1.3 suite is refused.
fn select_cipher_suites(
    list: Option<&str>,
    all: &[SupportedCipherSuite],
) -> Result<Vec<SupportedCipherSuite>, TlsError> {
    let Some(list) = list else {
        return Ok(all.to_vec());
    };
    let mut chosen: Vec<SupportedCipherSuite> = Vec::new();
    let mut removed: Vec<SupportedCipherSuite> = Vec::new();
    for token in list.split([':', ',', ' ']).filter(|t| !t.is_empty()) {
        let (remove, name) = match token.strip_prefix(['!', '-']) {
            Some(name) => (true, name),
            None => (false, token.trim_start_matches('+')),
        };
        for suite in all.iter().filter(|s| selects(name, s)) {
            let target = if remove { &mut removed } else { &mut chosen };
            if !target.contains(suite) {
                target.push(*suite);
            }
        }
    }
    chosen.retain(|s| !removed.contains(s));
    if chosen.is_empty() {
        return Err(TlsError::Ciphers(list.into()));
    }
    if !chosen.iter().any(is_tls13) {
        chosen.extend(all.iter().filter(|s| is_tls13(s)));
    }
    Ok(chosen)
}

/// The trusted roots: `cafile`, every certificate in `capath`, and the system's
/// roots with `MOSQ_OPT_TLS_USE_OS_CERTS`.
fn root_store(
    settings: &TlsSettings,
    warnings: &mut Vec<String>,
) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    if let Some(file) = &settings.cafile {
        let (added, _) = roots.add_parsable_certificates(tls_keys::load_ca_file(file)?);
        if added == 0 {
            return Err(TlsError::CaFile {
                path: file.clone(),
                reason: "no usable CA certificate".into(),
            });
        }
    }
    if let Some(dir) = &settings.capath {
        match add_ca_dir(&mut roots, dir) {
            Ok(()) => {}
            // OpenSSL, which libmosquitto gives both to, passes over a directory
            // that gives nothing: the CA file's roots are enough.
            Err(e) if !roots.is_empty() => {
                warnings.push(format!("TLS: {e}; using the cafile's certificates only"));
            }
            Err(e) => return Err(e),
        }
    }
    if settings.use_os_certs {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            warnings.push(format!("TLS: reading the system's CA certificates: {e}"));
        }
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 && roots.is_empty() {
            return Err(TlsError::OsCerts("no certificate found".into()));
        }
    }
    Ok(roots)
}

/// Adds every certificate in `capath` to `roots`; finding none is an error.
fn add_ca_dir(roots: &mut RootCertStore, dir: &str) -> Result<(), TlsError> {
    let (added, _) = roots.add_parsable_certificates(tls_keys::load_ca_dir(dir)?);
    if added == 0 {
        return Err(TlsError::CaPath {
            path: dir.into(),
            reason: "no usable CA certificate".into(),
        });
    }
    Ok(())
}

/// `cert_reqs` 0 (OpenSSL's `SSL_VERIFY_NONE`): any certificate is accepted. The
/// handshake signatures are still checked, so the peer must hold the key of the
/// certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A handshake failure in words, the way a user would search for it.
pub fn describe(e: &rustls::Error) -> String {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let why = match c {
                C::UnknownIssuer => "unknown issuer (not signed by a trusted CA)".to_string(),
                C::Expired | C::ExpiredContext { .. } => "certificate has expired".to_string(),
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "certificate is not yet valid".to_string()
                }
                C::NotValidForName => "host name mismatch".to_string(),
                C::NotValidForNameContext {
                    expected,
                    presented,
                } => format!(
                    "host name mismatch: expected {expected:?}, certificate names {}",
                    presented.join(", ")
                ),
                C::BadSignature => "bad certificate signature".to_string(),
                C::Revoked => "certificate revoked".to_string(),
                C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                    "certificate is not for TLS servers".to_string()
                }
                other => format!("{other:?}"),
            };
            format!("certificate verify failed: {why}")
        }
        rustls::Error::AlertReceived(alert) => format!("the broker sent alert {alert:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<SupportedCipherSuite> {
        ring::default_provider().cipher_suites
    }

    fn names(suites: &[SupportedCipherSuite]) -> Vec<String> {
        suites.iter().map(openssl_name).collect()
    }

    #[test]
    fn no_cipher_list_keeps_every_suite() {
        assert_eq!(
            select_cipher_suites(None, &all()).unwrap().len(),
            all().len()
        );
    }

    #[test]
    fn an_openssl_list_selects_those_tls12_suites_and_keeps_tls13() {
        let chosen = select_cipher_suites(
            Some("ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA"),
            &all(),
        )
        .unwrap();
        let names = names(&chosen);
        assert!(names.contains(&"ECDHE-RSA-AES128-GCM-SHA256".to_string()));
        assert!(!names.contains(&"ECDHE-RSA-AES256-GCM-SHA384".to_string()));
        assert_eq!(chosen.iter().filter(|s| is_tls13(s)).count(), 3);
    }

    #[test]
    fn aliases_and_exclusions_apply() {
        let chosen = select_cipher_suites(Some("HIGH:!CHACHA20:!aNULL"), &all()).unwrap();
        let names = names(&chosen);
        assert!(!names.contains(&"ECDHE-RSA-CHACHA20-POLY1305".to_string()));
        assert!(names.contains(&"ECDHE-ECDSA-AES256-GCM-SHA384".to_string()));
        assert!(names.contains(&"TLS_CHACHA20_POLY1305_SHA256".to_string()));
    }

    #[test]
    fn a_list_naming_only_tls13_suites_restricts_tls13() {
        let chosen = select_cipher_suites(Some("TLS_AES_128_GCM_SHA256"), &all()).unwrap();
        assert_eq!(chosen.len(), 1);
    }

    #[test]
    fn a_list_with_no_suite_rustls_has_is_refused() {
        let err = select_cipher_suites(Some("RC4-MD5:DES-CBC3-SHA"), &all()).unwrap_err();
        assert!(matches!(err, TlsError::Ciphers(_)));
    }

    #[test]
    fn versions_follow_libmosquittos_meaning() {
        assert_eq!(protocol_versions(None).unwrap().len(), 2);
        assert_eq!(protocol_versions(Some("tlsv1.2")).unwrap().len(), 2);
        assert_eq!(protocol_versions(Some("tlsv1.3")).unwrap().len(), 1);
        assert!(protocol_versions(Some("tlsv1.1")).is_err());
    }

    #[test]
    fn ocsp_required_is_refused_with_its_reason() {
        let settings = TlsSettings {
            ocsp_required: true,
            ..TlsSettings::default()
        };
        assert_eq!(
            client_config(&settings).unwrap_err(),
            TlsError::OcspUnsupported
        );
    }

    #[test]
    fn verification_off_needs_no_roots_and_warns() {
        let settings = TlsSettings {
            verification: Verification::Off,
            ..TlsSettings::default()
        };
        let setup = client_config(&settings).unwrap();
        assert!(setup.warnings[0].contains("not secure"));
    }

    /// A directory with `ca.pem`, a CA certificate, for one test.
    fn ca_dir(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("skeeter-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        std::fs::write(dir.join("ca.pem"), pem).unwrap();
        dir
    }

    #[test]
    fn a_capath_without_certificates_is_passed_over_with_a_warning_when_cafile_gives_roots() {
        let dir = ca_dir("capath-missing");
        let settings = TlsSettings {
            cafile: Some(dir.join("ca.pem").to_str().unwrap().into()),
            capath: Some("/nonexistent/capath".into()),
            ..TlsSettings::default()
        };
        let setup = client_config(&settings).unwrap();
        assert!(
            setup
                .warnings
                .iter()
                .any(|l| l.contains("/nonexistent/capath")),
            "{:?}",
            setup.warnings
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_capath_without_certificates_and_no_cafile_is_an_error() {
        let settings = TlsSettings {
            capath: Some("/nonexistent/capath".into()),
            ..TlsSettings::default()
        };
        assert!(matches!(
            client_config(&settings).unwrap_err(),
            TlsError::CaPath { .. }
        ));
    }

    #[test]
    fn ip_addresses_and_host_names_are_server_names() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("localhost").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(server_name("bad name!").is_err());
    }

    #[test]
    fn reasons_are_in_words() {
        let e = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(describe(&e).contains("unknown issuer"));
        let e = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(describe(&e).contains("expired"));
        let e = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(describe(&e).contains("name mismatch"));
    }
}
