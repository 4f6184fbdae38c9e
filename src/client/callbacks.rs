//! The program's callbacks, as the client loop sees them.
//!
//! Each slot holds a shared Rust closure; the FFI layer wraps the C function
//! pointer a program registers, so this layer never touches C types. A client
//! stores only the set slots (`CallbackSlots`); the loop unpacks a copy of them
//! out of the lock, once per batch of notices and again only after a change, and
//! calls the closures with no lock held, so a callback may call any client
//! function, including the `*_callback_set` family, without deadlocking.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::protocol::packet::Publish;
use crate::protocol::property::Properties;

/// `on_connect(rc)`: the CONNACK's return code (or reason code).
pub type OnConnect = Arc<dyn Fn(i32) + Send + Sync>;
/// `on_connect_with_flags(rc, flags)`: flags is the CONNACK's session-present flag.
pub type OnConnectWithFlags = Arc<dyn Fn(i32, i32) + Send + Sync>;
/// `on_connect_v5(rc, flags, properties)`.
pub type OnConnectV5 = Arc<dyn Fn(i32, i32, &Properties) + Send + Sync>;
/// `on_disconnect(rc)`: 0 after `mosquitto_disconnect`, otherwise why the link ended.
pub type OnDisconnect = Arc<dyn Fn(i32) + Send + Sync>;
/// `on_disconnect_v5(rc, properties)`.
pub type OnDisconnectV5 = Arc<dyn Fn(i32, &Properties) + Send + Sync>;
/// `on_publish(mid)`: an outgoing message finished its QoS flow.
pub type OnPublish = Arc<dyn Fn(i32) + Send + Sync>;
/// `on_publish_v5(mid, reason_code, properties)`.
pub type OnPublishV5 = Arc<dyn Fn(i32, i32, &Properties) + Send + Sync>;
/// `on_message(message)` and `on_message_v5(message)`: the message's own
/// properties travel in `Publish::properties`. Lent mutably so the C layer can
/// put a NUL after topic and payload in place (and take it off again).
pub type OnMessage = Arc<dyn Fn(&mut Publish) + Send + Sync>;
/// `on_subscribe(mid, granted_qos)`.
pub type OnSubscribe = Arc<dyn Fn(i32, &[i32]) + Send + Sync>;
/// `on_subscribe_v5(mid, granted_qos, properties)`.
pub type OnSubscribeV5 = Arc<dyn Fn(i32, &[i32], &Properties) + Send + Sync>;
/// `on_unsubscribe(mid)`.
pub type OnUnsubscribe = Arc<dyn Fn(i32) + Send + Sync>;
/// `on_unsubscribe_v5(mid, properties)`.
pub type OnUnsubscribeV5 = Arc<dyn Fn(i32, &Properties) + Send + Sync>;
/// `on_unsubscribe2_v5(mid, reason_codes, properties)` (libmosquitto 2.1): one
/// code per UNSUBACK reason byte over MQTT 5, none before.
pub type OnUnsubscribe2V5 = Arc<dyn Fn(i32, &[i32], &Properties) + Send + Sync>;
/// `on_pre_connect()` (libmosquitto 2.1): just before each connection attempt.
pub type OnPreConnect = Arc<dyn Fn() + Send + Sync>;
/// `on_log(level, message)`: level is a `MOSQ_LOG_*` bit.
pub type OnLog = Arc<dyn Fn(i32, &str) + Send + Sync>;

/// The sixteen callback slots, all empty on a new client. libmosquitto calls
/// every set variant of an event (e.g. both `on_connect` and `on_connect_v5`),
/// so the loop must too.
#[derive(Clone, Default)]
pub struct Callbacks {
    pub on_connect: Option<OnConnect>,
    pub on_connect_with_flags: Option<OnConnectWithFlags>,
    pub on_connect_v5: Option<OnConnectV5>,
    pub on_disconnect: Option<OnDisconnect>,
    pub on_disconnect_v5: Option<OnDisconnectV5>,
    pub on_publish: Option<OnPublish>,
    pub on_publish_v5: Option<OnPublishV5>,
    pub on_message: Option<OnMessage>,
    pub on_message_v5: Option<OnMessage>,
    pub on_subscribe: Option<OnSubscribe>,
    pub on_subscribe_v5: Option<OnSubscribeV5>,
    pub on_unsubscribe: Option<OnUnsubscribe>,
    pub on_unsubscribe_v5: Option<OnUnsubscribeV5>,
    pub on_unsubscribe2_v5: Option<OnUnsubscribe2V5>,
    pub on_pre_connect: Option<OnPreConnect>,
    pub on_log: Option<OnLog>,
}

impl fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |slot: bool| if slot { "set" } else { "-" };
        f.debug_struct("Callbacks")
            .field("on_connect", &set(self.on_connect.is_some()))
            .field(
                "on_connect_with_flags",
                &set(self.on_connect_with_flags.is_some()),
            )
            .field("on_connect_v5", &set(self.on_connect_v5.is_some()))
            .field("on_disconnect", &set(self.on_disconnect.is_some()))
            .field("on_disconnect_v5", &set(self.on_disconnect_v5.is_some()))
            .field("on_publish", &set(self.on_publish.is_some()))
            .field("on_publish_v5", &set(self.on_publish_v5.is_some()))
            .field("on_message", &set(self.on_message.is_some()))
            .field("on_message_v5", &set(self.on_message_v5.is_some()))
            .field("on_subscribe", &set(self.on_subscribe.is_some()))
            .field("on_subscribe_v5", &set(self.on_subscribe_v5.is_some()))
            .field("on_unsubscribe", &set(self.on_unsubscribe.is_some()))
            .field("on_unsubscribe_v5", &set(self.on_unsubscribe_v5.is_some()))
            .field(
                "on_unsubscribe2_v5",
                &set(self.on_unsubscribe2_v5.is_some()),
            )
            .field("on_pre_connect", &set(self.on_pre_connect.is_some()))
            .field("on_log", &set(self.on_log.is_some()))
            .finish()
    }
}

