//! How the broker's certificate must name the host, on top of webpki's checks of
//! the chain, the dates and the signatures (which always run first):
//! - `mosquitto_tls_insecure_set(true)`: the name is not checked at all;
//! - otherwise the subjectAltName entries must name the host, and a certificate
//!   with no DNS or IP subjectAltName is matched on its subject Common Name, as
//!   OpenSSL-based libmosquitto matches it (private brokers often use certificates
//!   made with `openssl req -subj /CN=broker`). That fallback is logged as a warning.

use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use x509_cert::der::asn1::Ia5String;
use x509_cert::der::oid::db::rfc4519::COMMON_NAME;
use x509_cert::der::oid::AssociatedOid;
use x509_cert::der::{Decode, Tag, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// Lines the name check wants logged at `MOSQ_LOG_WARNING`. It runs inside the
/// handshake, where no log callback is at hand; the connection takes them after
/// each read.
#[derive(Debug, Clone, Default)]
pub struct HandshakeWarnings(Arc<Mutex<Vec<String>>>);

impl HandshakeWarnings {
    fn push(&self, line: String) {
        self.0.lock().push(line);
    }

    /// The lines so far, leaving none.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock())
    }
}

/// What a certificate that webpki finds not valid for the host still passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `mosquitto_tls_insecure_set(true)`: any name.
    Skip,
    /// A certificate without DNS or IP subjectAltName whose Common Name is the host.
    CommonNameFallback,
}

/// webpki's verifier with the name check of [`NameRule`].
#[derive(Debug)]
pub struct HostNameCheck {
    inner: Arc<WebPkiServerVerifier>,
    rule: NameRule,
    warnings: HandshakeWarnings,
}

impl HostNameCheck {
    pub fn new(
        inner: Arc<WebPkiServerVerifier>,
        rule: NameRule,
        warnings: HandshakeWarnings,
    ) -> HostNameCheck {
        HostNameCheck {
            inner,
            rule,
            warnings,
        }
    }

    /// After webpki found the (otherwise good) certificate not valid for the host.
    fn accepts_despite_name(&self, end_entity: &CertificateDer<'_>, host: &ServerName<'_>) -> bool {
        match self.rule {
            NameRule::Skip => true,
            NameRule::CommonNameFallback => {
                let Some(cn) = fallback_common_name(end_entity) else {
                    return false;
                };
                if !common_name_matches(&cn, host) {
                    return false;
                }
                self.warnings.push(format!(
                    "TLS: the broker's certificate has no subjectAltName; its Common Name \
                     \"{cn}\" was matched with the host name instead"
                ));
                true
            }
        }
    }
}

impl ServerCertVerifier for HostNameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means the
        // chain itself was good.
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.accepts_despite_name(end_entity, server_name) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The certificate's first subject Common Name, if it has no DNS or IP
/// subjectAltName (a certificate we cannot parse has none to offer).
fn fallback_common_name(der: &CertificateDer<'_>) -> Option<String> {
    let cert = Certificate::from_der(der).ok()?;
    let tbs = &cert.tbs_certificate;
    for ext in tbs.extensions.iter().flatten() {
        if ext.extn_id != SubjectAltName::OID {
            continue;
        }
        // An unreadable subjectAltName may name hosts: no fallback.
        let names = SubjectAltName::from_der(ext.extn_value.as_bytes()).ok()?;
        let names_a_host = names
            .0
            .iter()
            .any(|n| matches!(n, GeneralName::DnsName(_) | GeneralName::IpAddress(_)));
        if names_a_host {
            return None;
        }
    }
    tbs.subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == COMMON_NAME)
        .and_then(|atv| directory_string(&atv.value))
}

/// The text of a Common Name in any of the string types certificates use for it.
fn directory_string(value: &x509_cert::der::Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::TeletexString => {
            String::from_utf8(value.value().to_vec()).ok()
        }
        Tag::Ia5String => value.decode_as::<Ia5String>().ok().map(|s| s.to_string()),
        _ => None,
    }
}

/// A host name compares without regard to ASCII case; an IP address compares
/// with the Common Name read as an address.
fn common_name_matches(cn: &str, host: &ServerName<'_>) -> bool {
    match host {
        ServerName::DnsName(name) => name.as_ref().eq_ignore_ascii_case(cn),
        ServerName::IpAddress(ip) => cn.parse::<IpAddr>() == Ok(IpAddr::from(*ip)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(host: &str) -> ServerName<'static> {
        ServerName::try_from(host.to_string()).unwrap()
    }

    #[test]
    fn a_host_name_matches_its_common_name_in_any_case() {
        assert!(common_name_matches(
            "Broker.Example",
            &name("broker.example")
        ));
        assert!(!common_name_matches(
            "broker.example",
            &name("other.example")
        ));
    }

    #[test]
    fn an_ip_address_matches_a_common_name_that_is_the_same_address() {
        assert!(common_name_matches("127.0.0.1", &name("127.0.0.1")));
        assert!(common_name_matches("::1", &name("0:0::1")));
        assert!(!common_name_matches("localhost", &name("127.0.0.1")));
    }

    /// A self-signed certificate with `cn` and the subjectAltName entries `sans`.
    fn certificate(cn: &str, sans: &[&str]) -> CertificateDer<'static> {
        let sans = sans.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut params = rcgen::CertificateParams::new(sans).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn a_certificate_without_subject_alt_names_offers_its_common_name() {
        let cert = certificate("broker", &[]);
        assert_eq!(fallback_common_name(&cert).as_deref(), Some("broker"));
    }

    #[test]
    fn a_certificate_with_dns_or_ip_subject_alt_names_offers_no_common_name() {
        assert_eq!(
            fallback_common_name(&certificate("broker", &["other"])),
            None
        );
        assert_eq!(
            fallback_common_name(&certificate("broker", &["127.0.0.1"])),
            None
        );
    }

    #[test]
    fn warnings_are_taken_once() {
        let warnings = HandshakeWarnings::default();
        warnings.push("one".into());
        assert_eq!(warnings.clone().take(), vec!["one".to_string()]);
        assert!(warnings.take().is_empty());
    }
}
