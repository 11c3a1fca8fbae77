//! Authority decision throughput on a warm cache: `RegisterClient::lookup` answered from the
//! moka caches (no request reaches the register) followed by `authority::decide`, on one
//! thread, for a signer who may sign alone and for one signing jointly with a co-signer who
//! has signed. The register is the local stand-in of the tests (`tests/support/register.rs`),
//! asked once per organisation to warm the cache. Target ≥ 100,000 decisions/s/core.
//! Run with `cargo bench --bench authority`; prints one JSON line per case. Under
//! `cargo test --all-targets` (no `--bench`) it decides each case once and checks the result.

#[path = "../tests/support/register.rs"]
mod register;

use std::time::{Duration, Instant};

use register::{RegisterServer, org};
use signgate::authority::{
    self, AuthorityKind, Decision, Participant, PersonClaim, RegisterClient,
};
use signgate::identity::{IdpKind, VerifiedIdentity};
use signgate::jobs::model::Loa;
use time::OffsetDateTime;

fn verified(id: &str, nid: &str, name: &str, signed: bool) -> Participant {
    let login = VerifiedIdentity {
        idp: IdpKind::Dev,
        issuer: "urn:signgate:bench".into(),
        national_id: Some(nid.into()),
        eidas_id: None,
        name: name.into(),
        date_of_birth: None,
        loa: Loa::High,
        auth_time: OffsetDateTime::now_utc(),
        evidence: None,
    };
    Participant {
        signer_id: id.into(),
        person: PersonClaim::from_identity(&login),
        verified: true,
        signed,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = RegisterServer::start().await;
        let client = RegisterClient::new(&server.config(Duration::from_secs(10))).unwrap();
        let cases: [(&str, &str, Vec<Participant>, &str); 2] = [
            (
                "alone",
                org::DAGLIG_LEDER,
                vec![verified("s-kari", "15837010052", "Kari Nordmann", false)],
                "s-kari",
            ),
            (
                "jointly",
                org::STYRE_FELLESSKAP,
                vec![
                    verified("s-per", "12856510091", "Per Hansen", false),
                    verified("s-anne", "01819010001", "Anne Lie", true),
                ],
                "s-per",
            ),
        ];
        for (_, orgnr, parts, subject) in &cases {
            let facts = client.lookup(orgnr).await.unwrap();
            let d = authority::decide(&facts, AuthorityKind::Signature, parts, subject);
            assert!(matches!(d, Decision::Granted { .. }), "{d:?}");
        }
        let warm_requests = server.total();
        assert_eq!(warm_requests, 8);

        if !std::env::args().any(|a| a == "--bench") {
            println!(
                "authority bench: quick check passed (run `cargo bench --bench authority` to measure)"
            );
            return;
        }

        for (label, orgnr, parts, subject) in &cases {
            let decide_once = async || {
                let facts = client.lookup(std::hint::black_box(orgnr)).await.unwrap();
                let d = authority::decide(&facts, AuthorityKind::Signature, parts, subject);
                std::hint::black_box(d.is_granted())
            };
            for _ in 0..2000 {
                assert!(decide_once().await);
            }
            let start = Instant::now();
            let mut n: u64 = 0;
            while start.elapsed() < Duration::from_secs(3) {
                for _ in 0..1000 {
                    std::hint::black_box(decide_once().await);
                }
                n += 1000;
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({
                    "bench": "authority_warm_decision",
                    "case": label,
                    "threads": 1,
                    "ops": n,
                    "seconds": (secs * 1000.0).round() / 1000.0,
                    "ops_per_sec": (n as f64 / secs).round(),
                    "us_per_op": ((secs / n as f64) * 1e7).round() / 10.0,
                })
            );
        }
        // The measurement never reached the register.
        assert_eq!(server.total(), warm_requests);
    });
}
