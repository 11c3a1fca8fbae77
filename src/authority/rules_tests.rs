//! Unit tests of the authority rule: every `Decision` and `Refusal`, matching, the roles
//! cross-check, birth dates from national ids and name comparison. Register answers are built
//! as JSON in the registers' own shapes and parsed like fetched ones.

use std::sync::Arc;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::date;

use super::*;
use crate::authority::facts::{Answer, RegisterFacts};
use crate::authority::{AuthorityError, Preview};

const ORG: &str = "310000019";

// ----- builders --------------------------------------------------------------------------

/// A valid national id for `ddmmyy` with an individual number in `range`.
fn nid_in(ddmmyy: &str, range: std::ops::RangeInclusive<u32>) -> String {
    range
        .filter_map(|i| nin::complete_national_id(&format!("{ddmmyy}{i:03}")))
        .next()
        .expect("some individual number in the range completes")
}

/// A synthetic test person's national id (month + 80) born in the 1900s.
fn test_nid(day: u32, month: u32, yy: u32) -> String {
    nid_in(&format!("{day:02}{:02}{yy:02}", month + 80), 100..=499)
}

fn answer<T: serde::de::DeserializeOwned>(url: &str, v: &Value) -> Arc<Answer<T>> {
    Arc::new(
        Answer::parse(
            url,
            "application/json",
            serde_json::to_vec(v).unwrap(),
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap(),
    )
}

fn facts(entity: Value, roles: Value, sig: Option<Value>, prok: Option<Value>) -> RegisterFacts {
    RegisterFacts {
        orgnr: ORG.into(),
        entity: answer("https://er/enheter/310000019", &entity),
        roles: answer("https://er/enheter/310000019/roller", &roles),
        signature: sig.map(|v| answer("https://fm/enheter/310000019/signatur", &v)),
        procuration: prok.map(|v| answer("https://fm/enheter/310000019/prokura", &v)),
        stale: false,
    }
}

fn entity() -> Value {
    json!({"organisasjonsnummer": ORG, "navn": "TESTBEDRIFT AS",
           "organisasjonsform": {"kode": "AS", "beskrivelse": "Aksjeselskap"},
           "konkurs": false, "underAvvikling": false,
           "underTvangsavviklingEllerTvangsopplosning": false, "respons_klasse": "Enhet"})
}

/// (role code, first, last, birth date YYYY-MM-DD)
type Holder<'a> = (&'a str, &'a str, &'a str, &'a str);

fn role(h: Holder, extra: Value) -> Value {
    let (code, first, last, born) = h;
    let mut r = json!({"type": {"kode": code, "beskrivelse": code},
        "person": {"fodselsdato": born, "navn": {"fornavn": first, "etternavn": last},
                   "erDoed": false},
        "fratraadt": false, "rekkefolge": 0});
    if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            if k == "erDoed" {
                r["person"]["erDoed"] = v.clone();
            } else {
                r.insert(k.clone(), v.clone());
            }
        }
    }
    r
}

fn roles(list: Vec<Value>) -> Value {
    json!({"organisasjonsnummer": ORG, "rollegrupper": [{"type": {"kode": "X"}, "roller": list}]})
}

/// (name, DD.MM.YYYY, role code)
fn fperson(name: &str, born: &str, code: &str) -> Value {
    json!({"fodselsdato": born, "navn": name, "rolle": {"kode": code, "tekstforklaring": code}})
}

fn combo(code: &str, text: &str, persons: Vec<Value>) -> Value {
    json!({"kode": code, "tekstforklaring": text, "kombinasjonsId": "1",
           "personRolleKombinasjon": persons})
}

fn fullmakt(combos: Vec<Value>, free_text: Option<&str>, komb: &str, regel: &str) -> Value {
    json!({
        "status": {"rutineStatus": {"kode": "OK"}, "kombinasjonStatus": {"kode": komb},
                   "regelStatus": {"kode": regel}},
        "enhet": {"organisasjonsnummer": ORG, "navn": "TESTBEDRIFT AS",
                  "konkurs": "false", "underAvvikling": "false",
                  "underTvangsavviklingEllerTvangsopplosning": "false"},
        "signeringsGrunnlag": {"kode": if free_text.is_some() { "SF" } else { "SI" },
            "signaturProkuraRoller": {"signaturProkuraFritekst": free_text}},
        "signeringsKombinasjon": {"kombinasjon": combos}
    })
}

fn none_registered() -> Value {
    fullmakt(vec![], None, "IK", "RI")
}

const KARI: Holder = ("DAGL", "Kari", "Nordmann", "1970-03-15");
const PER: Holder = ("LEDE", "Per", "Hansen", "1965-05-12");
const OLA: Holder = ("MEDL", "Ola", "Berg", "1958-09-30");
const ANNE: Holder = ("MEDL", "Anne", "Lie", "1990-01-01");

fn kari_alone() -> Value {
    combo(
        "R0001",
        "Daglig leder alene",
        vec![fperson("Kari Nordmann", "15.03.1970", "DAGL")],
    )
}

