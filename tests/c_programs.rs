//! The C side of the test suite: programs in `cbindings-tests/` compiled with gcc
//! against our headers and linked to the library `cargo test` just built, plus the
//! ABI, symbol, drop-in and differential proofs against Debian's libmosquitto.
//!
//! Our library is staged as `libmosquitto.so.1` (with a `libmosquitto.so` link for
//! the linker) in a directory of its own, and each C program checks with dladdr
//! that it really runs on that file: Debian's copy is installed on the build
//! machines and would otherwise be loaded without a word.
//!
//! Conventions: every `cbindings-tests/test_*.c` is compiled and run and must exit
//! 0; a file containing the comment `skeeter: check leaks` is also run under
//! valgrind, which must find no leak and no error.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const INSTALL_HINT: &str = "run scripts/install-deps.sh (it installs gcc, g++, valgrind, \
                            binutils and Debian's libmosquitto-dev)";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>/, found from this test binary's path (target/<profile>/deps/…).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// The staging directory holding our library as `libmosquitto.so.1`.
fn stage() -> &'static Path {
    static STAGE: OnceLock<PathBuf> = OnceLock::new();
    STAGE.get_or_init(|| {
        let built = profile_dir().join("libmosquitto.so");
        assert!(
            built.exists(),
            "{} is missing: cargo should build the cdylib before the tests",
            built.display()
        );
        let dir = profile_dir().join(format!("skeeter-stage-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::copy(&built, dir.join("libmosquitto.so.1")).unwrap();
        let link = dir.join("libmosquitto.so");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink("libmosquitto.so.1", &link).unwrap();
        dir
    })
}

fn staged_library() -> PathBuf {
    stage().join("libmosquitto.so.1")
}

/// A scratch directory for one test's build outputs.
fn scratch(name: &str) -> PathBuf {
    let dir = stage().join(name);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Debian's libmosquitto.so.1, by absolute path.
fn debian_library() -> PathBuf {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
    ];
    candidates
        .iter()
        .map(|dir| Path::new(dir).join("libmosquitto.so.1"))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("Debian's libmosquitto.so.1 is not installed: {INSTALL_HINT}"))
}

fn debian_header() -> PathBuf {
    let header = PathBuf::from("/usr/include/mosquitto.h");
    assert!(
        header.exists(),
        "/usr/include/mosquitto.h is missing (libmosquitto-dev): {INSTALL_HINT}"
    );
    header
}

/// Runs a tool, failing with the install hint when it is not there.
fn run(program: &str, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(program);
    command.args(args).current_dir(repo());
    for (key, value) in envs {
        command.env(key, value);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {INSTALL_HINT}"))
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("paths are UTF-8")
}

/// Compiles a C program against our headers and links it to the staged library.
fn build_against_ours(source: &Path, out: &Path, extra: &[&str]) {
    let stage = path_str(stage());
    let lib_dir = format!("-L{stage}");
    let rpath = format!("-Wl,-rpath,{stage}");
    let mut args = vec![
        "-std=c11",
        "-D_GNU_SOURCE",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-g",
        "-Iinclude",
        "-Icbindings-tests",
    ];
    args.extend_from_slice(&[
        path_str(source),
        "-o",
        path_str(out),
        &lib_dir,
        "-lmosquitto",
        &rpath,
        "-ldl",
    ]);
    args.extend_from_slice(extra);
    assert_success(
        &format!("gcc {}", source.display()),
        &run("gcc", &args, &[]),
    );
}

fn run_test_program(binary: &Path, under_valgrind: bool) -> Output {
    let expected = staged_library();
    let envs = [("SKEETER_EXPECTED_LIB", expected.as_path())];
    if under_valgrind {
        let args = [
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=3",
            "-q",
            path_str(binary),
        ];
        run("valgrind", &args, &envs)
    } else {
        run(path_str(binary), &[], &envs)
    }
}

#[test]
fn every_c_test_program_passes_on_our_library() {
    let out_dir = scratch("programs");
    let mut sources: Vec<PathBuf> = fs::read_dir(repo().join("cbindings-tests"))
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
        let binary = out_dir.join(source.file_stem().unwrap());
        build_against_ours(source, &binary, &[]);
        assert_success(
            &source.display().to_string(),
            &run_test_program(&binary, false),
        );
        if fs::read_to_string(source)
            .unwrap()
            .contains("skeeter: check leaks")
        {
            let output = run_test_program(&binary, true);
            assert_success(&format!("valgrind {}", source.display()), &output);
        }
    }
}

