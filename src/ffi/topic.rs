//! Topic checks, matching and splitting, for C callers.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use super::boundary::{code_of, guard};
use super::message::malloc_with_nul;
use crate::error::{Error, SUCCESS};
use crate::protocol::topic;

/// The bytes of a NUL-terminated C string, or `None` for NULL.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string that outlives the returned slice.
unsafe fn c_bytes<'a>(text: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: non-NULL `text` is NUL-terminated, as the caller promises.
    (!text.is_null()).then(|| unsafe { CStr::from_ptr(text) }.to_bytes())
}

/// The bytes of a buffer with a length, or `None` for NULL.
///
/// # Safety
/// `text` is NULL or points to `len` readable bytes.
unsafe fn sized_bytes<'a>(text: *const c_char, len: usize) -> Option<&'a [u8]> {
    // SAFETY: non-NULL `text` holds `len` bytes, as the caller promises.
    (!text.is_null()).then(|| unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) })
}

/// Splits a topic or filter into its levels at each `/`.
///
/// On success `*topics` points to a `malloc`ed array of `*count` strings, one per
/// level; an empty level (as around the `/` of "/a") is a NULL entry. Free it all
/// with `mosquitto_sub_topic_tokens_free`. The topic is not validated. The empty
/// string gives one NULL level. `subtopic`, `topics` and `count` must not be NULL.
/// Returns `MOSQ_ERR_SUCCESS`, `MOSQ_ERR_INVAL` or `MOSQ_ERR_NOMEM` (nothing
/// written).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_sub_topic_tokenise(
    subtopic: *const c_char,
    topics: *mut *mut *mut c_char,
    count: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: `subtopic` is NULL or a C string from the caller.
        let Some(text) = (unsafe { c_bytes(subtopic) }) else {
            return Error::Inval.code();
        };
        if topics.is_null() || count.is_null() {
            return Error::Inval.code();
        }
        let levels = topic::levels(text);
        let Ok(level_count) = c_int::try_from(levels.len()) else {
            return Error::Inval.code();
        };
        let Some(array) = malloc_levels(&levels) else {
            return Error::NoMem.code();
        };
        // SAFETY: both out-pointers are non-NULL and writable.
        unsafe {
            *topics = array;
            *count = level_count;
        }
        SUCCESS
    })
}

/// A `malloc`ed array of `malloc`ed level strings (NULL for empty levels).
fn malloc_levels(levels: &[&[u8]]) -> Option<*mut *mut c_char> {
    // SAFETY: calloc with a non-zero count; the result is checked for NULL.
    let array = unsafe { libc::calloc(levels.len().max(1), size_of::<*mut c_char>()) }
        .cast::<*mut c_char>();
    if array.is_null() {
        return None;
    }
    for (index, level) in levels.iter().enumerate() {
        if level.is_empty() {
            continue;
        }
        match malloc_with_nul(level) {
            // SAFETY: `index` is within the array of `levels.len()` entries.
            Some(copy) => unsafe { *array.add(index) = copy },
            None => {
                // SAFETY: the array and the entries made so far came from malloc.
                unsafe { free_levels(array, index) };
                return None;
            }
        }
    }
    Some(array)
}

/// Frees the first `count` entries of a level array, then the array.
///
/// # Safety
/// `array` and its first `count` entries are NULL or `malloc`ed, and unused after.
unsafe fn free_levels(array: *mut *mut c_char, count: usize) {
    for index in 0..count {
        // SAFETY: each entry is NULL or malloc'ed, as promised.
        unsafe { libc::free((*array.add(index)).cast()) };
    }
    // SAFETY: the array itself came from malloc.
    unsafe { libc::free(array.cast()) };
}

/// Frees what `mosquitto_sub_topic_tokenise` returned and sets `*topics` to NULL.
///
/// `count` must be the count tokenise gave. Returns `MOSQ_ERR_INVAL` when
/// `topics` or `*topics` is NULL or `count` is below 1, else `MOSQ_ERR_SUCCESS`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_sub_topic_tokens_free(
    topics: *mut *mut *mut c_char,
    count: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: `topics`, when non-NULL, points to the caller's array pointer.
        if topics.is_null() || unsafe { (*topics).is_null() } || count < 1 {
            return Error::Inval.code();
        }
        // SAFETY: the array came from tokenise with `count` entries, and the caller
        // gives it up here.
        unsafe {
            free_levels(*topics, count as usize);
            *topics = std::ptr::null_mut();
        }
        SUCCESS
    })
}

