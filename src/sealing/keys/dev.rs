//! The development PKI: a root CA, the seal and time-stamping unit certificates it issues,
//! and the CRL it publishes for them (so development seals can be LTV-complete).
//!
//! Owns: creating and re-issuing these files under one directory, and issuing CRLs. Must
//! not: be used in production (the `config` and `app` profile rules keep it out), log key
//! material, or write a key file non-atomically or with permissions wider than 0600.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use der::Decode;

use super::KeyError;

/// Where [`ensure_dev_pki`] put its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPkiPaths {
    /// Self-signed development root CA certificate (PEM).
    pub root_cert: PathBuf,
    /// Private key of the development root CA (PKCS#8 PEM, mode 0600).
    pub root_key: PathBuf,
    /// Private key of the seal certificate (PKCS#8 PEM, mode 0600).
    pub seal_key: PathBuf,
    /// Seal certificate followed by the root certificate (PEM).
    pub seal_chain: PathBuf,
    /// Private key of the development time-stamping unit (PKCS#8 PEM, mode 0600).
    pub tsa_key: PathBuf,
    /// Time-stamping unit certificate (critical extendedKeyUsage timeStamping) followed by the
    /// root certificate (PEM).
    pub tsa_chain: PathBuf,
}

impl DevPkiPaths {
    fn new(dir: &Path) -> Self {
        DevPkiPaths {
            root_cert: dir.join("dev-root-ca.pem"),
            root_key: dir.join("dev-root-ca.key"),
            seal_key: dir.join("seal.key"),
            seal_chain: dir.join("seal-chain.pem"),
            tsa_key: dir.join("tsa.key"),
            tsa_chain: dir.join("tsa-chain.pem"),
        }
    }
}

