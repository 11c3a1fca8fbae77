//! The authorised register variants with Maskinporten tokens, against two local stand-ins:
//! Maskinporten's token endpoint (`tests/support/maskinporten.rs`, which checks the JWT grant
//! as Maskinporten documents it, verifying the signature with `jsonwebtoken`) and the
//! Brønnøysund registers (`tests/support/register.rs`), whose authorised variants answer only
//! to a valid token with the right scope. Keys and certificates come from the `openssl` CLI.
//!
//! What it shows: national ids from the authorised answers decide who a signer is (a namesake
//! born the same day is refused; a signer whose login name differs from the register's is
//! granted), tokens are reused and renewed after a 401, and every failure on the token path
//! fails closed with Maskinporten's own reason.

#[path = "support/maskinporten.rs"]
mod maskinporten;
#[path = "support/register.rs"]
mod register;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use maskinporten::{Client, MaskinportenStandIn};
use register::{FULLMAKT_SCOPE, ROLES_SCOPE, RegisterServer, org};
use signgate::authority::{
    AuthorityKind, Decision, MatchMethod, Participant, PersonClaim, Refusal, RegisterClient,
};
use signgate::config::{AuthorisedSource, AuthorityConfig, MaskinportenConfig};
use signgate::identity::maskinporten::{MaskinportenClient, MaskinportenError};
use signgate::identity::{IdpKind, VerifiedIdentity};
use signgate::jobs::model::Loa;
use time::OffsetDateTime;

const TIMEOUT: Duration = Duration::from_secs(10);
const CLIENT_ID: &str = "2b1c6a3e-signgate-test";
const KID: &str = "signgate-test-key-1";

