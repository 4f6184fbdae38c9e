//! OpenSSL's legacy encrypted PEM keys, as `openssl genrsa -aes256` (OpenSSL 1.x),
//! `openssl rsa -des3 -traditional` or `openssl ec -aes128` write them:
//!
//! ```text
//! -----BEGIN RSA PRIVATE KEY-----
//! Proc-Type: 4,ENCRYPTED
//! DEK-Info: AES-256-CBC,<IV in hex>
//!
//! <base64 of the PKCS#1 (or SEC1, for EC PRIVATE KEY) key, encrypted>
//! -----END RSA PRIVATE KEY-----
//! ```
//!
//! The cipher key comes from the password by OpenSSL's `EVP_BytesToKey` (MD5, one
//! round, the IV's first 8 bytes as salt); the plaintext is PKCS#7-padded.

use std::fmt;

use base64ct::{Base64, Encoding};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use md5::{Digest, Md5};
use pkcs8::der::asn1::AnyRef;
use pkcs8::der::{Decode, Reader, SliceReader, Tag, Tagged};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivateSec1KeyDer};

/// The header that marks a legacy encrypted PEM block.
pub const PROC_TYPE_ENCRYPTED: &str = "Proc-Type: 4,ENCRYPTED";

/// Why a legacy encrypted key could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyPemError {
    /// The block is not laid out as OpenSSL writes it.
    Malformed(&'static str),
    /// A `DEK-Info` cipher other than DES-EDE3-CBC and AES-128/192/256-CBC.
    UnsupportedCipher(String),
    /// A key type other than RSA and EC (the PEM label).
    UnsupportedKeyType(String),
    /// The decrypted bytes are not a key: the padding or the structure is wrong.
    WrongPassword,
}

impl fmt::Display for LegacyPemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LegacyPemError::Malformed(what) => write!(f, "malformed encrypted PEM key: {what}"),
            LegacyPemError::UnsupportedCipher(name) => write!(
                f,
                "encrypted PEM key cipher {name} is not supported \
                 (DES-EDE3-CBC, AES-128-CBC, AES-192-CBC, AES-256-CBC are)"
            ),
            LegacyPemError::UnsupportedKeyType(label) => {
                write!(f, "encrypted PEM key type \"{label}\" is not supported")
            }
            LegacyPemError::WrongPassword => write!(
                f,
                "cannot decrypt the key: wrong password (the decrypted data is not a key)"
            ),
        }
    }
}

impl std::error::Error for LegacyPemError {}

/// The ciphers OpenSSL names in `DEK-Info`, all in CBC mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cipher {
    DesEde3,
    Aes128,
    Aes192,
    Aes256,
}

impl Cipher {
    fn from_name(name: &str) -> Option<Cipher> {
        match name.to_ascii_uppercase().as_str() {
            "DES-EDE3-CBC" => Some(Cipher::DesEde3),
            "AES-128-CBC" => Some(Cipher::Aes128),
            "AES-192-CBC" => Some(Cipher::Aes192),
            "AES-256-CBC" => Some(Cipher::Aes256),
            _ => None,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Cipher::DesEde3 | Cipher::Aes192 => 24,
            Cipher::Aes128 => 16,
            Cipher::Aes256 => 32,
        }
    }

    /// The IV is one block.
    fn iv_len(self) -> usize {
        match self {
            Cipher::DesEde3 => 8,
            _ => 16,
        }
    }

    /// Decrypts and removes the PKCS#7 padding; `None` when the padding is wrong.
    fn decrypt(self, key: &[u8], iv: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        fn run<C: BlockDecryptMut + KeyIvInit>(
            key: &[u8],
            iv: &[u8],
            data: &[u8],
        ) -> Option<Vec<u8>> {
            C::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(data)
                .ok()
        }
        match self {
            Cipher::DesEde3 => run::<cbc::Decryptor<des::TdesEde3>>(key, iv, data),
            Cipher::Aes128 => run::<cbc::Decryptor<aes::Aes128>>(key, iv, data),
            Cipher::Aes192 => run::<cbc::Decryptor<aes::Aes192>>(key, iv, data),
            Cipher::Aes256 => run::<cbc::Decryptor<aes::Aes256>>(key, iv, data),
        }
    }
}

/// The key types of the labels OpenSSL writes with legacy encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    /// `RSA PRIVATE KEY`: PKCS#1 RSAPrivateKey.
    Rsa,
    /// `EC PRIVATE KEY`: SEC1 ECPrivateKey.
    Ec,
}

