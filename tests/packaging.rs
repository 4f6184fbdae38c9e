//! The Debian packages of `make deb` (scripts/deb.sh), made here from the library
//! cargo test just built (a debug build; `make deb` packages the release build):
//! their control fields and files, what lintian says of them, and an install with
//! dpkg into a scratch root (never the real system). There they take the place of
//! stand-ins for Debian's libmosquitto1 and libmosquitto-dev, whose dependants stay
//! installed, and Debian's own mosquitto_sub and mosquitto_pub, and a C program
//! built with the installed -dev package, run on the installed library against a
//! private broker. Then Debian's packages come back.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use support::broker::Broker;
use support::stage::{
    built_library, cbindings_test, require, run, scratch_root, Compile, Output, Process, Scratch,
    Subject, MANIFEST_DIR, RUN_TIMEOUT,
};

/// lintian reads every file of three packages; give it room on a busy machine.
const LINTIAN_TIMEOUT: Duration = Duration::from_secs(300);

/// The three packages, made once per test run.
struct Packages {
    runtime: PathBuf,
    dev: PathBuf,
    dbgsym: PathBuf,
    /// e.g. "2.0.20+skeeter0.1.0"
    version: String,
    /// libmosquitto's API version, from include/mosquitto.h: "2.0.20"
    api: String,
    multiarch: String,
    arch: String,
}

fn packages() -> &'static Packages {
    static PACKAGES: OnceLock<Packages> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        require("/usr/bin/dpkg-shlibdeps", "dpkg-dev");
        let dir = scratch_root().join("deb");
        let mut deb = Command::new(Path::new(MANIFEST_DIR).join("scripts/deb.sh"));
        deb.arg(built_library()).arg(&dir);
        run(&mut deb, Duration::from_secs(300)).assert_success("scripts/deb.sh");

        let api = api_version();
        let crate_version = env!("CARGO_PKG_VERSION");
        let version = format!("{api}+skeeter{crate_version}");
        let arch = stdout_of(Command::new("dpkg").arg("--print-architecture"));
        let multiarch = stdout_of(Command::new("dpkg-architecture").arg("-qDEB_HOST_MULTIARCH"));
        let file = |name: &str| {
            let path = dir.join(format!("{name}_{version}_{arch}.deb"));
            assert!(path.is_file(), "scripts/deb.sh wrote no {}", path.display());
            path
        };
        Packages {
            runtime: file("skeeter-libmosquitto1"),
            dev: file("skeeter-libmosquitto-dev"),
            dbgsym: file("skeeter-libmosquitto1-dbgsym"),
            version,
            api,
            multiarch,
            arch,
        }
    })
}

/// "2.0.20", from the LIBMOSQUITTO_* defines of our header.
fn api_version() -> String {
    let header = fs::read_to_string(Path::new(MANIFEST_DIR).join("include/mosquitto.h")).unwrap();
    let part = |name: &str| {
        header
            .lines()
            .find_map(|line| line.strip_prefix(&format!("#define LIBMOSQUITTO_{name} ")))
            .unwrap_or_else(|| panic!("no LIBMOSQUITTO_{name} in include/mosquitto.h"))
            .trim()
            .to_string()
    };
    format!("{}.{}.{}", part("MAJOR"), part("MINOR"), part("REVISION"))
}

/// The command's stdout, trimmed; fails the test when it fails.
fn stdout_of(command: &mut Command) -> String {
    let output = run(command, RUN_TIMEOUT);
    output.assert_success(&format!("{command:?}"));
    output.stdout.trim().to_string()
}

