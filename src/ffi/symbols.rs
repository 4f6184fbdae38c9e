//! The symbol-version table: which `MOSQ_*` node each export belongs to.
//!
//! Binaries linked against libmosquitto record the version of every symbol they
//! import, and the loader refuses a library whose symbols carry none or another one.
//! rustc passes its own version script, so each symbol is bound to its node with an
//! assembler `.symver` directive; build.rs declares the nodes themselves.

use std::arch::global_asm;

macro_rules! versioned {
    ($($node:literal => [$($name:ident),* $(,)?],)*) => {
        versioned! { EXPORTS; $($node => [$($name),*],)* }
    };
    ($list:ident; $($node:literal => [$($name:ident),* $(,)?],)*) => {
        $(
            // The node's name as an absolute symbol, as GNU ld emits for libmosquitto.
            global_asm!(concat!(".globl \"", $node, "\"\n.set \"", $node, "\", 0"));
            $(
                global_asm!(concat!(
                    ".symver ", stringify!($name), ", ", stringify!($name), "@@", $node
                ));
            )*
        )*

        /// Every export with its node, for the tests that compare against libmosquitto.
        #[cfg(test)]
        pub const $list: &[(&str, &str)] = &[$($((stringify!($name), $node),)*)*];
    };
}

versioned! {
    "MOSQ_1.0" => [
        mosquitto_lib_version,
        mosquitto_lib_init,
        mosquitto_lib_cleanup,
        mosquitto_new,
        mosquitto_destroy,
        mosquitto_reinitialise,
        mosquitto_will_set,
        mosquitto_will_clear,
        mosquitto_username_pw_set,
        mosquitto_connect,
        mosquitto_connect_async,
        mosquitto_reconnect,
        mosquitto_disconnect,
        mosquitto_publish,
        mosquitto_subscribe,
        mosquitto_unsubscribe,
        mosquitto_message_copy,
        mosquitto_message_free,
        mosquitto_loop_start,
        mosquitto_loop_stop,
        mosquitto_loop,
        mosquitto_loop_read,
        mosquitto_loop_write,
        mosquitto_loop_misc,
        mosquitto_socket,
        mosquitto_want_write,
        mosquitto_message_retry_set,
        mosquitto_user_data_set,
        mosquitto_tls_set,
        mosquitto_tls_opts_set,
        mosquitto_tls_psk_set,
        mosquitto_connect_callback_set,
        mosquitto_disconnect_callback_set,
        mosquitto_publish_callback_set,
        mosquitto_message_callback_set,
        mosquitto_subscribe_callback_set,
        mosquitto_unsubscribe_callback_set,
        mosquitto_log_callback_set,
        mosquitto_strerror,
        mosquitto_connack_string,
        mosquitto_sub_topic_tokenise,
        mosquitto_sub_topic_tokens_free,
        mosquitto_topic_matches_sub,
    ],
    "MOSQ_1.1" => [
        mosquitto_loop_forever,
    ],
    "MOSQ_1.2" => [
        mosquitto_connect_bind,
        mosquitto_connect_bind_async,
        mosquitto_reconnect_async,
        mosquitto_reconnect_delay_set,
        mosquitto_max_inflight_messages_set,
        mosquitto_tls_insecure_set,
    ],
    "MOSQ_1.3" => [
        mosquitto_connect_srv,
    ],
    "MOSQ_1.4" => [
        mosquitto_threaded_set,
        mosquitto_opts_set,
        mosquitto_socks5_set,
        mosquitto_pub_topic_check,
        mosquitto_sub_topic_check,
    ],
    "MOSQ_1.5" => [
        mosquitto_message_free_contents,
        mosquitto_userdata,
        mosquitto_connect_with_flags_callback_set,
        mosquitto_topic_matches_sub2,
        mosquitto_pub_topic_check2,
        mosquitto_sub_topic_check2,
        mosquitto_validate_utf8,
        mosquitto_subscribe_simple,
        mosquitto_subscribe_callback,
    ],
    "MOSQ_1.6" => [
        mosquitto_will_set_v5,
        mosquitto_connect_bind_v5,
        mosquitto_disconnect_v5,
        mosquitto_publish_v5,
        mosquitto_subscribe_v5,
        mosquitto_subscribe_multiple,
        mosquitto_unsubscribe_v5,
        mosquitto_unsubscribe_multiple,
        mosquitto_int_option,
        mosquitto_string_option,
        mosquitto_void_option,
        mosquitto_connect_v5_callback_set,
        mosquitto_disconnect_v5_callback_set,
        mosquitto_publish_v5_callback_set,
        mosquitto_message_v5_callback_set,
        mosquitto_subscribe_v5_callback_set,
        mosquitto_unsubscribe_v5_callback_set,
        mosquitto_reason_string,
        mosquitto_string_to_command,
        mosquitto_property_add_byte,
        mosquitto_property_add_int16,
        mosquitto_property_add_int32,
        mosquitto_property_add_varint,
        mosquitto_property_add_binary,
        mosquitto_property_add_string,
        mosquitto_property_add_string_pair,
        mosquitto_property_read_byte,
        mosquitto_property_read_int16,
        mosquitto_property_read_int32,
        mosquitto_property_read_varint,
        mosquitto_property_read_binary,
        mosquitto_property_read_string,
        mosquitto_property_read_string_pair,
        mosquitto_property_free_all,
        mosquitto_property_copy_all,
        mosquitto_property_check_command,
        mosquitto_property_check_all,
        mosquitto_string_to_property_info,
    ],
    "MOSQ_1.7" => [
        mosquitto_ssl_get,
        mosquitto_property_identifier,
        mosquitto_property_next,
        mosquitto_property_identifier_to_string,
    ],
    // libmosquitto 2.1's additions (not in Debian's 2.0.11).
    "MOSQ_2.1" => [
        mosquitto_pre_connect_callback_set,
        mosquitto_unsubscribe2_v5_callback_set,
        mosquitto_topic_matches_sub_with_pattern,
        mosquitto_sub_matches_acl,
        mosquitto_sub_matches_acl_with_pattern,
        mosquitto_property_remove,
        mosquitto_property_type,
        mosquitto_property_byte_value,
        mosquitto_property_int16_value,
        mosquitto_property_int32_value,
        mosquitto_property_varint_value,
        mosquitto_property_binary_value,
        mosquitto_property_binary_value_length,
        mosquitto_property_string_value,
        mosquitto_property_string_value_length,
        mosquitto_property_string_name,
        mosquitto_property_string_name_length,
    ],
}

