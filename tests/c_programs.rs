//! The C side of the test suite: programs in `cbindings-tests/` compiled with gcc
//! against our headers and linked to the library `cargo test` just built, plus the
//! ABI, symbol, drop-in and differential proofs against Debian's libmosquitto.
//!
//! Our library is staged as `libmosquitto.so.1` (with a `libmosquitto.so` link for
//! the linker) in a directory of its own, and each C program checks with dladdr
//! that it really runs on that file: Debian's copy is installed on the build
//! machines and would otherwise be loaded without a word. The staging, building and
//! running are shared with the other tests (`tests/support/stage.rs`); these tests
//! are about our library against Debian's, in Debian mode too.
//!
//! Conventions: every `cbindings-tests/test_*.c` is compiled and run and must exit
//! 0; a file containing the comment `skeeter: check leaks` is also run under
//! valgrind, which must find no leak and no error.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::stage::{
    cbindings_test, debian, ours, require, run, Compile, Scratch, Subject, DEBIAN_HEADER,
    MANIFEST_DIR, RUN_TIMEOUT,
};

/// The bound for one run under valgrind, which is slow.
const VALGRIND_TIMEOUT: Duration = Duration::from_secs(300);

#[test]
fn every_c_test_program_passes_on_our_library() {
    let scratch = Scratch::new("programs");
    let mut sources: Vec<PathBuf> = fs::read_dir(Path::new(MANIFEST_DIR).join("cbindings-tests"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("test_") && name.ends_with(".c")
        })
        .collect();
    sources.sort();
    assert!(!sources.is_empty(), "no cbindings-tests/test_*.c found");
    for source in &sources {
        let binary = scratch.path().join(source.file_stem().unwrap());
        Compile::c(source, ours()).link(ours()).build(&binary);
        run(&mut ours().command(&binary), RUN_TIMEOUT)
            .assert_success(&source.display().to_string());
        if fs::read_to_string(source)
            .unwrap()
            .contains("skeeter: check leaks")
        {
            run(&mut ours().valgrind(&binary), VALGRIND_TIMEOUT)
                .assert_success(&format!("valgrind {}", source.display()));
        }
    }
}

/// Output lines of abi_dump built against `headers`, without the version lines that
/// differ on purpose.
fn abi_dump(headers: &Subject, out: &Path) -> Vec<String> {
    // Its signedness test compares unsigned values with 0 on purpose.
    Compile::c(cbindings_test("abi_dump.c"), headers)
        .arg("-Wno-type-limits")
        .build(out);
    let output = run(&mut Command::new(out), RUN_TIMEOUT);
    output.assert_success("abi_dump");
    output
        .stdout
        .lines()
        .filter(|line| {
            !line.starts_with("LIBMOSQUITTO_REVISION ")
                && !line.starts_with("LIBMOSQUITTO_VERSION_NUMBER ")
        })
        .map(str::to_owned)
        .collect()
}

/// Constants whose C type differs from Debian's while the value is the same:
/// cbindgen writes integer literals without a `U` suffix, so these are `int` or
/// `long` where Debian's are `unsigned int`. No function takes them by type.
const KNOWN_TYPE_DIFFERENCES: &[&str] = &[
    "MOSQ_LOG_INTERNAL",
    "MOSQ_LOG_ALL",
    "CMD_CONNECT",
    "CMD_CONNACK",
    "CMD_PUBLISH",
    "CMD_PUBACK",
    "CMD_PUBREC",
    "CMD_PUBREL",
    "CMD_PUBCOMP",
    "CMD_SUBSCRIBE",
    "CMD_SUBACK",
    "CMD_UNSUBSCRIBE",
    "CMD_UNSUBACK",
    "CMD_PINGREQ",
    "CMD_PINGRESP",
    "CMD_DISCONNECT",
    "CMD_AUTH",
    "MQTT_MAX_PAYLOAD",
];

