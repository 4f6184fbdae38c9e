//! WebSocket frames (RFC 6455 section 5) as MQTT uses them: a byte stream in
//! binary frames. Frames are never held whole: a frame's payload is moved to
//! the caller as it arrives, so a frame header announcing any length costs no
//! memory, a packet may span frames and a frame may hold several packets.
//! Control frames (at most 125 bytes) are the only ones gathered.

use std::io::{Cursor, IoSlice};

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use super::websocket::WebSocketError;

/// The longest frame header: 2 bytes, an 8-byte length and a 4-byte mask.
const MAX_HEADER: usize = 14;
/// The longest control frame payload.
const MAX_CONTROL: usize = 125;
/// RFC 6455: the most significant bit of a 64-bit length must be 0.
const MAX_LENGTH: u64 = i64::MAX as u64;

/// A control frame the server sent, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlFrame {
    Ping(Vec<u8>),
    /// A close frame's status code (if any) and reason.
    Close(Option<u16>, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a frame header (`header[..header_len]` so far).
    Header,
    /// This many payload bytes of a binary or continuation frame are to come.
    Data(u64),
    /// Gathering a control frame's payload: this many bytes are to come.
    Control(Control, usize),
}

/// Reads the frames a server sends.
#[derive(Debug)]
pub struct FrameReader {
    state: State,
    header: [u8; MAX_HEADER],
    header_len: usize,
    control: Vec<u8>,
    /// A fragmented binary message is under way: continuation frames follow.
    in_message: bool,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader {
            state: State::Header,
            header: [0; MAX_HEADER],
            header_len: 0,
            control: Vec::new(),
            in_message: false,
        }
    }
}

impl FrameReader {
    /// Takes the frames in `buf[from..]` and moves their binary payload, in
    /// order, to the front of `buf`; returns its length. Each whole control
    /// frame goes to `control`; the bytes after a close frame are not read.
    pub fn unframe(
        &mut self,
        buf: &mut [u8],
        from: usize,
        mut control: impl FnMut(ControlFrame),
    ) -> Result<usize, WebSocketError> {
        let mut read = from;
        let mut written = 0;
        while read < buf.len() {
            match self.state {
                State::Header => read += self.take_header(&buf[read..])?,
                State::Data(left) => {
                    let n = left.min((buf.len() - read) as u64) as usize;
                    buf.copy_within(read..read + n, written);
                    read += n;
                    written += n;
                    self.state = next_data(left - n as u64);
                }
                State::Control(kind, left) => {
                    let n = left.min(buf.len() - read);
                    self.control.extend_from_slice(&buf[read..read + n]);
                    read += n;
                    self.state = State::Control(kind, left - n);
                }
            }
            if let State::Control(kind, 0) = self.state {
                self.state = State::Header;
                let payload = std::mem::take(&mut self.control);
                match kind {
                    Control::Ping => control(ControlFrame::Ping(payload)),
                    Control::Close => {
                        control(close_frame(&payload));
                        return Ok(written);
                    }
                    // Unsolicited pongs are allowed and mean nothing.
                    _ => {}
                }
            }
        }
        Ok(written)
    }

    /// Adds header bytes from `bytes`; returns how many it used. Once the
    /// header is whole, the frame's payload state starts.
    fn take_header(&mut self, bytes: &[u8]) -> Result<usize, WebSocketError> {
        let had = self.header_len;
        let n = bytes.len().min(MAX_HEADER - had);
        self.header[had..had + n].copy_from_slice(&bytes[..n]);
        let mut cursor = Cursor::new(&self.header[..had + n]);
        let parsed = FrameHeader::parse(&mut cursor)
            .map_err(|_| WebSocketError::BadOpcode(self.header[0] & 0x0F))?;
        let Some((header, length)) = parsed else {
            self.header_len = had + n;
            return Ok(n);
        };
        let used = cursor.position() as usize - had;
        self.header_len = 0;
        self.start_frame(&header, length)?;
        Ok(used)
    }

