//! The subscriptions the program made, for re-subscribing after a reconnect
//! whose broker kept no session (`skeeter_resubscribe_set`).
//!
//! Each filter is kept with its options byte and the properties of the
//! SUBSCRIBE it came in (MQTT 5 properties, the subscription identifier among
//! them, belong to a whole packet); subscribing to a filter again replaces it,
//! as the broker does, and unsubscribing forgets it. After a reconnect, the
//! filters not yet sent on this connection are sent again, those with equal
//! properties together, in as few SUBSCRIBEs as the broker's packet size allows.
//! When the broker kept the session, only the filters whose SUBSCRIBE was lost
//! before its SUBACK go again (the broker may never have seen them).

use crate::protocol::property::Properties;

/// One SUBSCRIBE to send again: filters with their options, and properties.
pub type Renewal = (Vec<(String, u8)>, Properties);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Recorded {
    filter: String,
    options: u8,
    properties: Properties,
    /// The connection it was last sent on (see `connection_started`).
    sent_on: u32,
    /// The packet id of the SUBSCRIBE that carried it last, until its SUBACK.
    unanswered: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionRecord {
    /// In the order they were made.
    entries: Vec<Recorded>,
    /// Counts connections, so a filter subscribed while this one awaits its
    /// CONNACK is not sent twice.
    connection: u32,
}

impl SubscriptionRecord {
    /// A new connection starts (its CONNECT is about to be written).
    pub fn connection_started(&mut self) {
        self.connection = self.connection.wrapping_add(1);
    }

    /// The program subscribed to `filters` with `properties` on this
    /// connection, in the SUBSCRIBE `packet_id`.
    pub fn subscribed(
        &mut self,
        filters: &[(String, u8)],
        properties: &Properties,
        packet_id: u16,
    ) {
        for (filter, options) in filters {
            self.entries.retain(|e| &e.filter != filter);
            self.entries.push(Recorded {
                filter: filter.clone(),
                options: *options,
                properties: properties.clone(),
                sent_on: self.connection,
                unanswered: Some(packet_id),
            });
        }
    }

    /// `filters` went again in the SUBSCRIBE `packet_id` (a renewal).
    pub fn sent_in(&mut self, filters: &[(String, u8)], packet_id: u16) {
        for entry in &mut self.entries {
            if filters.iter().any(|(f, _)| *f == entry.filter) {
                entry.unanswered = Some(packet_id);
            }
        }
    }

    /// The SUBACK of `packet_id` arrived: its filters are with the broker.
    pub fn answered(&mut self, packet_id: u16) {
        for entry in &mut self.entries {
            if entry.unanswered == Some(packet_id) {
                entry.unanswered = None;
            }
        }
    }

    /// The program unsubscribed from `filters`.
    pub fn unsubscribed(&mut self, filters: &[String]) {
        self.entries.retain(|e| !filters.contains(&e.filter));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The SUBSCRIBEs that make every filter not yet sent on this connection
    /// again (with `only_unanswered`, only those whose last SUBSCRIBE had no
    /// SUBACK), each passing `fits` (a single filter that does not fit still
    /// goes alone); they count as sent on it from now on.
    pub fn renewals(
        &mut self,
        only_unanswered: bool,
        fits: impl Fn(&[(String, u8)], &Properties) -> bool,
    ) -> Vec<Renewal> {
        let mut renewals: Vec<Renewal> = Vec::new();
        let connection = self.connection;
        let wanted =
            |e: &Recorded| e.sent_on != connection && (!only_unanswered || e.unanswered.is_some());
        for entry in self.entries.iter_mut().filter(|e| wanted(e)) {
            entry.sent_on = connection;
            let filter = (entry.filter.clone(), entry.options);
            // The last SUBSCRIBE with these properties takes it if it still fits.
            let open = renewals
                .iter_mut()
                .rev()
                .find(|(_, properties)| *properties == entry.properties);
            if let Some((filters, properties)) = open {
                filters.push(filter);
                if fits(filters, properties) {
                    continue;
                }
                let filter = filters.pop().expect("just pushed");
                renewals.push((vec![filter], entry.properties.clone()));
                continue;
            }
            renewals.push((vec![filter], entry.properties.clone()));
        }
        renewals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::property::{Property, PropertyValue};

    fn filters(names: &[&str], qos: u8) -> Vec<(String, u8)> {
        names.iter().map(|n| (n.to_string(), qos)).collect()
    }

    fn subscription_id(id: u32) -> Properties {
        vec![Property {
            id: 11,
            value: PropertyValue::VarInt(id),
        }]
    }

    fn anything_fits(_: &[(String, u8)], _: &Properties) -> bool {
        true
    }

    /// A record with `names` subscribed on an earlier connection.
    fn made_before_reconnect(names: &[&str]) -> SubscriptionRecord {
        let mut record = SubscriptionRecord::default();
        record.connection_started();
        record.subscribed(&filters(names, 1), &Vec::new(), 1);
        record.connection_started();
        record
    }

    #[test]
    fn every_filter_goes_again_in_one_subscribe_when_it_fits() {
        let mut record = made_before_reconnect(&["a", "b/#"]);
        assert_eq!(
            record.renewals(false, anything_fits),
            vec![(filters(&["a", "b/#"], 1), Vec::new())]
        );
    }

    #[test]
    fn renewals_are_made_once_per_connection() {
        let mut record = made_before_reconnect(&["a"]);
        assert_eq!(record.renewals(false, anything_fits).len(), 1);
        assert!(record.renewals(false, anything_fits).is_empty());
        record.connection_started();
        assert_eq!(record.renewals(false, anything_fits).len(), 1);
    }

    #[test]
    fn a_filter_subscribed_while_this_connection_starts_is_not_sent_twice() {
        let mut record = made_before_reconnect(&["old"]);
        record.subscribed(&filters(&["new"], 0), &Vec::new(), 2);
        assert_eq!(
            record.renewals(false, anything_fits),
            vec![(filters(&["old"], 1), Vec::new())]
        );
    }

    #[test]
    fn unsubscribed_filters_are_forgotten() {
        let mut record = made_before_reconnect(&["a", "b", "c"]);
        record.unsubscribed(&["b".to_string()]);
        assert_eq!(record.len(), 2);
        assert_eq!(
            record.renewals(false, anything_fits),
            vec![(filters(&["a", "c"], 1), Vec::new())]
        );
    }

    #[test]
    fn subscribing_to_a_filter_again_replaces_its_options() {
        let mut record = SubscriptionRecord::default();
        record.subscribed(&filters(&["a"], 0), &Vec::new(), 1);
        record.subscribed(&filters(&["a"], 2), &subscription_id(4), 2);
        record.connection_started();
        assert_eq!(
            record.renewals(false, anything_fits),
            vec![(filters(&["a"], 2), subscription_id(4))]
        );
    }

    #[test]
    fn filters_with_other_properties_go_in_their_own_subscribe() {
        let mut record = SubscriptionRecord::default();
        record.subscribed(&filters(&["a"], 1), &subscription_id(1), 1);
        record.subscribed(&filters(&["b"], 1), &Vec::new(), 2);
        record.subscribed(&filters(&["c", "d"], 0), &subscription_id(1), 3);
        record.connection_started();
        let mut expected_with_id = filters(&["a"], 1);
        expected_with_id.extend(filters(&["c", "d"], 0));
        assert_eq!(
            record.renewals(false, anything_fits),
            vec![
                (expected_with_id, subscription_id(1)),
                (filters(&["b"], 1), Vec::new())
            ]
        );
    }

    #[test]
    fn a_subscribe_that_would_be_too_large_is_split() {
        let mut record = made_before_reconnect(&["a", "b", "c", "d", "e"]);
        let at_most_two = |f: &[(String, u8)], _: &Properties| f.len() <= 2;
        let sizes: Vec<usize> = record
            .renewals(false, at_most_two)
            .iter()
            .map(|(f, _)| f.len())
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
    }

    #[test]
    fn with_only_unanswered_the_filters_whose_suback_came_stay_out() {
        let mut record = SubscriptionRecord::default();
        record.connection_started();
        record.subscribed(&filters(&["acked"], 1), &Vec::new(), 1);
        record.subscribed(&filters(&["lost"], 1), &Vec::new(), 2);
        record.answered(1);
        record.connection_started();
        let renewals = record.renewals(true, anything_fits);
        assert_eq!(renewals, vec![(filters(&["lost"], 1), Vec::new())]);
        record.sent_in(&renewals[0].0, 7);
        record.answered(7);
        record.connection_started();
        assert!(record.renewals(true, anything_fits).is_empty());
        assert_eq!(record.renewals(false, anything_fits).len(), 1);
    }

    #[test]
    fn a_filter_too_large_alone_still_goes_alone() {
        let mut record = made_before_reconnect(&["a", "b"]);
        let nothing_fits = |_: &[(String, u8)], _: &Properties| false;
        assert_eq!(record.renewals(false, nothing_fits).len(), 2);
    }
}