#[test]
fn our_headers_give_debians_constants_and_struct_layouts() {
    let scratch = Scratch::new("abi");
    let ours = abi_dump(ours(), &scratch.path().join("abi_ours"));
    let debian = abi_dump(debian(), &scratch.path().join("abi_debian"));
    assert_eq!(ours.len(), debian.len());
    let value_of = |line: &str| line.split(" (size").next().unwrap().to_owned();
    let mut type_differences = BTreeSet::new();
    for (our_line, debian_line) in ours.iter().zip(&debian) {
        assert_eq!(value_of(our_line), value_of(debian_line), "values differ");
        if our_line != debian_line {
            type_differences.insert(our_line.split(' ').next().unwrap().to_owned());
        }
    }
    let known: BTreeSet<String> = KNOWN_TYPE_DIFFERENCES
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        type_differences, known,
        "constant types differ from Debian's (update KNOWN_TYPE_DIFFERENCES if fixed)"
    );
}

/// Debian's 107 prototypes, each as one line, from /usr/include/mosquitto.h.
fn debian_prototypes() -> Vec<String> {
    require(DEBIAN_HEADER, "libmosquitto-dev");
    let header = fs::read_to_string(DEBIAN_HEADER).unwrap();
    let without_comments = strip_c_comments(&header);
    let mut prototypes = Vec::new();
    let mut rest = without_comments.as_str();
    while let Some(start) = rest.find("libmosq_EXPORT ") {
        let after = &rest[start + "libmosq_EXPORT ".len()..];
        let line_start = rest[..start].rfind('\n').map_or(0, |i| i + 1);
        if rest[line_start..start].contains('#') {
            // `#define libmosq_EXPORT ...`, not a prototype.
            rest = after;
            continue;
        }
        let end = after.find(';').expect("a prototype ends with ;");
        let prototype = after[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        prototypes.push(format!("{prototype};"));
        rest = &after[end..];
    }
    prototypes
}

fn strip_c_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("*/")
            .map_or(rest.len(), |e| start + e + 2);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn debians_prototypes_agree_with_our_header_in_c_and_cpp() {
    let prototypes = debian_prototypes();
    assert_eq!(
        prototypes.len(),
        107,
        "expected Debian's 107 exported functions"
    );
    let scratch = Scratch::new("prototypes");
    let source = scratch.path().join("redeclare.c");
    let text = format!(
        "/* Our header first, then Debian's prototypes: any disagreement is an error. */\n\
         #include <mosquitto.h>\n#ifdef __cplusplus\nextern \"C\" {{\n#endif\n{}\n#ifdef __cplusplus\n}}\n#endif\n",
        prototypes.join("\n")
    );
    fs::write(&source, text).unwrap();
    let object = scratch.path().join("redeclare.o");
    compile_as_c_and_cpp(&source, &object);
}

/// Compiles `source` to `object` as C11 and as C++17, against our headers.
fn compile_as_c_and_cpp(source: &Path, object: &Path) {
    for (compiler, language, standard) in [("gcc", "c", "c11"), ("g++", "c++", "c++17")] {
        Compile::new(compiler, standard, source, ours())
            .arg("-x")
            .arg(language)
            .arg("-c")
            .build(object);
    }
}

#[test]
fn skeeter_h_compiles_on_its_own_in_c_and_cpp() {
    let scratch = Scratch::new("skeeter_h");
    let source = scratch.path().join("alone.c");
    fs::write(
        &source,
        "/* skeeter.h alone: it brings mosquitto.h and the types it needs. */\n\
         #include <skeeter.h>\n\
         int use_it(struct mosquitto *mosq) {\n\
         \tstruct skeeter_stats stats;\n\
         \treturn skeeter_stats(mosq, &stats, sizeof(stats));\n}\n",
    )
    .unwrap();
    let object = scratch.path().join("alone.o");
    compile_as_c_and_cpp(&source, &object);
}

/// Defined dynamic symbols with their versions, e.g. "T mosquitto_connect@@MOSQ_1.0".
fn exported_symbols(library: &Path) -> BTreeSet<String> {
    require("/usr/bin/nm", "binutils");
    let mut nm = Command::new("nm");
    nm.args(["-D", "--with-symbol-versions", "--defined-only"])
        .arg(library);
    let output = run(&mut nm, RUN_TIMEOUT);
    output.assert_success("nm");
    output
        .stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            Some(format!("{} {}", fields.next()?, fields.next()?))
        })
        .collect()
}

