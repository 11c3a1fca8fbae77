//! The business-register client and the authority rule against a local register
//! (`tests/support/register.rs`, answers in `tests/data/register/`): concurrency and caching,
//! each scenario's decision, failures failing closed, stale-if-error for previews only, the
//! preview's JSON and the evidence snapshot.

#[path = "support/register.rs"]
mod register;

use std::time::Duration;

use register::{RegisterServer, org, register_dir};
use signgate::authority::{
    self, AuthorityError, AuthorityKind, Basis, Decision, MatchMethod, Participant, PersonClaim,
    Preview, Refusal, RegisterClient,
};
use signgate::identity::{IdpKind, VerifiedIdentity};
use signgate::jobs::model::Loa;
use time::OffsetDateTime;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on every lookup, so a hanging client fails the test instead of stalling it.
const GUARD: Duration = Duration::from_secs(60);

// Synthetic test persons (month + 80), born on the dates in the register answers.
const KARI: &str = "15837010052";
const PER: &str = "12856510091";
const OLA: &str = "30895810130";
const ANNE: &str = "01819010001";
const SIGRID: &str = "24847210016";
const FRODE: &str = "11828810091";
const TURID: &str = "19878410060";
const PETTER: &str = "05907910018";
const QUINTUS: &str = "08887710075";
const RITA: &str = "14868110032";
const LISE: &str = "06866610078";
const GUNNAR: &str = "02826010056";
const DAG: &str = "20925510034";

fn login(nid: &str, name: &str) -> VerifiedIdentity {
    VerifiedIdentity {
        idp: IdpKind::Dev,
        issuer: "urn:signgate:test".into(),
        national_id: Some(nid.into()),
        eidas_id: None,
        name: name.into(),
        date_of_birth: None,
        loa: Loa::High,
        auth_time: OffsetDateTime::now_utc(),
        evidence: None,
    }
}

/// A signer who has logged in (and maybe signed).
fn verified(id: &str, nid: &str, name: &str, signed: bool) -> Participant {
    Participant {
        signer_id: id.into(),
        person: PersonClaim::from_identity(&login(nid, name)),
        verified: true,
        signed,
    }
}

/// A signer the sender designated who has not logged in yet.
fn designated(id: &str, nid: &str) -> Participant {
    Participant {
        signer_id: id.into(),
        person: PersonClaim::from_national_id(nid),
        verified: false,
        signed: false,
    }
}

fn client(server: &RegisterServer) -> RegisterClient {
    RegisterClient::new(&server.config(TIMEOUT)).expect("client")
}

async fn lookup(
    c: &RegisterClient,
    orgnr: &str,
) -> Result<authority::RegisterFacts, AuthorityError> {
    tokio::time::timeout(GUARD, c.lookup(orgnr))
        .await
        .expect("the lookup ends (the client's own timeout must fire)")
}