impl KeyKind {
    fn from_label(label: &str) -> Result<KeyKind, LegacyPemError> {
        match label {
            "RSA PRIVATE KEY" => Ok(KeyKind::Rsa),
            "EC PRIVATE KEY" => Ok(KeyKind::Ec),
            other => Err(LegacyPemError::UnsupportedKeyType(other.into())),
        }
    }

    /// The version number that opens the key's ASN.1 sequence.
    fn version(self) -> u8 {
        match self {
            KeyKind::Rsa => 0,
            KeyKind::Ec => 1,
        }
    }

    fn into_key(self, der: Vec<u8>) -> PrivateKeyDer<'static> {
        match self {
            KeyKind::Rsa => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
            KeyKind::Ec => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
        }
    }
}

/// One encrypted block, its parts read but not yet decrypted.
#[derive(Debug)]
struct EncryptedBlock {
    kind: KeyKind,
    cipher: Cipher,
    iv: Vec<u8>,
    data: Vec<u8>,
}

/// Decrypts the first legacy encrypted key in `pem` with `password`.
pub fn decrypt(pem: &str, password: &[u8]) -> Result<PrivateKeyDer<'static>, LegacyPemError> {
    let block = parse(pem)?;
    // The IV is at least 8 bytes (checked in parse); its first 8 are the salt.
    let key = evp_bytes_to_key(password, &block.iv[..8], block.cipher.key_len());
    let plain = block
        .cipher
        .decrypt(&key, &block.iv, &block.data)
        .ok_or(LegacyPemError::WrongPassword)?;
    if !opens_key_sequence(&plain, block.kind.version()) {
        return Err(LegacyPemError::WrongPassword);
    }
    Ok(block.kind.into_key(plain))
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one round: D1 = MD5(password, salt),
/// Dn = MD5(Dn-1, password, salt), concatenated up to `len` bytes.
pub fn evp_bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    let mut previous: Vec<u8> = Vec::new();
    while out.len() < len {
        let mut md5 = Md5::new();
        md5.update(&previous);
        md5.update(password);
        md5.update(salt);
        previous = md5.finalize().to_vec();
        out.extend_from_slice(&previous);
    }
    out.truncate(len);
    out
}

