//! The MQTT 5 property list API.
//!
//! A list is a chain of nodes with libmosquitto's private layout (see
//! `property_node.rs`), from the C allocator; the empty list is NULL. `add_*`
//! appends a node, `read_*` finds one and copies its value out (strings and
//! binary data into `malloc`ed memory the caller frees), and `free_all` releases
//! the chain.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};

use once_cell::sync::Lazy;

use super::boundary::{code_of, guard};
use super::message::malloc_with_nul;
use super::property_node::{list_of, node_of, MqttString, PropertyNode, ValueRef};
use super::types::*;
use crate::error::{Error, Result, SUCCESS};
use crate::protocol::property::{
    self, Properties, Property, PropertyType, PropertyValue, MAX_VARINT,
};
use crate::protocol::utf8;

// ---------------------------------------------------------------------------
// Lists as the rest of the crate sees them

/// The properties of a C list, in order. NULL is the empty list.
///
/// # Safety
/// `list` is NULL or the head of a list made by this module and not yet freed.
pub(crate) unsafe fn properties_from_c(list: *const mosquitto_property) -> Result<Properties> {
    // SAFETY: forwarded from the caller.
    unsafe { nodes(list) }
        .map(PropertyNode::to_property)
        .collect()
}

/// The properties a `*_v5` call sends for `list`. A list the program built is
/// sent whole; a node of a received list stands for itself alone, as in
/// libmosquitto, so that a responder passing the Correlation Data node that
/// `read_binary` returned sends that property and not the rest of the request's.
///
/// # Safety
/// As for `properties_from_c`.
pub(crate) unsafe fn outgoing_properties(list: *const mosquitto_property) -> Result<Properties> {
    // SAFETY: `list` is NULL or a live node, as promised.
    match unsafe { node_of(list).as_ref() } {
        Some(node) if !node.client_generated => Ok(vec![node.to_property()?]),
        // SAFETY: forwarded from the caller.
        _ => unsafe { properties_from_c(list) },
    }
}

/// A new C list of received properties (NULL when empty), marked as not built
/// by the program. The receiver frees it with `mosquitto_property_free_all`.
pub(crate) fn received_properties_to_c(props: &[Property]) -> *mut mosquitto_property {
    list_from(props, false)
}

/// A new C list holding copies of `props`, each node marked `client_generated`.
fn list_from(props: &[Property], client_generated: bool) -> *mut mosquitto_property {
    let mut head: *mut PropertyNode = std::ptr::null_mut();
    for property in props.iter().rev() {
        let node = PropertyNode::new(property, client_generated);
        // SAFETY: `node` is fresh and not yet in any list.
        unsafe { (*node).next = head };
        head = node;
    }
    list_of(head).cast_mut()
}

/// Walks a list from `head`.
///
/// # Safety
/// `head` is NULL or the head of a live list that outlives the iterator.
unsafe fn nodes<'a>(head: *const mosquitto_property) -> impl Iterator<Item = &'a PropertyNode> {
    // SAFETY: every non-NULL node in a live list is a valid node.
    std::iter::successors(unsafe { node_of(head).as_ref() }, |node| unsafe {
        node.next.as_ref()
    })
}

/// Appends `property` to the list at `*proplist`, as a node the program built.
///
/// # Safety
/// `proplist` is non-NULL and `*proplist` is NULL or a live list.
unsafe fn append(proplist: *mut *mut mosquitto_property, property: Property) {
    let node = PropertyNode::new(&property, true);
    // SAFETY: `*proplist` is NULL or a live list; a node is found only through it.
    unsafe {
        let mut last = node_of(*proplist).cast_mut();
        if last.is_null() {
            *proplist = list_of(node).cast_mut();
            return;
        }
        while !(*last).next.is_null() {
            last = (*last).next;
        }
        (*last).next = node;
    }
}

// ---------------------------------------------------------------------------
// Adding

/// Validates and appends one property; the shared body of the `add_*` exports.
///
/// # Safety
/// `proplist` is NULL, or non-NULL with `*proplist` NULL or a live list.
unsafe fn add(
    proplist: *mut *mut mosquitto_property,
    identifier: c_int,
    value: Result<PropertyValue>,
) -> c_int {
    if proplist.is_null() {
        return Error::Inval.code();
    }
    let value = match value {
        Ok(value) => value,
        Err(error) => return error.code(),
    };
    if !has_kind(identifier, value.kind()) {
        return Error::Inval.code();
    }
    let id = identifier as u8;
    // SAFETY: `proplist` is non-NULL and holds a live list, as promised.
    unsafe { append(proplist, Property { id, value }) };
    SUCCESS
}

/// Whether `identifier` is a property whose values are of type `kind`.
fn has_kind(identifier: c_int, kind: PropertyType) -> bool {
    u8::try_from(identifier)
        .ok()
        .and_then(property::info)
        .map(|info| info.kind)
        == Some(kind)
}

/// A UTF-8 checked copy of a C string; NULL is the empty string.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string.
unsafe fn mqtt_string(text: *const c_char) -> Result<String> {
    if text.is_null() {
        return Ok(String::new());
    }
    // SAFETY: non-NULL `text` is NUL-terminated, as promised.
    let bytes = unsafe { CStr::from_ptr(text) }.to_bytes();
    utf8::check(bytes)?;
    if bytes.len() > usize::from(u16::MAX) {
        return Err(Error::Inval);
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::MalformedUtf8)
}

