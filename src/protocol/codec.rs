//! The building blocks of every MQTT packet: a bounds-checked byte reader, the
//! matching writer functions, and the fixed header.
//!
//! Every read that would run past the end of the packet is `Error::MalformedPacket`;
//! nothing here panics on hostile input.

use crate::error::{Error, Result};

/// The largest value a variable byte integer can hold (four bytes of seven
/// bits): the longest remaining length, and MQTT 5's largest varint property.
pub const MAX_VARINT: u32 = 268_435_455;
/// The longest remaining length of a packet.
pub const MAX_REMAINING_LENGTH: u32 = MAX_VARINT;

/// The longest string or binary field: its length prefix is two bytes.
pub const MAX_FIELD_LENGTH: usize = 65_535;

/// Reads MQTT fields from one packet's bytes, front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// How many bytes are left unread.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The next `n` bytes, as a slice of the packet (no copy).
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(Error::MalformedPacket);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Everything left: a PUBLISH payload.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A packet identifier, which may never be zero.
    pub fn packet_id(&mut self) -> Result<u16> {
        match self.u16()? {
            0 => Err(Error::Protocol),
            id => Ok(id),
        }
    }

    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A variable byte integer: seven bits per byte, at most four bytes.
    pub fn varint(&mut self) -> Result<u32> {
        let mut value = 0u32;
        for i in 0..4 {
            let byte = self.u8()?;
            value |= u32::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Error::MalformedPacket)
    }

    /// Binary data: a two-byte length, then that many bytes.
    pub fn binary(&mut self) -> Result<&'a [u8]> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A UTF-8 string with MQTT's extra rules (no NUL, no control characters, ...).
    pub fn string(&mut self) -> Result<&'a str> {
        let bytes = self.binary()?;
        mqtt_str(bytes)
    }

    /// A UTF-8 string pair (a user property's name and value).
    pub fn string_pair(&mut self) -> Result<(&'a str, &'a str)> {
        let name = self.string()?;
        let value = self.string()?;
        Ok((name, value))
    }

    /// Bytes left over after the last field mean the length and the contents disagree.
    pub fn finish(&self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::MalformedPacket)
        }
    }
}

/// Checks bytes against MQTT's UTF-8 rules and returns them as `&str`.
pub fn mqtt_str(bytes: &[u8]) -> Result<&str> {
    super::utf8::check_str(bytes)
}

pub fn put_u8(out: &mut Vec<u8>, value: u8) {
    out.push(value);
}

pub fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// How many bytes `value` takes as a variable byte integer.
pub fn varint_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes a variable byte integer; values over four bytes' worth are `PayloadSize`.
pub fn put_varint(out: &mut Vec<u8>, value: u32) -> Result<()> {
    if value > MAX_REMAINING_LENGTH {
        return Err(Error::PayloadSize);
    }
    let mut rest = value;
    loop {
        let mut byte = (rest & 0x7F) as u8;
        rest >>= 7;
        if rest > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if rest == 0 {
            return Ok(());
        }
    }
}

/// Writes binary data with its two-byte length; over 65535 bytes is `Inval`.
pub fn put_binary(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| Error::Inval)?;
    put_u16(out, len);
    out.extend_from_slice(bytes);
    Ok(())
}

pub fn put_string(out: &mut Vec<u8>, text: &str) -> Result<()> {
    put_binary(out, text.as_bytes())
}

/// The first byte and the remaining length of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// The `CMD_*` value: the high nibble of the first byte.
    pub command: u8,
    /// The low nibble of the first byte.
    pub flags: u8,
    pub remaining_length: u32,
    /// Bytes taken by the first byte and the remaining length together (2 to 5).
    pub header_len: usize,
}

impl FixedHeader {
    /// The whole packet's size on the wire.
    pub fn packet_len(&self) -> usize {
        self.header_len + self.remaining_length as usize
    }
}

