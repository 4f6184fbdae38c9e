//! The memory of one property list node, laid out as libmosquitto 2.0 lays out
//! its private `struct mqtt5__property`.
//!
//! The type is opaque in mosquitto.h, but bindings (Python's pymosquitto, for
//! one) walk lists by reading the fields at these offsets, so a list we hand out
//! must look like libmosquitto's. Nodes and the strings in them come from the C
//! allocator; strings and binary data carry a NUL after their `len` bytes.

use std::alloc::{handle_alloc_error, Layout};
use std::os::raw::c_char;

use super::types::mosquitto_property;
use crate::error::{Error, Result};
use crate::protocol::property::{self, Property, PropertyType, PropertyValue};

/// A counted string or binary value (`struct mqtt__string`). `len` does not
/// count the NUL after the bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct MqttString {
    pub(crate) v: *mut c_char,
    pub(crate) len: u16,
}

/// A node's value; which field is live follows from the identifier's type.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union NodeValue {
    pub(crate) i8: u8,
    pub(crate) i16: u16,
    pub(crate) i32: u32,
    pub(crate) varint: u32,
    pub(crate) bin: MqttString,
    pub(crate) s: MqttString,
}

/// One node. A string pair keeps its name in `name` and its value in `value.s`.
/// `client_generated` is true for lists the program built (`add_*`, `copy_all`)
/// and false for lists received from the broker.
#[repr(C)]
pub(crate) struct PropertyNode {
    pub(crate) next: *mut PropertyNode,
    pub(crate) value: NodeValue,
    pub(crate) name: MqttString,
    pub(crate) identifier: i32,
    pub(crate) client_generated: bool,
}

