//! Certificates for the TLS tests and a SOCKS5 proxy to test through.
//!
//! [`certificates`] makes a CA and its certificates once per test run (rcgen,
//! fresh each run so nothing ages; the `openssl` command converts key formats)
//! in the scratch root. [`BrokerBuilder::tls_listeners`](super::broker::BrokerBuilder::tls_listeners)
//! gives a broker TLS listeners with them; [`Socks::start`] runs microsocks.
//!
//! Files in the directory (each NAME.pem with its NAME.key, PKCS#8):
//! - `ca.pem`: the CA that signed everything below; `other-ca.pem`: a CA that
//!   signed nothing here; `capath/`: `ca.pem` as a CA directory;
//! - `server`: for "localhost" and "127.0.0.1"; `expired`: the same names,
//!   expired in 2020; `wrong`: for "wrong.example";
//! - `client`: a client certificate (CN "client"), its key also as
//!   `client-sec1.key` and encrypted as `client-enc.key` (password "secret");
//! - `rsa-client`: an RSA client certificate, its key also as PKCS#1
//!   (`rsa-client-pkcs1.key`).
//!
//! Made by the `openssl` command alone, as users make them (signed with the CA's
//! key, `ca.key`):
//! - `cn-only`: a server certificate whose subject CN is "localhost", with no
//!   subjectAltName;
//! - `legacy-rsa` and `legacy-ec`: client certificates whose keys are legacy
//!   OpenSSL-encrypted PEM (password "secret"): `legacy-rsa-aes256.key` and
//!   `legacy-rsa-des3.key` (RSA PRIVATE KEY), `legacy-ec-aes128.key` (EC PRIVATE KEY).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use super::stage::{free_port, require, scratch_root};

const MICROSOCKS: &str = "/usr/bin/microsocks";

/// The directory of certificates, made on first use.
pub fn certificates() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch_root().join("certificates");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        make_certificates(&dir);
        dir
    })
}

/// The path of `name` in [`certificates`], as a string for a command line.
pub fn cert_file(name: &str) -> String {
    certificates().join(name).to_str().unwrap().to_string()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn openssl(args: &[&str], dir: &Path) {
    require("/usr/bin/openssl", "openssl");
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the openssl command runs");
    assert!(status.success(), "openssl {args:?}");
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A leaf certificate for `names`, signed by `issuer`, written as NAME.pem and
/// NAME.key (PKCS#8).
fn leaf(
    dir: &Path,
    name: &str,
    names: &[&str],
    issuer: &CertifiedIssuer<'static, KeyPair>,
    key: KeyPair,
    expired: bool,
) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 2, 1);
    }
    let cert = params.signed_by(&key, issuer).unwrap();
    write(dir, &format!("{name}.pem"), &cert.pem());
    write(dir, &format!("{name}.key"), &key.serialize_pem());
}

fn make_certificates(dir: &Path) {
    let ca_cert = ca("skeeter test CA");
    write(dir, "ca.pem", &ca_cert.pem());
    write(dir, "ca.key", &ca_cert.key().serialize_pem());
    write(dir, "other-ca.pem", &ca("some other CA").pem());
    std::fs::create_dir_all(dir.join("capath")).unwrap();
    write(dir, "capath/README", "not a certificate\n");
    write(dir, "capath/test-ca.crt", &ca_cert.pem());

    let server = ["localhost", "127.0.0.1"];
    let new_key = || KeyPair::generate().unwrap();
    leaf(dir, "server", &server, &ca_cert, new_key(), false);
    leaf(dir, "expired", &server, &ca_cert, new_key(), true);
    leaf(dir, "wrong", &["wrong.example"], &ca_cert, new_key(), false);
    leaf(dir, "client", &["client"], &ca_cert, new_key(), false);

    // The same client key in the other PEM forms: SEC1 and encrypted PKCS#8.
    openssl(&["ec", "-in", "client.key", "-out", "client-sec1.key"], dir);
    openssl(
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "client.key",
            "-out",
            "client-enc.key",
            "-passout",
            "pass:secret",
        ],
        dir,
    );
    // An RSA client with a PKCS#1 key.
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.key",
        ],
        dir,
    );
    let rsa_pem = std::fs::read_to_string(dir.join("rsa.key")).unwrap();
    let rsa = KeyPair::from_pem_and_sign_algo(&rsa_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    leaf(dir, "rsa-client", &["rsa-client"], &ca_cert, rsa, false);
    openssl(
        &[
            "rsa",
            "-in",
            "rsa.key",
            "-traditional",
            "-out",
            "rsa-client-pkcs1.key",
        ],
        dir,
    );
    make_openssl_files(dir);
}

/// Runs one openssl command line in `dir` (its words are split at spaces).
fn openssl_line(line: &str, dir: &Path) {
    openssl(&line.split_whitespace().collect::<Vec<_>>(), dir);
}