/// Versions of callback tables, unique in the process: a client takes a new one
/// at creation and at every change, so a version names one table of one client.
static VERSIONS: AtomicU64 = AtomicU64::new(0);

pub fn next_version() -> u64 {
    VERSIONS.fetch_add(1, Ordering::Relaxed) + 1
}

macro_rules! slots {
    ($($field:ident: $kind:ident($ty:ty),)*) => {
        /// One set callback slot.
        #[derive(Clone)]
        enum Slot {
            $($kind($ty),)*
        }

        /// How a client stores its callbacks: only the set slots, out of line
        /// (nothing at all while none is set), so an idle client with one
        /// callback holds one small allocation instead of the whole table. The
        /// slots are shared, so the loop's copy for a batch of notices costs one
        /// reference count however many are set.
        #[derive(Clone, Default)]
        pub struct CallbackSlots(Option<Arc<[Slot]>>);

        impl CallbackSlots {
            /// Keeps the set slots of `callbacks`.
            pub fn pack(callbacks: &Callbacks) -> CallbackSlots {
                let mut set = Vec::new();
                $(if let Some(f) = &callbacks.$field {
                    set.push(Slot::$kind(Arc::clone(f)));
                })*
                if set.is_empty() {
                    CallbackSlots(None)
                } else {
                    CallbackSlots(Some(Arc::from(set)))
                }
            }

            /// The whole table: one reference count per set slot.
            pub fn unpack(&self) -> Callbacks {
                let mut callbacks = Callbacks::default();
                for slot in self.slots() {
                    match slot {
                        $(Slot::$kind(f) => callbacks.$field = Some(Arc::clone(f)),)*
                    }
                }
                callbacks
            }

            fn slots(&self) -> &[Slot] {
                self.0.as_deref().unwrap_or(&[])
            }

            $(
                /// The slot, if set (a scan of the few set slots).
                pub fn $field(&self) -> Option<&$ty> {
                    self.slots().iter().find_map(|slot| match slot {
                        Slot::$kind(f) => Some(f),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    })
                }
            )*
        }
    };
}

slots! {
    on_connect: Connect(OnConnect),
    on_connect_with_flags: ConnectWithFlags(OnConnectWithFlags),
    on_connect_v5: ConnectV5(OnConnectV5),
    on_disconnect: Disconnect(OnDisconnect),
    on_disconnect_v5: DisconnectV5(OnDisconnectV5),
    on_publish: Publish(OnPublish),
    on_publish_v5: PublishV5(OnPublishV5),
    on_message: Message(OnMessage),
    on_message_v5: MessageV5(OnMessage),
    on_subscribe: Subscribe(OnSubscribe),
    on_subscribe_v5: SubscribeV5(OnSubscribeV5),
    on_unsubscribe: Unsubscribe(OnUnsubscribe),
    on_unsubscribe_v5: UnsubscribeV5(OnUnsubscribeV5),
    on_unsubscribe2_v5: Unsubscribe2V5(OnUnsubscribe2V5),
    on_pre_connect: PreConnect(OnPreConnect),
    on_log: Log(OnLog),
}

impl CallbackSlots {
    /// `on_publish` and `on_publish_v5`, found in one scan of the set slots
    /// (a QoS 0 publish asks for both every message). `pack` keeps the slots
    /// in the table's order, where these two come right after the connect and
    /// disconnect ones, so the scan ends at the first slot past them.
    pub fn on_publish_both(&self) -> (Option<&OnPublish>, Option<&OnPublishV5>) {
        let (mut plain, mut v5) = (None, None);
        for slot in self.slots() {
            match slot {
                Slot::Connect(_)
                | Slot::ConnectWithFlags(_)
                | Slot::ConnectV5(_)
                | Slot::Disconnect(_)
                | Slot::DisconnectV5(_) => {}
                Slot::Publish(f) => plain = Some(f),
                Slot::PublishV5(f) => {
                    v5 = Some(f);
                    break;
                }
                _ => break,
            }
        }
        (plain, v5)
    }
}

impl fmt::Debug for CallbackSlots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.unpack().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_publish_callbacks_are_found_whatever_else_is_set() {
        let on_publish: OnPublish = Arc::new(|_| {});
        let on_publish_v5: OnPublishV5 = Arc::new(|_, _, _| {});
        let on_connect: OnConnect = Arc::new(|_| {});
        let on_message: OnMessage = Arc::new(|_| {});
        let on_log: OnLog = Arc::new(|_, _| {});
        for mask in 0..32u32 {
            let set = |bit: u32| mask & (1 << bit) != 0;
            let callbacks = Callbacks {
                on_connect: set(0).then(|| on_connect.clone()),
                on_publish: set(1).then(|| on_publish.clone()),
                on_publish_v5: set(2).then(|| on_publish_v5.clone()),
                on_message: set(3).then(|| on_message.clone()),
                on_log: set(4).then(|| on_log.clone()),
                ..Callbacks::default()
            };
            let slots = CallbackSlots::pack(&callbacks);
            let (plain, v5) = slots.on_publish_both();
            assert_eq!(plain.is_some(), set(1), "mask {mask:#b}");
            assert_eq!(v5.is_some(), set(2), "mask {mask:#b}");
        }
    }
}