/// Appends a one-byte property (such as `MQTT_PROP_PAYLOAD_FORMAT_INDICATOR`) to
/// `*proplist`; a NULL `*proplist` starts a new list, which the caller frees with
/// `mosquitto_property_free_all`. `proplist` must not be NULL.
///
/// Returns `MOSQ_ERR_SUCCESS`, or `MOSQ_ERR_INVAL` for a NULL `proplist` or an
/// identifier that is not a byte property. The value itself is checked later, by
/// `mosquitto_property_check_all` and when the packet is sent.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_add_byte(
    proplist: *mut *mut mosquitto_property,
    identifier: c_int,
    value: u8,
) -> c_int {
    // SAFETY: `proplist` is checked for NULL; `*proplist` is the caller's list.
    guard(|| unsafe { add(proplist, identifier, Ok(PropertyValue::Byte(value))) })
}

/// Appends a two-byte integer property (such as `MQTT_PROP_RECEIVE_MAXIMUM`).
/// Ownership and return codes as for `mosquitto_property_add_byte`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_add_int16(
    proplist: *mut *mut mosquitto_property,
    identifier: c_int,
    value: u16,
) -> c_int {
    // SAFETY: `proplist` is checked for NULL; `*proplist` is the caller's list.
    guard(|| unsafe { add(proplist, identifier, Ok(PropertyValue::Int16(value))) })
}

/// Appends a four-byte integer property (such as
/// `MQTT_PROP_MESSAGE_EXPIRY_INTERVAL`). Ownership and return codes as for
/// `mosquitto_property_add_byte`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_add_int32(
    proplist: *mut *mut mosquitto_property,
    identifier: c_int,
    value: u32,
) -> c_int {
    // SAFETY: `proplist` is checked for NULL; `*proplist` is the caller's list.
    guard(|| unsafe { add(proplist, identifier, Ok(PropertyValue::Int32(value))) })
}

/// Appends a variable byte integer property (`MQTT_PROP_SUBSCRIPTION_IDENTIFIER`).
/// Values above 268435455 do not fit and return `MOSQ_ERR_INVAL`. Otherwise as
/// for `mosquitto_property_add_byte`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_add_varint(
    proplist: *mut *mut mosquitto_property,
    identifier: c_int,
    value: u32,
) -> c_int {
    guard(|| {
        let value = if value > MAX_VARINT {
            Err(Error::Inval)
        } else {
            Ok(PropertyValue::VarInt(value))
        };
        // SAFETY: `proplist` is checked for NULL; `*proplist` is the caller's list.
        unsafe { add(proplist, identifier, value) }
    })
}

/// Appends a binary property (`MQTT_PROP_CORRELATION_DATA`,
/// `MQTT_PROP_AUTHENTICATION_DATA`), copying the `len` bytes at `value`. `value`
/// may be NULL only when `len` is 0. Otherwise as for `mosquitto_property_add_byte`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_add_binary(
    proplist: *mut *mut mosquitto_property,
    identifier: c_int,
    value: *const c_void,
    len: u16,
) -> c_int {
    guard(|| {
        let bytes = match (value.is_null(), len) {
            (true, 0) => Ok(Vec::new()),
            (true, _) => Err(Error::Inval),
            (false, _) => {
                // SAFETY: `value` is non-NULL and holds `len` bytes, as the caller promises.
                let bytes =
                    unsafe { std::slice::from_raw_parts(value.cast::<u8>(), usize::from(len)) };
                Ok(bytes.to_vec())
            }
        };
        // SAFETY: `proplist` is checked for NULL; `*proplist` is the caller's list.
        unsafe { add(proplist, identifier, bytes.map(PropertyValue::Binary)) }
    })
}

/// Appends a string property (such as `MQTT_PROP_CONTENT_TYPE`), copying `value`;
/// NULL stands for the empty string.
///
/// Returns `MOSQ_ERR_MALFORMED_UTF8` when `value` is not valid MQTT UTF-8 (checked
/// first), `MOSQ_ERR_INVAL` for a NULL `proplist`, a string longer than 65535
/// bytes or an identifier that is not a string property, else `MOSQ_ERR_SUCCESS`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_add_string(
    proplist: *mut *mut mosquitto_property,
    identifier: c_int,
    value: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: `value` is NULL or a C string from the caller.
        let text = unsafe { mqtt_string(value) };
        // SAFETY: `proplist` is checked for NULL; `*proplist` is the caller's list.
        unsafe { add(proplist, identifier, text.map(PropertyValue::String)) }
    })
}

/// Appends a name/value pair (`MQTT_PROP_USER_PROPERTY`), copying both strings;
/// NULL stands for the empty string. Return codes as for
/// `mosquitto_property_add_string`, except that a wrong identifier is reported
/// (`MOSQ_ERR_INVAL`) before bad UTF-8, as libmosquitto does.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_add_string_pair(
    proplist: *mut *mut mosquitto_property,
    identifier: c_int,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    guard(|| {
        // Unlike add_string, libmosquitto looks at the identifier before the text.
        if !has_kind(identifier, PropertyType::StringPair) {
            return Error::Inval.code();
        }
        // SAFETY: `name` and `value` are NULL or C strings from the caller.
        let pair = unsafe {
            mqtt_string(name)
                .and_then(|name| Ok(PropertyValue::StringPair(name, mqtt_string(value)?)))
        };
        // SAFETY: `proplist` is checked for NULL; `*proplist` is the caller's list.
        unsafe { add(proplist, identifier, pair) }
    })
}

// ---------------------------------------------------------------------------
// Walking

/// The identifier (`MQTT_PROP_*`) of one list node, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_identifier(
    property: *const mosquitto_property,
) -> c_int {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe { node_of(property).as_ref() }.map_or(0, |node| node.identifier))
}

