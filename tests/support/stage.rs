//! The library under test, and running programs on it.
//!
//! Cargo writes `libmosquitto.so`; the loader looks for `libmosquitto.so.1`, and
//! Debian's copy is installed too and would be picked silently. So programs are built
//! against our `include/` and run with our library staged as `libmosquitto.so.1`
//! first in `LD_LIBRARY_PATH`. Each program prints `loaded: <file>` (found with
//! dladdr), and [`Output::assert_passed`] checks it is the staged copy.
//!
//! `SKEETER_TEST_AGAINST_DEBIAN=1` builds and runs the same programs against Debian's
//! libmosquitto and headers instead, which proves the tests themselves right.
//!
//! Every process is bounded by a time limit and killed by PID when it is over or when
//! its guard is dropped, so a hanging library never leaves a process behind.

use std::collections::HashMap;
use std::ffi::OsString;
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

/// Where the programs find the headers and the library, and which file they must load.
pub struct Subject {
    /// `-I` for the compiler; None: the system's headers (Debian's).
    pub include_dir: Option<PathBuf>,
    /// `-L` for the linker and first in `LD_LIBRARY_PATH`; None: the system's library.
    pub library_dir: Option<PathBuf>,
    /// The canonical path every program must report as `loaded:`.
    pub expected: PathBuf,
}

/// Our library staged as `libmosquitto.so.1`, or Debian's in Debian mode.
pub fn subject() -> &'static Subject {
    static SUBJECT: OnceLock<Subject> = OnceLock::new();
    SUBJECT.get_or_init(|| {
        if against_debian() {
            require("/usr/include/mosquitto.h", "libmosquitto-dev");
            require("/usr/bin/gcc", "gcc");
            let mut gcc = Command::new("gcc");
            gcc.arg("-print-file-name=libmosquitto.so.1");
            let found = PathBuf::from(run(&mut gcc, RUN_TIMEOUT).stdout.trim());
            assert!(
                found.is_absolute(),
                "Debian's libmosquitto.so.1 not found: install-deps.sh"
            );
            return Subject {
                include_dir: None,
                library_dir: None,
                expected: fs::canonicalize(found).unwrap(),
            };
        }
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

/// The command, with the library under test first in the loader's path.
pub fn with_subject_library(mut command: Command) -> Command {
    if let Some(dir) = &subject().library_dir {
        command.env("LD_LIBRARY_PATH", prepend_library_path(dir));
    }
    command
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

/// Builds `cbindings-tests/<relative>` (one C file) with gcc against the subject's
/// headers and library, once per test run, and returns the program's path. The
/// source's directory is on the include path (for a shared `check.h`).
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
    require("/usr/bin/gcc", "gcc");
    let source = Path::new(MANIFEST_DIR)
        .join("cbindings-tests")
        .join(relative);
    assert!(source.is_file(), "{} is missing", source.display());
    let dir = scratch_root().join("c");
    fs::create_dir_all(&dir).unwrap();
    let name = relative.trim_end_matches(".c").replace('/', "-");
    let program = dir.join(&name);
    let subject = subject();
    let mut gcc = Command::new("gcc");
    gcc.args([
        "-std=c11",
        "-D_GNU_SOURCE",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-g",
    ]);
    gcc.arg(format!("-I{}", source.parent().unwrap().display()));
    if let Some(include) = &subject.include_dir {
        gcc.arg(format!("-I{}", include.display()));
    }
    gcc.arg(&source).arg("-o").arg(&program);
    if let Some(lib) = &subject.library_dir {
        gcc.arg(format!("-L{}", lib.display()));
    }
    gcc.args(["-lmosquitto", "-pthread", "-ldl"]);
    let output = run(&mut gcc, Duration::from_secs(120));
    assert!(output.status.success(), "gcc {relative} failed:\n{output}");
    built.insert(relative.to_string(), program.clone());
    program
}

/// A command running `program` on the library under test.
pub fn subject_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    with_subject_library(Command::new(program))
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
    /// Exit 0, no failed check, and the library under test was the one loaded.
    pub fn assert_passed(&self) {
        assert!(
            self.status.success() && !self.timed_out,
            "the program failed:\n{self}"
        );
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

/// A port nothing listens on at the moment.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------
// Scratch directories

/// target/tmp/<test binary>/<pid>, made once per run; directories of earlier runs
/// whose process has gone are removed.
pub fn scratch_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let stem = exe.file_stem().unwrap().to_string_lossy().into_owned();
        // "client_broker-0123abcd" → "client_broker"
        let binary = match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name,
            _ => stem.as_str(),
        };
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join(binary);
        if let Ok(entries) = fs::read_dir(&base) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.parse::<u32>().is_ok() && !Path::new("/proc").join(&name).exists() {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let root = base.join(std::process::id().to_string());
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        root
    })
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
