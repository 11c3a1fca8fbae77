//! The sealing pipeline under load and failure: two `signgate serve` processes with sealing
//! workers on one PostgreSQL database seal 200 completed jobs, one of them is killed with
//! SIGKILL mid-run, and every job still ends sealed exactly once; a job that cannot be sealed
//! is retried, then fails with a reason the sender can read; sealed PDFs pass through the
//! spool and leave nothing in it.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt as _;
use serde_json::json;

const ORG: &str = "991825827";
const KARI: &str = "13097248022";

/// Every event of the organisation's feed, following the cursor.
async fn all_events(server: &Server, key: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut after = "0".to_string();
    loop {
        let page = get_json(
            server,
            key,
            &format!("/api/v1/events?after={after}&limit=1000"),
        )
        .await;
        let evs = page["events"].as_array().unwrap().clone();
        if evs.is_empty() {
            return out;
        }
        after = page["cursor"].as_str().unwrap().to_string();
        out.extend(evs);
    }
}

fn count_kind(events: &[serde_json::Value], kind: &str) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for e in events.iter().filter(|e| e["kind"] == kind) {
        *n.entry(e["job_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    n
}

async fn one_signer_job(server: &Server, key: &str, i: usize) -> serde_json::Value {
    let resp = create_job(
        server,
        key,
        json!({"title": format!("Vitnemål {i}"), "kind": "portal", "signers": [{"national_id": KARI}]}),
        &[("vitnemal.pdf", sample_pdf(&format!("Vitnemål {i}"), 1))],
    )
    .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

fn signing_url(job: &serde_json::Value) -> String {
    job["signers"][0]["signing_url"]
        .as_str()
        .expect("signing_url")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_seal_200_jobs_exactly_once_through_a_kill9() {
    const JOBS: usize = 200;
    // The API and ceremony replica: no sealing workers, so all 200 jobs wait in the queue.
    let front = Server::start(Db::Postgres, &[("SIGNGATE__SEALING__WORKERS", "0")]).await;
    let key = front.org_add(ORG, "Universitetet i Oslo");
    let jobs: Vec<serde_json::Value> = futures::stream::iter(0..JOBS)
        .map(|i| {
            let (front, key) = (&front, &key);
            async move {
                let job = one_signer_job(front, key, i).await;
                let done = walk_ceremony(&front.base, &signing_url(&job), KARI, "sign").await;
                assert_eq!(done.status, 200, "{}", done.body);
                job
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let ids: Vec<String> = jobs
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        count_kind(&all_events(&front, &key).await, "job_completed").is_empty(),
        "nothing is sealed before the workers start"
    );

    // Two sealing processes race for the queue; a short lease so that the killed process's
    // claimed jobs return to the queue within the test.
    let workers = [
        ("SIGNGATE__SEALING__WORKERS", "2"),
        ("SIGNGATE__SEALING__LEASE", "3s"),
    ];
    let mut a = front.replica(&workers);
    let b = front.replica(&workers);

    // Kill A once the run is well under way (a tenth of the jobs sealed, most still queued).
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = count_kind(&all_events(&front, &key).await, "job_completed").len();
        if done >= JOBS / 10 {
            assert!(done < JOBS, "the kill must happen mid-run ({done} sealed)");
            break;
        }
        assert!(Instant::now() < deadline, "sealing did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill9();

    // B finishes everything, including what A had claimed when it died.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done = count_kind(&all_events(&front, &key).await, "job_completed").len();
        if done == JOBS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of {JOBS} jobs sealed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let events = all_events(&front, &key).await;
    let completed = count_kind(&events, "job_completed");
    let failed = count_kind(&events, "job_failed");
    assert!(failed.is_empty(), "no job failed: {failed:?}");
    for id in &ids {
        assert_eq!(completed.get(id), Some(&1), "job {id} sealed exactly once");
    }
    // Each job's recorded digest is the digest of the one sealed document served for it.
    for id in ids.iter().step_by(20) {
        let j = get_json(&b, &key, &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(j["status"], "completed");
        let pdf = get(&b, &key, &format!("/api/v1/jobs/{id}/pades"))
            .await
            .bytes()
            .await
            .unwrap();
        let on_disk =
            std::fs::read(front.dir.join("blobs/jobs").join(id).join("sealed.pdf")).unwrap();
        assert_eq!(pdf.as_ref(), on_disk.as_slice(), "job {id}");
        let ev = events
            .iter()
            .find(|e| e["kind"] == "job_completed" && e["job_id"] == id.as_str())
            .unwrap();
        let sha = hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &pdf));
        assert_eq!(ev["data"]["pades_sha256"], sha.as_str(), "job {id}");
    }
    let sealed_files = std::fs::read_dir(front.dir.join("blobs/jobs"))
        .unwrap()
        .filter(|d| d.as_ref().unwrap().path().join("sealed.pdf").is_file())
        .count();
    assert_eq!(sealed_files, JOBS);
    let audit = front.cli(&["audit", "verify", "--orgnr", ORG]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let sample = front.dir.join("sample.pdf");
    std::fs::write(
        &sample,
        get(&b, &key, &format!("/api/v1/jobs/{}/pades", ids[JOBS / 2]))
            .await
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    let (ok, report) = pyhanko_validate(&sample, &front.root_ca_pem());
    assert!(ok, "{report}");
}

/// A job whose document vanished from storage cannot be sealed: the worker retries with
/// backoff, then the job fails and the sender reads why in the event feed.
#[tokio::test(flavor = "multi_thread")]
async fn a_job_that_cannot_be_sealed_fails_with_a_reason() {
    let server = Server::start(
        Db::Sqlite,
        &[
            ("SIGNGATE__SEALING__WORKERS", "0"),
            ("SIGNGATE__SEALING__MAX_ATTEMPTS", "3"),
            ("SIGNGATE__SEALING__MAX_BACKOFF", "1s"),
        ],
    )
    .await;
    let key = server.org_add(ORG, "Universitetet i Oslo");
    let job = one_signer_job(&server, &key, 1).await;
    let id = job["id"].as_str().unwrap().to_string();
    let done = walk_ceremony(&server.base, &signing_url(&job), KARI, "sign").await;
    assert_eq!(done.status, 200, "{}", done.body);
    // Lose the uploaded document, then let a sealing worker at it.
    let doc_dir = server.dir.join("blobs/jobs").join(&id);
    let mut removed = 0;
    for entry in walk(&doc_dir) {
        if entry.extension().is_some_and(|e| e == "pdf") {
            std::fs::remove_file(&entry).unwrap();
            removed += 1;
        }
    }
    assert_eq!(
        removed,
        1,
        "one uploaded document under {}",
        doc_dir.display()
    );
    let mut worker = server.replica(&[("SIGNGATE__SEALING__WORKERS", "1")]);
    let j = wait_for_job(&server, &key, &id, |j| j["status"] != "in_progress").await;
    assert_eq!(j["status"], "failed", "{j}");
    worker.kill9();
    let events = all_events(&server, &key).await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "job_failed" && e["job_id"] == id.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    assert_eq!(failed[0]["data"]["reason"], "sealing_failed");
    let detail = failed[0]["data"]["detail"].as_str().unwrap();
    assert_eq!(detail, "document 1 could not be read from storage");
    assert!(count_kind(&events, "job_completed").is_empty());
    // Nothing sealed is served for a failed job.
    let pades = get(&server, &key, &format!("/api/v1/jobs/{id}/pades")).await;
    assert_ne!(pades.status(), 200);
}

/// Sealed PDFs are written to the spool (`spool` beside the blob directory) and stored from
/// there: after a seal that worked and one that failed the spool is empty, a crashed
/// process's leftovers are removed when a sealing process starts, and the stored document is
/// the one pyHanko validates as LTA and whose digest the job records.
#[tokio::test(flavor = "multi_thread")]
async fn sealing_goes_through_the_spool_and_leaves_nothing_behind() {
    let front = Server::start(Db::Sqlite, &[("SIGNGATE__SEALING__WORKERS", "0")]).await;
    let key = front.org_add(ORG, "Universitetet i Oslo");
    let mut ids = Vec::new();
    for i in 0..2 {
        let job = one_signer_job(&front, &key, i).await;
        let done = walk_ceremony(&front.base, &signing_url(&job), KARI, "sign").await;
        assert_eq!(done.status, 200, "{}", done.body);
        ids.push(job["id"].as_str().unwrap().to_string());
    }
    let (good, bad) = (&ids[0], &ids[1]);
    // The second job's stored document is damaged: its seal fails after the spool file was
    // created (the document is read and parsed for sealing).
    let docs: Vec<_> = walk(&front.dir.join("blobs/jobs").join(bad))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    assert_eq!(docs.len(), 1, "{docs:?}");
    std::fs::write(&docs[0], b"this is no longer a PDF").unwrap();

    // What a sealing process killed mid-seal leaves: an unlocked spool file and a staged
    // upload, both old.
    let spool = front.dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let leftover = spool.join("seal-crashed01.spool");
    let staged = front.dir.join("blobs/uploads/0190b6e4-crashed");
    std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    for f in [&leftover, &staged] {
        std::fs::write(f, b"%PDF-1.7 half written").unwrap();
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }

    let mut worker = front.replica(&[("SIGNGATE__SEALING__WORKERS", "1")]);
    assert!(
        !leftover.exists(),
        "a dead process's spool file is removed at start"
    );
    assert!(
        !staged.exists(),
        "a dead process's staged upload is removed at start"
    );
    let j = wait_for_job(&front, &key, good, |j| j["status"] != "in_progress").await;
    assert_eq!(j["status"], "completed", "{j}");
    let j = wait_for_job(&front, &key, bad, |j| j["status"] != "in_progress").await;
    assert_eq!(j["status"], "failed", "{j}");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        left.is_empty(),
        "the spool is empty after both seals: {left:?}"
    );
    assert!(
        !front
            .dir
            .join("blobs/jobs")
            .join(bad)
            .join("sealed.pdf")
            .exists(),
        "nothing stored for the failed seal"
    );

    // The stored document: the only name of its file, served as is, digest recorded, LTA.
    let on_disk = front.dir.join("blobs/jobs").join(good).join("sealed.pdf");
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(std::fs::metadata(&on_disk).unwrap().nlink(), 1);
    let served = get(&front, &key, &format!("/api/v1/jobs/{good}/pades"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.as_ref(), std::fs::read(&on_disk).unwrap().as_slice());
    let events = all_events(&front, &key).await;
    let completed = events
        .iter()
        .find(|e| e["kind"] == "job_completed" && e["job_id"] == good.as_str())
        .unwrap();
    let sha = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &served,
    ));
    assert_eq!(completed["data"]["pades_sha256"], sha.as_str());
    let (ok, report) = pyhanko_validate(&on_disk, &front.root_ca_pem());
    assert!(ok, "{report}");
    assert!(report.contains("The signature is judged VALID"), "{report}");
    assert!(
        report
            .contains(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_LTA_UPDATES"),
        "{report}"
    );
    worker.kill9();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
