//! cargo-fuzz target for the SAML response validation (`cargo +nightly fuzz run
//! saml_response`, seed with the decoded tests/data/saml/bench/response.b64 and
//! tests/idp/saml_attacks.py outputs): `SamlSp::finish` must never panic. Input starting
//! with `<` is taken as response XML (base64-encoded here so the XML/SAML/XML-DSig/XML-Enc
//! paths are reached); anything else is passed as the form value itself.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signgate::config::EidasConfig;
use signgate::identity::saml::SamlSp;
use time::OffsetDateTime;

fn sp() -> &'static (SamlSp, OffsetDateTime) {
    static SP: OnceLock<(SamlSp, OffsetDateTime)> = OnceLock::new();
    SP.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/saml/bench");
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap().trim().to_string();
        let cfg = EidasConfig {
            idp_metadata: dir.join("idp-metadata.xml").display().to_string(),
            idp_metadata_signer: Some(dir.join("idp.crt")),
            sp_entity_id: None,
            sp_key_file: dir.join("sp.key"),
            sp_cert_file: dir.join("sp.crt"),
            sp_encryption_key_file: None,
            sp_encryption_cert_file: None,
            binding: "post".into(),
            sp_type: "public".into(),
            clock_skew: std::time::Duration::from_secs(60),
            metadata_refresh: std::time::Duration::from_secs(3600),
            metadata_validity: std::time::Duration::from_secs(86400),
            timeout: std::time::Duration::from_secs(5),
        };
        let now = OffsetDateTime::parse(
            &read("now.txt"),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let sp = SamlSp::with_idp_metadata(
            &cfg,
            read("entity_id.txt"),
            read("acs_url.txt"),
            &read("idp-metadata.xml"),
            now,
        )
        .unwrap();
        (sp, now)
    })
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (sp, now) = sp();
    if data.first() == Some(&b'<') {
        let _ = sp.finish(&b64(data), *now);
    } else if let Ok(s) = std::str::from_utf8(data) {
        let _ = sp.finish(s, *now);
    }
});
