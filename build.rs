//! Links the cdylib as `libmosquitto.so.1` with libmosquitto's symbol-version nodes,
//! and generates the C headers from our Rust definitions with cbindgen.
//!
//! Each export is tagged with its node by a `.symver` directive (src/ffi/symbols.rs);
//! the linker script written here only declares the nodes, oldest first, each
//! inheriting from the one before, as libmosquitto's do.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// libmosquitto 2.0's eight nodes, then the one libmosquitto 2.1 adds.
const VERSION_NODES: [&str; 9] = [
    "MOSQ_1.0", "MOSQ_1.1", "MOSQ_1.2", "MOSQ_1.3", "MOSQ_1.4", "MOSQ_1.5", "MOSQ_1.6", "MOSQ_1.7",
    "MOSQ_2.1",
];

/// The node of the `skeeter_*` extensions; it inherits from none of libmosquitto's.
const SKEETER_NODE: &str = "SKEETER_1.0";

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));

    write_version_script(&out_dir);
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmosquitto.so.1");

    generate_headers(&manifest_dir, &out_dir);
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=cbindgen-protocol.toml");
    println!("cargo:rerun-if-changed=cbindgen-skeeter.toml");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-env-changed=SKEETER_WRITE_HEADERS");
}

fn write_version_script(out_dir: &Path) {
    let mut script = String::new();
    for (i, node) in VERSION_NODES.iter().enumerate() {
        // The node's own name is exported as an absolute symbol (src/ffi/symbols.rs),
        // as GNU ld does for libmosquitto, so `nm -D` lists the same node names.
        let parent = if i == 0 {
            String::new()
        } else {
            format!(" {}", VERSION_NODES[i - 1])
        };
        script.push_str(&format!("{node} {{ global: \"{node}\"; }}{parent};\n"));
    }
    // skeeter's own functions (include/skeeter.h), apart from libmosquitto's nodes.
    script.push_str(&format!(
        "{SKEETER_NODE} {{ global: \"{SKEETER_NODE}\"; }};\n"
    ));
    let path = out_dir.join("libmosquitto.map");
    fs::write(&path, script).expect("write the version script");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        path.display()
    );
}

/// The files whose exports make include/skeeter.h (mosquitto.h skips them).
const SKEETER_SOURCES: [&str; 1] = ["src/ffi/skeeter.rs"];

/// Writes the headers to OUT_DIR; with SKEETER_WRITE_HEADERS=1 also to include/.
/// A unit test (src/ffi/header_check.rs) fails when include/ differs from OUT_DIR.
fn generate_headers(manifest_dir: &Path, out_dir: &Path) {
    let write_to_include = env::var("SKEETER_WRITE_HEADERS")
        .map(|v| v == "1")
        .unwrap_or(false);
    let jobs: [(&str, &[&str], &str); 3] = [
        ("cbindgen.toml", &[], "mosquitto.h"),
        (
            "cbindgen-protocol.toml",
            &["src/ffi/mqtt_protocol.rs"],
            "mqtt_protocol.h",
        ),
        ("cbindgen-skeeter.toml", &SKEETER_SOURCES, "skeeter.h"),
    ];
    for (config_file, sources, header) in jobs {
        let config_path = manifest_dir.join(config_file);
        if !config_path.exists() {
            continue;
        }
        let config = cbindgen::Config::from_file(&config_path).expect("read cbindgen config");
        let mut builder = cbindgen::Builder::new().with_config(config);
        if sources.is_empty() {
            builder = builder.with_crate(manifest_dir);
        }
        for source in sources {
            builder = builder.with_src(manifest_dir.join(source));
        }
        let bindings = builder
            .generate()
            .expect("cbindgen could not generate the header");
        bindings.write_to_file(out_dir.join(header));
        if write_to_include {
            bindings.write_to_file(manifest_dir.join("include").join(header));
        }
    }
}