/// "Styrets leder og ett styremedlem i fellesskap": Per with Ola, or Per with Anne.
fn board_facts() -> RegisterFacts {
    let per = fperson("Per Hansen", "12.05.1965", "LEDE");
    let sig = fullmakt(
        vec![
            combo(
                "R0010",
                "Styrets leder og ett styremedlem i fellesskap",
                vec![per.clone(), fperson("Ola Berg", "30.09.1958", "MEDL")],
            ),
            combo(
                "R0010",
                "Styrets leder og ett styremedlem i fellesskap",
                vec![per, fperson("Anne Lie", "01.01.1990", "MEDL")],
            ),
        ],
        Some("Styrets leder og ett styremedlem i fellesskap."),
        "OK",
        "RF",
    );
    facts(
        entity(),
        roles(vec![
            role(PER, json!({})),
            role(OLA, json!({})),
            role(ANNE, json!({})),
        ]),
        Some(sig),
        Some(none_registered()),
    )
}

fn daglig_facts() -> RegisterFacts {
    facts(
        entity(),
        roles(vec![role(KARI, json!({}))]),
        Some(fullmakt(
            vec![kari_alone()],
            Some("Daglig leder alene."),
            "OK",
            "RF",
        )),
        Some(none_registered()),
    )
}

fn verified(id: &str, name: &str, nid: &str, signed: bool) -> Participant {
    let mut person = PersonClaim::from_national_id(nid);
    person.name = Some(name.into());
    Participant {
        signer_id: id.into(),
        person,
        verified: true,
        signed,
    }
}

fn designated(id: &str, nid: &str) -> Participant {
    Participant {
        signer_id: id.into(),
        person: PersonClaim::from_national_id(nid),
        verified: false,
        signed: false,
    }
}

fn kari() -> Participant {
    verified("s-kari", "Kari Nordmann", &test_nid(15, 3, 70), false)
}
fn per() -> Participant {
    verified("s-per", "Per Hansen", &test_nid(12, 5, 65), false)
}
fn ola_nid() -> String {
    test_nid(30, 9, 58)
}
fn anne_nid() -> String {
    test_nid(1, 1, 90)
}

