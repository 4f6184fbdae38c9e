//! The library under test, and running programs on it.
//!
//! Cargo writes `libmosquitto.so`; the loader looks for `libmosquitto.so.1`, and
//! Debian's copy is installed too and would be picked silently. So programs are built
//! against our `include/` and run with our library staged as `libmosquitto.so.1`
//! first in `LD_LIBRARY_PATH`. Each program prints `loaded: <file>` (found with
//! dladdr), and [`Output::assert_passed`] checks it is the staged copy; the programs
//! of `cbindings-tests/skeeter_test.h` check it themselves against
//! `SKEETER_EXPECTED_LIB`, which [`Subject::command`] sets.
//!
//! `SKEETER_TEST_AGAINST_DEBIAN=1` builds and runs the same programs against Debian's
//! libmosquitto and headers instead, which proves the tests themselves right:
//! [`subject`] is then [`debian`] rather than [`ours`]. Tests that compare the two
//! name them directly.
//!
//! Every process is bounded by a time limit and killed by PID when it is over or when
//! its guard is dropped, so a hanging library never leaves a process behind.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

pub const AGAINST_DEBIAN: &str = "SKEETER_TEST_AGAINST_DEBIAN";
pub const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
/// The default bound for one program run.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// True when `SKEETER_TEST_AGAINST_DEBIAN` is set (and not empty or `0`).
pub fn against_debian() -> bool {
    std::env::var_os(AGAINST_DEBIAN).is_some_and(|value| !value.is_empty() && value != "0")
}

// ---------------------------------------------------------------------------------
// The library under test

/// Debian's header, which Debian mode builds against and the ABI tests compare with.
pub const DEBIAN_HEADER: &str = "/usr/include/mosquitto.h";

/// Where the programs find the headers and the library, and which file they must load.
pub struct Subject {
    /// `-I` for the compiler; None: the system's headers (Debian's).
    pub include_dir: Option<PathBuf>,
    /// `-L` for the linker and first in `LD_LIBRARY_PATH`; None: the system's library.
    pub library_dir: Option<PathBuf>,
    /// The canonical path of the library file, which every program must load.
    pub expected: PathBuf,
}

/// The library the tests are about: [`ours`], or [`debian`] in Debian mode.
pub fn subject() -> &'static Subject {
    if against_debian() {
        debian()
    } else {
        ours()
    }
}

/// Our library staged as `libmosquitto.so.1` (with a `libmosquitto.so` link for the
/// linker) in the scratch root, in either mode: the tests that compare it with
/// Debian's use it directly.
pub fn ours() -> &'static Subject {
    static OURS: OnceLock<Subject> = OnceLock::new();
    OURS.get_or_init(|| {
        let built = built_library();
        let stage = scratch_root().join("stage");
        fs::create_dir_all(&stage).unwrap();
        let staged = stage.join("libmosquitto.so.1");
        fs::copy(&built, &staged).unwrap();
        std::os::unix::fs::symlink("libmosquitto.so.1", stage.join("libmosquitto.so")).unwrap();
        Subject {
            include_dir: Some(Path::new(MANIFEST_DIR).join("include")),
            library_dir: Some(stage),
            expected: fs::canonicalize(staged).unwrap(),
        }
    })
}

/// Debian's libmosquitto and headers, where the system's compiler and loader find them.
pub fn debian() -> &'static Subject {
    static DEBIAN: OnceLock<Subject> = OnceLock::new();
    DEBIAN.get_or_init(|| {
        require(DEBIAN_HEADER, "libmosquitto-dev");
        require("/usr/bin/gcc", "gcc");
        let mut gcc = Command::new("gcc");
        gcc.arg("-print-file-name=libmosquitto.so.1");
        let found = PathBuf::from(run(&mut gcc, RUN_TIMEOUT).stdout.trim());
        assert!(
            found.is_absolute(),
            "Debian's libmosquitto.so.1 not found: run scripts/install-deps.sh"
        );
        Subject {
            include_dir: None,
            library_dir: None,
            expected: fs::canonicalize(found).unwrap(),
        }
    })
}

