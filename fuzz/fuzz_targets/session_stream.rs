//! The whole session state machine against an arbitrary "broker": bytes from the
//! input go through the decoder into `Session::handle`, interleaved with the
//! application's publish/subscribe/unsubscribe/disconnect calls, time passing
//! (`tick`), writes (`note_written`) and lost connections, as the client layer
//! drives them. Nothing may panic, every packet the session hands out must encode,
//! and what the session holds must stay bounded by what the application asked for.
//!
//! The input: one byte for the configuration, then steps. Each step is a control
//! byte whose low 3 bits choose the action; broker bytes are a length byte and that
//! many bytes.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mosquitto::protocol::decoder::{encode, Decoded, Decoder};
use mosquitto::protocol::packet::ProtocolVersion;
use mosquitto::session::{Config, Session};

/// The decoder's buffer never holds more than the input gave it.
const MAX_BUFFER: usize = 1 << 20;

struct Driver {
    /// The settings the client would lend the session at each connect.
    config: Config<'static>,
    session: Session,
    decoder: Decoder,
    buffer: Vec<u8>,
    now: Instant,
    /// QoS 1 and 2 messages the application queued, in all.
    queued: usize,
    /// Whether a connection is open (CONNECT written, not yet lost).
    open: bool,
}

impl Driver {
    fn drain(&mut self) {
        let version = self.session.protocol();
        for packet in self.session.take_outgoing() {
            let mut bytes = Vec::new();
            encode(&packet, version, &mut bytes).expect("every outgoing packet encodes");
            self.session.note_written(&packet, self.now);
        }
        self.session.take_events();
        // Bounded memory: the session holds no more messages than were queued,
        // whatever the broker sends.
        let held = self.session.in_flight_count() + self.session.waiting_count();
        assert!(held <= self.queued, "{held} messages held, {} queued", self.queued);
    }

    fn lose_connection(&mut self) {
        self.session.connection_lost();
        self.buffer.clear();
        self.open = false;
    }

    fn connect(&mut self) {
        self.lose_connection();
        let connect = self.session.connect_packet(&self.config, self.now);
        let mut bytes = Vec::new();
        encode(&connect, self.session.protocol(), &mut bytes).expect("CONNECT encodes");
        self.decoder.max_packet_size = self.session.incoming_packet_limit().unwrap_or(0);
        self.open = true;
    }

    /// Feeds broker bytes, handling every whole packet, as the client's read does.
    fn receive(&mut self, bytes: &[u8]) {
        if !self.open {
            return;
        }
        self.buffer.extend_from_slice(bytes);
        assert!(self.buffer.len() <= MAX_BUFFER);
        loop {
            match self.decoder.decode(&self.buffer) {
                Ok(Decoded::Packet { packet, consumed }) => {
                    assert!(consumed >= 2 && consumed <= self.buffer.len());
                    self.buffer.drain(..consumed);
                    let result = self.session.handle(packet, self.now);
                    self.drain();
                    if result.is_err() {
                        self.lose_connection();
                        return;
                    }
                }
                Ok(Decoded::NeedMore(n)) => {
                    assert!(n > 0);
                    return;
                }
                Err(error) => {
                    self.session.decoding_failed(error);
                    self.drain();
                    self.lose_connection();
                    return;
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, mut steps)) = data.split_first() else {
        return;
    };
    let protocol = match setup % 3 {
        0 => ProtocolVersion::V31,
        1 => ProtocolVersion::V311,
        _ => ProtocolVersion::V5,
    };
    let config = Config {
        protocol,
        client_id: Some("fuzz"),
        clean_start: setup & 0x04 != 0,
        keepalive: if setup & 0x08 != 0 { 0 } else { 5 },
        send_maximum: u16::from(setup >> 4),
        receive_maximum: u16::from(setup >> 4).max(1),
        ..Config::default()
    };
    let mut driver = Driver {
        config,
        session: Session::new(&config),
        decoder: Decoder::new(protocol),
        buffer: Vec::new(),
        now: Instant::now(),
        queued: 0,
        open: false,
    };
    driver.connect();
    driver.drain();
    while let Some((&control, rest)) = steps.split_first() {
        steps = rest;
        let arg = control >> 3;
        match control & 7 {
            0..=2 => {
                let len = steps.first().map_or(0, |&n| usize::from(n));
                let take = len.min(steps.len().saturating_sub(1));
                let bytes = steps.get(1..1 + take).unwrap_or(&[]);
                driver.receive(bytes);
                steps = &steps[(1 + take).min(steps.len())..];
            }
            3 => {
                let qos = arg % 3;
                if driver
                    .session
                    .publish("t/x".into(), vec![arg; usize::from(arg)], qos, arg & 8 != 0, Vec::new())
                    .is_ok()
                    && qos > 0
                {
                    driver.queued += 1;
                }
            }
            4 => {
                let filters = vec![("t/#".to_string(), arg % 3), ("a/+".to_string(), arg % 3)];
                let _ = driver.session.subscribe(filters, Vec::new());
                let _ = if arg & 1 != 0 {
                    driver.session.unsubscribe(vec!["t/#".into()], Vec::new())
                } else {
                    Ok(0)
                };
            }
            5 => {
                driver.now += Duration::from_millis(u64::from(arg) * 250);
                if driver.session.tick(driver.now).is_err() {
                    driver.drain();
                    driver.lose_connection();
                }
            }
            6 => {
                if arg & 1 != 0 {
                    let _ = driver.session.disconnect(0, Vec::new());
                } else {
                    driver.lose_connection();
                }
            }
            _ => driver.connect(),
        }
        driver.drain();
    }
    // Whatever happened, the session can still connect again.
    driver.connect();
    driver.drain();
});