fn refusal(d: &Decision) -> &Refusal {
    match d {
        Decision::NotGranted(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn test_persons_are_born_on_the_register_dates() {
    for (nid, born) in [
        (KARI, "1970-03-15"),
        (PER, "1965-05-12"),
        (OLA, "1958-09-30"),
        (ANNE, "1990-01-01"),
        (SIGRID, "1972-04-24"),
        (FRODE, "1988-02-11"),
        (TURID, "1984-07-19"),
        (PETTER, "1979-10-05"),
        (QUINTUS, "1977-08-08"),
        (RITA, "1981-06-14"),
        (LISE, "1966-06-06"),
        (GUNNAR, "1960-02-02"),
        (DAG, "1955-12-20"),
    ] {
        let d = authority::birth_date_from_national_id(nid).expect(nid);
        assert_eq!(d.to_string(), born, "{nid}");
    }
}

#[tokio::test]
async fn cold_lookup_fetches_each_source_once_concurrently_then_the_cache_answers() {
    let server = RegisterServer::start().await;
    // Nothing is answered until all four requests are in flight together.
    server.hold_until_concurrent(org::DAGLIG_LEDER, 4);
    let c = client(&server);
    let facts = lookup(&c, org::DAGLIG_LEDER).await.unwrap();
    assert_eq!(server.requests_for(org::DAGLIG_LEDER), [1, 1, 1, 1]);
    assert!(server.max_in_flight() >= 4, "{}", server.max_in_flight());
    assert_eq!(c.requests_sent(), 4);
    assert!(!facts.stale);
    assert_eq!(facts.name(), Some("DAGLIG LEDER ALENE AS"));

    // Warm: no request at all, the same answers.
    for _ in 0..3 {
        let again = lookup(&c, org::DAGLIG_LEDER).await.unwrap();
        assert_eq!(again, facts);
    }
    assert_eq!(server.total(), 4);
    assert_eq!(c.requests_sent(), 4);

    // The daily manager signs alone.
    let kari = verified("s-kari", KARI, "Kari Nordmann", false);
    let d = authority::decide(&facts, AuthorityKind::Signature, &[kari], "s-kari");
    let Decision::Granted {
        combination,
        matches,
        alone,
    } = &d
    else {
        panic!("{d:?}")
    };
    assert!(alone);
    assert_eq!(combination.code.as_deref(), Some("R0001"));
    assert_eq!(matches[0].method, MatchMethod::BirthDateAndName);

    // The evidence snapshot: every answer byte-exact with URL, time and media type.
    let snap = facts.snapshot_for(&d);
    assert_eq!(snap.orgnr, org::DAGLIG_LEDER);
    let summary = snap.summary.as_deref().unwrap();
    assert!(
        summary.starts_with("DAGLIG LEDER ALENE AS (100010003): Granted"),
        "{summary}"
    );
    assert!(!summary.contains(KARI), "{summary}");
    let dir = register_dir().join(org::DAGLIG_LEDER);
    let files = ["enhet.json", "roller.json", "signatur.json", "prokura.json"];
    assert_eq!(snap.sources.len(), 4);
    for ((src, file), path) in snap
        .sources
        .iter()
        .zip(files)
        .zip(register::paths(org::DAGLIG_LEDER))
    {
        assert_eq!(src.body, std::fs::read(dir.join(file)).unwrap(), "{file}");
        assert_eq!(src.url, format!("{}{path}", server.base));
        assert_eq!(src.media_type, "application/json;charset=UTF-8");
        assert!(src.retrieved_at <= OffsetDateTime::now_utc());
    }
}

#[tokio::test]
async fn concurrent_lookups_share_one_request_per_source() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    let all = futures::future::join_all((0..8).map(|_| lookup(&c, org::STYRE_FELLESSKAP))).await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(server.requests_for(org::STYRE_FELLESSKAP), [1, 1, 1, 1]);
    // lookup_for(Signature) needs no procuration answer (and the cache has the rest).
    let f = c
        .lookup_for(org::STYRE_FELLESSKAP, AuthorityKind::Signature)
        .await
        .unwrap();
    assert!(f.procuration.is_none() && f.signature.is_some());
    assert_eq!(server.total(), 4);
}

#[tokio::test]
async fn joint_board_awaits_grants_and_completes() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    let facts = lookup(&c, org::STYRE_FELLESSKAP).await.unwrap();
    let kind = AuthorityKind::Signature;

    // The chair alone: the job lacks a board member.
    let per = verified("s-per", PER, "Per Hansen", false);
    let d = authority::decide(&facts, kind, std::slice::from_ref(&per), "s-per");
    let Decision::MissingCoSigners { options } = &d else {
        panic!("{d:?}")
    };
    let names: Vec<&str> = options.iter().map(|o| o[0].name.as_str()).collect();
    assert_eq!(names, ["Ola Berg", "Anne Marie Lie"]);
    assert!(
        options
            .iter()
            .all(|o| o.len() == 1 && o[0].role_code == "MEDL")
    );

    // Anne is designated (not logged in): the chair waits for her.
    let parts = [per.clone(), designated("s-anne", ANNE)];
    let d = authority::decide(&facts, kind, &parts, "s-per");
    assert!(
        matches!(&d, Decision::AwaitingCoSigners { pending, .. } if pending == &["s-anne"]),
        "{d:?}"
    );
    assert_eq!(
        authority::completion_satisfied(&facts, kind, &parts),
        Err(Refusal::NoAuthority)
    );

    // Anne logs in (her login name leaves out the middle name) and signs: the chair is granted.
    let anne = verified("s-anne", ANNE, "Anne Lie", true);
    let d = authority::decide(&facts, kind, &[per.clone(), anne.clone()], "s-per");
    let Decision::Granted { matches, alone, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(!alone);
    assert_eq!(matches.len(), 2);
    assert_eq!(matches[1].signer_id, "s-anne");
    assert_eq!(matches[1].person.name, "Anne Marie Lie");

    // Completion: both signed.
    let per_signed = Participant {
        signed: true,
        ..per
    };
    let done = authority::completion_satisfied(&facts, kind, &[per_signed, anne]).unwrap();
    assert_eq!(done.matches.len(), 2);
    assert_eq!(done.combination.basis, Basis::Signature);
}

#[tokio::test]
async fn persons_registered_for_signature_and_procuration() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    let f = lookup(&c, org::SIGNATUR_PROKURA).await.unwrap();
    use AuthorityKind::{Either, Procuration, Signature};

    let sigrid = verified("s1", SIGRID, "Sigrid Alene", false);
    let d = authority::decide(&f, Signature, &[sigrid], "s1");
    assert!(
        matches!(&d, Decision::Granted { combination, alone: true, .. } if combination.code.as_deref() == Some("SIHV")),
        "{d:?}"
    );

    let frode = verified("s1", FRODE, "Frode Felles", false);
    let d = authority::decide(&f, Signature, std::slice::from_ref(&frode), "s1");
    let Decision::MissingCoSigners { options } = &d else {
        panic!("{d:?}")
    };
    assert_eq!(
        options,
        &[vec![authority::RoleNeeded {
            role_code: "SIFE".into(),
            role_text: Some("Signatur i fellesskap".into()),
            name: "Turid Felles".into(),
            birth_date: authority::birth_date_from_national_id(TURID),
        }]]
    );
    let turid = verified("s2", TURID, "Turid Felles", true);
    assert!(authority::decide(&f, Signature, &[frode, turid], "s1").is_granted());

    let petter = verified("s1", PETTER, "Petter Prokurist", false);
    let d = authority::decide(&f, Signature, std::slice::from_ref(&petter), "s1");
    assert_eq!(refusal(&d), &Refusal::NoAuthority);
    for kind in [Procuration, Either] {
        let d = authority::decide(&f, kind, std::slice::from_ref(&petter), "s1");
        assert!(
            matches!(&d, Decision::Granted { combination, .. } if combination.basis == Basis::Procuration),
            "{kind:?} {d:?}"
        );
    }

    let quintus = verified("s1", QUINTUS, "Quintus Quist", false);
    let d = authority::decide(&f, Procuration, &[quintus, designated("s2", RITA)], "s1");
    assert!(
        matches!(&d, Decision::AwaitingCoSigners { pending, .. } if pending == &["s2"]),
        "{d:?}"
    );

    let lise = verified("s1", LISE, "Lise Lund", false);
    let d = authority::decide(&f, Procuration, &[lise], "s1");
    assert!(
        matches!(&d, Decision::Granted { combination, .. } if combination.code.as_deref() == Some("PROK")),
        "{d:?}"
    );
}

#[tokio::test]
async fn unit_status_and_rule_refusals() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    let kari = verified("s1", KARI, "Kari Nordmann", false);

    let f = lookup(&c, org::KONKURS).await.unwrap();
    let d = authority::decide(
        &f,
        AuthorityKind::Signature,
        std::slice::from_ref(&kari),
        "s1",
    );
    assert_eq!(refusal(&d), &Refusal::Bankrupt);
    assert_eq!(d.code(), "bankrupt");

    let e = lookup(&c, org::SLETTET).await.unwrap_err();
    assert_eq!(
        e,
        AuthorityError::Deleted {
            orgnr: org::SLETTET.into()
        }
    );
    assert_eq!(e.refusal(), Refusal::Deleted);
    let (d, facts) = c
        .decide(
            org::SLETTET,
            AuthorityKind::Signature,
            std::slice::from_ref(&kari),
            "s1",
        )
        .await;
    assert_eq!(refusal(&d), &Refusal::Deleted);
    assert!(facts.is_none());

    let e = lookup(&c, org::UKJENT).await.unwrap_err();
    assert_eq!(
        e,
        AuthorityError::NotFound {
            orgnr: org::UKJENT.into()
        }
    );
    assert_eq!(e.refusal().code(), "not_found");

    let f = lookup(&c, org::SPESIELL_REGEL).await.unwrap();
    let d = authority::decide(&f, AuthorityKind::Either, &[kari], "s1");
    let Refusal::NonStandardRule { basis, free_text } = refusal(&d) else {
        panic!("{d:?}")
    };
    assert_eq!(*basis, Basis::Signature);
    assert!(free_text.as_deref().unwrap().contains("1 million kroner"));
    let p = Preview::from_facts(&f);
    let sig = p.signature.unwrap();
    assert_eq!(sig.state, Some(authority::rules::RuleState::NonStandard));
    assert!(sig.combinations.is_empty());

    // Not an organisation number: nothing is asked.
    let before = server.total();
    assert!(matches!(
        c.lookup("123456789").await,
        Err(AuthorityError::InvalidOrgnr(_))
    ));
    assert!(matches!(
        c.lookup("../../x").await,
        Err(AuthorityError::InvalidOrgnr(_))
    ));
    assert_eq!(server.total(), before);
}

