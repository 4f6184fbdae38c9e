//! Topic names and filters: validity rules, matching and splitting into levels.
//!
//! The `*_syntax` checks and `matches` give the answers of libmosquitto's C
//! functions, quirks included, because C programs depend on them; `check_publish`
//! and `check_filter` are the stricter checks the client applies before sending.

use crate::error::{Error, Result};
use crate::protocol::utf8;

/// The longest topic MQTT can carry: its length is a 16-bit field.
pub const MAX_TOPIC_LEN: usize = 65535;

const SINGLE_LEVEL: u8 = b'+';
const MULTI_LEVEL: u8 = b'#';
const SEPARATOR: u8 = b'/';

/// Checks a topic name for PUBLISH: not empty, no `+` or `#`, at most 65535 bytes,
/// valid MQTT UTF-8. An empty or wildcard topic is `Error::Inval`, bad UTF-8 is
/// `Error::MalformedUtf8`.
pub fn check_publish(topic: &[u8]) -> Result<()> {
    if topic.is_empty() {
        return Err(Error::Inval);
    }
    check_publish_syntax(topic)?;
    utf8::check(topic)
}

/// Checks a subscription filter: not empty, `+` and `#` only as whole levels, `#`
/// only last, at most 65535 bytes, valid MQTT UTF-8. Errors as `check_publish`.
pub fn check_filter(filter: &[u8]) -> Result<()> {
    if filter.is_empty() {
        return Err(Error::Inval);
    }
    check_filter_syntax(filter)?;
    utf8::check(filter)
}

/// `mosquitto_pub_topic_check2`: no wildcard characters and at most 65535 bytes.
/// The empty topic passes and the UTF-8 is not looked at, as in libmosquitto.
pub fn check_publish_syntax(topic: &[u8]) -> Result<()> {
    let has_wildcard = topic.iter().any(|&b| b == SINGLE_LEVEL || b == MULTI_LEVEL);
    if has_wildcard || topic.len() > MAX_TOPIC_LEN {
        return Err(Error::Inval);
    }
    Ok(())
}

/// Whether `topic` is printable ASCII without wildcards and not too long: a
/// name that passes both `check_publish_syntax` and the UTF-8 check, found in
/// one pass, eight bytes at a time (every topic sent or received is checked).
pub fn is_plain_name(topic: &[u8]) -> bool {
    if topic.len() > MAX_TOPIC_LEN {
        return false;
    }
    if topic.len() < 8 {
        return topic.iter().all(|&b| is_plain_byte(b));
    }
    let mut words = topic.chunks_exact(8);
    let whole = words.all(|word| is_plain_word(word_of(word)));
    // The last word again, overlapping the one before, covers the rest.
    whole && is_plain_word(word_of(&topic[topic.len() - 8..]))
}

fn is_plain_byte(b: u8) -> bool {
    b.wrapping_sub(0x20) < 0x5F && b != SINGLE_LEVEL && b != MULTI_LEVEL
}