/// One control field of a package (`dpkg-deb -f`).
fn field(deb: &Path, name: &str) -> String {
    stdout_of(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
}

/// The paths in a package, as `dpkg-deb -c` lists them ("./usr/lib/..."), with
/// " -> target" after a symbolic link.
fn contents(deb: &Path) -> Vec<String> {
    stdout_of(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .map(|line| {
            line.split_whitespace()
                .skip(5)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The installed version of a Debian package on this machine.
fn installed_version(package: &str) -> String {
    stdout_of(Command::new("dpkg-query").args(["-W", "-f=${Version}", package]))
}

#[test]
fn the_runtime_package_provides_replaces_and_conflicts_with_libmosquitto1() {
    let p = packages();
    let deb = &p.runtime;
    assert_eq!(field(deb, "Package"), "skeeter-libmosquitto1");
    assert_eq!(field(deb, "Version"), p.version);
    assert_eq!(field(deb, "Architecture"), p.arch);
    assert_eq!(field(deb, "Multi-Arch"), "same");
    assert_eq!(field(deb, "Section"), "libs");
    assert_eq!(field(deb, "Conflicts"), "libmosquitto1");
    assert_eq!(field(deb, "Replaces"), "libmosquitto1");
    // The API version, and Debian's exact version, which mosquitto-clients pins.
    let provides = field(deb, "Provides");
    let debians = installed_version("libmosquitto1");
    for wanted in [
        format!("libmosquitto1 (= {})", p.api),
        format!("libmosquitto1 (= {debians})"),
    ] {
        assert!(
            provides.split(", ").any(|item| item == wanted),
            "Provides: {provides} lacks {wanted}"
        );
    }
    // dpkg-shlibdeps found the C library; OpenSSL is not needed.
    let depends = field(deb, "Depends");
    assert!(depends.contains("libc6 (>= "), "Depends: {depends}");
    assert!(!depends.contains("libssl"), "Depends: {depends}");

    let lib = format!("./usr/lib/{}/", p.multiarch);
    let files = contents(deb);
    let realname = files
        .iter()
        .find_map(|f| f.strip_prefix(&format!("{lib}libmosquitto.so.1 -> ")))
        .unwrap_or_else(|| panic!("no libmosquitto.so.1 link in {files:#?}"));
    assert!(files.contains(&format!("{lib}{realname}")), "{files:#?}");
    for doc in ["copyright", "changelog.gz"] {
        let path = format!("./usr/share/doc/skeeter-libmosquitto1/{doc}");
        assert!(files.contains(&path), "no {path} in {files:#?}");
    }
    assert!(
        !files
            .iter()
            .any(|f| f.contains("/include/") || f.ends_with(".so")),
        "development files in the runtime package: {files:#?}"
    );
}

#[test]
fn packages_built_against_ours_depend_on_libmosquitto1_as_against_debians() {
    let p = packages();
    let ours = stdout_of(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&p.runtime)
            .arg("symbols"),
    );
    let debians = format!("/var/lib/dpkg/info/libmosquitto1:{}.symbols", p.arch);
    require(&debians, "libmosquitto1");
    let debians = fs::read_to_string(&debians).unwrap();
    // The same symbols, each with the same first version of libmosquitto1: a program
    // built against either library runs on the other.
    let ours: Vec<&str> = ours.lines().filter(|l| !l.starts_with('*')).collect();
    let debians: Vec<&str> = debians.lines().filter(|l| !l.starts_with('*')).collect();
    assert_eq!(ours, debians);
    assert_eq!(ours.len(), 1 + 107 + 8, "a header, 107 functions, 8 nodes");
    let shlibs = stdout_of(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&p.runtime)
            .arg("shlibs"),
    );
    assert_eq!(shlibs, "libmosquitto 1 libmosquitto1 (>= 2.0)");
    let triggers = stdout_of(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&p.runtime)
            .arg("triggers"),
    );
    assert_eq!(triggers, "activate-noawait ldconfig");
}

#[test]
fn the_dev_package_takes_the_place_of_libmosquitto_dev() {
    let p = packages();
    let deb = &p.dev;
    assert_eq!(field(deb, "Package"), "skeeter-libmosquitto-dev");
    assert_eq!(field(deb, "Version"), p.version);
    assert_eq!(field(deb, "Section"), "libdevel");
    assert_eq!(
        field(deb, "Depends"),
        format!("skeeter-libmosquitto1 (= {})", p.version)
    );
    assert_eq!(
        field(deb, "Provides"),
        format!("libmosquitto-dev (= {})", p.api)
    );
    assert_eq!(field(deb, "Conflicts"), "libmosquitto-dev");
    assert_eq!(field(deb, "Replaces"), "libmosquitto-dev");
    let files = contents(deb);
    let lib = format!("./usr/lib/{}", p.multiarch);
    for wanted in [
        "./usr/include/mosquitto.h".to_string(),
        "./usr/include/mqtt_protocol.h".to_string(),
        "./usr/include/skeeter.h".to_string(),
        format!("{lib}/libmosquitto.so -> libmosquitto.so.1"),
        format!("{lib}/pkgconfig/libmosquitto.pc"),
        "./usr/share/doc/skeeter-libmosquitto-dev/copyright".to_string(),
    ] {
        assert!(files.contains(&wanted), "no {wanted} in {files:#?}");
    }
}

/// The packaged library has no debug information but every export keeps its
/// symbol version; the debug package holds the rest under the library's build-id.
#[test]
fn the_packaged_library_is_stripped_and_its_debug_file_is_in_the_dbgsym_package() {
    let p = packages();
    let scratch = Scratch::new("extract");
    let dir = scratch.path();
    stdout_of(Command::new("dpkg-deb").arg("-x").arg(&p.runtime).arg(dir));
    let library = dir.join(format!("usr/lib/{}/libmosquitto.so.1", p.multiarch));

    let sections = stdout_of(Command::new("readelf").arg("-S").arg("-W").arg(&library));
    assert!(
        !sections.contains(".debug_info"),
        "not stripped:\n{sections}"
    );
    assert!(
        sections.contains(".gnu_debuglink"),
        "no debug link:\n{sections}"
    );
    let built = built_library();
    let built_sections = stdout_of(Command::new("readelf").arg("-S").arg(&built));
    assert!(
        built_sections.contains(".debug_info"),
        "the built library has no debug information to split, so this test proves nothing"
    );

    // The same dynamic symbols, with the same versions, as the library built.
    let symbols = |file: &Path| {
        stdout_of(
            Command::new("nm")
                .args(["-D", "--with-symbol-versions", "--defined-only"])
                .arg(file),
        )
    };
    let packaged = symbols(&library);
    assert_eq!(packaged, symbols(&built));
    assert!(packaged.contains(" T mosquitto_connect@@MOSQ_1.0\n"));
    assert!(packaged.contains(" T mosquitto_property_add_byte@@MOSQ_1.6\n"));
    let soname = stdout_of(Command::new("readelf").arg("-d").arg(&library));
    assert!(
        soname.contains("Library soname: [libmosquitto.so.1]"),
        "{soname}"
    );

    let notes = stdout_of(Command::new("readelf").arg("-n").arg(&library));
    let build_id = notes
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .expect("no build-id note")
        .to_string();
    assert_eq!(field(&p.dbgsym, "Build-Ids"), build_id);
    assert_eq!(
        field(&p.dbgsym, "Depends"),
        format!("skeeter-libmosquitto1 (= {})", p.version)
    );
    let debug_file = format!(
        "./usr/lib/debug/.build-id/{}/{}.debug",
        &build_id[..2],
        &build_id[2..]
    );
    assert!(
        contents(&p.dbgsym).contains(&debug_file),
        "no {debug_file} in the dbgsym package"
    );
}

/// lintian, pedantic and with the informational tags, finds nothing but the two
/// overrides the package carries, which their comments explain.
#[test]
fn lintian_finds_only_the_explained_overrides() {
    require("/usr/bin/lintian", "lintian");
    let p = packages();
    let mut lintian = Command::new("lintian");
    lintian
        .args(["--pedantic", "--display-info", "--show-overrides"])
        .args([&p.runtime, &p.dev, &p.dbgsym]);
    let output = run(&mut lintian, LINTIAN_TIMEOUT);
    let mut findings: Vec<&str> = output
        .stdout
        .lines()
        // "N:" lines are the overrides' comments, which lintian shows with them.
        .filter(|line| line.len() > 2 && &line[1..3] == ": " && !line.starts_with("N:"))
        .collect();
    findings.sort();
    let lib = format!("usr/lib/{}/libmosquitto.so.1.", p.multiarch);
    let hardening = format!("O: skeeter-libmosquitto1: hardening-no-fortify-functions [{lib}");
    assert!(
        findings.len() == 2
            && findings[0].starts_with(&hardening)
            && findings[1]
                == "O: skeeter-libmosquitto1: package-name-doesnt-match-sonames libmosquitto1",
        "lintian:\n{output}"
    );
    assert!(output.status.success(), "lintian:\n{output}");

    // Each override in scripts/deb/ follows a comment that says why.
    let overrides = fs::read_to_string(
        Path::new(MANIFEST_DIR).join("scripts/deb/skeeter-libmosquitto1.lintian-overrides"),
    )
    .unwrap();
    let lines: Vec<&str> = overrides.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with('#') && !line.trim().is_empty() {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "{line} is not explained"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Installing into a scratch root

/// A directory with its own dpkg database, where packages are installed with
/// `dpkg --root`.
struct Root {
    _scratch: Scratch,
    path: PathBuf,
    stubs: PathBuf,
}

impl Root {
    fn new() -> Root {
        let scratch = Scratch::new("root");
        let path = scratch.path().join("root");
        let admin = path.join("var/lib/dpkg");
        for dir in ["info", "updates", "triggers"] {
            fs::create_dir_all(admin.join(dir)).unwrap();
        }
        fs::write(admin.join("status"), "").unwrap();
        fs::write(admin.join("available"), "").unwrap();
        let stubs = scratch.path().join("stubs");
        fs::create_dir_all(&stubs).unwrap();
        Root {
            _scratch: scratch,
            path,
            stubs,
        }
    }

    /// dpkg on this root: no maintainer script runs (ours have none), and no
    /// dependency is forced unless `args` says so.
    fn dpkg(&self, args: &[&str]) -> Output {
        let mut dpkg = Command::new("dpkg");
        dpkg.arg(format!("--root={}", self.path.display()))
            .args(["--force-not-root", "--force-script-chrootless"])
            .args(args);
        run(&mut dpkg, Duration::from_secs(120))
    }

    fn install(&self, debs: &[&Path]) {
        let mut args = vec!["--install"];
        args.extend(debs.iter().map(|deb| deb.to_str().unwrap()));
        self.dpkg(&args)
            .assert_success(&format!("dpkg --install {debs:?}"));
    }

    /// Package → status abbreviation ("ii") for every package dpkg knows here.
    fn status(&self) -> Vec<(String, String)> {
        let mut query = Command::new("dpkg-query");
        query
            .arg(format!(
                "--admindir={}",
                self.path.join("var/lib/dpkg").display()
            ))
            .args(["-W", "-f=${Package} ${db:Status-Abbrev}\n"]);
        let mut status: Vec<(String, String)> = stdout_of(&mut query)
            .lines()
            .filter_map(|l| {
                let (package, abbrev) = l.split_once(' ')?;
                Some((package.to_string(), abbrev.trim().to_string()))
            })
            .collect();
        status.sort();
        status
    }

    fn installed(&self) -> Vec<String> {
        self.status()
            .into_iter()
            .filter(|(_, abbrev)| abbrev == "ii")
            .map(|(package, _)| package)
            .collect()
    }

    /// `dpkg --audit` and `dpkg --configure --pending` find nothing broken.
    fn assert_consistent(&self) {
        let audit = self.dpkg(&["--audit"]);
        audit.assert_success("dpkg --audit");
        assert!(audit.stdout.trim().is_empty(), "dpkg --audit:\n{audit}");
        self.dpkg(&["--configure", "--pending"])
            .assert_success("dpkg --configure --pending");
    }

    /// Builds a stand-in package: its control fields, and files copied in
    /// (`(path in the root, source)`) or links (`(path, "-> target")`).
    fn stub(
        &self,
        name: &str,
        version: &str,
        depends: &str,
        files: &[(String, String)],
    ) -> PathBuf {
        let tree = self.stubs.join(name);
        fs::create_dir_all(tree.join("DEBIAN")).unwrap();
        let mut control = format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {}\nMulti-Arch: same\n\
             Maintainer: skeeter tests <tests@invalid.example>\nDescription: stand-in for {name}\n",
            packages().arch
        );
        if !depends.is_empty() {
            control.push_str(&format!("Depends: {depends}\n"));
        }
        fs::write(tree.join("DEBIAN/control"), control).unwrap();
        for (path, source) in files {
            let target = tree.join(path);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            match source.strip_prefix("-> ") {
                Some(link) => symlink(link, &target).unwrap(),
                None => {
                    fs::copy(source, &target).unwrap();
                }
            }
        }
        let deb = self.stubs.join(format!("{name}.deb"));
        let mut build = Command::new("dpkg-deb");
        build
            .args(["--root-owner-group", "-Znone", "--build"])
            .arg(&tree)
            .arg(&deb);
        run(&mut build, RUN_TIMEOUT).assert_success("dpkg-deb --build (stub)");
        deb
    }

    fn libdir(&self) -> PathBuf {
        self.path.join("usr/lib").join(&packages().multiarch)
    }

    /// The file libmosquitto.so.1 leads to in this root.
    fn library(&self) -> PathBuf {
        fs::canonicalize(self.libdir().join("libmosquitto.so.1")).unwrap()
    }
}

/// The `libmosquitto1 (...)` clause of an installed package's Depends.
fn libmosquitto1_clause(package: &str) -> String {
    let depends = stdout_of(Command::new("dpkg-query").args(["-W", "-f=${Depends}", package]));
    depends
        .split(", ")
        .find(|clause| clause.starts_with("libmosquitto1 "))
        .unwrap_or_else(|| panic!("{package} does not depend on libmosquitto1: {depends}"))
        .to_string()
}

/// The path of the libmosquitto mapped into a running process.
fn mapped_libmosquitto(pid: u32, timeout: Duration) -> PathBuf {
    let deadline = Instant::now() + timeout;
    loop {
        let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        if let Some(path) = maps
            .lines()
            .filter_map(|line| line.split_whitespace().nth(5))
            .find(|path| path.contains("libmosquitto"))
        {
            return PathBuf::from(path);
        }
        assert!(
            Instant::now() < deadline,
            "process {pid} mapped no libmosquitto"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn installed_packages_replace_debians_and_its_programs_run_on_them() {
    for program in ["/usr/bin/mosquitto_sub", "/usr/bin/mosquitto_pub"] {
        require(program, "mosquitto-clients");
    }
    require("/usr/bin/pkg-config", "pkg-config");
    let p = packages();
    let root = Root::new();
    let lib = format!("usr/lib/{}", p.multiarch);

    // Stand-ins for what Debian has installed: the C libraries ours depends on (no
    // files), libmosquitto1 with Debian's real library, libmosquitto-dev, and
    // mosquitto-clients with Debian's real programs and its exact dependency.
    let debian_library = fs::canonicalize(format!("/{lib}/libmosquitto.so.1")).unwrap();
    let debian_name = debian_library
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let debian_version = installed_version("libmosquitto1");
    let libc6 = root.stub("libc6", &installed_version("libc6"), "", &[]);
    let libgcc = root.stub("libgcc-s1", &installed_version("libgcc-s1"), "", &[]);
    let libmosquitto1 = root.stub(
        "libmosquitto1",
        &debian_version,
        "",
        &[
            (
                format!("{lib}/{debian_name}"),
                debian_library.display().to_string(),
            ),
            (
                format!("{lib}/libmosquitto.so.1"),
                format!("-> {debian_name}"),
            ),
        ],
    );
    let libmosquitto_dev = root.stub(
        "libmosquitto-dev",
        &debian_version,
        &format!("libmosquitto1 (= {debian_version})"),
        &[(
            "usr/include/mosquitto.h".to_string(),
            "/usr/include/mosquitto.h".to_string(),
        )],
    );
    let clients = root.stub(
        "mosquitto-clients",
        &installed_version("mosquitto-clients"),
        &libmosquitto1_clause("mosquitto-clients"),
        &[
            (
                "usr/bin/mosquitto_sub".into(),
                "/usr/bin/mosquitto_sub".into(),
            ),
            (
                "usr/bin/mosquitto_pub".into(),
                "/usr/bin/mosquitto_pub".into(),
            ),
        ],
    );
    // What a package built against libmosquitto 1.5's symbols, and one needing the
    // development files, would ask for.
    let third_party = root.stub("third-party", "1.0", "libmosquitto1 (>= 1.5)", &[]);
    let third_party_dev = root.stub("third-party-dev", "1.0", "libmosquitto-dev", &[]);
    root.install(&[
        &libc6,
        &libgcc,
        &libmosquitto1,
        &libmosquitto_dev,
        &clients,
        &third_party,
        &third_party_dev,
    ]);
    assert_eq!(root.library(), root.libdir().join(&debian_name));

    // Ours, without forcing anything: dpkg removes Debian's in their favour, and
    // everything that depended on them is still satisfied.
    root.install(&[&p.runtime, &p.dev]);
    root.assert_consistent();
    let installed = root.installed();
    for package in [
        "skeeter-libmosquitto1",
        "skeeter-libmosquitto-dev",
        "mosquitto-clients",
        "third-party",
        "third-party-dev",
    ] {
        assert!(
            installed.iter().any(|i| i == package),
            "{package} is not installed: {installed:?}"
        );
    }
    for package in ["libmosquitto1", "libmosquitto-dev"] {
        assert!(
            !installed.iter().any(|i| i == package),
            "{package} is still installed: {installed:?}"
        );
    }
    let ours = root.library();
    assert_ne!(ours.file_name().unwrap().to_string_lossy(), debian_name);
    assert!(
        !root.libdir().join(&debian_name).exists(),
        "Debian's library is still there"
    );

    let broker = Broker::start();
    let port = broker.port.to_string();
    let client = |program: &str| {
        let mut command = Command::new(root.path.join("usr/bin").join(program));
        command.env("LD_LIBRARY_PATH", root.libdir());
        command.args(["-h", "127.0.0.1", "-p", &port, "-t", "skeeter/packaging"]);
        command
    };
    // Debian's mosquitto_sub, as installed in the root, on our library.
    let mut sub = Process::spawn(client("mosquitto_sub").args(["-C", "1", "-W", "30"]));
    assert_eq!(
        mapped_libmosquitto(sub.pid(), Duration::from_secs(10)),
        ours
    );
    // Retained, so the subscriber gets it whether it has subscribed yet or not.
    let mut publish = client("mosquitto_pub");
    publish
        .args(["-r", "-q", "1", "-m", "through the package"])
        .env("LD_DEBUG", "libs");
    let published = run(&mut publish, RUN_TIMEOUT);
    published.assert_success("mosquitto_pub");
    let init = format!(
        "calling init: {}/libmosquitto.so.1",
        root.libdir().display()
    );
    assert!(
        published.stderr.contains(&init),
        "mosquitto_pub did not load ours:\n{published}"
    );
    let received = sub.finish(Duration::from_secs(30));
    received.assert_success("mosquitto_sub");
    assert_eq!(received.stdout, "through the package\n");

    // A program built with the installed -dev package, found through its .pc file.
    let mut pkg_config = Command::new("pkg-config");
    pkg_config
        .args(["--cflags", "--libs", "libmosquitto"])
        .env("PKG_CONFIG_LIBDIR", root.libdir().join("pkgconfig"))
        .env("PKG_CONFIG_SYSROOT_DIR", &root.path);
    let flags = stdout_of(&mut pkg_config);
    assert!(
        flags.contains(&format!("-L{}", root.libdir().display())) && flags.contains("-lmosquitto"),
        "pkg-config: {flags}"
    );
    let installed_dev = Subject {
        include_dir: Some(root.path.join("usr/include")),
        library_dir: Some(root.libdir()),
        expected: ours.clone(),
    };
    let scratch = Scratch::new("drop_in");
    let program = scratch.path().join("drop_in");
    let mut compile = Compile::c(cbindings_test("drop_in.c"), &installed_dev);
    for flag in flags.split_whitespace() {
        compile = compile.arg(flag);
    }
    compile.link(&installed_dev).build(&program);
    let output = run(&mut installed_dev.command(&program), RUN_TIMEOUT);
    output.assert_success("drop_in on the installed package");
    output.assert_quiet();

    // A package of that program, built on this root, would depend on libmosquitto1
    // (which ours provides and Debian's is) from the symbols file ours installed:
    // the properties calls came with 1.6. libc's package here is a stand-in without
    // files, so its missing information is ignored.
    let build = scratch.path().join("build");
    fs::create_dir_all(build.join("debian")).unwrap();
    fs::write(
        build.join("debian/control"),
        "Source: drop-in\n\nPackage: drop-in\nArchitecture: any\n",
    )
    .unwrap();
    let mut shlibdeps = Command::new("dpkg-shlibdeps");
    shlibdeps
        .current_dir(&build)
        .arg(format!(
            "--admindir={}",
            root.path.join("var/lib/dpkg").display()
        ))
        .arg(format!("-l{}", root.libdir().display()))
        .args(["--ignore-missing-info", "-O"])
        .arg(&program);
    let substvars = stdout_of(&mut shlibdeps);
    assert_eq!(substvars, "shlibs:Depends=libmosquitto1 (>= 1.6)");

    // Back to Debian's: ours out (as apt does it, in one step with the new one),
    // Debian's in, and everything is consistent again.
    root.dpkg(&[
        "--remove",
        "--force-depends",
        "skeeter-libmosquitto-dev",
        "skeeter-libmosquitto1",
    ])
    .assert_success("dpkg --remove");
    root.install(&[&libmosquitto1, &libmosquitto_dev]);
    root.assert_consistent();
    assert_eq!(root.library(), root.libdir().join(&debian_name));
    let installed = root.installed();
    assert!(
        !installed.iter().any(|i| i.starts_with("skeeter-")),
        "{installed:?}"
    );
}