#[tokio::test]
async fn a_fullmakt_answer_the_service_does_not_have_is_left_out() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    let f = lookup(&c, org::ENK).await.unwrap();
    assert!(f.signature.is_some());
    assert!(f.procuration.is_none());
    assert_eq!(server.requests_for(org::ENK), [1, 1, 1, 1]);
    assert_eq!(f.snapshot("x").sources.len(), 3);
    let kari = verified("s1", KARI, "Kari Nordmann", false);
    let d = authority::decide(
        &f,
        AuthorityKind::Signature,
        std::slice::from_ref(&kari),
        "s1",
    );
    assert!(
        matches!(&d, Decision::Granted { combination, alone: true, .. } if combination.text.as_deref() == Some("Innehaver alene")),
        "{d:?}"
    );
    assert!(
        authority::decide(&f, AuthorityKind::Either, std::slice::from_ref(&kari), "s1")
            .is_granted()
    );
    let d = authority::decide(&f, AuthorityKind::Procuration, &[kari], "s1");
    assert_eq!(d.code(), "register_unavailable");
    let p = c.preview(org::ENK).await.unwrap();
    assert_eq!(p.organisation_form.as_deref(), Some("ENK"));
    assert!(p.procuration.is_none() && p.signature.is_some());
}

#[tokio::test]
async fn resigned_and_deceased_persons_never_count() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    let f = lookup(&c, org::FRATRAADT).await.unwrap();
    // Fullmakt still lists both as signing alone.
    for (nid, name) in [(GUNNAR, "Gunnar Gått"), (DAG, "Dag Død")] {
        let p = verified("s1", nid, name, false);
        let d = authority::decide(&f, AuthorityKind::Either, &[p], "s1");
        assert_eq!(refusal(&d), &Refusal::NoAuthority, "{name}");
    }
    let p = Preview::from_facts(&f);
    let combos = p.signature.unwrap().combinations;
    let standings: Vec<_> = combos
        .iter()
        .map(|c| (c.usable, c.persons[0].standing))
        .collect();
    assert_eq!(
        standings,
        [
            (false, authority::rules::Standing::Resigned),
            (false, authority::rules::Standing::Deceased)
        ]
    );
}

