//! Organisations authenticating with client certificates (mutual TLS): the test makes a CA,
//! a server certificate and client certificates carrying organizationIdentifier NTRNO-<orgnr>.

mod common;

use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

struct Pki {
    ca_pem: String,
    ca: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Pki {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Pki {
        ca_pem: cert.pem(),
        ca: Issuer::new(p, key),
    }
}

/// Returns (cert PEM, key PEM).
fn leaf(pki: &Pki, cn: &str, org_identifier: Option<&str>, sans: Vec<String>) -> (String, String) {
    let mut p = CertificateParams::new(sans).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(oi) = org_identifier {
        dn.push(
            DnType::CustomDnType(vec![2, 5, 4, 97]),
            DnValue::PrintableString(oi.try_into().unwrap()),
        );
    }
    p.distinguished_name = dn;
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &pki.ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn client(server_ca: &str, identity: Option<(&str, &str)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(server_ca.as_bytes()).unwrap());
    if let Some((cert, key)) = identity {
        let pem = format!("{cert}{key}");
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificates_map_to_organisations() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let server_pki = ca("Test server CA");
    let client_pki = ca("Test client CA");
    let rogue_pki = ca("Rogue CA");
    let (srv_cert, srv_key) = leaf(
        &server_pki,
        "localhost",
        None,
        vec!["127.0.0.1".into(), "localhost".into()],
    );
    let write = |name: &str, data: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p.display().to_string()
    };
    let cert_file = write("server.pem", &srv_cert);
    let key_file = write("server.key", &srv_key);
    let ca_file = write("client-ca.pem", &client_pki.ca_pem);

    let server = Server::start(
        Db::Sqlite,
        &[
            ("SIGNGATE__SERVER__TLS_CERT", &cert_file),
            ("SIGNGATE__SERVER__TLS_KEY", &key_file),
            ("SIGNGATE__SERVER__CLIENT_CA", &ca_file),
        ],
    )
    .await;
    let api_key = server.org_add("991825827", "Org with a certificate");

    let (good_cert, good_key) = leaf(&client_pki, "Org A system", Some("NTRNO-991825827"), vec![]);
    let (unreg_cert, unreg_key) =
        leaf(&client_pki, "Unregistered", Some("NTRNO-974760673"), vec![]);
    let (bare_cert, bare_key) = leaf(&client_pki, "No org id", None, vec![]);
    let (rogue_cert, rogue_key) = leaf(&rogue_pki, "Rogue", Some("NTRNO-991825827"), vec![]);

    let url = format!("{}/api/v1/jobs", server.base);
    let ok = client(&server_pki.ca_pem, Some((&good_cert, &good_key)))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    // Creating a job over mTLS works and the job belongs to that organisation.
    let created = client(&server_pki.ca_pem, Some((&good_cert, &good_key)))
        .post(&url)
        .multipart(job_form(
            serde_json::json!({"title": "mTLS", "kind": "portal", "signers": [{"national_id": "13097248022"}]}),
            &[("a.pdf", sample_pdf("mTLS", 1))],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let same_org = client(&server_pki.ca_pem, None)
        .get(format!("{url}/{id}"))
        .bearer_auth(&api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        same_org.status(),
        200,
        "the API key of the same organisation sees it"
    );

    let unregistered = client(&server_pki.ca_pem, Some((&unreg_cert, &unreg_key)))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(unregistered.status(), 403);
    let bare = client(&server_pki.ca_pem, Some((&bare_cert, &bare_key)))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    let none = client(&server_pki.ca_pem, None)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    // A certificate from an untrusted CA never completes the handshake.
    let rogue = client(&server_pki.ca_pem, Some((&rogue_cert, &rogue_key)))
        .get(&url)
        .send()
        .await;
    assert!(rogue.is_err(), "untrusted client CA must be refused");
}