fn word_of(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// `is_plain_byte` for each of the eight bytes of `w` at once. Each test sets
/// the high bit of a byte that fails it (and may set those above a failing
/// one, which does not change the answer): below 0x20, above 0x7E, `+`, `#`.
fn is_plain_word(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let above_tilde = w.wrapping_add(ONES) | w;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x;
    let plus = zero_byte(w ^ (ONES * u64::from(SINGLE_LEVEL)));
    let hash = zero_byte(w ^ (ONES * u64::from(MULTI_LEVEL)));
    (below_space | above_tilde | plus | hash) & HIGH_BITS == 0
}

/// `mosquitto_sub_topic_check2`: wildcards only as whole levels, `#` only as the
/// last level, at most 65535 bytes. The empty filter passes and the UTF-8 is not
/// looked at, as in libmosquitto.
pub fn check_filter_syntax(filter: &[u8]) -> Result<()> {
    if filter.len() > MAX_TOPIC_LEN {
        return Err(Error::Inval);
    }
    let levels: Vec<&[u8]> = filter.split(|&b| b == SEPARATOR).collect();
    let last = levels.len() - 1;
    for (index, level) in levels.iter().enumerate() {
        let has_plus = level.contains(&SINGLE_LEVEL);
        let has_hash = level.contains(&MULTI_LEVEL);
        let plus_alone = *level == [SINGLE_LEVEL];
        let hash_alone_and_last = *level == [MULTI_LEVEL] && index == last;
        if (has_plus && !plus_alone) || (has_hash && !hash_alone_and_last) {
            return Err(Error::Inval);
        }
    }
    Ok(())
}

/// Splits a filter into its levels, as `mosquitto_sub_topic_tokenise` does: one
/// entry per `/`-separated level, with empty levels kept (C sees them as NULL).
/// Nothing is validated.
pub fn levels(filter: &[u8]) -> Vec<&[u8]> {
    filter.split(|&b| b == SEPARATOR).collect()
}

/// Whether `topic` matches `filter`, as `mosquitto_topic_matches_sub2` decides.
///
/// libmosquitto walks both strings once, byte by byte, and only validates what
/// that walk reaches: an invalid filter may still give `Ok(false)` (or even
/// `Ok(true)`) when the walk stops before the bad part. C callers see exactly
/// those answers, so this function keeps them; `check_filter` is the real check.
pub fn matches(filter: &[u8], topic: &[u8]) -> Result<bool> {
    if filter.is_empty() || topic.is_empty() {
        return Err(Error::Inval);
    }
    // A topic starting with `$` (such as `$SYS/...`) is only matched by a filter
    // that itself starts with `$`, and the other way round.
    if (filter[0] == b'$') != (topic[0] == b'$') {
        return Ok(false);
    }
    Walk {
        filter,
        topic,
        f: 0,
        t: 0,
    }
    .run()
}

/// The two cursors of `matches`: `f` into the filter, `t` into the topic.
struct Walk<'a> {
    filter: &'a [u8],
    topic: &'a [u8],
    f: usize,
    t: usize,
}

impl Walk<'_> {
    fn filter_at(&self, i: usize) -> Option<u8> {
        self.filter.get(i).copied()
    }

    fn topic_done(&self) -> bool {
        self.t >= self.topic.len()
    }

    fn filter_done(&self) -> bool {
        self.f >= self.filter.len()
    }

    /// Whether the filter byte before the cursor ends a level (or there is none).
    fn starts_level(&self) -> bool {
        self.f == 0 || self.filter[self.f - 1] == SEPARATOR
    }

    fn run(mut self) -> Result<bool> {
        while !self.filter_done() {
            if !self.topic_done() && is_wildcard(self.topic[self.t]) {
                return Err(Error::Inval);
            }
            let current = self.filter[self.f];
            let same = !self.topic_done() && current == self.topic[self.t];
            if same {
                if let Some(answer) = self.step_over_equal_byte()? {
                    return Ok(answer);
                }
            } else if current == SINGLE_LEVEL {
                if let Some(answer) = self.take_single_level()? {
                    return Ok(answer);
                }
            } else if current == MULTI_LEVEL {
                return self.take_multi_level();
            } else {
                return self.settle_mismatch();
            }
        }
        // The filter ran out first: no match, but the rest of the topic must
        // still hold no wildcards.
        self.reject_wildcards_in_rest_of_topic()?;
        Ok(false)
    }

    /// Both strings have the same byte here. Returns an answer once one is known.
    fn step_over_equal_byte(&mut self) -> Result<Option<bool>> {
        // "a" matches "a/#": the topic ends exactly where the filter's "/#" begins.
        let topic_ends_here = self.t + 1 == self.topic.len();
        if topic_ends_here && &self.filter[self.f + 1..] == b"/#" {
            return Ok(Some(true));
        }
        self.f += 1;
        self.t += 1;
        if self.filter_done() && self.topic_done() {
            return Ok(Some(true));
        }
        // "a/" matches "a/+": a trailing empty level is still a level.
        if self.topic_done() && &self.filter[self.f..] == b"+" {
            if !self.starts_level() {
                return Err(Error::Inval);
            }
            return Ok(Some(true));
        }
        Ok(None)
    }

    /// The filter has `+` where the topic differs: it takes one whole topic level.
    fn take_single_level(&mut self) -> Result<Option<bool>> {
        let ends_level = matches!(self.filter_at(self.f + 1), None | Some(SEPARATOR));
        if !self.starts_level() || !ends_level {
            return Err(Error::Inval);
        }
        self.f += 1;
        while !self.topic_done() && self.topic[self.t] != SEPARATOR {
            if is_wildcard(self.topic[self.t]) {
                return Err(Error::Inval);
            }
            self.t += 1;
        }
        if self.topic_done() && self.filter_done() {
            return Ok(Some(true));
        }
        Ok(None)
    }

    /// The filter has `#` where the topic differs: it takes everything left.
    fn take_multi_level(&mut self) -> Result<bool> {
        let is_last = self.f + 1 == self.filter.len();
        if !self.starts_level() || !is_last {
            return Err(Error::Inval);
        }
        self.reject_wildcards_in_rest_of_topic()?;
        Ok(true)
    }

    /// The strings differ on an ordinary byte: no match, except for "a/b"
    /// against "a/+/#", where `#` may stand for no level at all.
    fn settle_mismatch(&mut self) -> Result<bool> {
        let after_plus = self.f > 0 && self.filter[self.f - 1] == SINGLE_LEVEL;
        if self.topic_done()
            && after_plus
            && self.filter[self.f] == SEPARATOR
            && self.filter_at(self.f + 1) == Some(MULTI_LEVEL)
        {
            return Ok(true);
        }
        let rest = &self.filter[self.f..];
        let misplaced_hash = rest
            .iter()
            .enumerate()
            .any(|(i, &b)| b == MULTI_LEVEL && i + 1 < rest.len());
        if misplaced_hash {
            return Err(Error::Inval);
        }
        Ok(false)
    }

    fn reject_wildcards_in_rest_of_topic(&self) -> Result<()> {
        if self.topic[self.t.min(self.topic.len())..]
            .iter()
            .any(|&b| is_wildcard(b))
        {
            return Err(Error::Inval);
        }
        Ok(())
    }
}

