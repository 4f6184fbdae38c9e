//! The checked-in headers must be exactly what cbindgen generates from src/ffi now.
//! When this fails, run `make headers` and commit include/.

#[cfg(test)]
mod tests {
    use crate::ffi::mqtt_protocol::{PROTOCOL_NAME_v31, PROTOCOL_NAME};

    const GENERATED_MOSQUITTO_H: &str = include_str!(concat!(env!("OUT_DIR"), "/mosquitto.h"));
    const GENERATED_PROTOCOL_H: &str = include_str!(concat!(env!("OUT_DIR"), "/mqtt_protocol.h"));
    const CHECKED_IN_MOSQUITTO_H: &str = include_str!("../../include/mosquitto.h");
    const CHECKED_IN_PROTOCOL_H: &str = include_str!("../../include/mqtt_protocol.h");
    const GENERATED_SKEETER_H: &str = include_str!(concat!(env!("OUT_DIR"), "/skeeter.h"));
    const CHECKED_IN_SKEETER_H: &str = include_str!("../../include/skeeter.h");

    #[test]
    fn mosquitto_h_is_up_to_date() {
        assert!(
            GENERATED_MOSQUITTO_H == CHECKED_IN_MOSQUITTO_H,
            "include/mosquitto.h differs from what src/ffi generates: run `make headers`"
        );
    }

    #[test]
    fn mqtt_protocol_h_is_up_to_date() {
        assert!(
            GENERATED_PROTOCOL_H == CHECKED_IN_PROTOCOL_H,
            "include/mqtt_protocol.h differs from what src/ffi generates: run `make headers`"
        );
    }

    #[test]
    fn skeeter_h_is_up_to_date() {
        assert!(
            GENERATED_SKEETER_H == CHECKED_IN_SKEETER_H,
            "include/skeeter.h differs from what src/ffi/skeeter*.rs generates: run `make headers`"
        );
    }

    #[test]
    fn mosquitto_h_declares_none_of_skeeters_own_functions() {
        assert!(!GENERATED_MOSQUITTO_H.contains("skeeter_"));
    }

    #[test]
    fn protocol_names_written_by_the_config_match_the_rust_constants() {
        assert!(
            GENERATED_PROTOCOL_H.contains(&format!("#define PROTOCOL_NAME \"{PROTOCOL_NAME}\"\n"))
        );
        assert!(GENERATED_PROTOCOL_H.contains(&format!(
            "#define PROTOCOL_NAME_v31 \"{PROTOCOL_NAME_v31}\"\n"
        )));
    }
}
