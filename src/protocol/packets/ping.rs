//! PINGREQ and PINGRESP: a fixed header and nothing else.

use crate::error::{Error, Result};
use crate::protocol::codec;

/// Checks a PINGREQ or PINGRESP: no flags, no body.
pub fn read(flags: u8, body: &[u8]) -> Result<()> {
    if flags != 0 || !body.is_empty() {
        return Err(Error::MalformedPacket);
    }
    Ok(())
}

/// Writes `command` (`CMD_PINGREQ` or `CMD_PINGRESP`) with an empty body.
pub fn write(command: u8, out: &mut Vec<u8>) -> Result<()> {
    codec::write_packet(out, command, |_| Ok(()), &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::packet::{CMD_PINGREQ, CMD_PINGRESP};

    #[test]
    fn pings_are_two_bytes() {
        let mut out = Vec::new();
        write(CMD_PINGREQ, &mut out).unwrap();
        write(CMD_PINGRESP, &mut out).unwrap();
        assert_eq!(out, [0xC0, 0, 0xD0, 0]);
        assert_eq!(read(0, &[]), Ok(()));
    }

    #[test]
    fn a_ping_with_a_body_or_flags_is_malformed() {
        assert_eq!(read(0, &[0]), Err(Error::MalformedPacket));
        assert_eq!(read(1, &[]), Err(Error::MalformedPacket));
    }
}