/// `NAME.pem` for the key file `key` (whose password `passin` opens, as openssl
/// takes it), subject CN `cn` and no subjectAltName, signed by the CA: an end
/// entity (webpki refuses a CA certificate as a leaf) for `purpose`.
fn openssl_signed(dir: &Path, name: &str, key: &str, passin: &str, cn: &str, purpose: &str) {
    openssl_line(
        &format!("req -new -key {key} {passin} -subj /CN={cn} -out {name}.csr"),
        dir,
    );
    let extensions = format!(
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage={purpose}\n"
    );
    write(dir, &format!("{name}.ext"), &extensions);
    openssl_line(
        &format!(
            "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
             -extfile {name}.ext -out {name}.pem"
        ),
        dir,
    );
}

/// The certificates and keys of the CN fallback and the legacy encrypted keys.
fn make_openssl_files(dir: &Path) {
    openssl_line(
        "ecparam -genkey -name prime256v1 -noout -out cn-only.key",
        dir,
    );
    openssl_signed(dir, "cn-only", "cn-only.key", "", "localhost", "serverAuth");

    let secret = "-passin pass:secret";
    openssl_line(
        "genrsa -aes256 -traditional -passout pass:secret -out legacy-rsa-aes256.key 2048",
        dir,
    );
    openssl_line(
        &format!(
            "rsa -in legacy-rsa-aes256.key {secret} -des3 -traditional -passout pass:secret \
             -out legacy-rsa-des3.key"
        ),
        dir,
    );
    let key = "legacy-rsa-aes256.key";
    openssl_signed(dir, "legacy-rsa", key, secret, "legacy-rsa", "clientAuth");

    openssl_line(
        "ecparam -genkey -name prime256v1 -noout -out legacy-ec.key",
        dir,
    );
    openssl_line(
        "ec -in legacy-ec.key -aes128 -passout pass:secret -out legacy-ec-aes128.key",
        dir,
    );
    openssl_signed(
        dir,
        "legacy-ec",
        "legacy-ec.key",
        "",
        "legacy-ec",
        "clientAuth",
    );
}

/// The ports of a broker's TLS listeners (all on 127.0.0.1, CA `ca.pem`).
#[derive(Debug, Clone, Copy)]
pub struct TlsPorts {
    /// Certificate `server` (valid for localhost and 127.0.0.1).
    pub good: u16,
    /// Certificate `expired`.
    pub expired: u16,
    /// Certificate `wrong` (for wrong.example).
    pub wrong_name: u16,
    /// Certificate `cn-only` (CN "localhost", no subjectAltName).
    pub cn_only: u16,
    /// Certificate `server`; requires a client certificate signed by the CA, and
    /// takes its CN as the username.
    pub client_cert: u16,
}

impl TlsPorts {
    /// Fresh ports, and the broker configuration lines for their listeners.
    pub fn choose() -> (TlsPorts, String) {
        let ports = TlsPorts {
            good: free_port(),
            expired: free_port(),
            wrong_name: free_port(),
            cn_only: free_port(),
            client_cert: free_port(),
        };
        let d = certificates().to_str().unwrap().to_string();
        let listener = |port: u16, cert: &str, extra: &str| {
            format!(
                "listener {port} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/{cert}.pem\n\
                 keyfile {d}/{cert}.key\n{extra}"
            )
        };
        let config = [
            listener(ports.good, "server", ""),
            listener(ports.expired, "expired", ""),
            listener(ports.wrong_name, "wrong", ""),
            listener(ports.cn_only, "cn-only", ""),
            listener(
                ports.client_cert,
                "server",
                "require_certificate true\nuse_identity_as_username true\n",
            ),
        ]
        .concat();
        (ports, config)
    }

    pub fn all(&self) -> [u16; 5] {
        [
            self.good,
            self.expired,
            self.wrong_name,
            self.cn_only,
            self.client_cert,
        ]
    }
}

/// microsocks on 127.0.0.1 and a fresh port, killed (by its PID) when dropped.
pub struct Socks {
    child: Child,
    pub port: u16,
}

impl Socks {
    /// Starts microsocks, with `-u user -P pass` when given.
    pub fn start(credentials: Option<(&str, &str)>) -> Socks {
        require(MICROSOCKS, "microsocks");
        let port = free_port();
        let mut cmd = Command::new(MICROSOCKS);
        cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
        if let Some((user, pass)) = credentials {
            cmd.args(["-u", user, "-P", pass]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("microsocks starts");
        let socks = Socks { child, port };
        wait_for_port(port);
        socks
    }
}

impl Drop for Socks {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (up to 10 s) until something accepts connections on `port`.
pub fn wait_for_port(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