/// Creates a development PKI under `dir` on first use and reuses it afterwards.
///
/// Generates a self-signed root CA (ECDSA P-256, 10 years), a seal certificate issued by it
/// for an RSA-2048 key (3 years) and a time-stamping unit certificate for an ECDSA P-256 key
/// (3 years, critical extendedKeyUsage timeStamping as RFC 3161 §2.3 requires). Every file is
/// written atomically (temporary file + rename); key files get mode 0600. Each chain file is
/// written after its key and marks that part complete; missing parts are added to an existing
/// directory.
///
/// `crl_url`: the CRL distribution point (RFC 5280 §4.2.1.13) both leaf certificates carry,
/// where the caller serves [`dev_crl`]; `None`: no distribution point. A leaf whose
/// distribution points differ from `crl_url`, or that was not issued by the current root, is
/// re-issued for its existing key (so a restart with another URL keeps the keys).
pub fn ensure_dev_pki(dir: &Path, crl_url: Option<&str>) -> Result<DevPkiPaths, KeyError> {
    let paths = DevPkiPaths::new(dir);
    create_private_dir(dir)?;
    let have = |p: &Path| p.is_file();
    let want_urls: Vec<String> = crl_url.map(str::to_owned).into_iter().collect();

    let dev = |e: rcgen::Error| KeyError::DevPki(e.to_string());
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());

    // Root CA: reuse an existing one if both halves are there, else make a fresh one.
    let root_exists = have(&paths.root_cert) && have(&paths.root_key);
    let root_pem = if root_exists {
        fs::read_to_string(&paths.root_cert).map_err(|e| KeyError::io(&paths.root_cert, e))?
    } else {
        String::new()
    };
    let leaf_state = |key: &Path, chain: &Path| -> Result<LeafState, KeyError> {
        if !(have(key) && have(chain)) {
            return Ok(LeafState::Missing);
        }
        let pem = fs::read(chain).map_err(|e| KeyError::io(chain, e))?;
        // An unreadable chain is issued again (the key is kept).
        let certs = super::load_pem_chain(&pem).unwrap_or_default();
        let root_der = super::load_pem_chain(root_pem.as_bytes())
            .ok()
            .and_then(|c| c.into_iter().next());
        let current = root_exists
            && certs.len() == 2
            && Some(&certs[1]) == root_der.as_ref()
            && crl_urls(&certs[0]) == want_urls;
        Ok(if current {
            LeafState::Current
        } else {
            LeafState::Reissue
        })
    };
    let seal_state = leaf_state(&paths.seal_key, &paths.seal_chain)?;
    let tsa_state = leaf_state(&paths.tsa_key, &paths.tsa_chain)?;
    if root_exists && seal_state == LeafState::Current && tsa_state == LeafState::Current {
        return Ok(paths);
    }

    let (root_key, root_params) = if root_exists {
        let pem =
            fs::read_to_string(&paths.root_key).map_err(|e| KeyError::io(&paths.root_key, e))?;
        let key = rcgen::KeyPair::from_pem(&pem).map_err(dev)?;
        (key, root_ca_params(now)?)
    } else {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(dev)?;
        let params = root_ca_params(now)?;
        let cert = params.self_signed(&key).map_err(dev)?;
        write_atomic(&paths.root_key, key.serialize_pem().as_bytes(), 0o600)?;
        write_atomic(&paths.root_cert, cert.pem().as_bytes(), 0o644)?;
        (key, params)
    };
    let root_pem =
        fs::read_to_string(&paths.root_cert).map_err(|e| KeyError::io(&paths.root_cert, e))?;
    let issuer = rcgen::Issuer::new(root_params, &root_key);

    let with_root = |leaf_pem: String| {
        let mut chain = leaf_pem;
        if !chain.ends_with('\n') {
            chain.push('\n');
        }
        chain.push_str(&root_pem);
        chain
    };
    let with_crl = |mut params: rcgen::CertificateParams| {
        if !want_urls.is_empty() {
            params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: want_urls.clone(),
            }];
        }
        params
    };
    // A leaf: a fresh key when missing, else the existing key with a new certificate.
    let issue = |state: LeafState,
                 key_path: &Path,
                 chain_path: &Path,
                 params: rcgen::CertificateParams,
                 generate: &dyn Fn() -> Result<rcgen::KeyPair, rcgen::Error>|
     -> Result<(), KeyError> {
        let key = match state {
            LeafState::Current => return Ok(()),
            LeafState::Missing => {
                let key = generate().map_err(dev)?;
                write_atomic(key_path, key.serialize_pem().as_bytes(), 0o600)?;
                key
            }
            LeafState::Reissue => {
                let mut pem =
                    fs::read_to_string(key_path).map_err(|e| KeyError::io(key_path, e))?;
                let key = rcgen::KeyPair::from_pem(&pem).map_err(dev);
                // Wipe the PEM text of the private key once parsed.
                let mut bytes = std::mem::take(&mut pem).into_bytes();
                bytes.fill(0);
                std::hint::black_box(&bytes);
                key?
            }
        };
        let cert = with_crl(params).signed_by(&key, &issuer).map_err(dev)?;
        write_atomic(chain_path, with_root(cert.pem()).as_bytes(), 0o644)
    };
    issue(
        seal_state,
        &paths.seal_key,
        &paths.seal_chain,
        seal_params(now)?,
        &|| rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048),
    )?;
    issue(
        tsa_state,
        &paths.tsa_key,
        &paths.tsa_chain,
        tsa_params(now)?,
        &|| rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
    )?;
    tracing::info!(dir = %dir.display(), crl_url = ?crl_url, "created or updated the development seal PKI");
    Ok(paths)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeafState {
    /// Key and chain present, issued by the current root with the wanted CRL URL.
    Current,
    /// Key present; the certificate must be issued again.
    Reissue,
    /// Key or chain missing: a fresh key and certificate.
    Missing,
}

/// The URIs of a certificate's CRL distribution points extension (empty without one).
pub(super) fn crl_urls(cert: &x509_cert::Certificate) -> Vec<String> {
    use x509_cert::ext::pkix::CrlDistributionPoints;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let Some(ext) = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS)
    else {
        return Vec::new();
    };
    let Ok(points) = CrlDistributionPoints::from_der(ext.extn_value.as_bytes()) else {
        // Unreadable: treat as "some other value" so the certificate is re-issued.
        return vec![String::new()];
    };
    let mut urls = Vec::new();
    for dp in points.0 {
        if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
            for name in names {
                if let GeneralName::UniformResourceIdentifier(uri) = name {
                    urls.push(uri.to_string());
                }
            }
        }
    }
    urls
}

