//! The decoder over arbitrary bytes, at every protocol level: it must never panic,
//! every packet it accepts must encode, and the encoding must decode to the same
//! packet.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mosquitto::protocol::decoder::{encode, Decoded, Decoder};
use mosquitto::protocol::packet::ProtocolVersion;

fuzz_target!(|data: &[u8]| {
    for version in [
        ProtocolVersion::V31,
        ProtocolVersion::V311,
        ProtocolVersion::V5,
    ] {
        let mut decoder = Decoder {
            max_packet_size: 0,
            version,
        };
        let mut at = 0;
        // The input is a stream: decode packets from it until it runs out or fails.
        while let Ok(Decoded::Packet { packet, consumed }) = decoder.decode(&data[at..]) {
            assert!(consumed >= 2 && consumed <= data.len() - at);
            let mut again = Vec::new();
            encode(&packet, version, &mut again).expect("a decoded packet encodes");
            assert_eq!(
                decoder.decode(&again),
                Ok(Decoded::Packet {
                    packet,
                    consumed: again.len()
                })
            );
            at += consumed;
        }
    }
});