/// The functions libmosquitto 2.1 adds under its node `MOSQ_2.1`.
const MOSQ_2_1_FUNCTIONS: &[&str] = &[
    "mosquitto_pre_connect_callback_set",
    "mosquitto_unsubscribe2_v5_callback_set",
    "mosquitto_topic_matches_sub_with_pattern",
    "mosquitto_sub_matches_acl",
    "mosquitto_sub_matches_acl_with_pattern",
    "mosquitto_property_remove",
    "mosquitto_property_type",
    "mosquitto_property_byte_value",
    "mosquitto_property_int16_value",
    "mosquitto_property_int32_value",
    "mosquitto_property_varint_value",
    "mosquitto_property_binary_value",
    "mosquitto_property_binary_value_length",
    "mosquitto_property_string_value",
    "mosquitto_property_string_value_length",
    "mosquitto_property_string_name",
    "mosquitto_property_string_name_length",
];

#[test]
fn our_symbols_and_versions_are_debians_plus_the_2_1_and_skeeter_nodes() {
    let ours = exported_symbols(&ours().expected);
    let debian = exported_symbols(&debian().expected);
    let functions = debian.iter().filter(|s| s.starts_with("T ")).count();
    let nodes = debian.iter().filter(|s| s.starts_with("A MOSQ_1.")).count();
    assert_eq!(
        (functions, nodes),
        (107, 8),
        "Debian's library is not the expected 2.0 one"
    );
    let (own, libmosquittos): (BTreeSet<String>, BTreeSet<String>) = ours
        .into_iter()
        .partition(|s| s.ends_with("@@SKEETER_1.0") || s == "A SKEETER_1.0");
    let mut expected = debian.clone();
    expected.insert("A MOSQ_2.1".to_owned());
    for name in MOSQ_2_1_FUNCTIONS {
        expected.insert(format!("T {name}@@MOSQ_2.1"));
    }
    let missing: Vec<_> = expected.difference(&libmosquittos).collect();
    let extra: Vec<_> = libmosquittos.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    let mut expected: BTreeSet<String> = skeeter_h_functions()
        .iter()
        .map(|name| format!("T {name}@@SKEETER_1.0"))
        .collect();
    expected.insert("A SKEETER_1.0".to_string());
    assert_eq!(
        own, expected,
        "the SKEETER_1.0 node is not skeeter.h's functions"
    );
}

/// The functions include/skeeter.h declares: each `skeeter_...` name followed by `(`.
fn skeeter_h_functions() -> BTreeSet<String> {
    let header = fs::read_to_string(Path::new(MANIFEST_DIR).join("include/skeeter.h")).unwrap();
    header
        .match_indices("skeeter_")
        .filter_map(|(at, _)| {
            let rest = &header[at..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            rest[end..]
                .starts_with('(')
                .then(|| rest[..end].to_string())
        })
        .collect()
}

#[test]
fn a_program_built_against_debian_runs_on_ours_unchanged() {
    let scratch = Scratch::new("drop_in");
    let binary = scratch.path().join("drop_in");
    // Debian's headers and Debian's libmosquitto.so: no -Iinclude, no -L.
    Compile::c(cbindings_test("drop_in.c"), debian())
        .link(debian())
        .build(&binary);
    let output = run(&mut ours().command(&binary), RUN_TIMEOUT);
    output.assert_success("drop_in");
    assert!(
        output.stderr.is_empty(),
        "the loader complained: {}",
        output.stderr
    );
}

#[test]
fn the_pure_functions_answer_as_debians_do() {
    let scratch = Scratch::new("differential");
    let binary = scratch.path().join("differential");
    Compile::c(cbindings_test("differential.c"), ours())
        .arg("-O1")
        .library("dl")
        .build(&binary);
    let mut differential = Command::new(&binary);
    differential.arg(&debian().expected).arg(&ours().expected);
    run(&mut differential, RUN_TIMEOUT).assert_success("differential");
}
