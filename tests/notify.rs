//! Signer notifications through the outbox, driven deterministically: the worker's
//! `run_due(now)` is called with the test's own clock, against real counterparts — the aiosmtpd
//! SMTP sink (STARTTLS and AUTH required; Python's `email` package reads what we sent) and the
//! LINK Mobility SMS stand-in. Covers activation by signing order, the retry after the relay was
//! briefly down (no sleeps: the relay is stopped, an attempt fails and is rescheduled by the
//! backoff, the relay comes back, the next run at the backoff time sends), the final failed
//! state, channels that are not configured (`not_sent`, never dropped), cancellation when the
//! job ends first, and on PostgreSQL two workers racing for the same rows (each sent once).

mod common;
#[path = "support/sms_gateway.rs"]
mod sms_gateway;
#[path = "support/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use signgate::archive::blobs::Blobs;
use signgate::archive::store::Store;
use signgate::identity::{IdpKind, VerifiedIdentity};
use signgate::jobs::model::{Job, JobRequest, Limits, Loa};
use signgate::jobs::service::{IncomingDocument, JobService, SignContext};
use signgate::notify::outbox::{Attempt, Channels, Settings, Worker};
use signgate::notify::{Status, email::Mailer, sms::SmsGateway};
use sms_gateway::{Mode, SmsGatewayStandIn};
use smtp::SmtpSink;
use time::OffsetDateTime;

const KARI: &str = "13097248022";
const OLA: &str = "01889449930";
const TITLE: &str = "Ansettelsesavtale for Kari Nordmann, lønn 700 000";

struct Env {
    svc: JobService,
    org: String,
    _dir: tempfile::TempDir,
}

