//! Which MQTT 5 reason codes each packet may carry (MQTT 5 section 2.4).
//!
//! A received packet with a code its type may not carry is a protocol error.

use super::packet::{
    CMD_AUTH, CMD_CONNACK, CMD_DISCONNECT, CMD_PUBACK, CMD_PUBCOMP, CMD_PUBREC, CMD_PUBREL,
    CMD_SUBACK, CMD_UNSUBACK,
};
use crate::error::{Error, Result};

const CONNACK: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
const PUBACK_PUBREC: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_PUBCOMP: &[u8] = &[0x00, 0x92];
const SUBACK: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
const UNSUBACK: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH: &[u8] = &[0x00, 0x18, 0x19];

/// The codes `command` (a `CMD_*` value) may carry; empty for packets without one.
pub fn allowed(command: u8) -> &'static [u8] {
    match command {
        CMD_CONNACK => CONNACK,
        CMD_PUBACK | CMD_PUBREC => PUBACK_PUBREC,
        CMD_PUBREL | CMD_PUBCOMP => PUBREL_PUBCOMP,
        CMD_SUBACK => SUBACK,
        CMD_UNSUBACK => UNSUBACK,
        CMD_DISCONNECT => DISCONNECT,
        CMD_AUTH => AUTH,
        _ => &[],
    }
}

/// `Error::Protocol` unless `command` may carry `code`.
pub fn check(command: u8, code: u8) -> Result<()> {
    if allowed(command).contains(&code) {
        Ok(())
    } else {
        Err(Error::Protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_allowed_everywhere_that_has_a_code() {
        for command in [
            CMD_CONNACK,
            CMD_PUBACK,
            CMD_PUBREC,
            CMD_PUBREL,
            CMD_PUBCOMP,
            CMD_SUBACK,
            CMD_UNSUBACK,
            CMD_DISCONNECT,
            CMD_AUTH,
        ] {
            assert_eq!(check(command, 0x00), Ok(()));
        }
    }

    #[test]
    fn no_matching_subscribers_is_for_puback_and_pubrec_only() {
        assert_eq!(check(CMD_PUBACK, 0x10), Ok(()));
        assert_eq!(check(CMD_PUBREC, 0x10), Ok(()));
        assert_eq!(check(CMD_PUBCOMP, 0x10), Err(Error::Protocol));
    }

    #[test]
    fn an_undefined_code_is_a_protocol_error() {
        assert_eq!(check(CMD_DISCONNECT, 0x05), Err(Error::Protocol));
        assert_eq!(check(CMD_SUBACK, 0x03), Err(Error::Protocol));
    }

    #[test]
    fn the_lists_are_sorted_and_have_no_repeats() {
        for list in [
            CONNACK,
            PUBACK_PUBREC,
            PUBREL_PUBCOMP,
            SUBACK,
            UNSUBACK,
            DISCONNECT,
            AUTH,
        ] {
            assert!(list.windows(2).all(|pair| pair[0] < pair[1]));
        }
    }
}