/// The client id and username that the `%c` and `%u` levels of a pattern
/// stand for (libmosquitto 2.1's `*_with_pattern` functions). `None` where the
/// program passed NULL.
#[derive(Debug, Clone, Copy, Default)]
pub struct PatternValues<'a> {
    pub client_id: Option<&'a [u8]>,
    pub username: Option<&'a [u8]>,
}

/// One level of a filter, as the coverage walk sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level<'a> {
    Exact(&'a [u8]),
    /// `+`
    AnyOne,
    /// `#`: this level and all below, or none.
    AnyBelow,
    /// A `%c`/`%u` level without a usable value: matches no level at all.
    Nothing,
}

impl<'a> Level<'a> {
    /// A level of a filter; `%c` and `%u` are looked up only when `values` is given.
    fn of(level: &'a [u8], values: Option<PatternValues<'a>>) -> Level<'a> {
        match (level, values) {
            (b"+", _) => Level::AnyOne,
            (b"#", _) => Level::AnyBelow,
            (b"%c", Some(values)) => Level::for_value(values.client_id),
            (b"%u", Some(values)) => Level::for_value(values.username),
            _ => Level::Exact(level),
        }
    }

    /// What a pattern level stands for. An empty value, or one holding `/`,
    /// `+` or `#`, is no single topic level, so it matches nothing: a client
    /// named `#` must not be granted every topic.
    fn for_value(value: Option<&'a [u8]>) -> Level<'a> {
        match value {
            Some(value)
                if !value.is_empty()
                    && !value.iter().any(|&b| b == SEPARATOR || is_wildcard(b)) =>
            {
                Level::Exact(value)
            }
            _ => Level::Nothing,
        }
    }
}

/// `mosquitto_topic_matches_sub_with_pattern`: whether `topic` matches
/// `filter`, where a level that is exactly `%c` or `%u` stands for the client
/// id or the username. Both must be non-empty and well formed (`Inval`).
pub fn matches_with_pattern(filter: &[u8], topic: &[u8], values: PatternValues) -> Result<bool> {
    if topic.is_empty() {
        return Err(Error::Inval);
    }
    check_publish_syntax(topic)?;
    // A topic is a filter without wildcards that matches only itself, so
    // "the filter matches the topic" is "the filter covers it".
    covers_with_pattern(filter, topic, values)
}

/// `mosquitto_sub_matches_acl`: whether every topic that the filter `sub` can
/// match is also matched by the filter `acl`. Both must be non-empty and well
/// formed (`Inval`).
pub fn covers(acl: &[u8], sub: &[u8]) -> Result<bool> {
    checked_covers(acl, sub, None)
}