/// A fresh CRL (DER) by the development root of `paths`: version 2, no revoked certificates,
/// thisUpdate `now`, nextUpdate `now` + 7 days, authority key identifier and a CRL number
/// that grows with `now` (RFC 5280 §5.2.1, §5.2.3). Serve it at the URL given to
/// [`ensure_dev_pki`].
pub fn dev_crl(paths: &DevPkiPaths, now: time::OffsetDateTime) -> Result<Vec<u8>, KeyError> {
    let dev = |e: rcgen::Error| KeyError::DevPki(e.to_string());
    let now = now
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| KeyError::DevPki(e.to_string()))?;
    let mut pem =
        fs::read_to_string(&paths.root_key).map_err(|e| KeyError::io(&paths.root_key, e))?;
    let key = rcgen::KeyPair::from_pem(&pem).map_err(dev);
    let mut bytes = std::mem::take(&mut pem).into_bytes();
    bytes.fill(0);
    std::hint::black_box(&bytes);
    let key = key?;
    let issuer = rcgen::Issuer::new(root_ca_params(now)?, &key);
    let number = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let params = rcgen::CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(7),
        crl_number: rcgen::SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer).map_err(dev)?;
    Ok(crl.der().to_vec())
}

fn random_serial() -> Result<rcgen::SerialNumber, KeyError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| KeyError::DevPki("random number generator failed".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive, no leading zero byte
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

fn country_no() -> Result<rcgen::DnValue, KeyError> {
    // RFC 5280: countryName is a PrintableString.
    rcgen::string::PrintableString::try_from("NO")
        .map(rcgen::DnValue::PrintableString)
        .map_err(|e| KeyError::DevPki(e.to_string()))
}

fn root_ca_params(now: time::OffsetDateTime) -> Result<rcgen::CertificateParams, KeyError> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, country_no()?);
    dn.push(
        rcgen::DnType::OrganizationName,
        "signgate (development only)",
    );
    dn.push(rcgen::DnType::CommonName, "signgate Development Root CA");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(3652);
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

fn seal_params(now: time::OffsetDateTime) -> Result<rcgen::CertificateParams, KeyError> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, country_no()?);
    dn.push(rcgen::DnType::OrganizationName, "signgate development");
    // organizationIdentifier (ETSI EN 319 412-1 §5.1.4): legal person semantics identifier.
    dn.push(
        rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]),
        rcgen::DnValue::Utf8String("NTRNO-000000000".into()),
    );
    dn.push(rcgen::DnType::CommonName, "signgate Development Seal");
    params.distinguished_name = dn;
    // ExplicitNoCa makes rcgen write basicConstraints CA:false and a subject key identifier.
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(3 * 365);
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

/// The development time-stamping unit: RFC 3161 §2.3 wants exactly one extendedKeyUsage,
/// id-kp-timeStamping, marked critical (rcgen writes EKUs non-critical, hence the raw extension).
fn tsa_params(now: time::OffsetDateTime) -> Result<rcgen::CertificateParams, KeyError> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, country_no()?);
    dn.push(rcgen::DnType::OrganizationName, "signgate development");
    dn.push(rcgen::DnType::CommonName, "signgate Development TSU");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    // SEQUENCE { OID 1.3.6.1.5.5.7.3.8 }
    let eku_value = vec![
        0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
    ];
    let mut eku = rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 37], eku_value);
    eku.set_criticality(true);
    params.custom_extensions = vec![eku];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(3 * 365);
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| KeyError::io(dir, e))
}

/// Writes `data` to `path` atomically: a new temporary file in the same directory, fsync,
/// rename over the target, fsync of the directory.
fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), KeyError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 8];
    SystemRandom::new()
        .fill(&mut suffix)
        .map_err(|_| KeyError::DevPki("random number generator failed".into()))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", hex::encode(suffix)));

    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = fs::remove_file(&tmp);
        KeyError::io(path, e)
    })
}