/// The node after `proplist`, or NULL at the end of the list or for NULL.
/// The result belongs to the list; do not free it.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_next(
    proplist: *const mosquitto_property,
) -> *const mosquitto_property {
    guard(|| {
        // SAFETY: `proplist` is NULL or a live node.
        unsafe { node_of(proplist).as_ref() }.map_or(std::ptr::null(), |node| list_of(node.next))
    })
}

// ---------------------------------------------------------------------------
// One node's value (libmosquitto 2.1)

/// Unlinks `property` from the list at `*proplist` without freeing it; its
/// `next` is cleared, so it is a list of one that `mosquitto_property_free_all`
/// frees. New in libmosquitto 2.1.
///
/// Returns `MOSQ_ERR_SUCCESS`, `MOSQ_ERR_INVAL` when an argument is NULL, or
/// `MOSQ_ERR_NOT_FOUND` when the node is not in the list.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_remove(
    proplist: *mut *mut mosquitto_property,
    property: *const mosquitto_property,
) -> c_int {
    guard(|| {
        if proplist.is_null() || property.is_null() {
            return Error::Inval.code();
        }
        let target = node_of(property).cast_mut();
        // The link that points at the node looked at: the head, then each `next`.
        let mut link: *mut *mut PropertyNode = proplist.cast();
        // SAFETY: `proplist` is non-NULL and `*proplist` a live list, so every
        // link followed is a node's field or the head; the target is written
        // only once found in that list, which the caller may change.
        unsafe {
            while !(*link).is_null() {
                if *link == target {
                    *link = (*target).next;
                    (*target).next = std::ptr::null_mut();
                    return SUCCESS;
                }
                link = &raw mut (**link).next;
            }
        }
        Error::NotFound.code()
    })
}

/// The value type of a property, as an `MQTT_PROP_TYPE_*` value, or 0 for
/// NULL or an unknown identifier. New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_type(property: *const mosquitto_property) -> c_int {
    guard(|| {
        // SAFETY: `property` is NULL or a live node.
        let kind = unsafe { node_of(property).as_ref() }.and_then(PropertyNode::kind);
        kind.map_or(0, type_code)
    })
}

/// The value of one node read by `value`, or `T::default()` for NULL or a node
/// of another type.
///
/// # Safety
/// `property` is NULL or a live node.
unsafe fn node_value<T: Default>(
    property: *const mosquitto_property,
    value: impl FnOnce(&PropertyNode) -> Option<T>,
) -> T {
    // SAFETY: forwarded from the caller.
    let node = unsafe { node_of(property).as_ref() };
    node.and_then(value).unwrap_or_default()
}

/// A number property's value, as `read` takes it from the node's value, or 0.
///
/// # Safety
/// `property` is NULL or a live node.
unsafe fn number_value<T: Default>(
    property: *const mosquitto_property,
    read: fn(ValueRef) -> Option<T>,
) -> T {
    // SAFETY: forwarded from the caller.
    unsafe { node_value(property, |node| node.value().and_then(read)) }
}

/// The value of a byte property; 0 for NULL or another type. New in
/// libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_byte_value(property: *const mosquitto_property) -> u8 {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe {
        number_value(property, |value| match value {
            ValueRef::Byte(v) => Some(v),
            _ => None,
        })
    })
}

/// The value of a two-byte integer property; 0 for NULL or another type. New
/// in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_int16_value(
    property: *const mosquitto_property,
) -> u16 {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe {
        number_value(property, |value| match value {
            ValueRef::Int16(v) => Some(v),
            _ => None,
        })
    })
}

/// The value of a four-byte integer property; 0 for NULL or another type. New
/// in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_int32_value(
    property: *const mosquitto_property,
) -> u32 {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe {
        number_value(property, |value| match value {
            ValueRef::Int32(v) => Some(v),
            _ => None,
        })
    })
}

/// The value of a variable byte integer property; 0 for NULL or another type.
/// New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_varint_value(
    property: *const mosquitto_property,
) -> u32 {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe {
        number_value(property, |value| match value {
            ValueRef::VarInt(v) => Some(v),
            _ => None,
        })
    })
}

/// The data of a binary property, inside the node (not a copy: do not free
/// it; a NUL follows it); NULL for NULL or another type. New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_binary_value(
    property: *const mosquitto_property,
) -> *const c_void {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe { field_pointer(property, PropertyNode::binary_field) }.cast())
}

/// The length of a binary property's data; 0 for NULL or another type. New in
/// libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_binary_value_length(
    property: *const mosquitto_property,
) -> u16 {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe { field_length(property, PropertyNode::binary_field) })
}

/// The value of a string property, or of a string pair, as a NUL-terminated
/// string inside the node (not a copy: do not free it); NULL for NULL or
/// another type. New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_string_value(
    property: *const mosquitto_property,
) -> *const c_char {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe { field_pointer(property, PropertyNode::text_field) })
}

/// The length in bytes of a string property's value, or a string pair's; 0 for
/// NULL or another type. New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_string_value_length(
    property: *const mosquitto_property,
) -> u16 {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe { field_length(property, PropertyNode::text_field) })
}

/// The name of a string pair (user property), as a NUL-terminated string
/// inside the node (not a copy: do not free it); NULL for NULL or another type.
/// New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_string_name(
    property: *const mosquitto_property,
) -> *const c_char {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe { field_pointer(property, PropertyNode::name_field) })
}

/// The length in bytes of a string pair's name; 0 for NULL or another type.
/// New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_string_name_length(
    property: *const mosquitto_property,
) -> u16 {
    // SAFETY: `property` is NULL or a live node.
    guard(|| unsafe { field_length(property, PropertyNode::name_field) })
}