/// Decides whether `topic` matches the subscription filter `sub`, writing the
/// answer to `*result`.
///
/// A topic starting with `$` is only matched by a filter starting with `$`.
/// Returns `MOSQ_ERR_SUCCESS`, or `MOSQ_ERR_INVAL` when an argument is NULL or
/// empty, or the filter or topic is malformed (`*result` is then left alone).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_topic_matches_sub(
    sub: *const c_char,
    topic: *const c_char,
    result: *mut bool,
) -> c_int {
    guard(|| {
        // SAFETY: `sub` and `topic` are NULL or C strings from the caller.
        let (filter, name) = unsafe { (c_bytes(sub), c_bytes(topic)) };
        // SAFETY: `result` is NULL or points to a writable bool.
        unsafe { write_match(filter, name, result) }
    })
}

/// Like `mosquitto_topic_matches_sub`, for strings with known lengths. Both
/// strings must still be NUL-terminated or at least `sublen`/`topiclen` bytes
/// long; each is read up to its length or its first NUL, whichever comes first.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_topic_matches_sub2(
    sub: *const c_char,
    sublen: usize,
    topic: *const c_char,
    topiclen: usize,
    result: *mut bool,
) -> c_int {
    guard(|| {
        // SAFETY: the caller promises `sublen` and `topiclen` readable bytes.
        let (filter, name) = unsafe { (sized_bytes(sub, sublen), sized_bytes(topic, topiclen)) };
        let (filter, name) = (filter.map(up_to_nul), name.map(up_to_nul));
        // SAFETY: `result` is NULL or points to a writable bool.
        unsafe { write_match(filter, name, result) }
    })
}

/// # Safety
/// `result` is NULL or points to a writable bool.
unsafe fn write_match(filter: Option<&[u8]>, name: Option<&[u8]>, result: *mut bool) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { write_answer(filter, name, result, topic::matches) }
}

/// Like `mosquitto_topic_matches_sub`, where a level of `sub` that is exactly
/// `%c` stands for `clientid` and one that is exactly `%u` for `username` (a
/// level such as `%count` is taken literally). A NULL or empty id or username,
/// or one holding `/`, `+` or `#`, makes its levels match nothing. New in
/// libmosquitto 2.1.
///
/// Returns `MOSQ_ERR_SUCCESS`, or `MOSQ_ERR_INVAL` when `sub`, `topic` or
/// `result` is NULL, or `sub` or `topic` is empty or malformed (`*result` is
/// then left alone).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_topic_matches_sub_with_pattern(
    sub: *const c_char,
    topic: *const c_char,
    clientid: *const c_char,
    username: *const c_char,
    result: *mut bool,
) -> c_int {
    guard(|| {
        let pattern = [clientid, username];
        // SAFETY: the caller's strings and `result`, as documented.
        unsafe { write_pattern_answer(sub, topic, pattern, result, topic::matches_with_pattern) }
    })
}

/// Decides whether every topic the subscription filter `sub` can match is also
/// matched by the filter `acl` (both may hold `+` and `#`), writing the answer
/// to `*result`: `$SYS/broker/#` is inside `$SYS/#`, not inside
/// `$SYS/broker/uptime`. A filter starting with `$` only covers, and is only
/// covered by, one starting with `$`. New in libmosquitto 2.1.
///
/// Returns `MOSQ_ERR_SUCCESS`, or `MOSQ_ERR_INVAL` when an argument is NULL, or
/// a filter is empty or malformed (`*result` is then left alone).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_sub_matches_acl(
    acl: *const c_char,
    sub: *const c_char,
    result: *mut bool,
) -> c_int {
    guard(|| {
        // SAFETY: `acl` and `sub` are NULL or C strings from the caller.
        let (acl, sub) = unsafe { (c_bytes(acl), c_bytes(sub)) };
        // SAFETY: `result` is NULL or points to a writable bool.
        unsafe { write_answer(acl, sub, result, topic::covers) }
    })
}

