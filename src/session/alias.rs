//! Topic aliases the broker sets on PUBLISH towards us (MQTT 5). They last for one
//! network connection and are bounded by the Topic Alias Maximum we sent in CONNECT.

use super::id_map::IdMap;
use super::violation::Violation;

#[derive(Debug, Default)]
pub struct IncomingAliases {
    maximum: u16,
    topics: IdMap<String>,
}

impl IncomingAliases {
    pub fn new(maximum: u16) -> Self {
        IncomingAliases {
            maximum,
            topics: IdMap::default(),
        }
    }

    /// The topic a PUBLISH is about: its own topic (which also sets the alias when
    /// one is given) or, when its topic is empty, the topic the alias stands for.
    pub fn resolve(&mut self, alias: Option<u16>, topic: String) -> Result<String, Violation> {
        let Some(alias) = alias else {
            return if topic.is_empty() {
                Err(Violation::protocol())
            } else {
                Ok(topic)
            };
        };
        if alias == 0 || alias > self.maximum {
            return Err(Violation::topic_alias_invalid());
        }
        if topic.is_empty() {
            // An alias that was never set is a protocol error (MQTT 5, 3.3.4).
            return self.topics.get(alias).cloned().ok_or(Violation::protocol());
        }
        self.topics.insert(alias, topic.clone());
        Ok(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn a_topic_without_alias_passes_through() {
        let mut aliases = IncomingAliases::new(0);
        assert_eq!(aliases.resolve(None, "a/b".into()), Ok("a/b".into()));
    }

    #[test]
    fn an_alias_set_with_a_topic_resolves_a_later_empty_topic() {
        let mut aliases = IncomingAliases::new(10);
        assert_eq!(aliases.resolve(Some(3), "a/b".into()), Ok("a/b".into()));
        assert_eq!(aliases.resolve(Some(3), String::new()), Ok("a/b".into()));
        aliases.resolve(Some(3), "c".into()).unwrap();
        assert_eq!(aliases.resolve(Some(3), String::new()), Ok("c".into()));
    }

    #[test]
    fn alias_zero_or_above_the_maximum_is_invalid() {
        let mut aliases = IncomingAliases::new(10);
        let invalid = Violation::topic_alias_invalid();
        assert_eq!(aliases.resolve(Some(0), "a".into()), Err(invalid));
        assert_eq!(aliases.resolve(Some(11), "a".into()), Err(invalid));
        assert_eq!(invalid.error, Error::TopicAliasInvalid);
    }

    #[test]
    fn an_unknown_alias_with_an_empty_topic_is_a_protocol_error() {
        let mut aliases = IncomingAliases::new(10);
        assert_eq!(
            aliases.resolve(Some(4), String::new()),
            Err(Violation::protocol())
        );
        assert_eq!(
            aliases.resolve(None, String::new()),
            Err(Violation::protocol())
        );
    }
}