/// `mosquitto_sub_matches_acl_with_pattern`: `covers`, with the `%c` and `%u`
/// levels of `acl` standing for the client id and username.
pub fn covers_with_pattern(acl: &[u8], sub: &[u8], values: PatternValues) -> Result<bool> {
    checked_covers(acl, sub, Some(values))
}

fn checked_covers(acl: &[u8], sub: &[u8], values: Option<PatternValues>) -> Result<bool> {
    if acl.is_empty() || sub.is_empty() {
        return Err(Error::Inval);
    }
    check_filter_syntax(acl)?;
    check_filter_syntax(sub)?;
    // `$` topics are only for filters that start with `$` as written: a `%c`
    // standing for "$SYS" does not make one.
    if (acl[0] == b'$') != (sub[0] == b'$') {
        return Ok(false);
    }
    let acl: Vec<Level> = levels(acl)
        .into_iter()
        .map(|l| Level::of(l, values))
        .collect();
    let sub: Vec<Level> = levels(sub)
        .into_iter()
        .map(|l| Level::of(l, None))
        .collect();
    Ok(levels_cover(&acl, &sub))
}

/// Whether the well-formed filter `acl` matches every topic `sub` matches,
/// level by level.
fn levels_cover(acl: &[Level], sub: &[Level]) -> bool {
    for (index, acl_level) in acl.iter().enumerate() {
        if *acl_level == Level::AnyBelow {
            // `a/#` also matches `a`, so `sub` may end right here.
            return true;
        }
        let Some(sub_level) = sub.get(index) else {
            return false;
        };
        let level_covered = match (acl_level, sub_level) {
            (Level::Nothing, _) | (_, Level::AnyBelow) => false,
            (Level::AnyOne, _) => true,
            (Level::Exact(a), Level::Exact(s)) => a == s,
            _ => false,
        };
        if !level_covered {
            return false;
        }
    }
    acl.len() == sub.len()
}

