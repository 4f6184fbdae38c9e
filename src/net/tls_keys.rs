//! Reading the PEM files `mosquitto_tls_set` names: trusted CA certificates (a file,
//! or every PEM certificate in a directory), the client's certificate chain, and its
//! private key in any of the forms OpenSSL reads from PEM: PKCS#1 (RSA), SEC1 (EC),
//! PKCS#8, and, with a password the program supplies, PKCS#8 encrypted or
//! OpenSSL's legacy encrypted PEM (`legacy_pem`).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use pkcs8::der::Decode;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::legacy_pem::{self, PROC_TYPE_ENCRYPTED};
use super::tls_error::{KeyProblem, TlsError};

/// Asks the program for the password of an encrypted client key: the
/// `pw_callback` of `mosquitto_tls_set`, wrapped by the FFI. `None`: no password.
#[derive(Clone)]
pub struct KeyPassword(Arc<dyn Fn() -> Option<Vec<u8>> + Send + Sync>);

impl KeyPassword {
    pub fn new(ask: impl Fn() -> Option<Vec<u8>> + Send + Sync + 'static) -> KeyPassword {
        KeyPassword(Arc::new(ask))
    }

    pub fn ask(&self) -> Option<Vec<u8>> {
        (self.0)()
    }
}

impl fmt::Debug for KeyPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyPassword(..)")
    }
}

/// Two sources are equal when they are the same callback (settings are compared in tests).
impl PartialEq for KeyPassword {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for KeyPassword {}

/// Every certificate in a PEM file.
fn certificates_in(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate in the file".into());
    }
    Ok(certs)
}

/// The CA certificates of `cafile`.
pub fn load_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    certificates_in(Path::new(path)).map_err(|reason| TlsError::CaFile {
        path: path.into(),
        reason,
    })
}

/// Every PEM certificate in the files of `capath`. Unlike OpenSSL this needs no
/// `c_rehash` links: each regular file is read, and files that hold no certificate
/// (hash links to the same files, READMEs) are skipped.
pub fn load_ca_dir(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::CaPath {
        path: path.into(),
        reason,
    };
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| fail(e.to_string()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    // A stable order keeps the trust store the same from run to run.
    entries.sort();
    let mut certs = Vec::new();
    for file in entries {
        if let Ok(found) = certificates_in(&file) {
            certs.extend(found);
        }
    }
    if certs.is_empty() {
        return Err(fail("no PEM certificate in the directory".into()));
    }
    Ok(certs)
}

/// The client's certificate chain, leaf first, as `certfile` lists it.
pub fn load_cert_chain(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    certificates_in(Path::new(path)).map_err(|reason| TlsError::CertFile {
        path: path.into(),
        reason,
    })
}

const ENCRYPTED_PKCS8_LABEL: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";

/// The client's private key. An encrypted key (PKCS#8 or legacy PEM) is decrypted
/// with the password `password` supplies, asked for only then (as OpenSSL asks).
pub fn load_private_key(
    path: &str,
    password: Option<&KeyPassword>,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let fail = |problem: KeyProblem| TlsError::KeyFile {
        path: path.into(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(KeyProblem::Unreadable(e.to_string())))?;
    let text = String::from_utf8_lossy(&bytes);
    if let Some(start) = text.find(ENCRYPTED_PKCS8_LABEL) {
        let secret = ask_password(password).map_err(fail)?;
        return decrypt_pkcs8(&text[start..], &secret).map_err(fail);
    }
    if text.contains(PROC_TYPE_ENCRYPTED) {
        let secret = ask_password(password).map_err(fail)?;
        return legacy_pem::decrypt(&text, &secret).map_err(|e| fail(KeyProblem::LegacyPem(e)));
    }
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| fail(KeyProblem::NoKey))
}

/// The password for an encrypted key, from the program's callback.
fn ask_password(password: Option<&KeyPassword>) -> Result<Vec<u8>, KeyProblem> {
    let source = password.ok_or(KeyProblem::EncryptedWithoutCallback)?;
    source.ask().ok_or(KeyProblem::NoPassword)
}

/// Decrypts the first "ENCRYPTED PRIVATE KEY" block of `pem` (PBES2: PBKDF2 or
/// scrypt with AES-CBC, what `openssl pkcs8 -topk8` writes).
fn decrypt_pkcs8(pem: &str, password: &[u8]) -> Result<PrivateKeyDer<'static>, KeyProblem> {
    let (label, der) = pkcs8::der::pem::decode_vec(first_pem_block(pem).as_bytes())
        .map_err(|e| KeyProblem::Decrypt(e.to_string()))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(KeyProblem::NoKey);
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(&der)
        .map_err(|e| KeyProblem::Decrypt(e.to_string()))?;
    let plain = info
        .decrypt(password)
        .map_err(|e| KeyProblem::Decrypt(e.to_string()))?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        plain.as_bytes().to_vec(),
    )))
}