impl Subject {
    /// A command running `program` on this library: its directory first in the
    /// loader's path, and its file in `SKEETER_EXPECTED_LIB` for the programs that
    /// check with dladdr themselves (`cbindings-tests/skeeter_test.h`).
    ///
    /// With `SKEETER_VALGRIND=1` (`make test-valgrind`), a program run on our
    /// library runs under [`Subject::valgrind`] instead.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        if self.library_dir.is_some() && under_valgrind() {
            return self.valgrind(Path::new(program.as_ref()));
        }
        self.plain_command(program)
    }

    /// The same, never under valgrind: for an interpreter (Python) that runs the
    /// program.
    pub fn plain_command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        if let Some(dir) = &self.library_dir {
            command.env("LD_LIBRARY_PATH", prepend_library_path(dir));
        }
        command.env("SKEETER_EXPECTED_LIB", &self.expected);
        command
    }

    /// The same under valgrind, which exits 3 on any memory error or definite or
    /// indirect leak.
    pub fn valgrind(&self, program: &Path) -> Command {
        // A program built with a sanitizer cannot run under valgrind; the
        // sanitizer (with LeakSanitizer) does the checking then.
        if c_sanitizer().is_some() {
            return self.plain_command(program);
        }
        require("/usr/bin/valgrind", "valgrind");
        let mut command = self.plain_command("valgrind");
        command.args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=3",
            "-q",
        ]);
        let suppressions = Path::new(MANIFEST_DIR).join("scripts/valgrind.supp");
        if suppressions.is_file() {
            command.arg(format!("--suppressions={}", suppressions.display()));
        }
        command.arg(program);
        command
    }
}

/// `SKEETER_C_SANITIZER` (`address`, as `make test-asan` sets it): every C and C++
/// program is built with `-fsanitize=<it>`.
pub fn c_sanitizer() -> Option<String> {
    std::env::var("SKEETER_C_SANITIZER")
        .ok()
        .filter(|value| !value.is_empty())
}

/// True when `SKEETER_VALGRIND` is set (and not empty or `0`): programs on our
/// library run under valgrind (see `scripts/valgrind.sh`).
pub fn under_valgrind() -> bool {
    std::env::var_os("SKEETER_VALGRIND").is_some_and(|value| !value.is_empty() && value != "0")
}

/// A command running `program` on the library under test.
pub fn subject_command(program: impl AsRef<OsStr>) -> Command {
    subject().command(program)
}

/// `dir`, then the current `LD_LIBRARY_PATH`.
pub fn prepend_library_path(dir: &Path) -> OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(existing) = std::env::var_os("LD_LIBRARY_PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).unwrap()
}

/// The library cargo built for this test run: target/<profile>/deps/libmosquitto.so,
/// beside this test binary. (cargo does not refresh target/<profile>/libmosquitto.so
/// when it builds the library only for tests, so that copy may be stale.)
pub fn built_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let built = exe.parent().unwrap().join("libmosquitto.so");
    assert!(
        built.is_file(),
        "{} is missing: cargo build first",
        built.display()
    );
    built
}

// ---------------------------------------------------------------------------------
// Building C programs

/// The bound for one compiler run.
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(300);

/// `cbindings-tests/<relative>`, which must exist.
pub fn cbindings_test(relative: &str) -> PathBuf {
    let source = Path::new(MANIFEST_DIR)
        .join("cbindings-tests")
        .join(relative);
    assert!(source.is_file(), "{} is missing", source.display());
    source
}

/// Builds `cbindings-tests/<relative>` (one C file) against the subject's headers
/// and library, once per test run, and returns the program's path.
pub fn c_program(relative: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    // One build at a time: two cores are shared, and gcc is quick.
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(program) = built.get(relative) {
        return program.clone();
    }
    let dir = scratch_root().join("c");
    fs::create_dir_all(&dir).unwrap();
    let program = dir.join(relative.trim_end_matches(".c").replace('/', "-"));
    Compile::c(cbindings_test(relative), subject())
        .link(subject())
        .build(&program);
    built.insert(relative.to_string(), program.clone());
    program
}

/// One run of gcc or g++ on one source file with the suite's flags: a language
/// standard, `_GNU_SOURCE` (for dladdr), every warning an error, debug information,
/// and on the include path the source's own directory (for a shared header such as
/// `check.h`), then the chosen headers before the system's.
pub struct Compile {
    command: Command,
    source: PathBuf,
    /// Libraries, which the linker wants after the source.
    libraries: Vec<OsString>,
}

impl Compile {
    /// `gcc -std=c11` on a C file, with `headers`' include directory.
    pub fn c(source: impl Into<PathBuf>, headers: &Subject) -> Compile {
        Compile::new("gcc", "c11", source, headers)
    }

