//! Test harness: boots the real `signgate` binary on a free loopback port with its own
//! database and directories, and walks signing ceremonies with a plain HTTP client (forms,
//! cookies and redirects; no internal shortcuts).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_signgate");

/// Which database a server runs on.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite,
    /// A fresh database on the PostgreSQL server named by `SIGNGATE_TEST_PG`.
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("SIGNGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Creates a uniquely named PostgreSQL database; fails loudly when no server answers.
pub async fn create_pg_database() -> String {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for this test and did not answer at {admin}: {e}. \
             Run scripts/test, which starts it."
            )
        });
    let name = format!("sg_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_string();
    format!("{base}/{name}")
}

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub env: Vec<(String, String)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// A new gateway with fresh state.
    pub async fn start(db: Db, extra: &[(&str, &str)]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let db_url = match db {
            Db::Sqlite => format!("sqlite://{}/signgate.db", dir.display()),
            Db::Postgres => create_pg_database().await,
        };
        let port = free_port();
        let mut env: Vec<(String, String)> = vec![
            ("SIGNGATE__DATABASE__URL".into(), db_url),
            (
                "SIGNGATE__BLOBS__DIR".into(),
                dir.join("blobs").display().to_string(),
            ),
            (
                "SIGNGATE__KEYS__DIR".into(),
                dir.join("keys").display().to_string(),
            ),
            (
                "SIGNGATE__SERVER__LISTEN".into(),
                format!("127.0.0.1:{port}"),
            ),
            (
                "SIGNGATE__SERVER__PUBLIC_URL".into(),
                format!("http://127.0.0.1:{port}"),
            ),
            ("SIGNGATE__SEALING__POLL_INTERVAL".into(), "100ms".into()),
            // No trusted-list downloads from the tests' servers.
            ("SIGNGATE__TRUST__REFRESH_INTERVAL".into(), "0s".into()),
        ];
        for (k, v) in extra {
            env.retain(|(ek, _)| ek != k);
            env.push(((*k).into(), (*v).into()));
        }
        let mut s = Server {
            child: None,
            base: format!("http://127.0.0.1:{port}"),
            dir,
            _tmp: Some(tmp),
            env,
        };
        s.boot();
        s
    }

    /// Another gateway process on the same database, blob store and keys (a scaled-out
    /// replica behind a load balancer), on its own port.
    pub fn replica(&self, extra: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut env = self.env.clone();
        env.retain(|(k, _)| k != "SIGNGATE__SERVER__LISTEN");
        env.push((
            "SIGNGATE__SERVER__LISTEN".into(),
            format!("127.0.0.1:{port}"),
        ));
        for (k, v) in extra {
            env.retain(|(ek, _)| ek != k);
            env.push(((*k).into(), (*v).into()));
        }
        let mut s = Server {
            child: None,
            base: format!("http://127.0.0.1:{port}"),
            dir: self.dir.clone(),
            _tmp: None,
            env,
        };
        s.boot();
        s
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(&self.dir);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.env_remove("SIGNGATE_CONFIG");
        c
    }

    /// Starts the process and waits for its "listening" line.
    pub fn boot(&mut self) {
        let mut child = self
            .command()
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn signgate");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(line);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(90)) {
            Ok(line) => {
                let url = line.rsplit(' ').next().unwrap_or_default().to_string();
                let port = self.base.rsplit(':').next().unwrap_or_default().to_string();
                assert!(
                    url.ends_with(&format!(":{port}")),
                    "{line} vs {}",
                    self.base
                );
                self.base = url;
            }
            Err(_) => {
                let _ = child.kill();
                panic!("signgate did not start within 90 s");
            }
        }
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown handler runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Runs a `signgate` CLI command against this server's configuration.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.command()
            .args(args)
            .output()
            .expect("run signgate cli")
    }

    /// Registers an organisation and returns its API key.
    pub fn org_add(&self, orgnr: &str, name: &str) -> String {
        let out = self.cli(&["org", "add", "--orgnr", orgnr, "--name", name]);
        assert!(
            out.status.success(),
            "org add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(key.starts_with("sg_"), "{key}");
        key
    }

    pub fn root_ca_pem(&self) -> PathBuf {
        self.dir.join("keys").join("dev-root-ca.pem")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An HTTP client for organisations (no cookies, no redirects).
/// reqwest uses the process-wide rustls provider: aws-lc-rs, our one crypto backend.
pub fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

pub fn api_client() -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser-like client: cookie jar, follows redirects.
pub fn browser() -> reqwest::Client {
    install_crypto();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        "en-GB,en;q=0.9".parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .unwrap()
}

/// A small valid PDF with `pages` pages of text (built by hand, so the test does not depend on
/// our own PDF code).
pub fn sample_pdf(title: &str, pages: usize) -> Vec<u8> {
    let mut objs: Vec<String> = Vec::new();
    // 1: catalog, 2: pages, 3: font, then per page: page + content
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + i * 2)).collect();
    objs.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objs.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids.join(" "),
        pages
    ));
    objs.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for i in 0..pages {
        let text = format!("BT /F1 18 Tf 72 720 Td ({title} - page {}) Tj ET", i + 1);
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + i * 2
        ));
        objs.push(format!(
            "<< /Length {} >>\nstream\n{}\nendstream",
            text.len(),
            text
        ));
    }
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{}\nendobj\n", i + 1, o).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{}\n%%EOF\n",
            objs.len() + 1,
            xref
        )
        .as_bytes(),
    );
    out
}

/// Pads a PDF with a comment so it reaches at least `size` bytes.
pub fn padded_pdf(size: usize) -> Vec<u8> {
    let mut pdf = sample_pdf("Padded", 1);
    let mut pad = b"%".to_vec();
    pad.resize(size.saturating_sub(pdf.len()) + 1, b'x');
    pad.push(b'\n');
    // Comments may appear before the trailer's startxref target only at the end; append after EOF.
    pdf.extend_from_slice(&pad);
    pdf
}