fn refusal(d: Decision) -> Refusal {
    match d {
        Decision::NotGranted(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// ----- decisions -------------------------------------------------------------------------

#[test]
fn daily_manager_alone_is_granted() {
    let d = decide(
        &daglig_facts(),
        AuthorityKind::Signature,
        &[kari()],
        "s-kari",
    );
    let Decision::Granted {
        combination,
        matches,
        alone,
    } = &d
    else {
        panic!("{d:?}")
    };
    assert!(*alone);
    assert_eq!(combination.basis, Basis::Signature);
    assert_eq!(combination.text.as_deref(), Some("Daglig leder alene"));
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].signer_id, "s-kari");
    assert_eq!(matches[0].method, MatchMethod::BirthDateAndName);
    assert_eq!(matches[0].person.role_code, "DAGL");
    assert_eq!(d.code(), "granted");
    let s = d.summary();
    assert!(
        s.contains("Kari Nordmann") && s.contains("May sign alone"),
        "{s}"
    );
    assert!(!s.contains(&test_nid(15, 3, 70)), "{s}");
    // The identity provider's birth date wins over the derived one; a wrong one refuses.
    let mut k = kari();
    k.person.birth_date = Some(date!(1970 - 03 - 16));
    let d = decide(&daglig_facts(), AuthorityKind::Signature, &[k], "s-kari");
    assert_eq!(refusal(d), Refusal::NoAuthority);
}

#[test]
fn joint_board_awaits_then_grants_then_completes() {
    let f = board_facts();
    // Ola is designated but has not logged in: tentative on the birth date of his id.
    let parts = [per(), designated("s-ola", &ola_nid())];
    let d = decide(&f, AuthorityKind::Signature, &parts, "s-per");
    let Decision::AwaitingCoSigners {
        combination,
        pending,
    } = &d
    else {
        panic!("{d:?}")
    };
    assert_eq!(pending, &["s-ola".to_string()]);
    assert_eq!(combination.persons.len(), 2);
    assert_eq!(d.code(), "awaiting_co_signers");
    assert!(d.summary().contains("s-ola"), "{}", d.summary());
    assert_eq!(
        completion_satisfied(&f, AuthorityKind::Signature, &parts),
        Err(Refusal::NoAuthority)
    );

    // Ola has signed with a verified identity: Per is granted jointly.
    let mut ola = verified("s-ola", "Ola Berg", &ola_nid(), true);
    let parts = [per(), ola.clone()];
    let d = decide(&f, AuthorityKind::Signature, &parts, "s-per");
    let Decision::Granted { matches, alone, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(!alone);
    let ids: Vec<&str> = matches.iter().map(|m| m.signer_id.as_str()).collect();
    assert_eq!(ids, ["s-per", "s-ola"]);
    assert_eq!(matches[1].person.role_code, "MEDL");
    assert!(d.summary().contains("jointly"), "{}", d.summary());

    // Completion: both signed.
    let mut per_signed = per();
    per_signed.signed = true;
    let done = completion_satisfied(
        &f,
        AuthorityKind::Signature,
        &[per_signed.clone(), ola.clone()],
    )
    .unwrap();
    assert!(!done.alone);
    assert_eq!(done.matches.len(), 2);
    // A signed participant without a verified identity never counts.
    ola.verified = false;
    assert_eq!(
        completion_satisfied(&f, AuthorityKind::Signature, &[per_signed, ola]),
        Err(Refusal::NoAuthority)
    );
}

#[test]
fn joint_board_without_co_signer_says_who_is_missing() {
    let f = board_facts();
    let d = decide(&f, AuthorityKind::Signature, &[per()], "s-per");
    let Decision::MissingCoSigners { options } = &d else {
        panic!("{d:?}")
    };
    assert_eq!(options.len(), 2);
    let names: Vec<Vec<&str>> = options
        .iter()
        .map(|o| o.iter().map(|r| r.name.as_str()).collect())
        .collect();
    assert_eq!(names, [vec!["Ola Berg"], vec!["Anne Lie"]]);
    assert_eq!(options[0][0].role_code, "MEDL");
    assert_eq!(options[0][0].birth_date, Some(date!(1958 - 09 - 30)));
    assert_eq!(d.code(), "missing_co_signers");
    let s = d.summary();
    assert!(s.contains("Ola Berg") && s.contains("Anne Lie"), "{s}");

    // A co-signer who is nobody in the combination changes nothing.
    let stranger = designated("s-x", &test_nid(2, 2, 81));
    let d2 = decide(&f, AuthorityKind::Signature, &[per(), stranger], "s-per");
    assert_eq!(d2, d);

    // A verified, signed co-signer with Ola's birth date but another name does not count,
    // and cannot be pending either.
    let wrong = verified("s-y", "Olav Bergersen", &ola_nid(), true);
    let d3 = decide(&f, AuthorityKind::Signature, &[per(), wrong], "s-per");
    assert_eq!(d3, d);

    // With Anne designated, the Anne combination is awaited.
    let d4 = decide(
        &f,
        AuthorityKind::Signature,
        &[per(), designated("s-anne", &anne_nid())],
        "s-per",
    );
    assert!(
        matches!(&d4, Decision::AwaitingCoSigners { pending, .. } if pending == &["s-anne".to_string()]),
        "{d4:?}"
    );
}

#[test]
fn planning_names_the_missing_register_persons_for_a_signer_not_logged_in() {
    let f = board_facts();
    let chair = designated("s-per", &test_nid(12, 5, 65));
    let plan = plan_completion(
        &f,
        AuthorityKind::Signature,
        std::slice::from_ref(&chair),
        "s-per",
    )
    .unwrap();
    let Completion::Missing { options } = &plan else {
        panic!("{plan:?}")
    };
    let names: Vec<Vec<&str>> = options
        .iter()
        .map(|o| o.iter().map(|r| r.name.as_str()).collect())
        .collect();
    assert_eq!(
        names,
        [vec!["Ola Berg"], vec!["Anne Lie"]],
        "the order decide() lists"
    );
    assert_eq!(options[0][0].birth_date, Some(date!(1958 - 09 - 30)));
    assert!(options[0][0].national_id.is_none());
    // The same as the decision the chair gets after logging in.
    let Decision::MissingCoSigners { options: after } =
        decide(&f, AuthorityKind::Signature, &[per()], "s-per")
    else {
        panic!()
    };
    assert_eq!(after[0][0].name, options[0][0].name);

    // With a co-signer designated by register birth date and name: nothing is missing.
    let ola = Participant {
        signer_id: "s-ola".into(),
        person: PersonClaim {
            national_id: None,
            birth_date: Some(date!(1958 - 09 - 30)),
            name: Some("Ola Berg".into()),
        },
        verified: false,
        signed: false,
    };
    let plan = plan_completion(
        &f,
        AuthorityKind::Signature,
        &[chair.clone(), ola.clone()],
        "s-per",
    )
    .unwrap();
    assert!(matches!(plan, Completion::Complete { .. }), "{plan:?}");
    // ... and the chair, once logged in, awaits that co-signer.
    let d = decide(&f, AuthorityKind::Signature, &[per(), ola], "s-per");
    assert!(
        matches!(&d, Decision::AwaitingCoSigners { pending, .. } if pending == &["s-ola".to_string()]),
        "{d:?}"
    );

    // Someone in no combination, or a unit that refuses: the refusal, not a plan.
    let stranger = designated("s-x", &test_nid(2, 2, 81));
    assert_eq!(
        plan_completion(&f, AuthorityKind::Signature, &[stranger], "s-x"),
        Err(Refusal::NoAuthority)
    );
    let mut stale = board_facts();
    stale.stale = true;
    assert!(matches!(
        plan_completion(&stale, AuthorityKind::Signature, &[chair], "s-per"),
        Err(Refusal::RegisterUnavailable(_))
    ));
    // Alone: complete as it is.
    let kari = designated("s-kari", &test_nid(15, 3, 70));
    assert!(matches!(
        plan_completion(&daglig_facts(), AuthorityKind::Signature, &[kari], "s-kari"),
        Ok(Completion::Complete { .. })
    ));
}

#[test]
fn a_member_alone_is_in_no_sufficient_set_without_the_chair() {
    // Ola is in a joint combination only; with Per pending he awaits Per.
    let f = board_facts();
    let ola = verified("s-ola", "Ola Berg", &ola_nid(), false);
    let d = decide(
        &f,
        AuthorityKind::Signature,
        &[ola.clone(), designated("s-per", &test_nid(12, 5, 65))],
        "s-ola",
    );
    assert!(
        matches!(&d, Decision::AwaitingCoSigners { pending, .. } if pending == &["s-per".to_string()]),
        "{d:?}"
    );
    // One participant cannot stand for two persons.
    let d = decide(&f, AuthorityKind::Signature, &[ola], "s-ola");
    assert!(matches!(d, Decision::MissingCoSigners { .. }), "{d:?}");
}

#[test]
fn not_in_any_combination_is_no_authority() {
    let someone = verified("s-z", "Zara Zed", &test_nid(3, 3, 83), false);
    let d = decide(&daglig_facts(), AuthorityKind::Signature, &[someone], "s-z");
    assert_eq!(d.code(), "no_authority");
    assert_eq!(refusal(d), Refusal::NoAuthority);
    // An unverified subject is never granted, whatever the register says.
    let mut k = kari();
    k.verified = false;
    let d = decide(&daglig_facts(), AuthorityKind::Signature, &[k], "s-kari");
    assert_eq!(refusal(d), Refusal::NoAuthority);
    // Nor a subject who is not a participant.
    let d = decide(
        &daglig_facts(),
        AuthorityKind::Signature,
        &[kari()],
        "s-other",
    );
    assert_eq!(refusal(d), Refusal::NoAuthority);
}

#[test]
fn unit_status_refusals() {
    let sig = || {
        Some(fullmakt(
            vec![kari_alone()],
            Some("Daglig leder alene."),
            "OK",
            "RF",
        ))
    };
    let r = || roles(vec![role(KARI, json!({}))]);
    let with = |patch: Value| {
        let mut e = entity();
        for (k, v) in patch.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    let cases = [
        (
            with(json!({"konkurs": true, "konkursdato": "2024-01-01"})),
            Refusal::Bankrupt,
        ),
        (
            with(json!({"underAvvikling": true})),
            Refusal::UnderLiquidation,
        ),
        (
            with(json!({"underTvangsavviklingEllerTvangsopplosning": true})),
            Refusal::ForcedDissolution,
        ),
        (
            with(json!({"tvangsopplostPgaMangelfulltStyreDato": "2023-05-05"})),
            Refusal::ForcedDissolution,
        ),
        (with(json!({"slettedato": "2020-02-02"})), Refusal::Deleted),
        (
            with(json!({"respons_klasse": "SlettetEnhet"})),
            Refusal::Deleted,
        ),
    ];
    for (e, want) in cases {
        let d = decide(
            &facts(e, r(), sig(), None),
            AuthorityKind::Signature,
            &[kari()],
            "s-kari",
        );
        assert_eq!(refusal(d), want);
    }
    // Fullmakt's own flag (a string there) is enough.
    let mut s = sig().unwrap();
    s["enhet"]["konkurs"] = json!("true");
    let f = facts(entity(), r(), Some(s), None);
    let d = decide(&f, AuthorityKind::Signature, &[kari()], "s-kari");
    assert_eq!(d.code(), "bankrupt");
    assert_eq!(
        completion_satisfied(&f, AuthorityKind::Signature, &[kari()]),
        Err(Refusal::Bankrupt)
    );
    for (r, code) in [
        (Refusal::NotFound, "not_found"),
        (Refusal::Deleted, "deleted"),
        (Refusal::UnderLiquidation, "under_liquidation"),
        (Refusal::ForcedDissolution, "forced_dissolution"),
    ] {
        assert_eq!(r.code(), code);
        assert!(r.summary().starts_with("Not granted: the organisation"));
    }
}

#[test]
fn lookup_errors_become_refusals() {
    let nf = AuthorityError::NotFound { orgnr: ORG.into() };
    assert_eq!(nf.refusal(), Refusal::NotFound);
    assert_eq!(
        AuthorityError::Deleted { orgnr: ORG.into() }.refusal(),
        Refusal::Deleted
    );
    let down = AuthorityError::Unavailable {
        url: "https://er/x".into(),
        reason: "no answer within the timeout".into(),
    };
    let r = down.refusal();
    assert_eq!(r.code(), "register_unavailable");
    assert!(r.is_transient());
    assert!(r.to_string().contains("timeout"), "{r}");
    let bad = AuthorityError::Malformed {
        url: "https://er/x".into(),
        reason: "EOF".into(),
    };
    assert_eq!(bad.refusal().code(), "malformed");
    assert!(!bad.refusal().is_transient());
}

#[test]
fn non_standard_rule() {
    let text = "Styrets leder sammen med to styremedlemmer, unntatt i helgene.";
    let f = facts(
        entity(),
        roles(vec![role(KARI, json!({}))]),
        Some(fullmakt(vec![], Some(text), "IK", "RI")),
        Some(none_registered()),
    );
    let d = decide(&f, AuthorityKind::Signature, &[kari()], "s-kari");
    assert_eq!(d.code(), "non_standard_rule");
    assert_eq!(
        refusal(d.clone()),
        Refusal::NonStandardRule {
            basis: Basis::Signature,
            free_text: Some(text.into())
        }
    );
    assert!(d.summary().contains("helgene"), "{}", d.summary());
    // Either: the procuration answer has nothing registered; the non-standard signature rule
    // is still what the signer is told.
    let d = decide(&f, AuthorityKind::Either, &[kari()], "s-kari");
    assert_eq!(d.code(), "non_standard_rule");
    // RI with combinations given: a listed combination still grants.
    let f = facts(
        entity(),
        roles(vec![role(KARI, json!({}))]),
        Some(fullmakt(vec![kari_alone()], Some(text), "OK", "RI")),
        None,
    );
    assert!(decide(&f, AuthorityKind::Signature, &[kari()], "s-kari").is_granted());
    let other = verified("s-z", "Zara Zed", &test_nid(3, 3, 83), false);
    let d = decide(&f, AuthorityKind::Signature, &[other], "s-z");
    assert_eq!(d.code(), "non_standard_rule");
    // IK without any registered text: nothing registered, plain no authority.
    let f = facts(
        entity(),
        roles(vec![role(KARI, json!({}))]),
        Some(none_registered()),
        None,
    );
    assert_eq!(
        refusal(decide(&f, AuthorityKind::Signature, &[kari()], "s-kari")),
        Refusal::NoAuthority
    );
}

#[test]
fn register_unavailable_and_malformed() {
    let r = || roles(vec![role(KARI, json!({}))]);
    // The Fullmakt routine did not run.
    let mut s = fullmakt(vec![kari_alone()], None, "OK", "RF");
    s["status"]["rutineStatus"] = json!({"kode": "FE", "tekstforklaring": "Feil"});
    let f = facts(entity(), r(), Some(s), None);
    let d = decide(&f, AuthorityKind::Signature, &[kari()], "s-kari");
    assert_eq!(d.code(), "register_unavailable");
    // The procuration answer was not read.
    let f = daglig_facts();
    let f = RegisterFacts {
        procuration: None,
        ..f
    };
    let d = decide(&f, AuthorityKind::Procuration, &[kari()], "s-kari");
    assert_eq!(d.code(), "register_unavailable");
    // ... but Either still grants on the signature answer.
    assert!(decide(&f, AuthorityKind::Either, &[kari()], "s-kari").is_granted());
    // Stale facts never decide.
    let stale = RegisterFacts {
        stale: true,
        ..daglig_facts()
    };
    let d = decide(&stale, AuthorityKind::Signature, &[kari()], "s-kari");
    assert_eq!(d.code(), "register_unavailable");
    assert!(completion_satisfied(&stale, AuthorityKind::Signature, &[kari()]).is_err());
    // No routine status at all.
    let mut s = fullmakt(vec![kari_alone()], None, "OK", "RF");
    s["status"] = json!(null);
    let d = decide(
        &facts(entity(), r(), Some(s), None),
        AuthorityKind::Signature,
        &[kari()],
        "s-kari",
    );
    assert_eq!(d.code(), "malformed");
    // Answers about another unit.
    let mut e = entity();
    e["organisasjonsnummer"] = json!("310000027");
    let d = decide(
        &facts(
            e,
            r(),
            Some(fullmakt(vec![kari_alone()], None, "OK", "RF")),
            None,
        ),
        AuthorityKind::Signature,
        &[kari()],
        "s-kari",
    );
    assert_eq!(d.code(), "malformed");
    let mut s = fullmakt(vec![kari_alone()], None, "OK", "RF");
    s["enhet"]["organisasjonsnummer"] = json!("310000027");
    let d = decide(
        &facts(entity(), r(), Some(s), None),
        AuthorityKind::Signature,
        &[kari()],
        "s-kari",
    );
    assert!(matches!(refusal(d), Refusal::Malformed(m) if m.contains("Fullmakt")));
}

#[test]
fn resigned_deceased_and_unknown_persons_never_count() {
    let sig = || {
        Some(fullmakt(
            vec![kari_alone()],
            Some("Daglig leder alene."),
            "OK",
            "RF",
        ))
    };
    for extra in [
        json!({"fratraadt": true}),
        json!({"avregistrert": true}),
        json!({"fratraadt": false, "avregistrert": true}),
        json!({"erDoed": true}),
    ] {
        let f = facts(
            entity(),
            roles(vec![role(KARI, extra.clone())]),
            sig(),
            None,
        );
        let d = decide(&f, AuthorityKind::Signature, &[kari()], "s-kari");
        assert_eq!(refusal(d), Refusal::NoAuthority, "{extra}");
    }
    // Not in the roles answer at all.
    let f = facts(entity(), roles(vec![role(PER, json!({}))]), sig(), None);
    assert_eq!(
        refusal(decide(&f, AuthorityKind::Signature, &[kari()], "s-kari")),
        Refusal::NoAuthority
    );
    // Resigned as DAGL but still a board member: the DAGL entry decides.
    let f = facts(
        entity(),
        roles(vec![
            role(KARI, json!({"fratraadt": true})),
            role(("MEDL", "Kari", "Nordmann", "1970-03-15"), json!({})),
        ]),
        sig(),
        None,
    );
    assert_eq!(
        refusal(decide(&f, AuthorityKind::Signature, &[kari()], "s-kari")),
        Refusal::NoAuthority
    );
    // A role code /roller does not carry (SIHV): any active role of the person counts.
    let sihv = combo(
        "SIHV",
        "Signatur hver for seg",
        vec![fperson("Kari Nordmann", "15.03.1970", "SIHV")],
    );
    let f = facts(
        entity(),
        roles(vec![role(KARI, json!({}))]),
        Some(fullmakt(vec![sihv.clone()], None, "OK", "RF")),
        None,
    );
    assert!(decide(&f, AuthorityKind::Signature, &[kari()], "s-kari").is_granted());
    let f = facts(
        entity(),
        roles(vec![role(KARI, json!({"fratraadt": true}))]),
        Some(fullmakt(vec![sihv], None, "OK", "RF")),
        None,
    );
    assert!(!decide(&f, AuthorityKind::Signature, &[kari()], "s-kari").is_granted());
    // A resigned co-person makes the whole combination unusable.
    let f = facts(
        entity(),
        roles(vec![
            role(PER, json!({})),
            role(OLA, json!({"fratraadt": true})),
            role(ANNE, json!({})),
        ]),
        board_facts()
            .signature
            .map(|a| serde_json::from_slice(&a.source.body).unwrap()),
        None,
    );
    let ola = verified("s-ola", "Ola Berg", &ola_nid(), true);
    let d = decide(&f, AuthorityKind::Signature, &[per(), ola], "s-per");
    let Decision::MissingCoSigners { options } = &d else {
        panic!("{d:?}")
    };
    assert_eq!(options.len(), 1);
    assert_eq!(options[0][0].name, "Anne Lie");
    // The preview shows why.
    let p = Preview::from_facts(&f);
    let combos = &p.signature.as_ref().unwrap().combinations;
    assert!(!combos[0].usable);
    assert_eq!(combos[0].persons[1].standing, Standing::Resigned);
    assert!(combos[1].usable);
}

#[test]
fn national_ids_from_the_authorised_variant_decide_alone() {
    let kari_id = test_nid(15, 3, 70);
    let mut p = fperson("Kari Nordmann", "15.03.1970", "DAGL");
    p["fodselsnummer"] = json!(kari_id);
    let f = facts(
        entity(),
        roles(vec![role(KARI, json!({}))]),
        Some(fullmakt(
            vec![combo("R0001", "Daglig leder alene", vec![p])],
            None,
            "OK",
            "RF",
        )),
        None,
    );
    // Same id, another spelling of the name: matched by national id.
    let k = verified("s-kari", "Kari N. Nordmann-Olsen", &kari_id, false);
    let d = decide(&f, AuthorityKind::Signature, &[k], "s-kari");
    let Decision::Granted { matches, .. } = &d else {
        panic!("{d:?}")
    };
    assert_eq!(matches[0].method, MatchMethod::NationalId);
    let dbg = format!("{d:?}");
    assert!(!dbg.contains(&kari_id), "{dbg}");
    // Another id with the same birth date and name: not her.
    let other_id = nid_in("158370", 300..=499);
    assert_ne!(other_id, kari_id);
    let twin = verified("s-t", "Kari Nordmann", &other_id, false);
    assert_eq!(twin.person.birth_date, Some(date!(1970 - 03 - 15)));
    assert_eq!(
        refusal(decide(&f, AuthorityKind::Signature, &[twin], "s-t")),
        Refusal::NoAuthority
    );
    // An eIDAS identity (no national id) falls back to birth date and name.
    let eidas = Participant {
        signer_id: "s-e".into(),
        person: PersonClaim {
            national_id: None,
            birth_date: Some(date!(1970 - 03 - 15)),
            name: Some("KARI NORDMANN".into()),
        },
        verified: true,
        signed: false,
    };
    let d = decide(&f, AuthorityKind::Signature, &[eidas], "s-e");
    assert!(
        matches!(&d, Decision::Granted { matches, .. } if matches[0].method == MatchMethod::BirthDateAndName),
        "{d:?}"
    );
}

fn sign_prok_facts() -> RegisterFacts {
    let sigrid = ("SIHV", "Sigrid", "Alene", "1972-04-24");
    let frode = ("SIFE", "Frode", "Felles", "1988-02-11");
    let turid = ("SIFE", "Turid", "Felles", "1984-07-19");
    let petter = ("POHV", "Petter", "Prokurist", "1979-10-05");
    let sig = fullmakt(
        vec![
            combo(
                "SIHV",
                "Signatur hver for seg",
                vec![fperson("Sigrid Alene", "24.04.1972", "SIHV")],
            ),
            combo(
                "SIFE",
                "Signatur i fellesskap",
                vec![
                    fperson("Frode Felles", "11.02.1988", "SIFE"),
                    fperson("Turid Felles", "19.07.1984", "SIFE"),
                ],
            ),
        ],
        None,
        "OK",
        "RF",
    );
    let prok = fullmakt(
        vec![combo(
            "POHV",
            "Prokura hver for seg",
            vec![fperson("Petter Prokurist", "05.10.1979", "POHV")],
        )],
        None,
        "OK",
        "RF",
    );
    facts(
        entity(),
        roles(vec![
            role(sigrid, json!({})),
            role(frode, json!({})),
            role(turid, json!({})),
            role(petter, json!({})),
        ]),
        Some(sig),
        Some(prok),
    )
}

#[test]
fn signature_and_procuration_kinds() {
    let f = sign_prok_facts();
    let petter = verified("s-p", "Petter Prokurist", &test_nid(5, 10, 79), false);
    // Procuration holder: not for a signature, yes for procuration and for either.
    assert_eq!(
        refusal(decide(
            &f,
            AuthorityKind::Signature,
            std::slice::from_ref(&petter),
            "s-p"
        )),
        Refusal::NoAuthority
    );
    for kind in [AuthorityKind::Procuration, AuthorityKind::Either] {
        let d = decide(&f, kind, std::slice::from_ref(&petter), "s-p");
        assert!(
            matches!(&d, Decision::Granted { combination, alone: true, .. } if combination.basis == Basis::Procuration),
            "{kind:?}: {d:?}"
        );
    }
    // SIHV alone; SIFE jointly.
    let sigrid = verified("s-s", "Sigrid Alene", &test_nid(24, 4, 72), false);
    assert!(
        decide(
            &f,
            AuthorityKind::Signature,
            std::slice::from_ref(&sigrid),
            "s-s"
        )
        .is_granted()
    );
    assert_eq!(
        refusal(decide(&f, AuthorityKind::Procuration, &[sigrid], "s-s")),
        Refusal::NoAuthority
    );
    let frode = verified("s-f", "Frode Felles", &test_nid(11, 2, 88), false);
    let d = decide(
        &f,
        AuthorityKind::Signature,
        std::slice::from_ref(&frode),
        "s-f",
    );
    let Decision::MissingCoSigners { options } = &d else {
        panic!("{d:?}")
    };
    assert_eq!(options[0][0].role_code, "SIFE");
    assert_eq!(options[0][0].name, "Turid Felles");
    let turid = verified("s-t", "Turid Felles", &test_nid(19, 7, 84), true);
    assert!(decide(&f, AuthorityKind::Signature, &[frode, turid], "s-f").is_granted());
}

#[test]
fn duplicate_person_in_a_combination_is_one_slot() {
    let f = facts(
        entity(),
        roles(vec![
            role(PER, json!({})),
            role(("DAGL", "Per", "Hansen", "1965-05-12"), json!({})),
        ]),
        Some(fullmakt(
            vec![combo(
                "R0005",
                "Daglig leder og styrets leder i fellesskap",
                vec![
                    fperson("Per Hansen", "12.05.1965", "DAGL"),
                    fperson("Per Hansen", "12.05.1965", "LEDE"),
                ],
            )],
            None,
            "OK",
            "RF",
        )),
        None,
    );
    let d = decide(&f, AuthorityKind::Signature, &[per()], "s-per");
    assert!(
        matches!(&d, Decision::Granted { alone: true, combination, .. } if combination.persons.len() == 1),
        "{d:?}"
    );
}

#[test]
fn empty_combinations_are_never_used() {
    let f = facts(
        entity(),
        roles(vec![role(PER, json!({}))]),
        Some(fullmakt(
            vec![combo("STYR", "Styret i fellesskap", vec![])],
            None,
            "OK",
            "RF",
        )),
        None,
    );
    assert_eq!(
        refusal(decide(&f, AuthorityKind::Signature, &[per()], "s-per")),
        Refusal::NoAuthority
    );
    assert_eq!(
        completion_satisfied(&f, AuthorityKind::Signature, &[]),
        Err(Refusal::NoAuthority)
    );
}

#[test]
fn snapshot_keeps_every_answer_byte_exact() {
    let f = daglig_facts();
    let d = decide(&f, AuthorityKind::Signature, &[kari()], "s-kari");
    let snap = f.snapshot_for(&d);
    assert_eq!(snap.orgnr, ORG);
    assert_eq!(snap.sources.len(), 4);
    assert_eq!(snap.sources[0].url, "https://er/enheter/310000019");
    assert_eq!(snap.sources[0].body, f.entity.source.body);
    assert_eq!(snap.sources[3].url, "https://fm/enheter/310000019/prokura");
    let summary = snap.summary.unwrap();
    assert!(
        summary.starts_with("TESTBEDRIFT AS (310000019): Granted"),
        "{summary}"
    );
}

#[test]
fn decision_codes_are_stable() {
    let all = [
        Refusal::NotFound,
        Refusal::Deleted,
        Refusal::Bankrupt,
        Refusal::UnderLiquidation,
        Refusal::ForcedDissolution,
        Refusal::NonStandardRule {
            basis: Basis::Procuration,
            free_text: None,
        },
        Refusal::NoAuthority,
        Refusal::RegisterUnavailable("x".into()),
        Refusal::Malformed("y".into()),
    ];
    let codes: Vec<&str> = all.iter().map(Refusal::code).collect();
    assert_eq!(
        codes,
        [
            "not_found",
            "deleted",
            "bankrupt",
            "under_liquidation",
            "forced_dissolution",
            "non_standard_rule",
            "no_authority",
            "register_unavailable",
            "malformed"
        ]
    );
    for r in all {
        let s = r.summary();
        assert!(s.starts_with("Not granted: ") && s.ends_with('.'), "{s}");
        assert_eq!(Decision::NotGranted(r.clone()).code(), r.code());
    }
    assert_eq!(
        serde_json::to_string(&AuthorityKind::Procuration).unwrap(),
        "\"procuration\""
    );
    assert_eq!(
        serde_json::from_str::<AuthorityKind>("\"either\"").unwrap(),
        AuthorityKind::Either
    );
    assert_eq!(AuthorityKind::default(), AuthorityKind::Signature);
}

// ----- birth dates -----------------------------------------------------------------------

#[test]
fn birth_dates_from_national_ids() {
    let b = birth_date_from_national_id;
    // 000–499: 1900s.
    assert_eq!(b("13097248022"), Some(date!(1972 - 09 - 13)));
    assert_eq!(b(&nid_in("010190", 0..=499)), Some(date!(1990 - 01 - 01)));
    // 500–749 with YY ≥ 54: 1800s.
    assert_eq!(b(&nid_in("010160", 500..=749)), Some(date!(1860 - 01 - 01)));
    // 500–999 with YY ≤ 39: 2000s.
    assert_eq!(b(&nid_in("290212", 500..=999)), Some(date!(2012 - 02 - 29)));
    assert_eq!(b(&nid_in("010105", 900..=999)), Some(date!(2005 - 01 - 01)));
    // 900–999 with YY ≥ 40: 1900s.
    assert_eq!(b(&nid_in("010145", 900..=999)), Some(date!(1945 - 01 - 01)));
    // 750–899 with YY ≥ 40, 500–749 with YY 40–53: unassigned.
    assert_eq!(b(&nid_in("010145", 750..=899)), None);
    assert_eq!(b(&nid_in("010145", 500..=749)), None);
    // D-number (day + 40), H-number (month + 40), synthetic test person (month + 80).
    assert_eq!(b(&nid_in("410190", 0..=499)), Some(date!(1990 - 01 - 01)));
    assert_eq!(b(&nid_in("714590", 0..=499)), Some(date!(1990 - 05 - 31)));
    assert_eq!(b(&nid_in("158370", 100..=499)), Some(date!(1970 - 03 - 15)));
    assert_eq!(b("01889449930"), Some(date!(1994 - 08 - 01)));
    // Not a date, bad check digits, not 11 digits.
    assert_eq!(b(&nid_in("300290", 0..=499)), None);
    assert_eq!(b(&nid_in("290201", 0..=499)), None); // 1901 was no leap year
    assert_eq!(b("13097248023"), None);
    assert_eq!(b("1309724802"), None);
    assert_eq!(b("1309724802x"), None);
    assert_eq!(b(""), None);
    assert_eq!(b("١٣٠٩٧٢٤٨٠٢٢"), None);
}

#[test]
fn person_claims_from_logins() {
    use crate::identity::{IdpKind, VerifiedIdentity};
    use crate::jobs::model::Loa;
    let mut id = VerifiedIdentity {
        idp: IdpKind::Idporten,
        issuer: "https://idp".into(),
        national_id: Some("13097248022".into()),
        eidas_id: None,
        name: " Kari Nordmann ".into(),
        date_of_birth: None,
        loa: Loa::High,
        auth_time: OffsetDateTime::UNIX_EPOCH,
        evidence: None,
    };
    let c = PersonClaim::from_identity(&id);
    assert_eq!(c.birth_date, Some(date!(1972 - 09 - 13)));
    assert_eq!(c.name.as_deref(), Some("Kari Nordmann"));
    assert!(!format!("{c:?}").contains("13097248022"));
    id.date_of_birth = Some("1972-09-14".into());
    assert_eq!(
        PersonClaim::from_identity(&id).birth_date,
        Some(date!(1972 - 09 - 14))
    );
    id.national_id = None;
    id.date_of_birth = None;
    assert_eq!(PersonClaim::from_identity(&id).birth_date, None);
}

// ----- names -----------------------------------------------------------------------------

fn t(s: &str) -> Vec<String> {
    name_tokens(s)
}

#[test]
fn name_tokens_fold_case_diacritics_and_punctuation() {
    assert_eq!(t("Kari Nordmann"), ["kari", "nordmann"]);
    assert_eq!(t("  KARI   NORDMANN "), ["kari", "nordmann"]);
    assert_eq!(t("Nordmann, Kari"), ["kari", "nordmann"]);
    assert_eq!(t("Bjørn Ødegård"), ["bjorn", "odegard"]);
    assert_eq!(t("Æsa Ærø"), ["aesa", "aero"]);
    assert_eq!(t("José Álvarez-Núñez"), ["jose", "alvarez", "nunez"]);
    assert_eq!(t("Jose\u{301} A\u{301}lvarez"), t("José Álvarez"));
    assert_eq!(t("Seán O'Brien"), ["sean", "obrien"]);
    assert_eq!(t("Seán O’Brien"), ["sean", "obrien"]);
    assert_eq!(t("Heidi Bull-Berg"), ["heidi", "bull", "berg"]);
    assert_eq!(t("Jürgen Weiß"), ["jurgen", "weiss"]);
    assert_eq!(t("Łukasz Dąbrowski"), ["lukasz", "dabrowski"]);
    assert_eq!(t("Þóra Sigurðardóttir"), ["thora", "sigurdardottir"]);
    assert_eq!(t("J. R. Smith"), ["j", "r", "smith"]);
    assert!(t("").is_empty());
    assert!(t(" - , ").is_empty());
}

#[test]
fn names_match_with_optional_middle_names() {
    let m = |a: &str, b: &str| names_match(&t(a), &t(b));
    assert!(m("Kari Nordmann", "KARI NORDMANN"));
    assert!(m("Kari Nordmann", "Nordmann, Kari"));
    assert!(m("Nils Kristian Nakstad", "Nils Nakstad"));
    assert!(m("Nils Nakstad", "Nils Kristian Nakstad"));
    assert!(m("Heidi Bull-Berg", "Heidi Berg"));
    assert!(m("Bjørn Ødegård", "Bjorn Odegard"));
    assert!(m("José Álvarez", "Jose Alvarez"));
    // First and last names must be equal; nothing may be added on both sides; order counts.
    assert!(!m("Kari Nordmann", "Kari Hansen"));
    assert!(!m("Kari Nordmann", "Karin Nordmann"));
    assert!(!m("Anne Marie Olsen", "Marie Olsen"));
    assert!(!m("Kari Anne Nordmann", "Kari Berit Nordmann"));
    assert!(!m("Kari Nordmann Hansen", "Kari Hansen Nordmann"));
    assert!(!m("Nordmann Kari", "Kari Nordmann"));
    // Single names, initials and transliterations do not match.
    assert!(!m("Kari", "Kari"));
    assert!(!m("K. Nordmann", "Kari Nordmann"));
    assert!(!m("Bjoern Odegaard", "Bjørn Ødegård"));
    assert!(!m("", ""));
}

#[test]
fn max_matching_finds_perfect_assignments() {
    // persons 0,1,2; participants 0,1,2 — greedy order would fail, augmenting succeeds.
    let adj = vec![vec![0, 1], vec![0], vec![1, 2]];
    let m = max_matching(&adj, 3);
    assert!(m.iter().all(Option::is_some), "{m:?}");
    let mut used: Vec<usize> = m.iter().flatten().copied().collect();
    used.sort_unstable();
    used.dedup();
    assert_eq!(used.len(), 3);
    let m = max_matching(&[vec![0], vec![0]], 1);
    assert_eq!(m.iter().flatten().count(), 1);
    // Out-of-range participants are ignored, not a panic.
    let m = max_matching(&[vec![5]], 1);
    assert_eq!(m, [None]);
}
