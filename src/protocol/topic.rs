//! Topic names and filters: validity rules and matching.

use crate::error::Result;

/// Checks a topic name for PUBLISH: not empty, no `+` or `#`, at most 65535 bytes,
/// valid MQTT UTF-8. Errors as `mosquitto_pub_topic_check2` reports them.
pub fn check_publish(topic: &[u8]) -> Result<()> {
    todo!()
}

/// Checks a subscription filter: `+` and `#` only as whole levels, `#` only last.
/// Errors as `mosquitto_sub_topic_check2` reports them.
pub fn check_filter(filter: &[u8]) -> Result<()> {
    todo!()
}

/// Whether `topic` matches `filter`, as `mosquitto_topic_matches_sub2` decides.
pub fn matches(filter: &[u8], topic: &[u8]) -> Result<bool> {
    todo!()
}