/// Where a node's counted string or data starts, or NULL.
///
/// # Safety
/// `property` is NULL or a live node.
unsafe fn field_pointer(
    property: *const mosquitto_property,
    field: fn(&PropertyNode) -> Option<MqttString>,
) -> *const c_char {
    // SAFETY: forwarded from the caller.
    let node = unsafe { node_of(property).as_ref() };
    node.and_then(field)
        .map_or(std::ptr::null(), |string| string.v.cast_const())
}

/// The length of a node's counted string or data, or 0.
///
/// # Safety
/// `property` is NULL or a live node.
unsafe fn field_length(
    property: *const mosquitto_property,
    field: fn(&PropertyNode) -> Option<MqttString>,
) -> u16 {
    // SAFETY: forwarded from the caller.
    unsafe { node_value(property, |node| field(node).map(|string| string.len)) }
}

/// The node a `read_*` call reports: the first with `identifier`, or with
/// `skip_first` the second, so that passing a found node back with
/// `skip_first = true` walks every repeat of an identifier.
///
/// # Safety
/// `proplist` is NULL or a live list.
unsafe fn find<'a>(
    proplist: *const mosquitto_property,
    identifier: c_int,
    skip_first: bool,
) -> Option<&'a PropertyNode> {
    let skip = usize::from(skip_first);
    // SAFETY: forwarded from the caller.
    unsafe { nodes(proplist) }
        .filter(|node| node.identifier == identifier)
        .nth(skip)
}

/// Writes `value` through `out` when `out` is not NULL.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn write_optional<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL `out` is writable, as promised.
        unsafe { out.write(value) };
    }
}

/// The shared body of the integer `read_*` exports: finds the node and, when
/// `number` takes its value, writes that to `*value`.
///
/// # Safety
/// `proplist` is NULL or a live list; `value` is NULL or writable.
unsafe fn read_number<T>(
    proplist: *const mosquitto_property,
    identifier: c_int,
    value: *mut T,
    skip_first: bool,
    number: impl Fn(ValueRef) -> Option<T>,
) -> *const mosquitto_property {
    // SAFETY: `proplist` is NULL or the caller's live list.
    let Some(node) = (unsafe { find(proplist, identifier, skip_first) }) else {
        return std::ptr::null();
    };
    let Some(found) = node.value().and_then(number) else {
        return std::ptr::null();
    };
    // SAFETY: `value` is NULL or writable.
    unsafe { write_optional(value, found) };
    list_of(node)
}

/// Finds a one-byte property in `proplist` and copies its value to `*value`
/// (`value` may be NULL to only find it).
///
/// Finds the first node with `identifier`; with `skip_first` true, the second
/// one. Pass the returned node back with `skip_first` true to find the next
/// repeat. Returns the node (owned by the list), or NULL when there is none or
/// `identifier` is not a byte property; `*value` is written only when found.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_read_byte(
    proplist: *const mosquitto_property,
    identifier: c_int,
    value: *mut u8,
    skip_first: bool,
) -> *const mosquitto_property {
    guard(|| {
        // SAFETY: `proplist` is NULL or the caller's live list; `value` NULL or writable.
        unsafe {
            read_number(proplist, identifier, value, skip_first, |v| match v {
                ValueRef::Byte(v) => Some(v),
                _ => None,
            })
        }
    })
}

/// Finds a two-byte integer property; as `mosquitto_property_read_byte`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_read_int16(
    proplist: *const mosquitto_property,
    identifier: c_int,
    value: *mut u16,
    skip_first: bool,
) -> *const mosquitto_property {
    guard(|| {
        // SAFETY: `proplist` is NULL or the caller's live list; `value` NULL or writable.
        unsafe {
            read_number(proplist, identifier, value, skip_first, |v| match v {
                ValueRef::Int16(v) => Some(v),
                _ => None,
            })
        }
    })
}

/// Finds a four-byte integer property; as `mosquitto_property_read_byte`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_read_int32(
    proplist: *const mosquitto_property,
    identifier: c_int,
    value: *mut u32,
    skip_first: bool,
) -> *const mosquitto_property {
    guard(|| {
        // SAFETY: `proplist` is NULL or the caller's live list; `value` NULL or writable.
        unsafe {
            read_number(proplist, identifier, value, skip_first, |v| match v {
                ValueRef::Int32(v) => Some(v),
                _ => None,
            })
        }
    })
}

/// Finds a variable byte integer property; as `mosquitto_property_read_byte`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_read_varint(
    proplist: *const mosquitto_property,
    identifier: c_int,
    value: *mut u32,
    skip_first: bool,
) -> *const mosquitto_property {
    guard(|| {
        // SAFETY: `proplist` is NULL or the caller's live list; `value` NULL or writable.
        unsafe {
            read_number(proplist, identifier, value, skip_first, |v| match v {
                ValueRef::VarInt(v) => Some(v),
                _ => None,
            })
        }
    })
}