    /// `compiler` (gcc or g++) with `-std=<standard>`.
    pub fn new(
        compiler: &str,
        standard: &str,
        source: impl Into<PathBuf>,
        headers: &Subject,
    ) -> Compile {
        require(&format!("/usr/bin/{compiler}"), compiler);
        let source = source.into();
        let mut command = Command::new(compiler);
        command.arg(format!("-std={standard}")).args([
            "-D_GNU_SOURCE",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
        ]);
        if let Some(sanitizer) = c_sanitizer() {
            command
                .arg(format!("-fsanitize={sanitizer}"))
                .arg("-fno-omit-frame-pointer");
        }
        command.arg(format!("-I{}", source.parent().unwrap().display()));
        if let Some(include) = &headers.include_dir {
            command.arg(format!("-I{}", include.display()));
        }
        Compile {
            command,
            source,
            libraries: Vec::new(),
        }
    }

    /// One more flag, before the source.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Compile {
        self.command.arg(arg);
        self
    }

    /// Links `-l<name>`.
    pub fn library(mut self, name: &str) -> Compile {
        self.libraries.push(format!("-l{name}").into());
        self
    }

    /// Links `library`'s libmosquitto, with libpthread and libdl.
    pub fn link(mut self, library: &Subject) -> Compile {
        if let Some(dir) = &library.library_dir {
            self.libraries.push(format!("-L{}", dir.display()).into());
        }
        self.library("mosquitto").library("pthread").library("dl")
    }

    /// Runs the compiler, which writes `output` (a program, or an object with `-c`);
    /// fails the test with the compiler's messages when it fails.
    pub fn build(mut self, output: &Path) {
        self.command
            .arg(&self.source)
            .arg("-o")
            .arg(output)
            .args(&self.libraries);
        let output = run(&mut self.command, COMPILE_TIMEOUT);
        output.assert_success(&format!("compiling {}", self.source.display()));
    }
}

// ---------------------------------------------------------------------------------
// Running programs

/// What a finished program wrote, and how it ended.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.timed_out {
            writeln!(f, "--- killed after the time limit")?;
        }
        writeln!(f, "--- status: {} after {:?}", self.status, self.elapsed)?;
        let mut stdout = self.stdout.as_str();
        if stdout.len() > 20_000 {
            let mut cut = 20_000;
            while !stdout.is_char_boundary(cut) {
                cut -= 1;
            }
            stdout = &stdout[..cut];
        }
        writeln!(f, "--- stdout:\n{stdout}")?;
        write!(f, "--- stderr:\n{}", self.stderr)
    }
}

impl Output {
    /// Exit 0 within the time limit; else the test fails, naming `what`.
    pub fn assert_success(&self, what: &str) {
        assert!(
            self.status.success() && !self.timed_out,
            "{what} failed:\n{self}"
        );
    }

    /// Exit 0, no failed check, and the library under test was the one loaded.
    pub fn assert_passed(&self) {
        self.assert_success("the program");
        assert!(!self.stdout.contains("FAIL"), "a check failed:\n{self}");
        self.assert_loaded(&subject().expected);
    }

    /// The program printed `loaded: <expected>`.
    pub fn assert_loaded(&self, expected: &Path) {
        let loaded = self
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("loaded: "));
        assert_eq!(
            loaded.map(Path::new),
            Some(expected),
            "the program did not load {}:\n{self}",
            expected.display()
        );
    }

    /// Nothing on stderr (from the loader or the program).
    pub fn assert_quiet(&self) {
        assert!(
            self.stderr.trim().is_empty(),
            "stderr is not empty:\n{self}"
        );
    }
}

/// Runs the command to its end, or kills it (by PID) after `timeout`.
pub fn run(command: &mut Command, timeout: Duration) -> Output {
    let mut process = Process::spawn(command.stdin(Stdio::null()));
    process.finish(timeout)
}

/// Runs the command with `input` on its standard input.
pub fn run_with_input(command: &mut Command, input: &[u8], timeout: Duration) -> Output {
    let mut process = Process::spawn(command.stdin(Stdio::piped()));
    let mut stdin = process.child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = process.finish(timeout);
    let _ = writer.join();
    output
}