/// The text from the start of `pem` through its first END line.
fn first_pem_block(pem: &str) -> &str {
    const END: &str = "-----END ";
    let Some(end) = pem.find(END) else {
        return pem;
    };
    let after_label = end + END.len();
    match pem[after_label..].find("-----") {
        Some(close) => &pem[..after_label + close + 5],
        None => pem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_block_ends_after_its_end_line() {
        let pem = "-----BEGIN X-----\nAAAA\n-----END X-----\nrest\n-----BEGIN Y-----\n";
        assert_eq!(
            first_pem_block(pem),
            "-----BEGIN X-----\nAAAA\n-----END X-----"
        );
    }

    #[test]
    fn a_missing_file_names_the_file() {
        let err = load_ca_file("/nonexistent/ca.pem").unwrap_err();
        assert!(matches!(err, TlsError::CaFile { ref path, .. } if path == "/nonexistent/ca.pem"));
        let err = load_private_key("/nonexistent/key.pem", None).unwrap_err();
        assert!(matches!(
            err,
            TlsError::KeyFile {
                problem: KeyProblem::Unreadable(_),
                ..
            }
        ));
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("skeeter-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("empty.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        assert!(load_ca_file(file.to_str().unwrap()).is_err());
        assert!(load_ca_dir(dir.to_str().unwrap()).is_err());
        assert!(matches!(
            load_private_key(file.to_str().unwrap(), None),
            Err(TlsError::KeyFile {
                problem: KeyProblem::NoKey,
                ..
            })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_encrypted_key_without_a_callback_says_so() {
        let dir = std::env::temp_dir().join(format!("skeeter-keys-enc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("enc.pem");
        std::fs::write(
            &file,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = load_private_key(file.to_str().unwrap(), None).unwrap_err();
        assert!(err.to_string().contains("encrypted"), "{err}");
        let silent = KeyPassword::new(|| None);
        let err = load_private_key(file.to_str().unwrap(), Some(&silent)).unwrap_err();
        assert!(matches!(
            err,
            TlsError::KeyFile {
                problem: KeyProblem::NoPassword,
                ..
            }
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_legacy_encrypted_key_asks_the_callback_and_says_when_there_is_none() {
        let dir = std::env::temp_dir().join(format!("skeeter-keys-legacy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("legacy.pem");
        std::fs::write(&file, include_str!("legacy_pem_fixture.pem")).unwrap();
        let path = file.to_str().unwrap();
        assert!(matches!(
            load_private_key(path, None),
            Err(TlsError::KeyFile {
                problem: KeyProblem::EncryptedWithoutCallback,
                ..
            })
        ));
        let right = KeyPassword::new(|| Some(b"fixture".to_vec()));
        assert!(matches!(
            load_private_key(path, Some(&right)),
            Ok(PrivateKeyDer::Sec1(_))
        ));
        let wrong = KeyPassword::new(|| Some(b"wrong".to_vec()));
        let err = load_private_key(path, Some(&wrong)).unwrap_err();
        assert!(err.to_string().contains("wrong password"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
