//! The property list parser over arbitrary bytes, as each packet type would read
//! it: no panics, and every list it accepts writes back to a list that reads equal.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mosquitto::protocol::codec::Reader;
use mosquitto::protocol::packet::*;
use mosquitto::protocol::property_codec::{read_properties, write_properties};

const COMMANDS: [u8; 13] = [
    CMD_WILL,
    CMD_CONNECT,
    CMD_CONNACK,
    CMD_PUBLISH,
    CMD_PUBACK,
    CMD_PUBREC,
    CMD_PUBREL,
    CMD_PUBCOMP,
    CMD_SUBSCRIBE,
    CMD_SUBACK,
    CMD_UNSUBSCRIBE,
    CMD_UNSUBACK,
    CMD_DISCONNECT,
];

fuzz_target!(|data: &[u8]| {
    for command in COMMANDS.into_iter().chain([CMD_AUTH]) {
        let mut reader = Reader::new(data);
        if let Ok(properties) = read_properties(&mut reader, command) {
            let mut out = Vec::new();
            write_properties(&mut out, &properties).expect("a read list writes");
            let mut again = Reader::new(&out);
            assert_eq!(read_properties(&mut again, command), Ok(properties));
            assert!(again.is_empty());
        }
    }
});
