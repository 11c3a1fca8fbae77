//! `signgate validate` against a corpus made at test time by pyHanko (tests/validation/
//! make_corpus.py): a test PKI, PAdES B-B/T/LT/LTA, tampered, appended, revoked (live
//! `openssl ocsp` answers and CRLs), expired, untrusted, SHA-1 and bad-digest signatures, and
//! a test LOTL + trusted list that makes the test CA a qualified CA/QC service. Each file's
//! ETSI indication is compared with the expectation recorded by the generator and with
//! pyHanko's own EN 319 102-1 verdict; the disagreements with pyHanko are listed and
//! explained in `PYHANKO_DISAGREES`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_signgate");

/// Files where our verdict knowingly differs from pyHanko's AdES verdict, and why.
const PYHANKO_DISAGREES: &[(&str, &str)] = &[
    (
        "expired.pdf",
        "pyHanko's with-time process does not compare the signature timestamp with the \
         signer's notAfter; the timestamp is after expiry, so EN 319 102-1 §5.5.4 keeps \
         INDETERMINATE/OUT_OF_BOUNDS_NO_POE",
    ),
    (
        "revoked-after-lta.pdf",
        "pyHanko's long-term process needs revocation data older than the revocation; EN 319 \
         102-1 §5.5.4 accepts the signature timestamp as POE before the revocation time",
    ),
    (
        "sha1.pdf",
        "pyHanko bans SHA-1 outright (CRYPTO_CONSTRAINTS_FAILURE); under DSS's policy SHA-1 \
         expired in 2012 and no POE predates that: CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    ),
];

fn python() -> PathBuf {
    let venv = std::env::var("SIGNGATE_VENV").unwrap_or_else(|_| "/var/tmp/signgate-venv".into());
    let p = PathBuf::from(venv).join("bin/python");
    assert!(
        p.exists(),
        "the pyHanko venv is required at {} (scripts/test installs it)",
        p.display()
    );
    p
}

/// The generator, kept running (`--serve`) so the CRL/OCSP URLs in the certificates answer.
struct Corpus {
    dir: tempfile::TempDir,
    child: Child,
    expected: Value,
}

impl Drop for Corpus {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Corpus {
    fn make() -> Corpus {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validation/make_corpus.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(dir.path())
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run make_corpus.py");
        // The generator reports "done" on stderr once every file is written; it then serves
        // until stdin closes.
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut log = String::new();
        let mut done = false;
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            log.push_str(&line);
            log.push('\n');
            if line.contains("make_corpus: done") {
                done = true;
                break;
            }
        }
        // Keep draining stderr: closing the pipe would end the serving generator.
        std::thread::spawn(move || for _ in lines {});
        assert!(done, "make_corpus.py failed:\n{log}");
        let expected: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("expected.json")).unwrap())
                .unwrap();
        Corpus {
            dir,
            child,
            expected,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

fn validate(corpus: &Corpus, file: &Path, extra: &[&str], env: &[(&str, PathBuf)]) -> (i32, Value) {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(corpus.dir.path())
        .env("SIGNGATE__TRUST__STORE_DIR", corpus.path("trust-store"))
        .arg("validate")
        .arg(file)
        .args(["--format", "json"])
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: no JSON report ({e}); exit {code}\nstdout: {}\nstderr: {}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

#[test]
fn corpus_outcomes_match_etsi_expectations_and_pyhanko() {
    let corpus = Corpus::make();
    let root = corpus.path("pki/root.pem");
    let files = corpus.expected["files"].as_object().unwrap();
    assert!(files.len() >= 14, "corpus too small: {}", files.len());
    let mut failures = Vec::new();
    for (name, entry) in files {
        let path = corpus.path(entry["path"].as_str().unwrap());
        let (code, report) = validate(
            &corpus,
            &path,
            &[
                "--trust-anchor",
                root.to_str().unwrap(),
                "--no-trusted-lists",
            ],
            &[],
        );
        let sigs = report["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 1, "{name}: {report:#}");
        let sig = &sigs[0];
        let expect = &entry["expect"];
        let ind = sig["indication"].as_str().unwrap_or_default();
        let sub = sig["sub_indication"].as_str();
        let want_ind = expect["indication"].as_str().unwrap();
        let want_subs: Vec<&str> = match expect.get("acceptable_sub_indications") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => expect["sub_indication"].as_str().into_iter().collect(),
        };
        let sub_ok = if want_subs.is_empty() {
            sub.is_none()
        } else {
            sub.is_some_and(|s| want_subs.contains(&s))
        };
        if ind != want_ind || !sub_ok {
            failures.push(format!(
                "{name}: got {ind}/{sub:?}, expected {want_ind}/{want_subs:?}\n{}",
                serde_json::to_string_pretty(sig).unwrap()
            ));
        }
        if sig["format"] != expect["format"] {
            failures.push(format!(
                "{name}: format {} expected {}",
                sig["format"], expect["format"]
            ));
        }
        assert_eq!(
            code,
            if ind == "TOTAL_PASSED" { 0 } else { 1 },
            "{name}: exit code"
        );
        // Agreement with pyHanko's own EN 319 102-1 verdict, except where listed.
        let py = entry["pyhanko"]["ades_indication"]
            .as_str()
            .unwrap_or_default();
        let listed = PYHANKO_DISAGREES.iter().any(|(f, _)| f == name);
        let py_sub = entry["pyhanko"]["ades_sub_indication"].as_str();
        if !listed && (py != ind || py_sub != sub) {
            failures.push(format!(
                "{name}: pyHanko says {py}/{py_sub:?}, we say {ind}/{sub:?} (not a listed disagreement)"
            ));
        }
        if listed && py == ind && py_sub == sub {
            failures.push(format!(
                "{name}: listed as a pyHanko disagreement but we agree now: update the list"
            ));
        }
    }
    // The appended revision is reported as a modification.
    let (_, appended) = validate(
        &corpus,
        &corpus.path("pdf/appended.pdf"),
        &[
            "--trust-anchor",
            root.to_str().unwrap(),
            "--no-trusted-lists",
        ],
        &[],
    );
    let text = appended.to_string();
    assert!(
        text.contains("modifications after signing"),
        "appended.pdf must report the later change: {appended:#}"
    );
    assert_eq!(appended["signatures"][0]["scope"]["full"], false);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn qualification_from_a_test_trusted_list() {
    let corpus = Corpus::make();
    let generated = corpus.expected["generated_at"]
        .as_str()
        .unwrap()
        .to_string();
    let anchors = corpus.path(corpus.expected["lotl_anchors_file"].as_str().unwrap());
    let quals = corpus.expected["qualification"]
        .as_object()
        .unwrap()
        .clone();
    for (variant, files) in quals {
        let store = corpus.path(&format!("store-{variant}"));
        let env = [
            ("SIGNGATE__TRUST__ANCHORS_FILE", anchors.clone()),
            ("SIGNGATE__TRUST__STORE_DIR", store.clone()),
        ];
        let out = Command::new(BIN)
            .current_dir(corpus.dir.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .args(["trust", "refresh", "--from-dir"])
            .arg(corpus.path(&variant))
            .args(["--at", &generated])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "trust refresh {variant}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (file, want) in files.as_object().unwrap() {
            let (_, report) = validate(&corpus, &corpus.path(&format!("pdf/{file}")), &[], &env);
            let sig = &report["signatures"][0];
            assert_eq!(
                sig["qualification"].as_str(),
                want.as_str(),
                "{variant}/{file}: {sig:#}"
            );
            if want == "QESig" {
                assert_eq!(sig["qscd"], true, "{variant}/{file}");
                assert_eq!(sig["indication"], "TOTAL_PASSED", "{variant}/{file}");
                let chain = sig["certificate_chain"].as_array().unwrap();
                let anchor = chain.last().unwrap()["trust_anchor"].as_str().unwrap();
                assert!(
                    anchor.contains("trusted list") && anchor.contains("CA/QC (NO)"),
                    "{anchor}"
                );
            }
        }
    }
}

/// The gateway itself: trusted lists from its store, OCSP fetched online from the corpus's
/// live responder (the B-B file carries no revocation data), over `POST /api/v1/validations`.
#[tokio::test]
async fn served_validation_uses_the_stored_trusted_lists_and_fetches_ocsp() {
    common::install_crypto();
    let corpus = Corpus::make();
    let generated = corpus.expected["generated_at"]
        .as_str()
        .unwrap()
        .to_string();
    let anchors = corpus.path(corpus.expected["lotl_anchors_file"].as_str().unwrap());
    let store = corpus.path("served-store");
    let out = Command::new(BIN)
        .current_dir(corpus.dir.path())
        .env("SIGNGATE__TRUST__ANCHORS_FILE", &anchors)
        .env("SIGNGATE__TRUST__STORE_DIR", &store)
        .args(["trust", "refresh", "--from-dir"])
        .arg(corpus.path("tl"))
        .args(["--at", &generated])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let anchors_s = anchors.to_str().unwrap().to_string();
    let store_s = store.to_str().unwrap().to_string();
    let server = common::Server::start(
        common::Db::Sqlite,
        &[
            ("SIGNGATE__TRUST__ANCHORS_FILE", anchors_s.as_str()),
            ("SIGNGATE__TRUST__STORE_DIR", store_s.as_str()),
            ("SIGNGATE__TRUST__REFRESH_INTERVAL", "0s"),
        ],
    )
    .await;
    let key = server.org_add("991825827", "Agency");
    let client = common::api_client();
    // The stored lists are put in force by a startup task: wait for /health to show them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let h: Value = client
            .get(format!("{}/health", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if h["checks"]["trust"]["services"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "trusted lists never loaded: {h}"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pdf = std::fs::read(corpus.path("pdf/b-b.pdf")).unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf).file_name("b-b.pdf"),
    );
    let resp = client
        .post(format!("{}/api/v1/validations", server.base))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    let sig = &report["signatures"][0];
    assert_eq!(sig["indication"], "TOTAL_PASSED", "{sig:#}");
    assert_eq!(sig["qualification"], "QESig", "{sig:#}");
    let rev = sig["certificate_chain"][0]["revocation"]
        .as_str()
        .unwrap_or_default();
    assert!(rev.starts_with("good (OCSP"), "{rev}");
}