/// Reads a fixed header from the start of `buf`: `Ok(None)` while it is incomplete.
pub fn read_fixed_header(buf: &[u8]) -> Result<Option<FixedHeader>> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut remaining_length = 0u32;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else {
            return Ok(None);
        };
        remaining_length |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some(FixedHeader {
                command: first & 0xF0,
                flags: first & 0x0F,
                remaining_length,
                header_len: 2 + i,
            }));
        }
    }
    Err(Error::MalformedPacket)
}

/// Appends one whole packet: the first byte, the remaining length, the variable
/// header written by `variable_header`, then `payload`.
///
/// The variable header is written first and moved into place once its length is
/// known; the payload, which may be large, is copied once, straight to its place.
pub fn write_packet(
    out: &mut Vec<u8>,
    first_byte: u8,
    variable_header: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    payload: &[u8],
) -> Result<()> {
    let start = out.len();
    // Room for the largest fixed header; the unused part is closed up below.
    out.extend_from_slice(&[0; 5]);
    if let Err(e) = variable_header(out) {
        out.truncate(start);
        return Err(e);
    }
    let body_len = out.len() - start - 5 + payload.len();
    let remaining_length = match u32::try_from(body_len) {
        Ok(n) if n <= MAX_REMAINING_LENGTH => n,
        _ => {
            out.truncate(start);
            return Err(Error::PayloadSize);
        }
    };
    // The fixed header is built on the stack: this runs once per packet.
    let mut header = [0u8; 5];
    header[0] = first_byte;
    let mut header_len = 1;
    let mut rest = remaining_length;
    loop {
        let mut byte = (rest & 0x7F) as u8;
        rest >>= 7;
        if rest > 0 {
            byte |= 0x80;
        }
        header[header_len] = byte;
        header_len += 1;
        if rest == 0 {
            break;
        }
    }
    let gap = 5 - header_len;
    if gap > 0 {
        out.copy_within(start + 5.., start + header_len);
        out.truncate(out.len() - gap);
    }
    out[start..start + header_len].copy_from_slice(&header[..header_len]);
    out.extend_from_slice(payload);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_bytes(value: u32) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, value).unwrap();
        out
    }

    #[test]
    fn varints_match_the_spec_table() {
        assert_eq!(varint_bytes(0), [0x00]);
        assert_eq!(varint_bytes(127), [0x7F]);
        assert_eq!(varint_bytes(128), [0x80, 0x01]);
        assert_eq!(varint_bytes(16_383), [0xFF, 0x7F]);
        assert_eq!(varint_bytes(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(varint_bytes(2_097_151), [0xFF, 0xFF, 0x7F]);
        assert_eq!(varint_bytes(2_097_152), [0x80, 0x80, 0x80, 0x01]);
        assert_eq!(varint_bytes(268_435_455), [0xFF, 0xFF, 0xFF, 0x7F]);
        for value in [
            0,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            268_435_455,
        ] {
            assert_eq!(varint_len(value), varint_bytes(value).len());
            assert_eq!(Reader::new(&varint_bytes(value)).varint(), Ok(value));
        }
    }

    #[test]
    fn varint_over_four_bytes_is_payload_size_when_written() {
        assert_eq!(
            put_varint(&mut Vec::new(), 268_435_456),
            Err(Error::PayloadSize)
        );
    }

    #[test]
    fn varint_with_a_fifth_byte_is_malformed() {
        let mut r = Reader::new(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        assert_eq!(r.varint(), Err(Error::MalformedPacket));
    }

    #[test]
    fn reading_past_the_end_is_malformed() {
        let mut r = Reader::new(&[0x01]);
        assert_eq!(r.u16(), Err(Error::MalformedPacket));
        assert_eq!(Reader::new(&[1, 2, 3]).u32(), Err(Error::MalformedPacket));
        assert_eq!(Reader::new(&[0x80]).varint(), Err(Error::MalformedPacket));
        assert_eq!(
            Reader::new(&[0x00, 0x03, b'a']).string(),
            Err(Error::MalformedPacket)
        );
        assert_eq!(Reader::new(&[]).u8(), Err(Error::MalformedPacket));
    }

    #[test]
    fn strings_are_length_prefixed() {
        let mut r = Reader::new(&[0x00, 0x03, b'a', b'/', b'b', 0x00, 0x00]);
        assert_eq!(r.string(), Ok("a/b"));
        assert_eq!(r.string(), Ok(""));
        assert!(r.finish().is_ok());
    }

    #[test]
    fn invalid_utf8_is_malformed_utf8() {
        assert_eq!(
            Reader::new(&[0x00, 0x01, 0xFF]).string(),
            Err(Error::MalformedUtf8)
        );
        // A UTF-16 surrogate encoded as UTF-8.
        assert_eq!(
            Reader::new(&[0x00, 0x03, 0xED, 0xA0, 0x80]).string(),
            Err(Error::MalformedUtf8)
        );
        // An overlong encoding of '/'.
        assert_eq!(
            Reader::new(&[0x00, 0x02, 0xC0, 0xAF]).string(),
            Err(Error::MalformedUtf8)
        );
    }

    #[test]
    fn nul_and_control_characters_are_malformed_utf8() {
        assert_eq!(
            Reader::new(&[0x00, 0x01, 0x00]).string(),
            Err(Error::MalformedUtf8)
        );
        assert_eq!(
            Reader::new(&[0x00, 0x01, 0x1F]).string(),
            Err(Error::MalformedUtf8)
        );
        assert_eq!(
            Reader::new(&[0x00, 0x02, 0xC2, 0x80]).string(),
            Err(Error::MalformedUtf8)
        );
        assert_eq!(
            Reader::new(&[0x00, 0x03, 0xEF, 0xBF, 0xBF]).string(),
            Err(Error::MalformedUtf8)
        );
    }

    #[test]
    fn the_spec_example_string_with_a_bom_is_accepted() {
        // MQTT 5 section 1.5.4: U+2A6D4 followed by U+FEFF.
        let bytes = [0x00, 0x08, 0x41, 0xF0, 0xAA, 0x9B, 0x94, 0xEF, 0xBB, 0xBF];
        assert_eq!(Reader::new(&bytes).string(), Ok("A\u{2A6D4}\u{FEFF}"));
    }

    #[test]
    fn trailing_bytes_fail_finish() {
        let r = Reader::new(&[0x00]);
        assert_eq!(r.finish(), Err(Error::MalformedPacket));
    }

    #[test]
    fn fixed_header_is_incomplete_until_the_length_ends() {
        assert_eq!(read_fixed_header(&[]), Ok(None));
        assert_eq!(read_fixed_header(&[0x30]), Ok(None));
        assert_eq!(read_fixed_header(&[0x30, 0x80]), Ok(None));
        let header = read_fixed_header(&[0x32, 0x80, 0x01]).unwrap().unwrap();
        assert_eq!(header.command, 0x30);
        assert_eq!(header.flags, 0x02);
        assert_eq!(header.remaining_length, 128);
        assert_eq!(header.header_len, 3);
        assert_eq!(header.packet_len(), 131);
    }

    #[test]
    fn fixed_header_with_five_length_bytes_is_malformed() {
        assert_eq!(
            read_fixed_header(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn write_packet_closes_up_the_header() {
        let mut out = vec![0xAA];
        write_packet(&mut out, 0x30, |out| put_string(out, "a"), b"xyz").unwrap();
        assert_eq!(out, [0xAA, 0x30, 0x06, 0x00, 0x01, b'a', b'x', b'y', b'z']);
    }

    #[test]
    fn write_packet_uses_a_two_byte_length_for_long_bodies() {
        let mut out = Vec::new();
        write_packet(&mut out, 0x30, |_| Ok(()), &[7; 200]).unwrap();
        assert_eq!(&out[..3], [0x30, 0xC8, 0x01]);
        assert_eq!(out.len(), 203);
    }

    #[test]
    fn write_packet_leaves_out_untouched_on_error() {
        let mut out = vec![1, 2];
        let long = "x".repeat(70_000);
        assert_eq!(
            write_packet(&mut out, 0x30, |out| put_string(out, &long), &[]),
            Err(Error::Inval)
        );
        assert_eq!(out, [1, 2]);
    }
}