/// Finds a binary property and copies its data.
///
/// `value` and `len` must be both NULL (only find the node) or both non-NULL;
/// otherwise NULL is returned. When found, `*value` gets a `malloc`ed copy of the
/// data with a NUL after it (non-NULL even for empty data; free it with `free()`)
/// and `*len` its length. Searching as for `mosquitto_property_read_byte`; NULL
/// is also returned when out of memory.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_read_binary(
    proplist: *const mosquitto_property,
    identifier: c_int,
    value: *mut *mut c_void,
    len: *mut u16,
    skip_first: bool,
) -> *const mosquitto_property {
    guard(|| {
        if value.is_null() != len.is_null() {
            return std::ptr::null();
        }
        // SAFETY: `proplist` is NULL or the caller's live list.
        let Some(node) = (unsafe { find(proplist, identifier, skip_first) }) else {
            return std::ptr::null();
        };
        let Some(ValueRef::Binary(data)) = node.value() else {
            return std::ptr::null();
        };
        if !value.is_null() {
            let Some(copy) = malloc_with_nul(data) else {
                return std::ptr::null();
            };
            // SAFETY: both out-pointers are non-NULL and writable.
            unsafe {
                *value = copy.cast();
                *len = data.len() as u16;
            }
        }
        list_of(node)
    })
}

/// Finds a string property and copies it.
///
/// When found and `value` is not NULL, `*value` gets a `malloc`ed, NUL-terminated
/// copy the caller frees with `free()`. Searching as for
/// `mosquitto_property_read_byte`; NULL is also returned when out of memory.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_read_string(
    proplist: *const mosquitto_property,
    identifier: c_int,
    value: *mut *mut c_char,
    skip_first: bool,
) -> *const mosquitto_property {
    guard(|| {
        // SAFETY: `proplist` is NULL or the caller's live list.
        let Some(node) = (unsafe { find(proplist, identifier, skip_first) }) else {
            return std::ptr::null();
        };
        let Some(ValueRef::String(text)) = node.value() else {
            return std::ptr::null();
        };
        if !value.is_null() {
            let Some(copy) = malloc_with_nul(text) else {
                return std::ptr::null();
            };
            // SAFETY: `value` is non-NULL and writable.
            unsafe { *value = copy };
        }
        list_of(node)
    })
}

/// Finds a name/value pair property and copies both strings.
///
/// `name` and `value` may each be NULL; each non-NULL one gets a `malloc`ed,
/// NUL-terminated copy the caller frees with `free()`. Searching as for
/// `mosquitto_property_read_byte`; NULL is also returned (nothing written) when
/// out of memory.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_read_string_pair(
    proplist: *const mosquitto_property,
    identifier: c_int,
    name: *mut *mut c_char,
    value: *mut *mut c_char,
    skip_first: bool,
) -> *const mosquitto_property {
    guard(|| {
        // SAFETY: `proplist` is NULL or the caller's live list.
        let Some(node) = (unsafe { find(proplist, identifier, skip_first) }) else {
            return std::ptr::null();
        };
        let Some(ValueRef::StringPair(pair_name, pair_value)) = node.value() else {
            return std::ptr::null();
        };
        let copy_if_wanted = |out: *mut *mut c_char, text: &[u8]| {
            if out.is_null() {
                Some(std::ptr::null_mut())
            } else {
                malloc_with_nul(text)
            }
        };
        let Some(name_copy) = copy_if_wanted(name, pair_name) else {
            return std::ptr::null();
        };
        let Some(value_copy) = copy_if_wanted(value, pair_value) else {
            // SAFETY: `name_copy` is NULL or came from malloc and is not handed out.
            unsafe { libc::free(name_copy.cast()) };
            return std::ptr::null();
        };
        // SAFETY: each out-pointer is NULL or writable.
        unsafe {
            write_optional(name, name_copy);
            write_optional(value, value_copy);
        }
        list_of(node)
    })
}

// ---------------------------------------------------------------------------
// Whole lists

/// Frees every node of `*properties` and sets `*properties` to NULL. NULL and an
/// empty list are ignored. Strings returned by `read_*` are separate copies and
/// stay valid.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_free_all(properties: *mut *mut mosquitto_property) {
    guard(|| {
        if properties.is_null() {
            return;
        }
        // SAFETY: `properties` is non-NULL; the list it holds is given up here,
        // and each node in it was made by `PropertyNode::new`.
        unsafe {
            let mut node = node_of(*properties).cast_mut();
            *properties = std::ptr::null_mut();
            while !node.is_null() {
                let next = (*node).next;
                PropertyNode::free(node);
                node = next;
            }
        }
    })
}

/// Makes `*dest` a new list holding copies of every property of `src`, which may
/// be NULL (the empty list). `*dest` is overwritten, not freed; the caller frees
/// the copy with `mosquitto_property_free_all`.
///
/// Returns `MOSQ_ERR_SUCCESS`, or `MOSQ_ERR_INVAL` when `dest` is NULL. (For a
/// NULL `src` and NULL `dest` libmosquitto returns `MOSQ_ERR_SUCCESS`; so do we.)
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_copy_all(
    dest: *mut *mut mosquitto_property,
    src: *const mosquitto_property,
) -> c_int {
    guard(|| {
        if dest.is_null() {
            return if src.is_null() {
                SUCCESS
            } else {
                Error::Inval.code()
            };
        }
        // SAFETY: `src` is NULL or the caller's live list.
        let props = match unsafe { properties_from_c(src) } {
            Ok(props) => props,
            Err(error) => return error.code(),
        };
        // libmosquitto 2.0 (Debian's 2.0.11 checked) leaves the copy's nodes
        // unmarked, so a `*_v5` call given a copy sends only its first property.
        // SAFETY: `dest` is non-NULL and writable.
        unsafe { *dest = list_from(&props, false) };
        SUCCESS
    })
}

/// Whether property `identifier` may be sent in packet `command` (a `CMD_*`
/// value, or `CMD_WILL` for will properties). Returns `MOSQ_ERR_SUCCESS`, or
/// `MOSQ_ERR_PROTOCOL` for an unknown identifier or a packet that may not carry it.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_check_command(
    command: c_int,
    identifier: c_int,
) -> c_int {
    guard(|| code_of(property::check_command(command, identifier)))
}

