//! QoS downgrade (`skeeter_max_qos_set`): a publish or subscribe above the
//! ceiling goes at the ceiling instead of failing, or of being dropped by a
//! broker that closes the connection over it without a word (AWS Greengrass
//! among them). Logged once per connection.

use super::dispatch::Work;
use super::log::MOSQ_LOG_WARNING;
use super::ClientState;

/// The highest QoS requests are sent at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QosCeiling {
    /// No downgrade (libmosquitto's behaviour).
    #[default]
    Off,
    /// This QoS, whatever the broker says.
    Fixed(u8),
    /// The Maximum QoS of the broker's MQTT 5 CONNACK (2 before MQTT 5).
    Broker,
}

impl QosCeiling {
    /// The QoS to send a request made at `qos`, given the broker's maximum.
    pub fn apply(self, qos: u8, broker_maximum: u8) -> u8 {
        match self {
            QosCeiling::Off => qos,
            QosCeiling::Fixed(ceiling) => qos.min(ceiling),
            QosCeiling::Broker => qos.min(broker_maximum),
        }
    }
}

impl ClientState {
    /// The QoS to send a request made at `qos` at, logging the first
    /// downgrade of each connection.
    pub fn allowed_qos(&mut self, qos: u8, work: &mut Work) -> u8 {
        let ceiling = self.resilience.qos_ceiling;
        // A QoS above 2 is refused later, not made valid here.
        if ceiling == QosCeiling::Off || qos > 2 {
            return qos;
        }
        let broker_maximum = self
            .session
            .as_ref()
            .map_or(2, |s| s.broker_limits().maximum_qos);
        let allowed = ceiling.apply(qos, broker_maximum);
        if allowed < qos && !self.resilience.qos_downgrade_logged {
            self.resilience.qos_downgrade_logged = true;
            work.log(MOSQ_LOG_WARNING, || {
                format!("Sending at QoS {allowed} instead of {qos}: the highest this connection allows (skeeter_max_qos_set); further downgrades on it are not logged")
            });
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Options;

    #[test]
    fn off_changes_nothing() {
        assert_eq!(QosCeiling::Off.apply(2, 0), 2);
    }

    #[test]
    fn a_fixed_ceiling_ignores_the_broker() {
        assert_eq!(QosCeiling::Fixed(1).apply(2, 0), 1);
        assert_eq!(QosCeiling::Fixed(1).apply(0, 2), 0);
    }

    #[test]
    fn the_broker_ceiling_follows_its_maximum_qos() {
        assert_eq!(QosCeiling::Broker.apply(2, 1), 1);
        assert_eq!(QosCeiling::Broker.apply(1, 2), 1);
    }

    #[test]
    fn the_first_downgrade_of_a_connection_is_logged_once() {
        let mut state = ClientState::new(Options::new(Some(b"q"), true).unwrap());
        state.resilience.qos_ceiling = QosCeiling::Fixed(0);
        let mut work = Work::new(true);
        assert_eq!(state.allowed_qos(0, &mut work), 0);
        assert_eq!(work.notices.len(), 0, "nothing downgraded, nothing logged");
        assert_eq!(state.allowed_qos(2, &mut work), 0);
        assert_eq!(state.allowed_qos(1, &mut work), 0);
        assert_eq!(work.notices.len(), 1);
        state.note_connected(std::time::SystemTime::now());
        assert_eq!(state.allowed_qos(1, &mut work), 0);
        assert_eq!(work.notices.len(), 2, "logged again on the next connection");
    }
}