pub fn job_form(job: serde_json::Value, docs: &[(&str, Vec<u8>)]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().part(
        "job",
        reqwest::multipart::Part::text(job.to_string())
            .mime_str("application/json")
            .unwrap(),
    );
    for (name, bytes) in docs {
        form = form.part(
            "document",
            reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.to_string())
                .mime_str("application/pdf")
                .unwrap(),
        );
    }
    form
}

/// `GET base+path` as the organisation holding `key`; the response as JSON.
pub async fn get_json(server: &Server, key: &str, path: &str) -> serde_json::Value {
    get(server, key, path).await.json().await.unwrap()
}

/// `GET base+path` as the organisation holding `key`.
pub async fn get(server: &Server, key: &str, path: &str) -> reqwest::Response {
    api_client()
        .get(format!("{}{path}", server.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

pub async fn create_job(
    server: &Server,
    key: &str,
    job: serde_json::Value,
    docs: &[(&str, Vec<u8>)],
) -> reqwest::Response {
    api_client()
        .post(format!("{}/api/v1/jobs", server.base))
        .bearer_auth(key)
        .multipart(job_form(job, docs))
        .send()
        .await
        .unwrap()
}

/// The value of the first `<input … name="NAME" value="…">` in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The `action` of the first form whose action ends with `suffix`.
pub fn form_action(html: &str, suffix: &str) -> Option<String> {
    let mut rest = html;
    while let Some(i) = rest.find("action=\"") {
        let start = i + "action=\"".len();
        let end = rest[start..].find('"')? + start;
        let action = &rest[start..end];
        if action.ends_with(suffix) {
            return Some(action.to_string());
        }
        rest = &rest[end..];
    }
    None
}

pub struct CeremonyOutcome {
    pub status: reqwest::StatusCode,
    pub final_url: String,
    pub body: String,
}

/// Opens the signing URL, logs in at the development IdP as `pid`, and presses the button
/// whose form action ends in `/sign` or `/reject`. Returns the last page.
pub async fn walk_ceremony(
    base: &str,
    signing_url: &str,
    pid: &str,
    decision: &str,
) -> CeremonyOutcome {
    walk_ceremony_as(base, signing_url, pid, None, decision).await
}

/// [`walk_ceremony`], logging in with `name` as the identity's name (the development IdP's
/// optional name field) when given.
pub async fn walk_ceremony_as(
    base: &str,
    signing_url: &str,
    pid: &str,
    name: Option<&str>,
    decision: &str,
) -> CeremonyOutcome {
    let b = browser();
    let login = b.get(signing_url).send().await.unwrap();
    assert_eq!(login.status(), 200, "login page");
    assert!(
        login.url().path().starts_with("/dev-idp/authorize"),
        "{}",
        login.url()
    );
    let html = login.text().await.unwrap();
    assert!(
        html.contains("name=\"pid\""),
        "the dev IdP page has a pid field"
    );
    let state = input_value(&html, "state").expect("state field");
    let page = b
        .post(format!("{base}/dev-idp/authorize"))
        .form(&[
            ("pid", pid),
            ("state", &state),
            ("loa", "high"),
            ("lang", "en"),
            ("name", name.unwrap_or("")),
        ])
        .send()
        .await
        .unwrap();
    let status = page.status();
    let url = page.url().to_string();
    let html = page.text().await.unwrap();
    if status != 200 || !html.contains("action=") {
        return CeremonyOutcome {
            status,
            final_url: url,
            body: html,
        };
    }
    let action = form_action(&html, &format!("/{decision}"))
        .unwrap_or_else(|| panic!("no form ending in /{decision} on {url}: {html}"));
    let csrf = input_value(&html, "csrf").expect("csrf field");
    let done = b
        .post(format!("{base}{action}"))
        .form(&[("csrf", csrf.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    CeremonyOutcome {
        status: done.status(),
        final_url: done.url().to_string(),
        body: done.text().await.unwrap(),
    }
}

/// Polls the job until `pred` holds (bounded; no fixed sleeps standing in for a result).
pub async fn wait_for_job<F: Fn(&serde_json::Value) -> bool>(
    server: &Server,
    key: &str,
    id: &str,
    pred: F,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j = get_json(server, key, &format!("/api/v1/jobs/{id}")).await;
        if pred(&j) {
            return j;
        }
        assert!(
            Instant::now() < deadline,
            "job never reached the state: {j}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn pyhanko() -> PathBuf {
    let p = std::env::var("SIGNGATE_PYHANKO")
        .unwrap_or_else(|_| "/var/tmp/signgate-venv/bin/pyhanko".to_string());
    let p = PathBuf::from(p);
    assert!(
        p.exists(),
        "pyHanko is required (the independent PAdES validator) and is missing at {}. \
         Run scripts/test, which installs it.",
        p.display()
    );
    p
}

/// Runs `pyhanko sign validate` trusting `root`, in its detailed (`--pretty-print`) and its
/// summary form; returns (both succeeded, both outputs).
pub fn pyhanko_validate(pdf: &Path, root: &Path) -> (bool, String) {
    let mut ok = true;
    let mut text = String::new();
    for pretty in [true, false] {
        let mut cmd = Command::new(pyhanko());
        cmd.args(["sign", "validate"]);
        if pretty {
            cmd.arg("--pretty-print");
        }
        let out = cmd
            .args(["--no-revocation-check", "--trust"])
            .arg(root)
            .arg(pdf)
            .output()
            .expect("run pyhanko");
        ok &= out.status.success();
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    (ok, text)
}