/// Checks a whole list for packet `command`: each identifier allowed there
/// (`MOSQ_ERR_PROTOCOL`), values in range, e.g. maximum-qos 0 or 1 and
/// receive-maximum, topic-alias and maximum-packet-size not 0
/// (`MOSQ_ERR_PROTOCOL`), and no identifier but user-property repeated
/// (`MOSQ_ERR_DUPLICATE_PROPERTY`). NULL is the empty list and passes.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_check_all(
    command: c_int,
    properties: *const mosquitto_property,
) -> c_int {
    guard(|| {
        // SAFETY: `properties` is NULL or the caller's live list.
        let list = unsafe { properties_from_c(properties) };
        code_of(list.and_then(|list| property::check_all(command, &list)))
    })
}

/// The names of the properties as C strings, in the order of `property::all()`.
static NAMES: Lazy<Vec<CString>> = Lazy::new(|| {
    property::all()
        .iter()
        .map(|info| CString::new(info.name).expect("property names hold no NUL"))
        .collect()
});

/// The name of a property identifier, e.g. "content-type" for
/// `MQTT_PROP_CONTENT_TYPE`: a static string, not to be freed. NULL for a value
/// that is no MQTT 5 property.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_property_identifier_to_string(
    identifier: c_int,
) -> *const c_char {
    guard(|| {
        property::all()
            .iter()
            .position(|info| c_int::from(info.id) == identifier)
            .map_or(std::ptr::null(), |index| NAMES[index].as_ptr())
    })
}

/// Looks up a property by name (as `mosquitto_property_identifier_to_string`
/// gives it, case ignored) and writes its identifier and its
/// `enum mqtt5_property_type` value.
///
/// No argument may be NULL. Returns `MOSQ_ERR_SUCCESS`, or `MOSQ_ERR_INVAL` for a
/// NULL argument or an unknown name (nothing written).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_string_to_property_info(
    propname: *const c_char,
    identifier: *mut c_int,
    r#type: *mut c_int,
) -> c_int {
    guard(|| {
        if propname.is_null() || identifier.is_null() || r#type.is_null() {
            return Error::Inval.code();
        }
        // SAFETY: `propname` is a non-NULL C string.
        let name = unsafe { CStr::from_ptr(propname) };
        let Some(info) = name.to_str().ok().and_then(property::info_by_name) else {
            return Error::Inval.code();
        };
        // SAFETY: both out-pointers are non-NULL and writable.
        unsafe {
            *identifier = c_int::from(info.id);
            *r#type = type_code(info.kind);
        }
        SUCCESS
    })
}