/// A node's value as borrowed Rust data.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ValueRef<'a> {
    Byte(u8),
    Int16(u16),
    Int32(u32),
    VarInt(u32),
    Binary(&'a [u8]),
    String(&'a [u8]),
    StringPair(&'a [u8], &'a [u8]),
}

/// The node behind a list pointer as C code sees it.
pub(crate) fn node_of(list: *const mosquitto_property) -> *const PropertyNode {
    list.cast()
}

/// The list pointer C code sees for a node.
pub(crate) fn list_of(node: *const PropertyNode) -> *const mosquitto_property {
    node.cast()
}

/// `size` bytes from the C allocator, zeroed. Out of memory aborts, as a Rust
/// allocation would.
fn c_calloc(size: usize) -> *mut u8 {
    // SAFETY: calloc with a non-zero size; the result is checked for NULL.
    let memory = unsafe { libc::calloc(1, size.max(1)) }.cast::<u8>();
    if memory.is_null() {
        handle_alloc_error(Layout::array::<u8>(size.max(1)).unwrap_or(Layout::new::<u8>()));
    }
    memory
}

/// A C copy of `bytes` with a NUL after them. Property values are at most
/// 65535 bytes long (checked when they are made or decoded).
fn c_string(bytes: &[u8]) -> MqttString {
    let copy = c_calloc(bytes.len() + 1);
    // SAFETY: `copy` has room for `bytes.len() + 1` bytes and does not overlap `bytes`.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), copy, bytes.len()) };
    MqttString {
        v: copy.cast(),
        len: bytes.len() as u16,
    }
}

/// The bytes of a counted string.
///
/// # Safety
/// `string.v` is NULL (only with `len` 0) or holds `len` bytes that outlive `'a`.
unsafe fn bytes_of<'a>(string: MqttString) -> &'a [u8] {
    if string.v.is_null() {
        return &[];
    }
    // SAFETY: `v` holds `len` bytes, as the caller promises.
    unsafe { std::slice::from_raw_parts(string.v.cast::<u8>(), usize::from(string.len)) }
}

impl PropertyNode {
    /// A new, unlinked node holding a copy of `property`. The caller links it
    /// into a list, which `free` releases.
    ///
    /// The fields are written into zeroed memory one by one, so the bytes of
    /// the value that its type does not use stay zero, as in libmosquitto's
    /// nodes: bindings read every union field (a byte node's `s.len` is 0).
    pub(crate) fn new(property: &Property, client_generated: bool) -> *mut PropertyNode {
        let node = c_calloc(std::mem::size_of::<PropertyNode>()).cast::<PropertyNode>();
        // SAFETY: `node` is fresh, zeroed and aligned memory of the node's size,
        // where NULL `next` and `name` pointers are already in place.
        unsafe {
            let value = &raw mut (*node).value;
            match &property.value {
                PropertyValue::Byte(v) => (&raw mut (*value).i8).write(*v),
                PropertyValue::Int16(v) => (&raw mut (*value).i16).write(*v),
                PropertyValue::Int32(v) => (&raw mut (*value).i32).write(*v),
                PropertyValue::VarInt(v) => (&raw mut (*value).varint).write(*v),
                PropertyValue::Binary(data) => (&raw mut (*value).bin).write(c_string(data)),
                PropertyValue::String(text) => {
                    (&raw mut (*value).s).write(c_string(text.as_bytes()))
                }
                PropertyValue::StringPair(name, text) => {
                    (&raw mut (*node).name).write(c_string(name.as_bytes()));
                    (&raw mut (*value).s).write(c_string(text.as_bytes()));
                }
            }
            (&raw mut (*node).identifier).write(i32::from(property.id));
            (&raw mut (*node).client_generated).write(client_generated);
        }
        node
    }

    /// The type of this node's value, from its identifier; None for an
    /// identifier that is no MQTT 5 property.
    pub(crate) fn kind(&self) -> Option<PropertyType> {
        u8::try_from(self.identifier)
            .ok()
            .and_then(property::info)
            .map(|info| info.kind)
    }

    /// The value, read through the union field the identifier's type names.
    pub(crate) fn value(&self) -> Option<ValueRef<'_>> {
        // SAFETY: every node is made by `new`, which fills the field that the
        // identifier's type names; strings hold `len` bytes while the node lives.
        unsafe {
            Some(match self.kind()? {
                PropertyType::Byte => ValueRef::Byte(self.value.i8),
                PropertyType::Int16 => ValueRef::Int16(self.value.i16),
                PropertyType::Int32 => ValueRef::Int32(self.value.i32),
                PropertyType::VarInt => ValueRef::VarInt(self.value.varint),
                PropertyType::Binary => ValueRef::Binary(bytes_of(self.value.bin)),
                PropertyType::String => ValueRef::String(bytes_of(self.value.s)),
                PropertyType::StringPair => {
                    ValueRef::StringPair(bytes_of(self.name), bytes_of(self.value.s))
                }
            })
        }
    }

    /// The counted binary value as it sits in the node, for a binary property.
    pub(crate) fn binary_field(&self) -> Option<MqttString> {
        match self.kind()? {
            // SAFETY: a binary node's `value.bin` is the field `new` filled.
            PropertyType::Binary => Some(unsafe { self.value.bin }),
            _ => None,
        }
    }

    /// The counted string value as it sits in the node, for a string or a
    /// string pair (its value).
    pub(crate) fn text_field(&self) -> Option<MqttString> {
        match self.kind()? {
            // SAFETY: a string or pair node's `value.s` is the field `new` filled.
            PropertyType::String | PropertyType::StringPair => Some(unsafe { self.value.s }),
            _ => None,
        }
    }

    /// The name of a string pair as it sits in the node.
    pub(crate) fn name_field(&self) -> Option<MqttString> {
        (self.kind()? == PropertyType::StringPair).then_some(self.name)
    }

    /// An owned copy of the property: `Protocol` for an unknown identifier,
    /// `MalformedUtf8` for text that is not UTF-8.
    pub(crate) fn to_property(&self) -> Result<Property> {
        let text =
            |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| Error::MalformedUtf8);
        let value = match self.value().ok_or(Error::Protocol)? {
            ValueRef::Byte(v) => PropertyValue::Byte(v),
            ValueRef::Int16(v) => PropertyValue::Int16(v),
            ValueRef::Int32(v) => PropertyValue::Int32(v),
            ValueRef::VarInt(v) => PropertyValue::VarInt(v),
            ValueRef::Binary(data) => PropertyValue::Binary(data.to_vec()),
            ValueRef::String(bytes) => PropertyValue::String(text(bytes)?),
            ValueRef::StringPair(name, value) => {
                PropertyValue::StringPair(text(name)?, text(value)?)
            }
        };
        Ok(Property {
            id: self.identifier as u8,
            value,
        })
    }

    /// Frees `node` and the strings in it (not the nodes after it).
    ///
    /// # Safety
    /// `node` was made by `new`, is no longer reachable from any list, and is not
    /// used again.
    pub(crate) unsafe fn free(node: *mut PropertyNode) {
        // SAFETY: `node` is a live node from `new`, given up by the caller; the
        // string fields it frees are the ones `new` filled for its type.
        unsafe {
            match (*node).kind() {
                Some(PropertyType::Binary) => libc::free((*node).value.bin.v.cast()),
                Some(PropertyType::String | PropertyType::StringPair) => {
                    libc::free((*node).value.s.v.cast())
                }
                _ => {}
            }
            libc::free((*node).name.v.cast());
            libc::free(node.cast());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn the_node_has_libmosquittos_x86_64_layout() {
        assert_eq!(offset_of!(PropertyNode, next), 0);
        assert_eq!(offset_of!(PropertyNode, value), 8);
        assert_eq!(offset_of!(PropertyNode, name), 24);
        assert_eq!(offset_of!(PropertyNode, identifier), 40);
        assert_eq!(offset_of!(PropertyNode, client_generated), 44);
        assert_eq!(size_of::<PropertyNode>(), 48);
        assert_eq!(offset_of!(MqttString, v), 0);
        assert_eq!(offset_of!(MqttString, len), 8);
        assert_eq!(size_of::<MqttString>(), 16);
        assert_eq!(size_of::<NodeValue>(), 16);
    }

    #[test]
    fn a_string_pair_keeps_its_name_in_name_and_its_value_in_value_s_each_nul_terminated() {
        let pair = Property {
            id: 38,
            value: PropertyValue::StringPair("colour".into(), "blue".into()),
        };
        let node = PropertyNode::new(&pair, true);
        // SAFETY: `node` was just made and is freed once, below.
        unsafe {
            let name = std::ffi::CStr::from_ptr((*node).name.v);
            let value = std::ffi::CStr::from_ptr((*node).value.s.v);
            assert_eq!((name.to_bytes(), (*node).name.len), (&b"colour"[..], 6));
            assert_eq!((value.to_bytes(), (*node).value.s.len), (&b"blue"[..], 4));
            assert_eq!((*node).identifier, 38);
            assert!((*node).client_generated);
            assert_eq!((*node).to_property(), Ok(pair));
            PropertyNode::free(node);
        }
    }

    #[test]
    fn the_unused_bytes_of_a_number_value_are_zero() {
        let byte = Property {
            id: 1,
            value: PropertyValue::Byte(0xff),
        };
        let node = PropertyNode::new(&byte, true);
        // SAFETY: `node` was just made and is freed once, below; every byte of
        // the union was zeroed before the byte was written.
        unsafe {
            let s = (*node).value.s;
            assert_eq!((s.v as usize, s.len), (0xff, 0));
            assert!((*node).name.v.is_null());
            PropertyNode::free(node);
        }
    }

    #[test]
    fn binary_data_is_counted_and_has_a_nul_after_it() {
        let data = Property {
            id: 9,
            value: PropertyValue::Binary(vec![b'i', 0, 7]),
        };
        let node = PropertyNode::new(&data, false);
        // SAFETY: `node` was just made and is freed once, below.
        unsafe {
            let bin = (*node).value.bin;
            assert_eq!(bin.len, 3);
            assert_eq!(*bin.v.add(3), 0);
            assert_eq!((*node).value(), Some(ValueRef::Binary(&[b'i', 0, 7])));
            assert!(!(*node).client_generated);
            PropertyNode::free(node);
        }
    }

    #[test]
    fn a_node_with_an_unknown_identifier_is_a_protocol_error() {
        let node = PropertyNode::new(
            &Property {
                id: 1,
                value: PropertyValue::Byte(1),
            },
            true,
        );
        // SAFETY: `node` was just made; it holds no strings, so any identifier frees it.
        unsafe {
            (*node).identifier = 0x7f;
            assert_eq!((*node).to_property(), Err(Error::Protocol));
            PropertyNode::free(node);
        }
    }
}