#[tokio::test]
async fn a_register_that_never_answers_times_out_and_fails_closed() {
    let server = RegisterServer::start().await;
    let c = RegisterClient::new(&server.config(Duration::from_millis(300))).unwrap();
    let e = lookup(&c, org::TREG).await.unwrap_err();
    let AuthorityError::Unavailable { url, reason } = &e else {
        panic!("{e:?}")
    };
    assert!(url.contains(org::TREG));
    assert!(reason.contains("timeout"), "{reason}");
    assert_eq!(e.refusal().code(), "register_unavailable");
    let (d, _) = c
        .decide(
            org::TREG,
            AuthorityKind::Signature,
            &[verified("s1", KARI, "Kari Nordmann", false)],
            "s1",
        )
        .await;
    assert_eq!(d.code(), "register_unavailable");
    // Nothing to show either.
    assert!(matches!(
        c.preview(org::TREG).await,
        Err(AuthorityError::Unavailable { .. })
    ));
    // Failures are not cached: every lookup asks again.
    assert!(server.requests_for(org::TREG)[0] >= 3);
}

#[tokio::test]
async fn malformed_json_is_a_typed_error_and_not_cached() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    let e = lookup(&c, org::ROTETE).await.unwrap_err();
    let AuthorityError::Malformed { url, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(url.ends_with("/roller"), "{url}");
    assert_eq!(e.refusal().code(), "malformed");
    lookup(&c, org::ROTETE).await.unwrap_err();
    assert_eq!(server.requests_for(org::ROTETE)[1], 2);
    // The entity answer was fine and stays cached.
    assert_eq!(server.requests_for(org::ROTETE)[0], 1);
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    let server = RegisterServer::start().await;
    let mut cfg = server.config(TIMEOUT);
    cfg.max_body_bytes = 200;
    let c = RegisterClient::new(&cfg).unwrap();
    let e = lookup(&c, org::DAGLIG_LEDER).await.unwrap_err();
    assert!(
        matches!(&e, AuthorityError::Unavailable { reason, .. } if reason.contains("larger than 200 bytes")),
        "{e:?}"
    );
}