fn is_wildcard(byte: u8) -> bool {
    byte == SINGLE_LEVEL || byte == MULTI_LEVEL
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(filter: &str, topic: &str) -> Result<bool> {
        matches(filter.as_bytes(), topic.as_bytes())
    }

    #[test]
    fn the_word_at_a_time_scan_finds_any_byte_that_is_not_plain_wherever_it_is() {
        for len in 1..=24 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut topic = vec![b'a'; len];
                    topic[at] = b;
                    // Neighbours that are plain but near the edges of the range.
                    if at > 0 {
                        topic[at - 1] = b'~';
                    }
                    if at + 1 < len {
                        topic[at + 1] = b' ';
                    }
                    let bytewise = topic.iter().all(|&b| is_plain_byte(b));
                    assert_eq!(is_plain_name(&topic), bytewise, "{topic:?}");
                }
            }
        }
    }

    #[test]
    fn a_plain_name_is_one_that_passes_the_syntax_and_utf8_checks_as_printable_ascii() {
        assert!(is_plain_name(b"bench/pub"));
        assert!(is_plain_name(b""));
        assert!(is_plain_name(&[b'a'; MAX_TOPIC_LEN]));
        assert!(!is_plain_name(&[b'a'; MAX_TOPIC_LEN + 1]));
        for b in 0u8..=255 {
            let plain = is_plain_name(&[b'a', b]);
            let checked = check_publish_syntax(&[b'a', b]).is_ok()
                && crate::protocol::utf8::check(&[b'a', b]).is_ok();
            if plain {
                assert!(checked, "byte {b:#x}");
            }
            assert_eq!(plain, checked && b < 0x80, "byte {b:#x}");
        }
    }

    #[test]
    fn exact_topics_match_themselves_only() {
        assert_eq!(matched("a/b", "a/b"), Ok(true));
        assert_eq!(matched("a/b", "a/c"), Ok(false));
        assert_eq!(matched("a/b", "a/b/c"), Ok(false));
        assert_eq!(matched("a/b/c", "a/b"), Ok(false));
    }

    #[test]
    fn plus_takes_exactly_one_level() {
        assert_eq!(matched("a/+", "a/b"), Ok(true));
        assert_eq!(matched("a/+", "a/"), Ok(true));
        assert_eq!(matched("+/+", "/"), Ok(true));
        assert_eq!(matched("+", "/"), Ok(false));
        assert_eq!(matched("a/+", "a/b/c"), Ok(false));
        assert_eq!(matched("a/+/c", "a/b/c"), Ok(true));
    }

    #[test]
    fn hash_takes_the_parent_and_every_level_below() {
        assert_eq!(matched("#", "a/b/c"), Ok(true));
        assert_eq!(matched("a/#", "a"), Ok(true));
        assert_eq!(matched("a/#", "a/b/c"), Ok(true));
        assert_eq!(matched("a/+/#", "a/b"), Ok(true));
        assert_eq!(matched("/#", "/"), Ok(true));
        assert_eq!(matched("a/#", "b"), Ok(false));
    }

    #[test]
    fn dollar_topics_need_a_dollar_filter() {
        assert_eq!(matched("#", "$SYS/x"), Ok(false));
        assert_eq!(matched("+/x", "$a/x"), Ok(false));
        assert_eq!(matched("$SYS/#", "$SYS/x"), Ok(true));
        assert_eq!(matched("$SYS/x", "a"), Ok(false));
    }

    #[test]
    fn invalid_input_is_refused_where_the_walk_reaches_it() {
        assert_eq!(matched("", "a"), Err(Error::Inval));
        assert_eq!(matched("a", ""), Err(Error::Inval));
        assert_eq!(matched("a+", "ab"), Err(Error::Inval));
        assert_eq!(matched("a", "a/+"), Err(Error::Inval));
        assert_eq!(matched("a/b", "a/+"), Err(Error::Inval));
        assert_eq!(matched("#/a", "b"), Err(Error::Inval));
        // libmosquitto stops before the bad part here, and says "no match".
        assert_eq!(matched("a/b#", "x"), Ok(false));
        assert_eq!(matched("a/+/#x", "a/b"), Ok(true));
    }

    #[test]
    fn publish_syntax_refuses_wildcards_and_overlong_topics_only() {
        assert_eq!(check_publish_syntax(b""), Ok(()));
        assert_eq!(check_publish_syntax(b"a/b"), Ok(()));
        assert_eq!(check_publish_syntax(b"\xff"), Ok(()));
        assert_eq!(check_publish_syntax(b"a/+"), Err(Error::Inval));
        assert_eq!(check_publish_syntax(b"#"), Err(Error::Inval));
        assert_eq!(check_publish_syntax(&[b'a'; 65536]), Err(Error::Inval));
        assert_eq!(check_publish_syntax(&[b'a'; 65535]), Ok(()));
    }

    #[test]
    fn filter_syntax_wants_wildcards_as_whole_levels() {
        for good in ["", "#", "+", "+/+", "a/+/b", "a/#", "$SYS/#", "/"] {
            assert_eq!(check_filter_syntax(good.as_bytes()), Ok(()), "{good}");
        }
        for bad in ["a+", "+a", "a/#/b", "##", "a/b#", "#/"] {
            assert_eq!(
                check_filter_syntax(bad.as_bytes()),
                Err(Error::Inval),
                "{bad}"
            );
        }
    }

    #[test]
    fn strict_checks_also_want_content_and_utf8() {
        assert_eq!(check_publish(b""), Err(Error::Inval));
        assert_eq!(check_publish(b"a/\xff"), Err(Error::MalformedUtf8));
        assert_eq!(check_publish(b"a/b"), Ok(()));
        assert_eq!(check_filter(b""), Err(Error::Inval));
        assert_eq!(check_filter(b"a/\xff"), Err(Error::MalformedUtf8));
        assert_eq!(check_filter(b"a/+/#"), Ok(()));
    }

    #[test]
    fn levels_keep_empty_levels() {
        let split = levels(b"/a//b/");
        assert_eq!(split, vec![&b""[..], b"a", b"", b"b", b""]);
        assert_eq!(levels(b""), vec![&b""[..]]);
    }

    fn kitchen() -> PatternValues<'static> {
        PatternValues {
            client_id: Some(b"kitchen"),
            username: Some(b"bathroom"),
        }
    }

    fn pattern_matched(filter: &str, topic: &str, values: PatternValues) -> Result<bool> {
        matches_with_pattern(filter.as_bytes(), topic.as_bytes(), values)
    }

    fn covered(acl: &str, sub: &str) -> Result<bool> {
        covers(acl.as_bytes(), sub.as_bytes())
    }

    #[test]
    fn a_client_id_level_matches_that_id_only() {
        let matched = |topic| pattern_matched("sensors/%c/temperature", topic, kitchen());
        assert_eq!(matched("sensors/kitchen/temperature"), Ok(true));
        assert_eq!(matched("sensors/bathroom/temperature"), Ok(false));
        assert_eq!(matched("sensors/%c/temperature"), Ok(false));
    }

    #[test]
    fn client_id_and_username_levels_may_repeat() {
        let topic = "kitchen/kitchen/bathroom/bathroom";
        assert_eq!(pattern_matched("%c/%c/%u/%u", topic, kitchen()), Ok(true));
        assert_eq!(pattern_matched("%u/%c/%u/%u", topic, kitchen()), Ok(false));
    }

    #[test]
    fn only_a_whole_level_is_a_pattern() {
        let values = kitchen();
        assert_eq!(pattern_matched("a/%count", "a/%count", values), Ok(true));
        assert_eq!(
            pattern_matched("a/%count", "a/kitchenount", values),
            Ok(false)
        );
        assert_eq!(pattern_matched("a/x%c", "a/xkitchen", values), Ok(false));
        assert_eq!(pattern_matched("a/x%c", "a/x%c", values), Ok(true));
        assert_eq!(
            pattern_matched("a/%c%u", "a/kitchenbathroom", values),
            Ok(false)
        );
    }

    #[test]
    fn a_missing_or_unusable_value_makes_its_level_match_nothing() {
        for id in [None, Some(&b""[..]), Some(b"+"), Some(b"#"), Some(b"/")] {
            let values = PatternValues {
                client_id: id,
                username: id,
            };
            for topic in ["a/x", "a//b", "a/", "a/%c", "a/%u"] {
                assert_eq!(pattern_matched("a/%c", topic, values), Ok(false), "{id:?}");
                assert_eq!(
                    pattern_matched("a/%u/#", topic, values),
                    Ok(false),
                    "{id:?}"
                );
            }
            assert_eq!(pattern_matched("%c", "/", values), Ok(false), "{id:?}");
        }
        // Without patterns in the filter, the values do not matter.
        assert_eq!(
            pattern_matched("a/+", "a/x", PatternValues::default()),
            Ok(true)
        );
    }

    #[test]
    fn an_id_holding_a_separator_or_wildcard_is_no_level() {
        let values = PatternValues {
            client_id: Some(b"a/b"),
            username: Some(b"x+"),
        };
        assert_eq!(pattern_matched("s/%c/t", "s/a/b/t", values), Ok(false));
        assert_eq!(pattern_matched("s/%u", "s/x", values), Ok(false));
    }

    #[test]
    fn pattern_matching_keeps_the_wildcard_and_dollar_rules() {
        let values = kitchen();
        assert_eq!(pattern_matched("%c/+/#", "kitchen/a/b/c", values), Ok(true));
        assert_eq!(pattern_matched("%c/#", "kitchen", values), Ok(true));
        assert_eq!(pattern_matched("#", "$SYS/x", values), Ok(false));
        assert_eq!(pattern_matched("$SYS/%c", "$SYS/kitchen", values), Ok(true));
        let dollar_id = PatternValues {
            client_id: Some(b"$SYS"),
            username: None,
        };
        assert_eq!(pattern_matched("%c/x", "$SYS/x", dollar_id), Ok(false));
    }

    #[test]
    fn pattern_matching_refuses_empty_and_malformed_arguments() {
        let values = kitchen();
        assert_eq!(pattern_matched("", "a", values), Err(Error::Inval));
        assert_eq!(pattern_matched("a", "", values), Err(Error::Inval));
        assert_eq!(pattern_matched("a/+x", "a/b", values), Err(Error::Inval));
        assert_eq!(pattern_matched("#/a", "b/a", values), Err(Error::Inval));
        assert_eq!(pattern_matched("a/#", "a/+", values), Err(Error::Inval));
        assert_eq!(pattern_matched("a/b", "a/#", values), Err(Error::Inval));
    }

    #[test]
    fn pattern_matching_agrees_with_plain_matching_on_filters_without_patterns() {
        let filters = [
            "a/b", "a/+", "+/+", "+", "#", "a/#", "a/+/#", "/#", "$SYS/#",
        ];
        let topics = ["a/b", "a/", "/", "a", "a/b/c", "b", "$SYS/x", "//"];
        for filter in filters {
            for topic in topics {
                assert_eq!(
                    pattern_matched(filter, topic, PatternValues::default()),
                    matched(filter, topic),
                    "{filter} {topic}"
                );
            }
        }
    }

    #[test]
    fn a_narrower_subscription_is_covered_by_a_wider_acl() {
        assert_eq!(covered("$SYS/#", "$SYS/broker/#"), Ok(true));
        assert_eq!(covered("$SYS/broker/uptime", "$SYS/broker/#"), Ok(false));
        assert_eq!(covered("a/b", "a/b"), Ok(true));
        assert_eq!(covered("a/+", "a/b"), Ok(true));
        assert_eq!(covered("a/+", "a/+"), Ok(true));
        assert_eq!(covered("+/+", "a/+"), Ok(true));
        assert_eq!(covered("#", "a/+/#"), Ok(true));
        assert_eq!(covered("#", "#"), Ok(true));
        assert_eq!(covered("a/#", "a"), Ok(true));
        assert_eq!(covered("a/#", "a/#"), Ok(true));
        assert_eq!(covered("a/+/#", "a/b"), Ok(true));
        assert_eq!(covered("+/#", "a"), Ok(true));
    }

    #[test]
    fn a_wider_subscription_is_not_covered_by_a_narrower_acl() {
        assert_eq!(covered("a/b", "a/+"), Ok(false));
        assert_eq!(covered("a/b", "a/#"), Ok(false));
        assert_eq!(covered("a/+", "a/#"), Ok(false));
        assert_eq!(covered("a/+", "a/+/#"), Ok(false));
        assert_eq!(covered("+", "#"), Ok(false));
        assert_eq!(covered("a/#", "+"), Ok(false));
        assert_eq!(covered("a/#", "#"), Ok(false));
        assert_eq!(covered("a/b", "a/b/c"), Ok(false));
        assert_eq!(covered("a/b/c", "a/b"), Ok(false));
        assert_eq!(covered("+", "/"), Ok(false));
        assert_eq!(covered("a/+", "b/+"), Ok(false));
    }

    #[test]
    fn dollar_filters_cover_only_dollar_filters() {
        assert_eq!(covered("#", "$SYS/#"), Ok(false));
        assert_eq!(covered("+/#", "$SYS/x"), Ok(false));
        assert_eq!(covered("$SYS/#", "#"), Ok(false));
        assert_eq!(covered("$SYS/+", "$SYS/x"), Ok(true));
    }

    #[test]
    fn coverage_refuses_empty_and_malformed_filters() {
        assert_eq!(covered("", "a"), Err(Error::Inval));
        assert_eq!(covered("a", ""), Err(Error::Inval));
        assert_eq!(covered("a/#/b", "a"), Err(Error::Inval));
        assert_eq!(covered("a", "a+"), Err(Error::Inval));
    }

    #[test]
    fn an_acl_pattern_level_covers_the_subscription_naming_that_client() {
        let values = kitchen();
        let acl_covers = |acl: &str, sub: &str, values| {
            covers_with_pattern(acl.as_bytes(), sub.as_bytes(), values)
        };
        assert_eq!(
            acl_covers("sensors/%c/+", "sensors/kitchen/temperature", values),
            Ok(true)
        );
        assert_eq!(
            acl_covers("sensors/%c/+", "sensors/bathroom/temperature", values),
            Ok(false)
        );
        assert_eq!(
            acl_covers("sensors/%c/+", "sensors/+/temperature", values),
            Ok(false)
        );
        assert_eq!(
            acl_covers("sensors/%c/#", "sensors/kitchen/#", values),
            Ok(true)
        );
        assert_eq!(acl_covers("%u/%c", "bathroom/kitchen", values), Ok(true));
        // Only the ACL's levels are patterns.
        assert_eq!(acl_covers("sensors/+", "sensors/%c", values), Ok(true));
        assert_eq!(
            acl_covers("sensors/kitchen", "sensors/%c", values),
            Ok(false)
        );
        let nobody = PatternValues::default();
        assert_eq!(acl_covers("sensors/%c/#", "sensors/x/y", nobody), Ok(false));
        assert_eq!(
            acl_covers("sensors/%c/#", "sensors/%c/y", nobody),
            Ok(false)
        );
        assert_eq!(acl_covers("", "a", values), Err(Error::Inval));
    }
}