fn type_code(kind: PropertyType) -> c_int {
    kind as c_int
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &str) -> Property {
        Property {
            id: 38,
            value: PropertyValue::StringPair(name.into(), value.into()),
        }
    }

    fn correlation(data: &[u8]) -> Property {
        Property {
            id: 9,
            value: PropertyValue::Binary(data.to_vec()),
        }
    }

    /// The `client_generated` flag of each node of `list`.
    ///
    /// # Safety
    /// `list` is NULL or a live list.
    unsafe fn flags(list: *const mosquitto_property) -> Vec<bool> {
        // SAFETY: forwarded from the caller.
        unsafe { nodes(list) }.map(|n| n.client_generated).collect()
    }

    #[test]
    fn a_received_list_survives_the_trip_to_c_and_back() {
        let props = vec![
            pair("a", "1"),
            Property {
                id: 1,
                value: PropertyValue::Byte(1),
            },
            pair("b", "2"),
        ];
        let mut list = received_properties_to_c(&props);
        // SAFETY: `list` was just made and is freed once, below.
        unsafe {
            assert_eq!(properties_from_c(list), Ok(props));
            assert_eq!(flags(list), [false, false, false]);
            mosquitto_property_free_all(&mut list);
        }
        assert!(list.is_null());
    }

    #[test]
    fn an_empty_list_is_null() {
        assert!(received_properties_to_c(&[]).is_null());
        // SAFETY: NULL is the empty list.
        assert_eq!(unsafe { properties_from_c(std::ptr::null()) }, Ok(vec![]));
    }

    #[test]
    fn adding_checks_the_identifier_type() {
        let mut list = std::ptr::null_mut();
        // SAFETY: `list` is a valid, initially empty list.
        unsafe {
            assert_eq!(mosquitto_property_add_byte(&mut list, 1, 1), 0);
            assert_eq!(
                mosquitto_property_add_byte(&mut list, 2, 1),
                Error::Inval.code()
            );
            assert_eq!(
                mosquitto_property_add_varint(&mut list, 11, MAX_VARINT + 1),
                Error::Inval.code()
            );
            assert_eq!(
                mosquitto_property_add_string(&mut list, 1, c"\xff".as_ptr()),
                Error::MalformedUtf8.code()
            );
            assert_eq!(properties_from_c(list).map(|p| p.len()), Ok(1));
            mosquitto_property_free_all(&mut list);
        }
    }

    #[test]
    fn nodes_added_by_the_program_are_client_generated_and_copies_are_not() {
        let mut list = std::ptr::null_mut();
        let mut copy = std::ptr::null_mut();
        // SAFETY: both lists start empty and are freed once, below.
        unsafe {
            mosquitto_property_add_byte(&mut list, 1, 1);
            mosquitto_property_add_string_pair(&mut list, 38, c"k".as_ptr(), c"v".as_ptr());
            assert_eq!(flags(list), [true, true]);
            assert_eq!(mosquitto_property_copy_all(&mut copy, list), SUCCESS);
            assert_eq!(flags(copy), [false, false]);
            assert_eq!(properties_from_c(copy), properties_from_c(list));
            mosquitto_property_free_all(&mut copy);
            mosquitto_property_free_all(&mut list);
        }
    }

    #[test]
    fn a_received_node_is_sent_alone_and_a_built_list_whole() {
        let received = vec![pair("colour", "blue"), correlation(b"id")];
        let mut list = received_properties_to_c(&received);
        // SAFETY: `list` is live until freed below; the found node belongs to it.
        unsafe {
            let node = mosquitto_property_read_binary(
                list,
                9,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                false,
            );
            assert_eq!(outgoing_properties(node), Ok(vec![correlation(b"id")]));
            assert_eq!(outgoing_properties(list), Ok(vec![pair("colour", "blue")]));
            mosquitto_property_free_all(&mut list);

            mosquitto_property_add_string_pair(&mut list, 38, c"a".as_ptr(), c"1".as_ptr());
            mosquitto_property_add_binary(&mut list, 9, c"id".as_ptr().cast(), 2);
            assert_eq!(outgoing_properties(list).map(|p| p.len()), Ok(2));
            mosquitto_property_free_all(&mut list);
        }
    }

    #[test]
    fn reading_walks_repeats_and_copies_values_out() {
        let props = vec![pair("a", "1"), correlation(b"x\0y"), pair("b", "2")];
        let mut list = received_properties_to_c(&props);
        let (mut name, mut value) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: `list` is live until freed below; copies are freed after reading.
        unsafe {
            let first = mosquitto_property_read_string_pair(list, 38, &mut name, &mut value, false);
            assert_eq!(first, list.cast_const());
            libc::free(name.cast());
            libc::free(value.cast());
            let second =
                mosquitto_property_read_string_pair(first, 38, &mut name, &mut value, true);
            assert_eq!(CStr::from_ptr(name).to_bytes(), b"b");
            assert_eq!(CStr::from_ptr(value).to_bytes(), b"2");
            libc::free(name.cast());
            libc::free(value.cast());
            assert_eq!(
                mosquitto_property_next(mosquitto_property_next(list)),
                second
            );
            assert_eq!(
                mosquitto_property_identifier(mosquitto_property_next(list)),
                9
            );
            let mut byte = 0u8;
            assert!(mosquitto_property_read_byte(list, 9, &mut byte, false).is_null());
            mosquitto_property_free_all(&mut list);
        }
    }

    /// A list with one property of each type, as the program builds it.
    ///
    /// # Safety
    /// The caller frees the list.
    unsafe fn one_of_each_type() -> *mut mosquitto_property {
        let mut list = std::ptr::null_mut();
        // SAFETY: `list` starts empty; each call appends to it.
        unsafe {
            assert_eq!(mosquitto_property_add_byte(&mut list, 1, 7), SUCCESS);
            assert_eq!(mosquitto_property_add_int16(&mut list, 33, 500), SUCCESS);
            assert_eq!(mosquitto_property_add_int32(&mut list, 2, 70_000), SUCCESS);
            assert_eq!(mosquitto_property_add_varint(&mut list, 11, 300), SUCCESS);
            let data = b"x\0y";
            assert_eq!(
                mosquitto_property_add_binary(&mut list, 9, data.as_ptr().cast(), 3),
                SUCCESS
            );
            assert_eq!(
                mosquitto_property_add_string(&mut list, 3, c"text/plain".as_ptr()),
                SUCCESS
            );
            let (name, value) = (c"colour".as_ptr(), c"blue".as_ptr());
            assert_eq!(
                mosquitto_property_add_string_pair(&mut list, 38, name, value),
                SUCCESS
            );
        }
        list
    }

    /// The nodes of `list`, in order.
    ///
    /// # Safety
    /// `list` is NULL or a live list.
    unsafe fn nodes_of(list: *const mosquitto_property) -> Vec<*const mosquitto_property> {
        // SAFETY: forwarded from the caller.
        unsafe { nodes(list) }.map(|node| list_of(node)).collect()
    }

    #[test]
    fn each_node_tells_its_type_and_its_value_only_through_the_accessor_of_that_type() {
        // SAFETY: the list is live until freed at the end; the strings read
        // point into its nodes and are not used after.
        unsafe {
            let mut list = one_of_each_type();
            let each = nodes_of(list);
            let types: Vec<c_int> = each.iter().map(|&p| mosquitto_property_type(p)).collect();
            assert_eq!(types, [1, 2, 3, 4, 5, 6, 7]);
            let [byte, int16, int32, varint, binary, string, pair] = each[..] else {
                panic!("seven nodes");
            };
            assert_eq!(mosquitto_property_byte_value(byte), 7);
            assert_eq!(mosquitto_property_int16_value(int16), 500);
            assert_eq!(mosquitto_property_int32_value(int32), 70_000);
            assert_eq!(mosquitto_property_varint_value(varint), 300);
            let data = mosquitto_property_binary_value(binary).cast::<u8>();
            assert_eq!(std::slice::from_raw_parts(data, 4), b"x\0y\0");
            assert_eq!(mosquitto_property_binary_value_length(binary), 3);
            let text = mosquitto_property_string_value(string);
            assert_eq!(CStr::from_ptr(text).to_bytes(), b"text/plain");
            assert_eq!(mosquitto_property_string_value_length(string), 10);
            assert_eq!(
                CStr::from_ptr(mosquitto_property_string_name(pair)).to_bytes(),
                b"colour"
            );
            assert_eq!(mosquitto_property_string_name_length(pair), 6);
            assert_eq!(
                CStr::from_ptr(mosquitto_property_string_value(pair)).to_bytes(),
                b"blue"
            );
            assert_eq!(mosquitto_property_string_value_length(pair), 4);
            // The pointers are the node's own strings, not copies.
            assert_eq!(text, (*node_of(string)).value.s.v.cast_const());

            // Every other accessor answers 0 or NULL.
            for &node in &each {
                let kind = mosquitto_property_type(node);
                if kind != 1 {
                    assert_eq!(mosquitto_property_byte_value(node), 0);
                }
                if kind != 2 {
                    assert_eq!(mosquitto_property_int16_value(node), 0);
                }
                if kind != 3 {
                    assert_eq!(mosquitto_property_int32_value(node), 0);
                }
                if kind != 4 {
                    assert_eq!(mosquitto_property_varint_value(node), 0);
                }
                if kind != 5 {
                    assert!(mosquitto_property_binary_value(node).is_null());
                    assert_eq!(mosquitto_property_binary_value_length(node), 0);
                }
                if kind != 6 && kind != 7 {
                    assert!(mosquitto_property_string_value(node).is_null());
                    assert_eq!(mosquitto_property_string_value_length(node), 0);
                }
                if kind != 7 {
                    assert!(mosquitto_property_string_name(node).is_null());
                    assert_eq!(mosquitto_property_string_name_length(node), 0);
                }
            }
            mosquitto_property_free_all(&mut list);
        }
    }

    #[test]
    fn a_null_property_has_no_type_and_no_value() {
        let none = std::ptr::null();
        // SAFETY: NULL is allowed for every accessor.
        unsafe {
            assert_eq!(mosquitto_property_type(none), 0);
            assert_eq!(mosquitto_property_byte_value(none), 0);
            assert_eq!(mosquitto_property_int16_value(none), 0);
            assert_eq!(mosquitto_property_int32_value(none), 0);
            assert_eq!(mosquitto_property_varint_value(none), 0);
            assert!(mosquitto_property_binary_value(none).is_null());
            assert_eq!(mosquitto_property_binary_value_length(none), 0);
            assert!(mosquitto_property_string_value(none).is_null());
            assert_eq!(mosquitto_property_string_value_length(none), 0);
            assert!(mosquitto_property_string_name(none).is_null());
            assert_eq!(mosquitto_property_string_name_length(none), 0);
        }
    }

    #[test]
    fn an_empty_string_is_an_empty_c_string_not_null() {
        let empty = Property {
            id: 3,
            value: PropertyValue::String(String::new()),
        };
        let mut list = received_properties_to_c(&[empty]);
        // SAFETY: `list` is live until freed below.
        unsafe {
            let text = mosquitto_property_string_value(list);
            assert!(!text.is_null());
            assert_eq!(CStr::from_ptr(text).to_bytes(), b"");
            assert_eq!(mosquitto_property_string_value_length(list), 0);
            mosquitto_property_free_all(&mut list);
        }
    }

    #[test]
    fn removing_unlinks_a_node_from_anywhere_in_the_list_without_freeing_it() {
        // SAFETY: the list and every removed node are freed once, at the end.
        unsafe {
            let mut list = one_of_each_type();
            let each = nodes_of(list);
            let (head, middle, tail) = (each[0], each[3], each[6]);
            for node in [middle, head, tail] {
                assert_eq!(mosquitto_property_remove(&mut list, node), SUCCESS);
                assert!(mosquitto_property_next(node).is_null());
                assert!(!nodes_of(list).contains(&node));
            }
            assert_eq!(mosquitto_property_type(list), 2);
            assert_eq!(nodes_of(list).len(), 4);
            // A removed node still holds its value, and is freed on its own.
            assert_eq!(mosquitto_property_varint_value(middle), 300);
            for node in [head, middle, tail] {
                let mut alone = node.cast_mut();
                mosquitto_property_free_all(&mut alone);
            }
            mosquitto_property_free_all(&mut list);
        }
    }

    #[test]
    fn removing_a_node_not_in_the_list_or_with_null_arguments_changes_nothing() {
        // SAFETY: both lists are live until freed at the end.
        unsafe {
            let mut list = one_of_each_type();
            let mut other = one_of_each_type();
            let stranger = nodes_of(other)[2];
            let code = mosquitto_property_remove(&mut list, stranger);
            assert_eq!(code, Error::NotFound.code());
            assert_eq!(nodes_of(list).len(), 7);
            let mut empty = std::ptr::null_mut();
            assert_eq!(
                mosquitto_property_remove(&mut empty, stranger),
                Error::NotFound.code()
            );
            let code = mosquitto_property_remove(std::ptr::null_mut(), stranger);
            assert_eq!(code, Error::Inval.code());
            let code = mosquitto_property_remove(&mut list, std::ptr::null());
            assert_eq!(code, Error::Inval.code());
            assert_eq!(nodes_of(list).len(), 7);
            mosquitto_property_free_all(&mut other);
            mosquitto_property_free_all(&mut list);
        }
    }

    #[test]
    fn removing_the_only_node_leaves_an_empty_list() {
        // SAFETY: the node is freed once, after it was removed.
        unsafe {
            let mut list = std::ptr::null_mut();
            mosquitto_property_add_byte(&mut list, 1, 1);
            let node = list.cast_const();
            assert_eq!(mosquitto_property_remove(&mut list, node), SUCCESS);
            assert!(list.is_null());
            let mut alone = node.cast_mut();
            mosquitto_property_free_all(&mut alone);
        }
    }
}