#[tokio::test]
async fn stale_answers_serve_previews_never_decisions() {
    let server = RegisterServer::start().await;
    let mut cfg = server.config(TIMEOUT);
    cfg.cache_ttl = Duration::ZERO; // every lookup asks the register
    cfg.stale_if_error = Duration::from_secs(3600);
    let c = RegisterClient::new(&cfg).unwrap();
    let kari = verified("s1", KARI, "Kari Nordmann", false);

    let fresh = c.preview(org::DAGLIG_LEDER).await.unwrap();
    assert!(!fresh.stale);
    assert_eq!(server.requests_for(org::DAGLIG_LEDER), [1, 1, 1, 1]);

    server.set_failing(true);
    let e = lookup(&c, org::DAGLIG_LEDER).await.unwrap_err();
    assert!(
        matches!(&e, AuthorityError::Unavailable { reason, .. } if reason.contains("503")),
        "{e:?}"
    );
    let (d, facts) = c
        .decide(
            org::DAGLIG_LEDER,
            AuthorityKind::Signature,
            std::slice::from_ref(&kari),
            "s1",
        )
        .await;
    assert_eq!(d.code(), "register_unavailable");
    assert!(facts.is_none());
    let stale = c.preview(org::DAGLIG_LEDER).await.unwrap();
    assert!(stale.stale);
    assert_eq!(stale.signature, fresh.signature);
    // An organisation never read has no stale copy.
    assert!(c.preview(org::STYRE_FELLESSKAP).await.is_err());

    server.set_failing(false);
    let (d, _) = c
        .decide(org::DAGLIG_LEDER, AuthorityKind::Signature, &[kari], "s1")
        .await;
    assert!(d.is_granted(), "{d:?}");
}

#[tokio::test]
async fn a_warm_cache_outlives_a_register_outage() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    lookup(&c, org::DAGLIG_LEDER).await.unwrap();
    server.set_failing(true);
    let f = lookup(&c, org::DAGLIG_LEDER).await.unwrap();
    assert!(!f.stale);
    assert_eq!(server.total(), 4);
}

#[tokio::test]
async fn preview_json_shows_register_data_and_no_national_ids() {
    let server = RegisterServer::start().await;
    let c = client(&server);
    let p = c.preview(org::DAGLIG_LEDER).await.unwrap();
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["orgnr"], "100010003");
    assert_eq!(v["name"], "DAGLIG LEDER ALENE AS");
    assert_eq!(v["organisation_form"], "AS");
    assert_eq!(v["status"], "active");
    assert_eq!(v["stale"], false);
    let sig = &v["signature"];
    assert_eq!(sig["basis"], "signature");
    assert_eq!(sig["state"], "standard");
    assert_eq!(sig["free_text"], "Daglig leder alene. Styret i fellesskap.");
    assert_eq!(sig["combinations"][0]["mode"], "alone");
    assert_eq!(sig["combinations"][0]["usable"], true);
    let kari = &sig["combinations"][0]["persons"][0];
    assert_eq!(kari["name"], "Kari Nordmann");
    assert_eq!(kari["birth_date"], "1970-03-15");
    assert_eq!(kari["role_code"], "DAGL");
    assert_eq!(kari["standing"], "active");
    assert_eq!(sig["combinations"][1]["mode"], "jointly");
    assert_eq!(v["procuration"]["state"], "none_registered");
    let text = v.to_string();
    assert!(
        !text.contains("fodselsnummer") && !text.contains("national"),
        "{text}"
    );

    let konkurs = c.preview(org::KONKURS).await.unwrap();
    assert_eq!(
        serde_json::to_value(konkurs.status).unwrap(),
        serde_json::json!("bankrupt")
    );
}