// skeeter's own functions (include/skeeter.h), in their own node.
versioned! {
    SKEETER_EXPORTS;
    "SKEETER_1.0" => [
        skeeter_servers_set,
        skeeter_failover_attempts_set,
        skeeter_server_index,
        skeeter_reconnect_jitter_set,
        skeeter_reconnect_doubling_set,
        skeeter_resubscribe_set,
        skeeter_stats,
        skeeter_subscribe_handler,
        skeeter_unsubscribe_handler,
        skeeter_max_qos_set,
        skeeter_max_incoming_packet_set,
        skeeter_connect_timeout_set,
        skeeter_offline_queue_set,
        skeeter_shared_loop_set,
        skeeter_persistence_set,
    ],
}

#[cfg(test)]
mod tests {
    use super::{EXPORTS, SKEETER_EXPORTS};

    /// How many exports `node` has.
    fn count_in(node: &str) -> usize {
        EXPORTS.iter().filter(|(_, n)| *n == node).count()
    }

    #[test]
    fn every_libmosquitto_function_is_listed_once() {
        assert_eq!(EXPORTS.len() - count_in("MOSQ_2.1"), 107);
        assert_eq!(count_in("MOSQ_2.1"), 17);
        let mut names: Vec<_> = EXPORTS.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EXPORTS.len());
    }

    /// The names of the functions skeeter.h declares: `skeeter_...` followed by `(`.
    fn declared_in_skeeter_h() -> Vec<&'static str> {
        let header = include_str!("../../include/skeeter.h");
        let mut names: Vec<&str> = header
            .match_indices("skeeter_")
            .filter_map(|(at, _)| {
                let rest = &header[at..];
                let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
                rest[end..].starts_with('(').then(|| &rest[..end])
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn the_skeeter_node_holds_exactly_the_functions_skeeter_h_declares() {
        let mut exported: Vec<&str> = SKEETER_EXPORTS.iter().map(|(n, _)| *n).collect();
        exported.sort();
        assert_eq!(declared_in_skeeter_h(), exported);
        assert!(SKEETER_EXPORTS
            .iter()
            .all(|(_, node)| *node == "SKEETER_1.0"));
    }
}
