//! MQTT's UTF-8 rules: well-formed UTF-8 with no NUL, no control characters,
//! no non-characters, no surrogates and no overlong forms.

use crate::error::{Error, Result};

/// Checks `bytes` as `mosquitto_validate_utf8` does (`Error::MalformedUtf8`).
///
/// Length limits belong to the caller: the C function's own limit is applied in
/// `ffi::utf8`, and the codec's strings are bounded by their 16-bit length.
pub fn check(bytes: &[u8]) -> Result<()> {
    check_str(bytes).map(|_| ())
}

/// As `check`, handing back the text on success.
pub fn check_str(bytes: &[u8]) -> Result<&str> {
    // Rust's decoder already refuses overlongs, surrogates, truncated sequences
    // and code points above U+10FFFF; what is left are MQTT's extra bans.
    let text = std::str::from_utf8(bytes).map_err(|_| Error::MalformedUtf8)?;
    if is_printable_ascii(bytes) || text.chars().all(is_allowed) {
        Ok(text)
    } else {
        Err(Error::MalformedUtf8)
    }
}

/// Whether `bytes` are all printable ASCII (0x20 to 0x7E), what nearly every
/// topic is: such bytes are valid UTF-8 that MQTT allows, so a caller holding
/// them may skip `check_str`'s decoding (one compare a byte).
pub fn is_printable_ascii(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b.wrapping_sub(0x20) < 0x5F)
}

/// Whether MQTT allows `c` inside a string (NUL, C0 and C1 controls, DEL and the
/// Unicode non-characters are refused, as libmosquitto refuses them).
fn is_allowed(c: char) -> bool {
    let code = c as u32;
    let is_control = code <= 0x1F || (0x7F..=0x9F).contains(&code);
    let is_noncharacter = (0xFDD0..=0xFDEF).contains(&code) || (code & 0xFFFE) == 0xFFFE;
    !is_control && !is_noncharacter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(bytes: &[u8]) -> bool {
        check(bytes).is_ok()
    }

    #[test]
    fn plain_text_and_the_empty_string_are_accepted() {
        assert!(accepted(b""));
        assert!(accepted(b"sensors/temperature"));
        assert!(accepted("caf\u{e9} \u{1F600}".as_bytes()));
        assert!(accepted(b"\xc2\xa0"));
        assert!(accepted(b"\xf4\x8f\xbf\xbd"));
    }

    #[test]
    fn printable_ascii_is_exactly_0x20_to_0x7e_and_always_passes_the_full_check() {
        for b in 0u8..=255 {
            let printable = is_printable_ascii(&[b]);
            assert_eq!(printable, (0x20..=0x7E).contains(&b), "byte {b:#x}");
            if printable {
                assert!(accepted(&[b]));
            }
        }
        assert!(is_printable_ascii(b"bench/pub"));
        assert!(is_printable_ascii(b""));
        assert!(!is_printable_ascii("caf\u{e9}".as_bytes()));
    }

    #[test]
    fn nul_and_control_characters_are_refused() {
        assert_eq!(check(b"a\0b"), Err(Error::MalformedUtf8));
        assert!(!accepted(b"\x01"));
        assert!(!accepted(b"\t"));
        assert!(!accepted(b"\n"));
        assert!(!accepted(b"\x1f"));
        assert!(!accepted(b"\x7f"));
        assert!(!accepted(b"\xc2\x80"));
        assert!(!accepted(b"\xc2\x9f"));
    }

    #[test]
    fn non_characters_are_refused() {
        assert!(!accepted(b"\xef\xb7\x90"));
        assert!(!accepted(b"\xef\xb7\xaf"));
        assert!(!accepted(b"\xef\xbf\xbe"));
        assert!(!accepted(b"\xef\xbf\xbf"));
        assert!(!accepted(b"\xf0\x9f\xbf\xbf"));
        assert!(!accepted(b"\xf4\x8f\xbf\xbf"));
    }

    #[test]
    fn malformed_sequences_are_refused() {
        assert!(!accepted(b"\xc0\x80"));
        assert!(!accepted(b"\xe0\x80\x80"));
        assert!(!accepted(b"\xed\xa0\x80"));
        assert!(!accepted(b"\xc2"));
        assert!(!accepted(b"\xff"));
        assert!(!accepted(b"\xf5\x80\x80\x80"));
        assert!(!accepted(b"\x80"));
    }
}