// Synthetic test persons (month + 80), as in tests/authority.rs.
const KARI: &str = "15837010052";
/// Born the same day as Kari Nordmann, another person.
const KARI_NAMESAKE: &str = "15837010133";
const PER: &str = "12856510091";
const OLA: &str = "30895810130";
/// Born the same day as Ola Berg, another person.
const OLA_NAMESAKE: &str = "30895815027";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An RSA key (PKCS#8 PEM), its self-signed business certificate (PEM), and the DER forms the
/// stand-in registers.
struct ClientKeys {
    _dir: tempfile::TempDir,
    key: PathBuf,
    cert: PathBuf,
    cert_der: Vec<u8>,
    public_pkcs1: Vec<u8>,
}

fn client_keys(kind: &str) -> ClientKeys {
    let dir = tempfile::tempdir().unwrap();
    let newkey = match kind {
        "ec" => "ec",
        _ => "rsa:2048",
    };
    let mut args = vec!["req", "-x509", "-newkey", newkey];
    if kind == "ec" {
        args.extend(["-pkeyopt", "ec_paramgen_curve:P-256"]);
    }
    args.extend([
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        "/C=NO/O=SIGNGATE TEST AS/organizationIdentifier=NTRNO-100010003/CN=SIGNGATE TEST AS",
    ]);
    openssl(dir.path(), &args);
    openssl(
        dir.path(),
        &[
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ],
    );
    if kind != "ec" {
        openssl(
            dir.path(),
            &[
                "rsa",
                "-in",
                "key.pem",
                "-RSAPublicKey_out",
                "-outform",
                "DER",
                "-out",
                "pub.der",
            ],
        );
    }
    ClientKeys {
        key: dir.path().join("key.pem"),
        cert: dir.path().join("cert.pem"),
        cert_der: std::fs::read(dir.path().join("cert.der")).unwrap(),
        public_pkcs1: std::fs::read(dir.path().join("pub.der")).unwrap_or_default(),
        _dir: dir,
    }
}

/// The Maskinporten stand-in with our client registered (by kid and certificate) for `scopes`.
async fn maskinporten(keys: &ClientKeys, scopes: &[&str]) -> MaskinportenStandIn {
    let mp = MaskinportenStandIn::start().await;
    mp.register(
        CLIENT_ID,
        Client {
            kid: Some(KID.into()),
            certificate: Some(keys.cert_der.clone()),
            public_key: keys.public_pkcs1.clone(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        },
    );
    mp
}

fn mp_config(mp: &MaskinportenStandIn, keys: &ClientKeys) -> MaskinportenConfig {
    MaskinportenConfig {
        issuer: mp.issuer(),
        token_endpoint: Some(format!("{}/token", mp.base)),
        client_id: CLIENT_ID.into(),
        key_file: Some(keys.key.clone()),
        key_pkcs11: None,
        key_id: Some(KID.into()),
        certificate_chain_file: None,
        timeout: TIMEOUT,
    }
}

/// Registers with the authorised roles variant (and the national-id Fullmakt variant when
/// `fullmakt` is set).
fn authorised_config(
    reg: &RegisterServer,
    mp: &MaskinportenStandIn,
    keys: &ClientKeys,
    fullmakt: bool,
) -> AuthorityConfig {
    AuthorityConfig {
        maskinporten: Some(mp_config(mp, keys)),
        authorised_roles: Some(AuthorisedSource {
            url: reg.authorised_roles_url(),
            scope: ROLES_SCOPE.into(),
            resource: None,
        }),
        authorised_fullmakt: fullmakt.then(|| AuthorisedSource {
            url: reg.authorised_fullmakt_url(),
            scope: FULLMAKT_SCOPE.into(),
            resource: None,
        }),
        ..reg.config(TIMEOUT)
    }
}

async fn servers(scopes: &[&str]) -> (RegisterServer, MaskinportenStandIn, ClientKeys) {
    let keys = client_keys("rsa");
    let mp = maskinporten(&keys, scopes).await;
    let reg = RegisterServer::start().await;
    reg.set_token_check(mp.token_check());
    (reg, mp, keys)
}

fn verified(id: &str, nid: &str, name: &str) -> Participant {
    let login = VerifiedIdentity {
        idp: IdpKind::Idporten,
        issuer: "https://test.idporten.no".into(),
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
        signed: false,
    }
}

async fn decide(c: &RegisterClient, orgnr: &str, p: &Participant) -> Decision {
    let (d, _) = tokio::time::timeout(
        Duration::from_secs(60),
        c.decide(
            orgnr,
            AuthorityKind::Signature,
            std::slice::from_ref(p),
            &p.signer_id,
        ),
    )
    .await
    .expect("the decision ends");
    d
}

fn granted_by(d: &Decision) -> MatchMethod {
    match d {
        Decision::Granted { matches, .. } => matches[0].method,
        other => panic!("expected a grant, got {other:?}"),
    }
}

#[tokio::test]
async fn authorised_roles_identify_the_signer_by_national_id() {
    let (reg, mp, keys) = servers(&[ROLES_SCOPE, FULLMAKT_SCOPE]).await;
    let open = RegisterClient::new(&reg.config(TIMEOUT)).unwrap();
    let authorised = RegisterClient::new(&authorised_config(&reg, &mp, &keys, false)).unwrap();

    // Kari Nordmann's namesake, born the same day: the open answers cannot tell them apart.
    let namesake = verified("s1", KARI_NAMESAKE, "Kari Nordmann");
    assert_eq!(
        granted_by(&decide(&open, org::DAGLIG_LEDER, &namesake).await),
        MatchMethod::BirthDateAndName
    );
    // The authorised roles answer carries Kari's national id: the namesake is nobody there.
    match decide(&authorised, org::DAGLIG_LEDER, &namesake).await {
        Decision::NotGranted(Refusal::NoAuthority) => {}
        other => panic!("the namesake must be refused, got {other:?}"),
    }

    // Kari herself, whose login carries a name the register does not (married since).
    let kari = verified("s2", KARI, "Kari Olsen");
    match decide(&open, org::DAGLIG_LEDER, &kari).await {
        Decision::NotGranted(Refusal::NoAuthority) => {}
        other => panic!("by birth date and name she cannot be recognised, got {other:?}"),
    }
    assert_eq!(
        granted_by(&decide(&authorised, org::DAGLIG_LEDER, &kari).await),
        MatchMethod::NationalId
    );

    // The evidence keeps the authorised URL and the answer with the national ids; the open
    // Fullmakt answer was read without a token.
    let facts = authorised.lookup(org::DAGLIG_LEDER).await.unwrap();
    assert!(
        facts
            .roles
            .source
            .url
            .ends_with("/enhetsregisteret/autorisert-api/enheter/100010003/roller"),
        "{}",
        facts.roles.source.url
    );
    assert!(String::from_utf8_lossy(&facts.roles.source.body).contains(KARI));
    let sig = facts.signature.as_ref().expect("signature answer");
    assert!(
        sig.source
            .url
            .ends_with("/fullmakt/enheter/100010003/signatur")
    );
    assert_eq!(
        reg.requests("/enhetsregisteret/api/enheter/100010003/roller"),
        1,
        "only the open client read the open roles"
    );
    // Previews show names and birth dates, never the national ids the answers carry.
    let preview =
        serde_json::to_string(&authorised.preview(org::DAGLIG_LEDER).await.unwrap()).unwrap();
    assert!(preview.contains("Kari Nordmann"), "{preview}");
    for nid in [KARI, PER] {
        assert!(!preview.contains(nid), "{preview}");
    }

    // One grant, for the roles scope, shaped as Maskinporten requires.
    let grants = mp.grants();
    assert_eq!(grants.len(), 1, "the token is reused across lookups");
    let g = &grants[0];
    assert_eq!(g.header["alg"], "RS256");
    assert_eq!(g.header["kid"], KID);
    assert!(g.header.get("x5c").is_none());
    let mut claims: Vec<&str> = g
        .claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    claims.sort_unstable();
    assert_eq!(claims, ["aud", "exp", "iat", "iss", "jti", "scope"]);
    assert_eq!(g.claims["aud"], mp.issuer().as_str());
    assert_eq!(g.claims["iss"], CLIENT_ID);
    assert_eq!(g.claims["scope"], ROLES_SCOPE);
    let lifetime = g.claims["exp"].as_i64().unwrap() - g.claims["iat"].as_i64().unwrap();
    assert!((1..=120).contains(&lifetime), "{lifetime}");
    assert_eq!(authorised.token_requests_sent(), 1);
}

#[tokio::test]
async fn the_national_id_fullmakt_variant_decides_joint_authority() {
    let (reg, mp, keys) = servers(&[ROLES_SCOPE, FULLMAKT_SCOPE]).await;
    let c = RegisterClient::new(&authorised_config(&reg, &mp, &keys, true)).unwrap();
    // "Styrets leder og ett styremedlem i fellesskap": Per Hansen with Ola Berg.
    let per = verified("s1", PER, "Per Hansen");
    let mut ola = verified("s2", OLA, "Ola Berg");
    ola.signed = true;
    let (d, facts) = c
        .decide(
            org::STYRE_FELLESSKAP,
            AuthorityKind::Signature,
            &[per.clone(), ola],
            "s1",
        )
        .await;
    assert_eq!(granted_by(&d), MatchMethod::NationalId);
    let facts = facts.unwrap();
    let sig = facts.signature.as_ref().unwrap();
    assert!(
        sig.source
            .url
            .ends_with("/fullmakt-autorisert/enheter/100010011/signatur"),
        "{}",
        sig.source.url
    );
    // A namesake of Ola's co-signature would not do: a different national id is not Ola.
    let mut not_ola = verified("s2", OLA_NAMESAKE, "Ola Berg");
    not_ola.signed = true;
    let (d, _) = c
        .decide(
            org::STYRE_FELLESSKAP,
            AuthorityKind::Signature,
            &[per, not_ola],
            "s1",
        )
        .await;
    assert!(
        !matches!(d, Decision::Granted { .. }),
        "a co-signer with another national id must not complete the combination: {d:?}"
    );
    // Two scopes, two tokens: one grant each.
    let mut scopes: Vec<String> = mp
        .grants()
        .iter()
        .map(|g| g.claims["scope"].as_str().unwrap().to_string())
        .collect();
    scopes.sort();
    assert_eq!(scopes, [ROLES_SCOPE, FULLMAKT_SCOPE]);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_after_401() {
    let (reg, mp, keys) = servers(&[ROLES_SCOPE]).await;
    let cfg = AuthorityConfig {
        cache_ttl: Duration::ZERO,
        ..authorised_config(&reg, &mp, &keys, false)
    };
    let c = RegisterClient::new(&cfg).unwrap();
    c.lookup(org::DAGLIG_LEDER).await.unwrap();
    c.lookup(org::STYRE_FELLESSKAP).await.unwrap();
    assert_eq!(mp.requests(), 1, "one token serves both lookups");

    mp.expire_all();
    let facts = c.lookup(org::DAGLIG_LEDER).await.unwrap();
    assert!(String::from_utf8_lossy(&facts.roles.source.body).contains(KARI));
    assert_eq!(
        mp.requests(),
        2,
        "the 401 made the client fetch exactly one new token"
    );
    assert_eq!(
        reg.requests("/enhetsregisteret/autorisert-api/enheter/100010003/roller (refused 401)"),
        1
    );
    assert_eq!(
        reg.requests("/enhetsregisteret/autorisert-api/enheter/100010003/roller"),
        2,
        "answered: the first lookup and the retry with the new token"
    );
}

#[tokio::test]
async fn token_failures_fail_closed_with_the_reason() {
    // The client lacks the roles scope: Maskinporten refuses the grant.
    let (reg, mp, keys) = servers(&[FULLMAKT_SCOPE]).await;
    let c = RegisterClient::new(&authorised_config(&reg, &mp, &keys, false)).unwrap();
    let kari = verified("s1", KARI, "Kari Nordmann");
    match decide(&c, org::DAGLIG_LEDER, &kari).await {
        Decision::NotGranted(Refusal::RegisterUnavailable(reason)) => {
            assert!(reason.contains("invalid_scope"), "{reason}");
            assert!(reason.contains(ROLES_SCOPE), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        reg.requests("/enhetsregisteret/autorisert-api/enheter/100010003/roller"),
        0,
        "no register request without a token"
    );

    // Maskinporten grants a scope the register does not accept for roles: 403, no retry.
    let cfg = AuthorityConfig {
        authorised_roles: Some(AuthorisedSource {
            url: reg.authorised_roles_url(),
            scope: FULLMAKT_SCOPE.into(),
            resource: None,
        }),
        ..authorised_config(&reg, &mp, &keys, false)
    };
    let c = RegisterClient::new(&cfg).unwrap();
    match decide(&c, org::DAGLIG_LEDER, &kari).await {
        Decision::NotGranted(Refusal::RegisterUnavailable(reason)) => {
            assert!(reason.contains("403"), "{reason}");
            assert!(reason.contains("Maskinporten access token"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        reg.requests("/enhetsregisteret/autorisert-api/enheter/100010003/roller (refused 403)"),
        1
    );

    // Maskinporten unreachable.
    let mut cfg = authorised_config(&reg, &mp, &keys, false);
    if let Some(m) = cfg.maskinporten.as_mut() {
        m.token_endpoint = Some(format!("http://127.0.0.1:{}/token", dead_port()));
    }
    let c = RegisterClient::new(&cfg).unwrap();
    match decide(&c, org::DAGLIG_LEDER, &kari).await {
        Decision::NotGranted(Refusal::RegisterUnavailable(reason)) => {
            assert!(
                reason.contains("Maskinporten could not be reached"),
                "{reason}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn grants_name_the_business_certificate_with_x5c() {
    let keys = client_keys("rsa");
    let mp = maskinporten(&keys, &[ROLES_SCOPE]).await;
    let cfg = MaskinportenConfig {
        key_id: None,
        certificate_chain_file: Some(keys.cert.clone()),
        ..mp_config(&mp, &keys)
    };
    let client = MaskinportenClient::new(&cfg).unwrap();
    let t = client
        .token(ROLES_SCOPE, Some("https://api.example/roller"))
        .await
        .unwrap();
    assert!(!t.bearer().is_empty());
    assert!(
        !format!("{t:?}").contains(t.bearer()),
        "Debug must hide the token"
    );
    let g = &mp.grants()[0];
    assert!(g.header.get("kid").is_none());
    assert_eq!(g.header["x5c"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        g.claims["resource"],
        serde_json::json!(["https://api.example/roller"])
    );
    // Cached per scope and resource.
    client
        .token(ROLES_SCOPE, Some("https://api.example/roller"))
        .await
        .unwrap();
    assert_eq!(client.requests_sent(), 1);

    // Another client's certificate with our key is refused at start.
    let other = client_keys("rsa");
    let wrong = MaskinportenConfig {
        certificate_chain_file: Some(other.cert.clone()),
        ..cfg.clone()
    };
    match MaskinportenClient::new(&wrong) {
        Err(MaskinportenError::Config(m)) => assert!(m.contains("not the key's"), "{m}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
    // The stand-in refuses a grant whose certificate is not the registered one.
    let stranger = MaskinportenConfig {
        key_file: Some(other.key.clone()),
        certificate_chain_file: Some(other.cert.clone()),
        ..cfg.clone()
    };
    let c = MaskinportenClient::new(&stranger).unwrap();
    match c.token(ROLES_SCOPE, None).await {
        Err(MaskinportenError::Refused {
            status,
            error,
            description,
        }) => {
            assert_eq!(status, 400);
            assert_eq!(error, "invalid_grant");
            assert!(description.contains("invalid certificate"), "{description}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn keys_maskinporten_cannot_use_are_refused_at_start() {
    let ec = client_keys("ec");
    let cfg = MaskinportenConfig {
        issuer: "https://test.maskinporten.no/".into(),
        token_endpoint: None,
        client_id: CLIENT_ID.into(),
        key_file: Some(ec.key.clone()),
        key_pkcs11: None,
        key_id: Some(KID.into()),
        certificate_chain_file: None,
        timeout: TIMEOUT,
    };
    match MaskinportenClient::new(&cfg) {
        Err(MaskinportenError::Config(m)) => assert!(m.contains("must be RSA"), "{m}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
    let rsa = client_keys("rsa");
    let neither = MaskinportenConfig {
        key_file: Some(rsa.key.clone()),
        key_id: None,
        ..cfg.clone()
    };
    assert!(matches!(
        MaskinportenClient::new(&neither),
        Err(MaskinportenError::Config(_))
    ));
}