/// A running program whose output is read as it comes, killed by PID when dropped.
pub struct Process {
    child: Child,
    description: String,
    started: Instant,
    lines: Receiver<String>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stdout_done: Option<thread::JoinHandle<()>>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Process {
    /// Starts the command with its stdout and stderr piped (stdin as the caller set it;
    /// null when unset).
    pub fn spawn(command: &mut Command) -> Process {
        let description = format!("{command:?}");
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {description}: {error}"));
        let (sender, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stdout_done = {
            let stdout = Arc::clone(&stdout);
            let mut reader = BufReader::new(child.stdout.take().unwrap());
            thread::spawn(move || loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        stdout.lock().unwrap().extend_from_slice(&line);
                        let _ = sender.send(String::from_utf8_lossy(&line).into_owned());
                    }
                }
            })
        };
        let mut pipe = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        });
        Process {
            child,
            description,
            started: Instant::now(),
            lines,
            stdout: stdout.clone(),
            stdout_done: Some(stdout_done),
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The program's standard input, for a command spawned with it piped.
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// Waits for a line of stdout that contains `wanted`; panics with what was read
    /// after `timeout` or when the program ends first.
    pub fn wait_for_line(&mut self, wanted: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(wanted) => return line,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    let output = self.kill_and_collect();
                    panic!(
                        "no line with {wanted:?} within {timeout:?} from {}:\n{output}",
                        self.description
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let output = self.finish(Duration::from_secs(5));
                    panic!(
                        "{} ended before a line with {wanted:?}:\n{output}",
                        self.description
                    );
                }
            }
        }
    }

    /// Sends `signal` to the process (by PID).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's PID; it has not been reaped yet.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
    }

    /// Waits for the end, or kills after `timeout`, and returns everything written.
    pub fn finish(&mut self, timeout: Duration) -> Output {
        let deadline = Instant::now() + timeout;
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                timed_out = true;
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            thread::sleep(Duration::from_millis(10));
        };
        self.collect(status, timed_out)
    }

    /// Kills the process now and returns what it wrote.
    pub fn kill_and_collect(&mut self) -> Output {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.collect(status, false)
    }

    fn collect(&mut self, status: ExitStatus, timed_out: bool) -> Output {
        let elapsed = self.started.elapsed();
        // The pipes close when the process and any child holding them have gone.
        if let Some(handle) = self.stdout_done.take() {
            let _ = handle.join();
        }
        let stderr = self
            .stderr
            .take()
            .map(|handle| handle.join().unwrap())
            .unwrap_or_default();
        let stdout_bytes = std::mem::take(&mut *self.stdout.lock().unwrap());
        Output {
            status,
            stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
            stdout_bytes,
            stderr,
            timed_out,
            elapsed,
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Fails the test, naming the Debian package, when `path` is missing.
pub fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing (Debian package {package}): run scripts/install-deps.sh"
    );
}

/// A port nothing listens on at the moment, and never the same one twice in a test
/// run: the probe's listener closes at once, so the kernel may offer its port again
/// to the next probe, and a caller asking for several ports before binding any (a
/// broker with four listeners) would get one port twice.
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<std::collections::HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    // Ports already given stay bound here until a new one comes up.
    let mut held = Vec::new();
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if given.lock().unwrap().insert(port) {
            return port;
        }
        held.push(listener);
    }
}

// ---------------------------------------------------------------------------------
// Scratch directories

static SCRATCH_ROOT: OnceLock<PathBuf> = OnceLock::new();

/// target/tmp/<test binary>/<pid>, made once per run (the staged library and the
/// programs built for the run live here) and removed when the test binary exits;
/// directories of earlier runs whose process has gone (killed, say) are removed.
pub fn scratch_root() -> &'static Path {
    SCRATCH_ROOT.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let stem = exe.file_stem().unwrap().to_string_lossy().into_owned();
        // "client_broker-0123abcd" → "client_broker"
        let binary = match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name,
            _ => stem.as_str(),
        };
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join(binary);
        remove_dead_runs(&base, "");
        // Left by an earlier c_programs.rs, which staged into target/<profile>/.
        remove_dead_runs(exe.parent().unwrap().parent().unwrap(), "skeeter-stage-");
        let root = base.join(std::process::id().to_string());
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        // SAFETY: atexit(3) with a function that takes and returns nothing.
        unsafe {
            libc::atexit(remove_scratch_root);
        }
        root
    })
}

/// Removes `<dir>/<prefix><pid>` for each pid that no longer runs.
fn remove_dead_runs(dir: &Path, prefix: &str) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(prefix) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

extern "C" fn remove_scratch_root() {
    if let Some(root) = SCRATCH_ROOT.get() {
        let _ = fs::remove_dir_all(root);
    }
}

/// A directory under the scratch root, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(what: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = scratch_root().join(format!("{what}-{n}"));
        fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