async fn env(db: common::Db) -> Env {
    common::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let url = match db {
        common::Db::Sqlite => format!("sqlite://{}/t.db", dir.path().display()),
        common::Db::Postgres => common::create_pg_database().await,
    };
    let store = Store::connect(&url, 8).await.unwrap();
    store.migrate().await.unwrap();
    let org = store
        .create_org("991825827", "Demo kommune", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let blobs = Blobs::local(&dir.path().join("blobs")).unwrap();
    let limits = Limits {
        max_signers: 10,
        default_expires_in_days: 30,
        max_expires_in_days: 365,
    };
    Env {
        svc: JobService::new(
            store,
            blobs,
            limits,
            10,
            "https://gw.signgate.test",
            b"secret",
        ),
        org: org.id,
        _dir: dir,
    }
}

fn settings(max_attempts: i64) -> Settings {
    Settings {
        max_attempts,
        retry_base: Duration::from_secs(30),
        retry_max: Duration::from_secs(3600),
        poll_interval: Duration::from_millis(100),
        lease: Duration::from_secs(120),
    }
}

fn worker(e: &Env, channels: Channels, max_attempts: i64) -> Worker {
    let svc = e.svc.clone();
    Worker::new(
        e.svc.store().clone(),
        channels,
        settings(max_attempts),
        Arc::new(move |id: &str| svc.signing_url_for(id)),
    )
}

async fn job(e: &Env, kind: &str, signers: serde_json::Value, now: OffsetDateTime) -> Job {
    let req: JobRequest = serde_json::from_value(serde_json::json!({
        "title": TITLE,
        "nonsensitive_title": "Avtale",
        "kind": kind,
        "signers": signers,
    }))
    .unwrap();
    let valid = req.validate(e.svc.limits()).unwrap();
    let doc = IncomingDocument {
        filename: Some("a.pdf".into()),
        title: None,
        bytes: Bytes::from(common::sample_pdf("x", 1)),
        pages: 1,
    };
    e.svc
        .create(&e.org, valid, vec![doc], now)
        .await
        .unwrap()
        .job
}

fn identity(nid: &str) -> VerifiedIdentity {
    VerifiedIdentity {
        idp: IdpKind::Dev,
        issuer: "dev".into(),
        national_id: Some(nid.into()),
        eidas_id: None,
        name: "Kari Nordmann".into(),
        date_of_birth: None,
        loa: Loa::High,
        auth_time: OffsetDateTime::now_utc(),
        evidence: None,
    }
}

/// (signer id, channel, status, attempts, reason) of every notification of the job.
async fn rows(e: &Env, job: &Job) -> Vec<(String, String, Status, i64, Option<String>)> {
    e.svc
        .store()
        .job_notifications(&job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| {
            (
                n.signer_id,
                n.channel.as_str().to_string(),
                n.status,
                n.attempts,
                n.reason,
            )
        })
        .collect()
}

async fn event_kinds(e: &Env, job: &Job) -> Vec<String> {
    e.svc
        .store()
        .job_events(&job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|ev| ev.kind)
        .collect()
}

/// The relay is down for the first attempt; the retry at the backoff time delivers.
async fn retry_after_the_relay_was_down(db: common::Db) {
    let e = env(db).await;
    let mut sink = SmtpSink::start();
    let sms = SmsGatewayStandIn::start().await;
    let mailer = Mailer::new(&sink.config(), "gw.signgate.test").unwrap();
    let channels = Channels {
        email: Some(mailer),
        sms: Some(SmsGateway::new(&sms.config()).unwrap()),
    };
    let w = worker(&e, channels, 8);
    sink.stop();

    let t0 = OffsetDateTime::now_utc();
    let j = job(
        &e,
        "portal",
        serde_json::json!([
            {"national_id": KARI, "email": "kari@example.no", "mobile": "+47 912 34 567", "order": 0},
            {"national_id": OLA, "email": "ola@example.no", "lang": "en", "order": 1},
        ]),
        t0,
    )
    .await;
    let (kari, ola) = (j.signers[0].id.clone(), j.signers[1].id.clone());
    // Only the first order group is active: Kari's e-mail and SMS are queued, Ola's nothing.
    let mut outcomes = w.run_due(t0).await.unwrap();
    outcomes.sort_by_key(|a| format!("{a:?}"));
    assert_eq!(
        outcomes,
        [Attempt::Retry, Attempt::Sent],
        "e-mail retried, SMS sent"
    );
    let r = rows(&e, &j).await;
    assert_eq!(r.len(), 2, "{r:?}");
    let email = r.iter().find(|x| x.1 == "email").unwrap();
    assert_eq!((&email.0, email.2, email.3), (&kari, Status::Pending, 1));
    assert!(
        email.4.as_deref().unwrap().contains("SMTP delivery failed"),
        "{email:?}"
    );
    let texts = sms.received();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].destination, "+4791234567");
    assert_eq!(texts[0].source, "Signgate");
    assert!(
        texts[0].text.contains(&e.svc.signing_url_for(&kari)),
        "{}",
        texts[0].text
    );
    assert!(texts[0].text.contains("«Avtale»"), "{}", texts[0].text);
    assert!(
        !texts[0].text.contains("Kari Nordmann"),
        "no sensitive title"
    );

    // Nothing is due before the backoff has passed: no second attempt, however often we look.
    assert!(w.run_due(t0).await.unwrap().is_empty());
    assert!(
        w.run_due(t0 + time::Duration::seconds(29))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(sink.messages().is_empty());

    // The relay is back; the attempt at the backoff time goes through.
    sink.restart();
    let due = t0 + time::Duration::try_from(w.backoff(1)).unwrap();
    assert_eq!(w.run_due(due).await.unwrap(), [Attempt::Sent]);
    let mail = sink.messages();
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert!(
        m.tls && m.authenticated,
        "STARTTLS and AUTH were used: {m:?}"
    );
    assert_eq!(m.rcpt_tos, ["kari@example.no"]);
    assert_eq!(m.mail_from, "no-reply@signgate.test");
    assert_eq!(m.content_type, "text/plain");
    assert!(m.subject.contains("Demo kommune"), "{}", m.subject);
    assert!(
        m.body.contains("Demo kommune") && m.body.contains("«Avtale»"),
        "{}",
        m.body
    );
    assert!(!m.body.contains(TITLE) && !m.subject.contains("Ansettelse"));
    assert!(!m.body.contains(KARI), "no national id in the mail");
    assert_eq!(m.signing_link(), Some(e.svc.signing_url_for(&kari)));
    let (job_by_link, signer) = e
        .svc
        .by_token(m.signing_link().unwrap().rsplit('/').next().unwrap())
        .await
        .unwrap();
    assert_eq!((job_by_link.id, signer), (j.id.clone(), kari.clone()));
    assert!(
        m.message_id.ends_with("@gw.signgate.test>"),
        "{}",
        m.message_id
    );
    let r = rows(&e, &j).await;
    let email = r.iter().find(|x| x.1 == "email").unwrap();
    assert_eq!((email.2, email.3, email.4.clone()), (Status::Sent, 2, None));

    // Kari signs: Ola's order group is active now, and Ola's e-mail (in English) is queued in
    // the same transaction.
    e.svc
        .sign(&j.id, &kari, &identity(KARI), SignContext::default(), due)
        .await
        .unwrap();
    assert_eq!(w.run_due(due).await.unwrap(), [Attempt::Sent]);
    let mail = sink.messages();
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[1].rcpt_tos, ["ola@example.no"]);
    assert!(mail[1].body.starts_with("Hello,"), "{}", mail[1].body);
    assert_eq!(mail[1].signing_link(), Some(e.svc.signing_url_for(&ola)));
    let kinds = event_kinds(&e, &j).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "signer_notified").count(),
        3,
        "{kinds:?}"
    );
    // Nothing is left, and nothing is sent twice.
    assert!(
        w.run_due(due + time::Duration::hours(2))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(sms.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_the_relay_was_down_sqlite() {
    retry_after_the_relay_was_down(common::Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_the_relay_was_down_postgres() {
    retry_after_the_relay_was_down(common::Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn permanent_refusals_and_exhausted_retries_end_failed() {
    let e = env(common::Db::Sqlite).await;
    let mut sink = SmtpSink::start();
    let sms = SmsGatewayStandIn::start().await;
    let channels = Channels {
        email: Some(Mailer::new(&sink.config(), "gw.signgate.test").unwrap()),
        sms: Some(SmsGateway::new(&sms.config()).unwrap()),
    };
    let w = worker(&e, channels, 2);
    sink.stop();
    sms.set_mode(Mode::Refuse(2104));
    let t0 = OffsetDateTime::now_utc();
    let j = job(
        &e,
        "portal",
        serde_json::json!([{"national_id": KARI, "email": "kari@example.no", "mobile": "41234567"}]),
        t0,
    )
    .await;
    let mut first = w.run_due(t0).await.unwrap();
    first.sort_by_key(|a| format!("{a:?}"));
    assert_eq!(
        first,
        [Attempt::Failed, Attempt::Retry],
        "SMS refused for good"
    );
    let later = t0 + time::Duration::hours(1);
    assert_eq!(
        w.run_due(later).await.unwrap(),
        [Attempt::Failed],
        "out of attempts"
    );
    let r = rows(&e, &j).await;
    assert!(r.iter().all(|x| x.2 == Status::Failed), "{r:?}");
    let sms_row = r.iter().find(|x| x.1 == "sms").unwrap();
    assert_eq!(sms_row.3, 1);
    assert!(
        sms_row.4.as_deref().unwrap().contains("2104"),
        "{sms_row:?}"
    );
    assert_eq!(r.iter().find(|x| x.1 == "email").unwrap().3, 2);
    let failed: Vec<_> = e
        .svc
        .store()
        .job_events(&j.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|ev| ev.kind == "notification_failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|ev| !ev.data.contains("kari@example.no") && !ev.data.contains("41234567"))
    );
    // A failed notification is not tried again.
    sink.restart();
    sms.set_mode(Mode::Normal);
    assert!(
        w.run_due(later + time::Duration::days(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(sink.messages().is_empty() && sms.received().is_empty());
    // A temporarily unavailable gateway (503) is retried.
    let j2 = job(
        &e,
        "portal",
        serde_json::json!([{"national_id": OLA, "mobile": "+4741234567"}]),
        later,
    )
    .await;
    sms.set_mode(Mode::Unavailable);
    assert_eq!(w.run_due(later).await.unwrap(), [Attempt::Retry]);
    sms.set_mode(Mode::Normal);
    assert_eq!(
        w.run_due(later + time::Duration::seconds(30))
            .await
            .unwrap(),
        [Attempt::Sent]
    );
    assert_eq!(rows(&e, &j2).await[0].2, Status::Sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn unconfigured_channels_are_recorded_not_sent_and_ended_jobs_cancel() {
    let e = env(common::Db::Sqlite).await;
    let w = worker(&e, Channels::default(), 8);
    let t0 = OffsetDateTime::now_utc();
    let j = job(
        &e,
        "portal",
        serde_json::json!([{"national_id": KARI, "email": "kari@example.no", "mobile": "91234567"}]),
        t0,
    )
    .await;
    assert_eq!(
        w.run_due(t0).await.unwrap(),
        [Attempt::NotSent, Attempt::NotSent]
    );
    let r = rows(&e, &j).await;
    assert!(r.iter().all(|x| x.2 == Status::NotSent), "{r:?}");
    assert!(
        r.iter()
            .any(|x| x.4.as_deref().unwrap().contains("[notify.smtp]"))
    );
    assert!(
        r.iter()
            .any(|x| x.4.as_deref().unwrap().contains("[notify.sms]"))
    );
    let kinds = event_kinds(&e, &j).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "notification_failed").count(),
        2
    );

    // A direct job's signers are led by the sender: no notifications.
    let d = job(
        &e,
        "direct",
        serde_json::json!([{"national_id": KARI, "email": "kari@example.no"}]),
        t0,
    )
    .await;
    assert!(rows(&e, &d).await.is_empty());

    // The job is cancelled before the worker gets to it: cancelled, nothing sent.
    let sms = SmsGatewayStandIn::start().await;
    let w = worker(
        &e,
        Channels {
            email: None,
            sms: Some(SmsGateway::new(&sms.config()).unwrap()),
        },
        8,
    );
    let c = job(
        &e,
        "portal",
        serde_json::json!([{"national_id": OLA, "mobile": "91234567"}]),
        t0,
    )
    .await;
    e.svc.cancel(&e.org, &c.id, t0).await.unwrap();
    assert_eq!(w.run_due(t0).await.unwrap(), [Attempt::Cancelled]);
    assert_eq!(rows(&e, &c).await[0].2, Status::Cancelled);
    // Past the deadline (before the scheduler has expired the job): cancelled too.
    let late = job(
        &e,
        "portal",
        serde_json::json!([{"national_id": OLA, "mobile": "91234567"}]),
        t0,
    )
    .await;
    let after = late.expires_at + time::Duration::minutes(1);
    assert_eq!(w.run_due(after).await.unwrap(), [Attempt::Cancelled]);
    let r = rows(&e, &late).await;
    assert_eq!(r[0].4.as_deref(), Some("the job's deadline has passed"));
    assert_eq!(sms.requests(), 0);

    // A second outcome for the same attempt (a worker whose lease ran out) changes nothing.
    let twice = job(
        &e,
        "portal",
        serde_json::json!([{"national_id": OLA, "mobile": "91234567"}]),
        t0,
    )
    .await;
    let store = e.svc.store();
    let n = store
        .claim_notification(t0, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the new row is due");
    use signgate::archive::store::NotificationOutcome as O;
    store
        .notification_outcome(&n, O::Sent { provider_ref: "a" }, None, t0)
        .await
        .unwrap();
    store
        .notification_outcome(&n, O::Failed { error: "late" }, None, t0)
        .await
        .unwrap();
    assert_eq!(rows(&e, &twice).await[0].2, Status::Sent);
    let kinds = event_kinds(&e, &twice).await;
    assert_eq!(kinds, ["job_created", "signer_notified"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_workers_on_postgres_send_each_notification_once() {
    let e = env(common::Db::Postgres).await;
    let sms = SmsGatewayStandIn::start().await;
    let channels = Channels {
        email: None,
        sms: Some(SmsGateway::new(&sms.config()).unwrap()),
    };
    let (a, b) = (worker(&e, channels.clone(), 8), worker(&e, channels, 8));
    let t0 = OffsetDateTime::now_utc();
    let mut jobs = Vec::new();
    for i in 0..12 {
        let number = format!("+479{:07}", 1_000_000 + i);
        jobs.push(
            job(
                &e,
                "portal",
                serde_json::json!([{"national_id": KARI, "mobile": number}]),
                t0,
            )
            .await,
        );
    }
    let (ra, rb) = tokio::join!(a.run_due(t0), b.run_due(t0));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.len() + rb.len(), 12, "{ra:?} {rb:?}");
    let got = sms.received();
    assert_eq!(got.len(), 12);
    let mut numbers: Vec<_> = got.iter().map(|s| s.destination.clone()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 12, "each sent once");
    for j in &jobs {
        assert_eq!(rows(&e, j).await[0].2, Status::Sent);
    }
}