    fn start_frame(&mut self, header: &FrameHeader, length: u64) -> Result<(), WebSocketError> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(WebSocketError::ReservedBits);
        }
        if header.mask.is_some() {
            return Err(WebSocketError::MaskedFrame);
        }
        if length > MAX_LENGTH {
            return Err(WebSocketError::LengthTooLarge(length));
        }
        self.state = match header.opcode {
            OpCode::Data(Data::Binary) if !self.in_message => {
                self.in_message = !header.is_final;
                next_data(length)
            }
            OpCode::Data(Data::Continue) if self.in_message => {
                self.in_message = !header.is_final;
                next_data(length)
            }
            OpCode::Data(Data::Continue) => return Err(WebSocketError::UnexpectedContinuation),
            OpCode::Data(Data::Binary) => return Err(WebSocketError::ExpectedContinuation),
            OpCode::Data(Data::Text) => return Err(WebSocketError::TextFrame),
            OpCode::Control(kind) => {
                if !header.is_final || length > MAX_CONTROL as u64 {
                    return Err(WebSocketError::BadControlFrame);
                }
                State::Control(kind, length as usize)
            }
            OpCode::Data(Data::Reserved(code)) => return Err(WebSocketError::BadOpcode(code)),
        };
        Ok(())
    }
}

/// After a data frame's payload: the next header, or more payload.
fn next_data(left: u64) -> State {
    if left == 0 {
        State::Header
    } else {
        State::Data(left)
    }
}

fn close_frame(payload: &[u8]) -> ControlFrame {
    match payload {
        [hi, lo, reason @ ..] => ControlFrame::Close(
            Some(u16::from_be_bytes([*hi, *lo])),
            String::from_utf8_lossy(reason).into_owned(),
        ),
        _ => ControlFrame::Close(None, String::new()),
    }
}

