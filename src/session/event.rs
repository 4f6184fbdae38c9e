//! What the session reports to the application: each event maps to one callback.

use crate::protocol::packet::Publish;
use crate::protocol::property::Properties;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// CONNACK accepted the connection (`on_connect`, reason 0).
    Connected {
        session_present: bool,
        properties: Properties,
    },
    /// CONNACK refused the connection (`on_connect` with the reason code).
    ConnectRefused {
        reason_code: u8,
        properties: Properties,
    },
    /// A message for the application (`on_message`), its topic already resolved
    /// from a topic alias. QoS 0 and 1 on PUBLISH; QoS 2 once, on PUBREL.
    Message(Publish),
    /// One of our messages is done (`on_publish`): QoS 0 once written, QoS 1 on
    /// PUBACK, QoS 2 on PUBCOMP, or earlier on an MQTT 5 error reason code.
    Published {
        mid: u16,
        reason_code: u8,
        properties: Properties,
    },
    /// SUBACK (`on_subscribe`): per filter, the granted QoS or a failure code.
    Subscribed {
        mid: u16,
        granted_qos: Vec<i32>,
        properties: Properties,
    },
    /// UNSUBACK (`on_unsubscribe`); no reason codes before MQTT 5.
    Unsubscribed {
        mid: u16,
        reason_codes: Vec<u8>,
        properties: Properties,
    },
    /// The broker sent DISCONNECT (MQTT 5): `on_disconnect` with its reason code.
    Disconnected {
        reason_code: u8,
        properties: Properties,
    },
    /// The broker sent PUBREC for a packet identifier we have no message for; it
    /// was answered with PUBREL all the same. No callback: a warning for the log.
    UnknownPubRec { mid: u16 },
    /// The broker sent AUTH (MQTT 5 extended authentication).
    Auth {
        reason_code: u8,
        properties: Properties,
    },

    /// The offline queue's bound dropped this waiting message (skeeter's):
    /// never sent, so never in `on_publish`; the client logs it.
    OfflineDropped { mid: u16, topic: String },
}
