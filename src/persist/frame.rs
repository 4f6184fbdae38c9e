//! The framing of one record: its length, a checksum, then the record's bytes.
//!
//! ```text
//! u32 LE  n, the length of what follows the checksum
//! u32 LE  CRC-32 of the 4 length bytes and the n record bytes
//! n bytes the record (its kind, then its fields)
//! ```
//!
//! The checksum covers the length too, so a flipped bit there is caught rather
//! than sending the reader off to a wrong place.

/// Bytes before a record: length and checksum.
pub const HEADER: usize = 8;

/// The largest record: an MQTT message's topic, properties and payload fit well
/// within (the payload alone is at most 268,435,455 bytes).
pub const MAX_RECORD: usize = 300 * 1024 * 1024;

/// Appends `record` framed. The caller checks `MAX_RECORD` first.
pub fn put(out: &mut Vec<u8>, record: &[u8]) {
    let len = (record.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(record);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(record);
}

/// One intact record found in a buffer: where its frame starts, the whole
/// frame's length, and the record's bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Found<'a> {
    pub offset: usize,
    pub frame_len: usize,
    pub record: &'a [u8],
}

/// The intact records at the start of `bytes`, in order, up to the first torn or
/// damaged one; and where the intact part ends.
pub fn scan(bytes: &[u8]) -> (Vec<Found<'_>>, usize) {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(one) = next(bytes, at) {
        at += one.frame_len;
        found.push(one);
    }
    (found, at)
}

/// The intact record at `at`, if there is one.
fn next(bytes: &[u8], at: usize) -> Option<Found<'_>> {
    let header = bytes.get(at..at.checked_add(HEADER)?)?;
    let len_bytes: [u8; 4] = header[..4].try_into().ok()?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len > MAX_RECORD {
        return None;
    }
    let stored = u32::from_le_bytes(header[4..].try_into().ok()?);
    let start = at + HEADER;
    let record = bytes.get(start..start.checked_add(len)?)?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len_bytes);
    crc.update(record);
    (crc.finalize() == stored).then_some(Found {
        offset: at,
        frame_len: HEADER + len,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(records: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            put(&mut out, r);
        }
        out
    }

    #[test]
    fn framed_records_scan_back_in_order() {
        let bytes = framed(&[b"one", b"", b"three"]);
        let (found, end) = scan(&bytes);
        let records: Vec<&[u8]> = found.iter().map(|f| f.record).collect();
        assert_eq!(records, [&b"one"[..], b"", b"three"]);
        assert_eq!(end, bytes.len());
        assert_eq!(found[1].offset, HEADER + 3);
    }

    #[test]
    fn a_record_cut_short_ends_the_scan_before_it() {
        let bytes = framed(&[b"one", b"two"]);
        for cut in 0..=bytes.len() {
            let (found, end) = scan(&bytes[..cut]);
            let whole = match cut {
                c if c < HEADER + 3 => 0,
                c if c < bytes.len() => 1,
                _ => 2,
            };
            assert_eq!(found.len(), whole, "cut {cut}");
            assert_eq!(end, found.iter().map(|f| f.frame_len).sum::<usize>());
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_in_a_frame_ends_the_scan_before_it() {
        let bytes = framed(&[b"first", b"second"]);
        let second_at = HEADER + 5;
        for byte in second_at..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[byte] ^= 1 << bit;
                let (found, end) = scan(&damaged);
                assert_eq!(found.len(), 1, "byte {byte} bit {bit}");
                assert_eq!(end, second_at);
            }
        }
    }

    #[test]
    fn a_huge_length_is_damage_not_an_allocation() {
        let mut bytes = framed(&[b"x"]);
        bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(scan(&bytes), (Vec::new(), 0));
    }
}