/// Appends one masked binary frame holding all of `bufs` to `out`.
pub fn write_binary(out: &mut Vec<u8>, bufs: &[IoSlice<'_>]) {
    let length: usize = bufs.iter().map(|b| b.len()).sum();
    let start = write_header(out, OpCode::Data(Data::Binary), length);
    for buf in bufs {
        out.extend_from_slice(buf);
    }
    mask_from(out, start);
}

/// Appends one masked control frame (ping, pong or close; at most 125 bytes).
pub fn write_control(out: &mut Vec<u8>, kind: Control, payload: &[u8]) {
    let payload = &payload[..payload.len().min(MAX_CONTROL)];
    let start = write_header(out, OpCode::Control(kind), payload.len());
    out.extend_from_slice(payload);
    mask_from(out, start);
}

/// Writes a final frame's header with a fresh random mask (RFC 6455 wants
/// each client frame masked with an unpredictable key); returns where the
/// payload starts.
fn write_header(out: &mut Vec<u8>, opcode: OpCode, length: usize) -> usize {
    let header = FrameHeader {
        is_final: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: Some(rand::random()),
    };
    // Formatting into a Vec cannot fail.
    let _ = header.format(length as u64, out);
    out.len()
}

/// Masks `out[start..]` with the 4 bytes before it (the header's mask).
fn mask_from(out: &mut [u8], start: usize) {
    let mut mask = [0u8; 4];
    mask.copy_from_slice(&out[start - 4..start]);
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let payload = &mut out[start..];
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or_default()) ^ wide;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unframes `bytes` fed in pieces of `step`; the payload and control frames.
    fn unframe_in_steps(
        bytes: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, Vec<ControlFrame>), WebSocketError> {
        let mut reader = FrameReader::default();
        let mut payload = Vec::new();
        let mut controls = Vec::new();
        for piece in bytes.chunks(step) {
            let mut buf = piece.to_vec();
            let n = reader.unframe(&mut buf, 0, |c| controls.push(c))?;
            payload.extend_from_slice(&buf[..n]);
        }
        Ok((payload, controls))
    }

    /// Unmasks a frame we wrote: its opcode byte and payload.
    fn unmask(frame: &[u8]) -> (u8, Vec<u8>) {
        let (len, at) = match frame[1] & 0x7F {
            126 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(frame[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        assert_eq!(frame[1] & 0x80, 0x80, "client frames are masked");
        let mask = &frame[at..at + 4];
        let payload = frame[at + 4..at + 4 + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        (frame[0], payload)
    }

    #[test]
    fn frames_split_at_every_byte_give_the_same_stream() {
        let mut bytes = vec![0x82, 3, 1, 2, 3];
        bytes.extend_from_slice(&[0x89, 2, b'h', b'i']);
        bytes.extend_from_slice(&[0x82, 126, 0, 200]);
        bytes.extend(std::iter::repeat_n(7u8, 200));
        for step in 1..bytes.len() {
            let (payload, controls) = unframe_in_steps(&bytes, step).unwrap();
            assert_eq!(payload.len(), 203);
            assert_eq!(&payload[..3], &[1, 2, 3]);
            assert_eq!(controls, vec![ControlFrame::Ping(b"hi".to_vec())]);
        }
    }

    #[test]
    fn a_fragmented_message_is_joined_and_a_stray_continuation_refused() {
        let bytes = [0x02, 2, b'a', b'b', 0x00, 1, b'c', 0x80, 1, b'd'];
        assert_eq!(unframe_in_steps(&bytes, 64).unwrap().0, b"abcd");
        assert_eq!(
            unframe_in_steps(&[0x80, 1, b'x'], 64),
            Err(WebSocketError::UnexpectedContinuation)
        );
        assert_eq!(
            unframe_in_steps(&[0x02, 1, b'a', 0x82, 1, b'b'], 64),
            Err(WebSocketError::ExpectedContinuation)
        );
    }

    #[test]
    fn a_huge_length_is_streamed_and_one_with_the_top_bit_set_refused() {
        let mut sixteen_mib = vec![0x82, 127];
        sixteen_mib.extend_from_slice(&(16u64 << 20).to_be_bytes());
        sixteen_mib.extend_from_slice(b"xyz");
        let mut reader = FrameReader::default();
        let n = reader.unframe(&mut sixteen_mib, 0, |_| {}).unwrap();
        assert_eq!(&sixteen_mib[..n], b"xyz");
        assert_eq!(reader.state, State::Data((16 << 20) - 3));
        let mut top = vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            unframe_in_steps(&top.clone(), 64),
            Err(WebSocketError::LengthTooLarge(1 << 63))
        );
        top[0] = 0x81;
        top[2] = 0;
        assert_eq!(unframe_in_steps(&top, 64), Err(WebSocketError::TextFrame));
    }

    #[test]
    fn masked_reserved_text_and_long_control_frames_are_refused() {
        assert_eq!(
            unframe_in_steps(&[0x82, 0x81, 1, 2, 3, 4, 5], 64),
            Err(WebSocketError::MaskedFrame)
        );
        assert_eq!(
            unframe_in_steps(&[0xC2, 0], 64),
            Err(WebSocketError::ReservedBits)
        );
        assert_eq!(
            unframe_in_steps(&[0x81, 0], 64),
            Err(WebSocketError::TextFrame)
        );
        assert_eq!(
            unframe_in_steps(&[0x89, 126, 0, 126], 64),
            Err(WebSocketError::BadControlFrame)
        );
        assert_eq!(
            unframe_in_steps(&[0x09, 0], 64),
            Err(WebSocketError::BadControlFrame)
        );
        assert_eq!(
            unframe_in_steps(&[0x83, 0], 64),
            Err(WebSocketError::BadOpcode(3))
        );
    }

    #[test]
    fn a_close_frame_ends_reading_and_keeps_the_payload_before_it() {
        let mut bytes = vec![
            0x82, 2, b'o', b'k', 0x88, 4, 0x03, 0xE8, b'b', b'y', 0x82, 1, b'x',
        ];
        let mut reader = FrameReader::default();
        let mut controls = Vec::new();
        let n = reader.unframe(&mut bytes, 0, |c| controls.push(c)).unwrap();
        assert_eq!(&bytes[..n], b"ok");
        assert_eq!(controls, vec![ControlFrame::Close(Some(1000), "by".into())]);
    }

    #[test]
    fn frames_we_write_are_masked_binary_or_control_frames() {
        let mut out = Vec::new();
        let big = vec![9u8; 70_000];
        write_binary(&mut out, &[IoSlice::new(b"ab"), IoSlice::new(&big)]);
        let (op, payload) = unmask(&out);
        assert_eq!(op, 0x82);
        assert_eq!(payload.len(), 70_002);
        assert_eq!(&payload[..3], &[b'a', b'b', 9]);
        assert!(payload[2..].iter().all(|&b| b == 9));
        let mut pong = Vec::new();
        write_control(&mut pong, Control::Pong, b"hello!!!!");
        assert_eq!(unmask(&pong), (0x8A, b"hello!!!!".to_vec()));
    }
}