/// Reads the block whose BEGIN line the `Proc-Type` header follows.
fn parse(pem: &str) -> Result<EncryptedBlock, LegacyPemError> {
    use LegacyPemError::Malformed;
    let lines: Vec<&str> = pem.lines().map(str::trim).collect();
    let proc_type = lines
        .iter()
        .position(|l| *l == PROC_TYPE_ENCRYPTED)
        .ok_or(Malformed("no Proc-Type header"))?;
    let label = proc_type
        .checked_sub(1)
        .and_then(|i| lines[i].strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or(Malformed(
            "the Proc-Type header does not follow a BEGIN line",
        ))?;
    let kind = KeyKind::from_label(label)?;

    let mut rest = lines[proc_type + 1..].iter();
    let mut dek_info = None;
    for line in rest.by_ref().take_while(|l| !l.is_empty()) {
        if let Some(value) = line.strip_prefix("DEK-Info:") {
            dek_info = Some(value.trim());
        }
    }
    let (cipher_name, iv_hex) = dek_info
        .and_then(|v| v.split_once(','))
        .ok_or(Malformed("no DEK-Info header with cipher and IV"))?;
    let cipher = Cipher::from_name(cipher_name.trim())
        .ok_or_else(|| LegacyPemError::UnsupportedCipher(cipher_name.trim().into()))?;
    let iv = hex_bytes(iv_hex.trim()).ok_or(Malformed("the IV is not hexadecimal"))?;
    if iv.len() != cipher.iv_len() {
        return Err(Malformed("the IV's length does not fit the cipher"));
    }

    let end = format!("-----END {label}-----");
    let mut base64 = String::new();
    let mut ended = false;
    for line in rest {
        if *line == end {
            ended = true;
            break;
        }
        base64.push_str(line);
    }
    if !ended {
        return Err(Malformed("no END line"));
    }
    let data = Base64::decode_vec(&base64).map_err(|_| Malformed("the key is not base64"))?;
    Ok(EncryptedBlock {
        kind,
        cipher,
        iv,
        data,
    })
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// Whether `der` is exactly one ASN.1 SEQUENCE that opens with the INTEGER
/// `version`, as RSAPrivateKey (0) and ECPrivateKey (1) do. Catches a wrong
/// password whose garbage happened to end in valid padding.
fn opens_key_sequence(der: &[u8], version: u8) -> bool {
    let Ok(sequence) = AnyRef::from_der(der) else {
        return false;
    };
    if sequence.tag() != Tag::Sequence {
        return false;
    }
    let Ok(mut fields) = SliceReader::new(sequence.value()) else {
        return false;
    };
    fields.decode::<u8>() == Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockEncryptMut;

    /// A throwaway EC key made once for this test with `openssl ecparam -genkey
    /// -name prime256v1 | openssl ec -aes128 -passout pass:fixture`.
    const EC_AES128: &str = include_str!("legacy_pem_fixture.pem");

    #[test]
    fn evp_bytes_to_key_gives_openssls_key_for_a_known_password_and_salt() {
        // What `openssl enc -aes-128-cbc -pass pass:password -S 0102030405060708
        // -P -md md5` (and -aes-256-cbc) printed as the key.
        let key = evp_bytes_to_key(b"password", &[1, 2, 3, 4, 5, 6, 7, 8], 16);
        assert_eq!(hex(&key), KNOWN_KEY_128);
        // Longer keys continue with the next MD5 round.
        let key = evp_bytes_to_key(b"password", &[1, 2, 3, 4, 5, 6, 7, 8], 32);
        assert_eq!(hex(&key), KNOWN_KEY_256);
    }

    const KNOWN_KEY_128: &str = "E7B0971E52CA5CC8D0539FB3412F6316";
    const KNOWN_KEY_256: &str = "E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3457B99436B51CE02";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    #[test]
    fn a_fixture_made_by_openssl_decrypts_to_an_ec_key() {
        let key = decrypt(EC_AES128, b"fixture").unwrap();
        assert!(matches!(key, PrivateKeyDer::Sec1(_)));
        let provider = rustls::crypto::ring::default_provider();
        assert!(provider.key_provider.load_private_key(key).is_ok());
    }

    #[test]
    fn a_wrong_password_is_reported_as_such() {
        assert_eq!(
            decrypt(EC_AES128, b"wrong").unwrap_err(),
            LegacyPemError::WrongPassword
        );
    }

    /// Encrypts `der` as OpenSSL would, with DES-EDE3-CBC.
    fn des3_pem(label: &str, der: &[u8], password: &[u8], iv: [u8; 8]) -> String {
        let key = evp_bytes_to_key(password, &iv, 24);
        let data = cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(der);
        format!(
            "-----BEGIN {label}-----\r\n{PROC_TYPE_ENCRYPTED}\r\nDEK-Info: DES-EDE3-CBC,{}\r\n\r\n{}\r\n-----END {label}-----\r\n",
            hex(&iv),
            Base64::encode_string(&data)
        )
    }

    #[test]
    fn des3_round_trips_and_crlf_lines_are_read() {
        // A SEQUENCE { INTEGER 0, INTEGER 5 }: shaped like an RSAPrivateKey.
        let der = [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x05];
        let pem = des3_pem("RSA PRIVATE KEY", &der, b"pw", [9, 8, 7, 6, 5, 4, 3, 2]);
        match decrypt(&pem, b"pw").unwrap() {
            PrivateKeyDer::Pkcs1(key) => assert_eq!(key.secret_pkcs1_der(), der),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decrypted_bytes_that_are_not_a_key_mean_a_wrong_password() {
        let pem = des3_pem("RSA PRIVATE KEY", b"not a key", b"pw", [1; 8]);
        assert_eq!(
            decrypt(&pem, b"pw").unwrap_err(),
            LegacyPemError::WrongPassword
        );
    }

    #[test]
    fn other_ciphers_and_key_types_are_named_in_the_error() {
        let pem = des3_pem("RSA PRIVATE KEY", &[0x30, 0], b"pw", [1; 8])
            .replace("DES-EDE3-CBC", "DES-CBC");
        assert_eq!(
            decrypt(&pem, b"pw").unwrap_err(),
            LegacyPemError::UnsupportedCipher("DES-CBC".into())
        );
        let pem = des3_pem("DSA PRIVATE KEY", &[0x30, 0], b"pw", [1; 8]);
        assert_eq!(
            decrypt(&pem, b"pw").unwrap_err(),
            LegacyPemError::UnsupportedKeyType("DSA PRIVATE KEY".into())
        );
    }

    #[test]
    fn an_iv_of_the_wrong_length_is_malformed() {
        let pem = EC_AES128.replacen("AES-128-CBC", "DES-EDE3-CBC", 1);
        assert!(matches!(
            decrypt(&pem, b"fixture").unwrap_err(),
            LegacyPemError::Malformed(_)
        ));
    }
}
