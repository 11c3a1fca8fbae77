//! The SMTP sink of the notification tests: `tests/smtp/smtp_sink.py` (aiosmtpd, pinned in
//! `scripts/test`) as a child process on 127.0.0.1, with STARTTLS required (a certificate for
//! 127.0.0.1 from a throw-away CA made here with rcgen) and AUTH required, writing what it
//! accepts into a maildir; Python's `email` package decodes each message into JSON, so the tests
//! read what an independent MIME reader makes of our mail. The sink can be stopped and started
//! again on the same port ("the relay is briefly down"). No sleeps: readiness is the sink's
//! "listening" line; arrivals are waited for with a deadline.
//!
//! Owns: test plumbing only. Include with `#[path = "support/smtp.rs"] mod smtp;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "signgate";
pub const PASSWORD: &str = "s3cret-relay-password";

/// One message as the sink's Python `email` package read it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub message_id: String,
    pub content_type: String,
    pub body: String,
    pub authenticated: bool,
    pub tls: bool,
}

impl Mail {
    /// The first `http(s)://…/sign/…` link in the body.
    pub fn signing_link(&self) -> Option<String> {
        self.body
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains("/sign/"))
            .map(str::to_string)
    }
}

pub struct SmtpSink {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let venv = std::env::var("SIGNGATE_VENV").unwrap_or_else(|_| "/var/tmp/signgate-venv".into());
    let p = Path::new(&venv).join("bin/python");
    assert!(
        p.exists(),
        "the SMTP sink needs aiosmtpd in the test venv at {venv} (missing {}). Run scripts/test, \
         which installs it.",
        p.display()
    );
    p
}

impl SmtpSink {
    /// Starts the sink on a free port.
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        write_tls_files(dir.path());
        let mut s = SmtpSink {
            child: None,
            port: 0,
            dir,
        };
        s.boot();
        s
    }

    fn boot(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--maildir")
            .arg(self.maildir())
            .arg("--tls-cert")
            .arg(self.dir.path().join("relay.pem"))
            .arg("--tls-key")
            .arg(self.dir.path().join("relay.key"))
            .args(["--user", USER, "--password", PASSWORD])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the aiosmtpd sink");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "the aiosmtpd sink did not start ({status:?}); is aiosmtpd installed in the \
                     venv? Run scripts/test."
                );
            }
        };
        let port: u16 = line.rsplit(':').next().unwrap().trim().parse().unwrap();
        assert!(self.port == 0 || self.port == port, "{line}");
        self.port = port;
        self.child = Some(child);
    }

    /// Stops the sink (connections are refused until [`SmtpSink::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the sink again on the same port, keeping what it received.
    pub fn restart(&mut self) {
        self.stop();
        self.boot();
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// The CA that issued the relay's certificate (for `notify.smtp.ca_file`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Mail> {
        let new = self.maildir().join("new");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// The raw bytes of message `n` (0-based, arrival order).
    pub fn raw(&self, n: usize) -> Vec<u8> {
        std::fs::read(self.maildir().join("new").join(format!("{:04}.eml", n + 1))).unwrap()
    }

    /// Waits (bounded) until at least `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} messages reached the sink",
                m.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `[notify.smtp]` environment for a gateway process using this sink.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SIGNGATE__NOTIFY__SMTP__HOST".into(), "127.0.0.1".into()),
            ("SIGNGATE__NOTIFY__SMTP__PORT".into(), self.port.to_string()),
            ("SIGNGATE__NOTIFY__SMTP__TLS".into(), "starttls".into()),
            ("SIGNGATE__NOTIFY__SMTP__USERNAME".into(), USER.into()),
            ("SIGNGATE__NOTIFY__SMTP__PASSWORD".into(), PASSWORD.into()),
            (
                "SIGNGATE__NOTIFY__SMTP__FROM".into(),
                "Signgate <no-reply@signgate.test>".into(),
            ),
            (
                "SIGNGATE__NOTIFY__SMTP__CA_FILE".into(),
                self.ca_file().display().to_string(),
            ),
            ("SIGNGATE__NOTIFY__SMTP__TIMEOUT".into(), "10s".into()),
        ]
    }

    /// The same as a library configuration.
    pub fn config(&self) -> signgate::notify::email::SmtpConfig {
        signgate::notify::email::SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            tls: signgate::notify::email::SmtpTls::Starttls,
            username: Some(USER.into()),
            password: Some(PASSWORD.into()),
            from: "Signgate <no-reply@signgate.test>".into(),
            ca_file: Some(self.ca_file()),
            hello_name: Some("gw.signgate.test".into()),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A CA and a relay certificate for 127.0.0.1 (and `localhost`).
fn write_tls_files(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "signgate test relay CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca, &ca_key);
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("relay.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("relay.key"), key.serialize_pem()).unwrap();
}