/// Output lines of abi_dump, without the version lines that differ on purpose.
fn abi_dump(use_our_headers: bool, out: &Path) -> Vec<String> {
    let mut args = vec!["-std=c11", "-Wall", "-Werror"];
    if use_our_headers {
        args.push("-Iinclude");
    }
    args.extend_from_slice(&["cbindings-tests/abi_dump.c", "-o", path_str(out)]);
    assert_success("gcc abi_dump.c", &run("gcc", &args, &[]));
    let output = run(path_str(out), &[], &[]);
    assert_success("abi_dump", &output);
    String::from_utf8(output.stdout)
        .unwrap()
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
    let dir = scratch("abi");
    let ours = abi_dump(true, &dir.join("abi_ours"));
    debian_header();
    let debian = abi_dump(false, &dir.join("abi_debian"));
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
    let header = fs::read_to_string(debian_header()).unwrap();
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
    let dir = scratch("prototypes");
    let source = dir.join("redeclare.c");
    let text = format!(
        "/* Our header first, then Debian's prototypes: any disagreement is an error. */\n\
         #include <mosquitto.h>\n#ifdef __cplusplus\nextern \"C\" {{\n#endif\n{}\n#ifdef __cplusplus\n}}\n#endif\n",
        prototypes.join("\n")
    );
    fs::write(&source, text).unwrap();
    let object = dir.join("redeclare.o");
    for (compiler, language) in [("gcc", "c"), ("g++", "c++")] {
        let args = [
            "-x",
            language,
            "-Wall",
            "-Werror",
            "-Iinclude",
            "-c",
            path_str(&source),
            "-o",
            path_str(&object),
        ];
        assert_success(
            &format!("{compiler} redeclare.c"),
            &run(compiler, &args, &[]),
        );
    }
}

/// Defined dynamic symbols with their versions, e.g. "T mosquitto_connect@@MOSQ_1.0".
fn exported_symbols(library: &Path) -> BTreeSet<String> {
    let output = run(
        "nm",
        &[
            "-D",
            "--with-symbol-versions",
            "--defined-only",
            path_str(library),
        ],
        &[],
    );
    assert_success("nm", &output);
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            Some(format!("{} {}", fields.next()?, fields.next()?))
        })
        .collect()
}

#[test]
fn our_symbols_and_versions_are_debians() {
    let ours = exported_symbols(&staged_library());
    let debian = exported_symbols(&debian_library());
    let functions = debian.iter().filter(|s| s.starts_with("T ")).count();
    let nodes = debian.iter().filter(|s| s.starts_with("A MOSQ_1.")).count();
    assert_eq!(
        (functions, nodes),
        (107, 8),
        "Debian's library is not the expected 2.0 one"
    );
    let missing: Vec<_> = debian.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&debian).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
}

#[test]
fn a_program_built_against_debian_runs_on_ours_unchanged() {
    debian_library();
    let dir = scratch("drop_in");
    let binary = dir.join("drop_in");
    // Debian's headers and Debian's libmosquitto.so: no -Iinclude, no -L.
    let args = [
        "-std=c11",
        "-D_GNU_SOURCE",
        "-Wall",
        "-Werror",
        "-Icbindings-tests",
        "cbindings-tests/drop_in.c",
        "-o",
        path_str(&binary),
        "-lmosquitto",
        "-ldl",
    ];
    assert_success("gcc drop_in.c", &run("gcc", &args, &[]));
    let expected = staged_library();
    let envs = [
        ("LD_LIBRARY_PATH", stage()),
        ("SKEETER_EXPECTED_LIB", expected.as_path()),
    ];
    let output = run(path_str(&binary), &[], &envs);
    assert_success("drop_in", &output);
    assert!(
        output.stderr.is_empty(),
        "the loader complained: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_pure_functions_answer_as_debians_do() {
    let debian = debian_library();
    let dir = scratch("differential");
    let binary = dir.join("differential");
    let args = [
        "-std=c11",
        "-O1",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Iinclude",
        "cbindings-tests/differential.c",
        "-o",
        path_str(&binary),
        "-ldl",
    ];
    assert_success("gcc differential.c", &run("gcc", &args, &[]));
    let output = run(
        path_str(&binary),
        &[path_str(&debian), path_str(&staged_library())],
        &[],
    );
    assert_success("differential", &output);
}
