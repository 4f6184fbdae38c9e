//! MQTT's UTF-8 rules: well-formed UTF-8 with no NUL, no control characters,
//! no non-characters, no surrogates and no overlong forms.

use crate::error::Result;

/// Checks `bytes` as `mosquitto_validate_utf8` does (`Error::MalformedUtf8`).
pub fn check(bytes: &[u8]) -> Result<()> {
    todo!()
}
