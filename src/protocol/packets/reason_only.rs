//! The MQTT 5 body shared by DISCONNECT and AUTH: an optional reason code, then
//! optional properties. An empty body means reason 0 (success) and no properties.

use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::ReasonOnly;
use crate::protocol::property_codec::{read_properties, write_properties};
use crate::protocol::reason;

pub fn read(command: u8, flags: u8, body: &[u8]) -> Result<ReasonOnly> {
    if flags != 0 {
        return Err(Error::MalformedPacket);
    }
    let mut r = Reader::new(body);
    let mut packet = ReasonOnly {
        reason_code: 0,
        properties: Vec::new(),
    };
    if !r.is_empty() {
        packet.reason_code = r.u8()?;
        reason::check(command, packet.reason_code)?;
        if !r.is_empty() {
            packet.properties = read_properties(&mut r, command)?;
        }
    }
    r.finish()?;
    Ok(packet)
}

/// Writes the shortest body that says everything.
pub fn write(command: u8, packet: &ReasonOnly, out: &mut Vec<u8>) -> Result<()> {
    codec::write_packet(
        out,
        command,
        |out| {
            if packet.reason_code != 0 || !packet.properties.is_empty() {
                codec::put_u8(out, packet.reason_code);
                if !packet.properties.is_empty() {
                    write_properties(out, &packet.properties)?;
                }
            }
            Ok(())
        },
        &[],
    )
}