/// As `mosquitto_sub_matches_acl`, where a level of `acl` that is exactly `%c`
/// stands for `clientid` and one that is exactly `%u` for `username`, as in
/// `mosquitto_topic_matches_sub_with_pattern`: `sensors/%c/+` with client id
/// `kitchen` covers `sensors/kitchen/temperature`. New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_sub_matches_acl_with_pattern(
    acl: *const c_char,
    sub: *const c_char,
    clientid: *const c_char,
    username: *const c_char,
    result: *mut bool,
) -> c_int {
    guard(|| {
        let pattern = [clientid, username];
        // SAFETY: the caller's strings and `result`, as documented.
        unsafe { write_pattern_answer(acl, sub, pattern, result, topic::covers_with_pattern) }
    })
}

/// `write_answer` for the pattern functions: `pattern` holds the client id and
/// username that the `%c` and `%u` levels stand for.
///
/// # Safety
/// Every string is NULL or a C string; `result` is NULL or a writable bool.
unsafe fn write_pattern_answer(
    first: *const c_char,
    second: *const c_char,
    [clientid, username]: [*const c_char; 2],
    result: *mut bool,
    decide: fn(&[u8], &[u8], topic::PatternValues) -> crate::error::Result<bool>,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe {
        let values = topic::PatternValues {
            client_id: c_bytes(clientid),
            username: c_bytes(username),
        };
        write_answer(c_bytes(first), c_bytes(second), result, |a, b| {
            decide(a, b, values)
        })
    }
}

/// Answers a question about two filters (or a filter and a topic) through
/// `result`: `MOSQ_ERR_INVAL` for a NULL argument or whatever `decide` refuses.
///
/// # Safety
/// `result` is NULL or points to a writable bool.
unsafe fn write_answer(
    first: Option<&[u8]>,
    second: Option<&[u8]>,
    result: *mut bool,
    decide: impl FnOnce(&[u8], &[u8]) -> crate::error::Result<bool>,
) -> c_int {
    let (Some(first), Some(second), false) = (first, second, result.is_null()) else {
        return Error::Inval.code();
    };
    match decide(first, second) {
        Ok(answer) => {
            // SAFETY: `result` is non-NULL and writable, as promised.
            unsafe { *result = answer };
            SUCCESS
        }
        Err(error) => error.code(),
    }
}

/// Checks a topic name for publishing: no `+` or `#`, at most 65535 bytes.
/// The UTF-8 is not checked here (see `mosquitto_validate_utf8`), and the empty
/// string passes. Returns `MOSQ_ERR_SUCCESS`, or `MOSQ_ERR_INVAL` (also for NULL).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_pub_topic_check(topic: *const c_char) -> c_int {
    // SAFETY: `topic` is NULL or a C string from the caller.
    guard(|| checked(unsafe { c_bytes(topic) }, topic::check_publish_syntax))
}

/// `mosquitto_pub_topic_check` for the `topiclen` bytes at `topic`, which need
/// not be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_pub_topic_check2(
    topic: *const c_char,
    topiclen: usize,
) -> c_int {
    guard(|| {
        // SAFETY: `topic` is NULL or holds `topiclen` bytes.
        let bytes = unsafe { sized_bytes(topic, topiclen) };
        checked(bytes, topic::check_publish_syntax)
    })
}

/// Checks a subscription filter: `+` and `#` only as whole levels, `#` only as
/// the last level, at most 65535 bytes. The UTF-8 is not checked here, and the
/// empty string passes. Returns `MOSQ_ERR_SUCCESS`, or `MOSQ_ERR_INVAL` (also for
/// NULL).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_sub_topic_check(topic: *const c_char) -> c_int {
    // SAFETY: `topic` is NULL or a C string from the caller.
    guard(|| checked(unsafe { c_bytes(topic) }, topic::check_filter_syntax))
}

/// `mosquitto_sub_topic_check` for the `topiclen` bytes at `topic`, which need
/// not be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_sub_topic_check2(
    topic: *const c_char,
    topiclen: usize,
) -> c_int {
    guard(|| {
        // SAFETY: `topic` is NULL or holds `topiclen` bytes.
        let bytes = unsafe { sized_bytes(topic, topiclen) };
        checked(bytes, topic::check_filter_syntax)
    })
}

/// The bytes before the first NUL, or all of them.
fn up_to_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn checked(text: Option<&[u8]>, check: fn(&[u8]) -> crate::error::Result<()>) -> c_int {
    match text {
        Some(bytes) => code_of(check(bytes)),
        None => Error::Inval.code(),
    }
}
