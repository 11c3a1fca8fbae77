//! A throw-away PKI with live revocation services, for tests that seal, timestamp or validate
//! with real OCSP and CRL traffic. Include it with
//! `#[path = "support/pki.rs"] mod pki;`.
//!
//! The hierarchy: a root CA → an issuing CA → the seal certificate (RSA-2048, keyUsage
//! digitalSignature + nonRepudiation, an organizationIdentifier), a TSA certificate (critical
//! EKU timeStamping) and a delegated OCSP responder certificate (EKU OCSPSigning,
//! `id-pkix-ocsp-nocheck`); the root has its own delegated responder certificate too. Two live
//! `openssl ocsp` responders serve the revocation status: one for the issuing CA (signed by the
//! root's delegated responder, or by the root itself with `root_signs_ocsp`), one signed by the
//! issuing CA's delegated responder for everything that CA issued. (pyHanko 0.38's past
//! validation wants revocation data for a trust anchor that signs OCSP responses itself and
//! finds none unless some CRL is around: `root_signs_ocsp` is for tests that know this.) The certificates' AIA and CRL distribution point
//! URLs all point at one small HTTP front on loopback that counts requests per path,
//! forwards `/ocsp/*` to the responders and serves `/crl/*` (root and issuing CA CRLs, made
//! with rcgen). Every key is fresh per PKI, so a response signed by this responder can only
//! have come from it.
//!
//! Owns: test plumbing only (certificates, files in a temporary directory, child processes
//! it started and kills on drop, the front thread). Must not: be used outside tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DnType, DnValue, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

/// How the end-entity certificates (seal, TSA) get their revocation status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ocsp {
    /// AIA names the live responder (through the front).
    Live,
    /// AIA names a loopback port nobody listens on.
    Unreachable,
    /// No AIA OCSP URL at all.
    Absent,
}

/// Knobs of [`Pki::start`].
#[derive(Debug, Clone, Copy)]
pub struct PkiOptions {
    /// OCSP for the seal and TSA certificates.
    pub ocsp: Ocsp,
    /// Whether the seal and TSA certificates name the issuing CA's CRL.
    pub crl: bool,
    /// The seal certificate is revoked (keyCompromise, an hour ago) in the responder's index
    /// and on the CRL.
    pub seal_revoked: bool,
    /// The root signs the OCSP responses about the issuing CA itself (instead of its
    /// delegated responder).
    pub root_signs_ocsp: bool,
}

impl Default for PkiOptions {
    fn default() -> Self {
        PkiOptions {
            ocsp: Ocsp::Live,
            crl: false,
            seal_revoked: false,
            root_signs_ocsp: false,
        }
    }
}

/// One certificate with its key.
pub struct Node {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub der: Vec<u8>,
    pub pem: String,
    /// Serial number, upper-case hex (as openssl's index wants it).
    pub serial_hex: String,
}

impl Node {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// The private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }
}

/// The PKI and its running services. Dropping it stops them.
pub struct Pki {
    /// Files: `root.pem`, `issuing.pem`, `seal.pem`, `tsa.pem`, `responder.pem`, keys,
    /// `seal-chain.pem`, `tsa-chain.pem`, the responders' index files.
    pub dir: tempfile::TempDir,
    pub root: Node,
    pub issuing: Node,
    pub seal: Node,
    pub tsa: Node,
    pub responder: Node,
    /// The root's delegated OCSP responder.
    pub root_responder: Node,
    /// `http://127.0.0.1:PORT` of the front.
    pub base_url: String,
    /// URL in the issuing CA's AIA.
    pub root_ocsp_url: String,
    /// URL in the seal and TSA certificates' AIA (when any).
    pub ocsp_url: Option<String>,
    /// URL in the seal and TSA certificates' CRL distribution point (when any).
    pub crl_url: Option<String>,
    front: Option<Front>,
    responders: Vec<Child>,
}

impl Drop for Pki {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serial() -> (SerialNumber, String) {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    b[0] = (b[0] & 0x3f) | 0x40;
    (SerialNumber::from_slice(&b), hex::encode_upper(b))
}

fn params(
    cn: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> (CertificateParams, String) {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(
        DnType::CountryName,
        DnValue::PrintableString(rcgen::string::PrintableString::try_from("NO").unwrap()),
    );
    p.distinguished_name
        .push(DnType::OrganizationName, "signgate test PKI");
    p.distinguished_name.push(DnType::CommonName, cn);
    let (s, hex) = serial();
    p.serial_number = Some(s);
    p.not_before = not_before;
    p.not_after = not_after;
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    (p, hex)
}

fn node(p: CertificateParams, serial_hex: String, key: KeyPair, issuer: Option<&Node>) -> Node {
    let cert = match issuer {
        Some(i) => p.signed_by(&key, &i.issuer()).unwrap(),
        None => p.self_signed(&key).unwrap(),
    };
    Node {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params: p,
        key,
        serial_hex,
    }
}

fn ec_key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap()
}

fn aia_ocsp(url: &str) -> CustomExtension {
    use der::Encode as _;
    use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax, name::GeneralName};
    let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: const_oid::db::rfc5280::ID_AD_OCSP,
        access_location: GeneralName::UniformResourceIdentifier(
            der::asn1::Ia5String::new(url).unwrap(),
        ),
    }]);
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], aia.to_der().unwrap())
}

/// A critical extendedKeyUsage with exactly `oid` (rcgen writes EKUs non-critical).
fn critical_eku(oid_der: &[u8]) -> CustomExtension {
    let mut v = vec![0x30, (oid_der.len() + 2) as u8, 0x06, oid_der.len() as u8];
    v.extend_from_slice(oid_der);
    let mut e = CustomExtension::from_oid_content(&[2, 5, 29, 37], v);
    e.set_criticality(true);
    e
}

/// A port on loopback that nothing listens on (bound once, released).
pub fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `YYMMDDHHMMSSZ` as openssl's index.txt wants it.
fn index_time(t: OffsetDateTime) -> String {
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        t.year() % 100,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn index_line(n: &Node, revoked: Option<OffsetDateTime>) -> String {
    let exp = index_time(n.params.not_after);
    // Subjects must be unique in an openssl index (unique_subject defaults to yes).
    let cn = &n.serial_hex;
    match revoked {
        None => format!("V\t{exp}\t\t{}\tunknown\t/CN={cn}\n", n.serial_hex),
        Some(t) => format!(
            "R\t{exp}\t{},keyCompromise\t{}\tunknown\t/CN={cn}\n",
            index_time(t),
            n.serial_hex
        ),
    }
}

fn crl(issuer: &Node, now: OffsetDateTime, revoked: &[(&Node, OffsetDateTime)]) -> Vec<u8> {
    CertificateRevocationListParams {
        this_update: now - time::Duration::minutes(5),
        next_update: now + time::Duration::days(1),
        crl_number: SerialNumber::from(vec![0x01]),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|(n, t)| RevokedCertParams {
                serial_number: n.params.serial_number.clone().unwrap(),
                revocation_time: *t,
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer.issuer())
    .unwrap()
    .der()
    .to_vec()
}

/// Starts `openssl ocsp` in `dir` on `port` and waits for its `ACCEPT` line (it prints it once
/// it listens; openssl 3.0's responder must not be probed with empty connections).
fn start_responder(dir: &Path, port: u16, index: &str, rsigner: &str, ca: &str) -> Child {
    let mut child = Command::new("openssl")
        .args([
            "ocsp",
            "-index",
            index,
            "-port",
            &port.to_string(),
            "-rsigner",
            &format!("{rsigner}.pem"),
            "-rkey",
            &format!("{rsigner}.key"),
            "-CA",
            &format!("{ca}.pem"),
            "-ndays",
            "1",
            "-rmd",
            "sha256",
            "-ignore_err",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`openssl ocsp` must be installed (scripts/test installs openssl)");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    match lines.next() {
        Some(Ok(l)) if l.starts_with("ACCEPT") => {}
        other => {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            panic!("openssl ocsp did not start on port {port}: {other:?} {err}");
        }
    }
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    if let Some(e) = child.stderr.take() {
        std::thread::spawn(move || for _ in BufReader::new(e).lines() {});
    }
    child
}

impl Pki {
    /// Builds the PKI and starts its services.
    pub fn start(opts: PkiOptions) -> Pki {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let front_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let front_port = front_listener.local_addr().unwrap().port();
        let base_url = format!("http://127.0.0.1:{front_port}");
        let root_ocsp_url = format!("{base_url}/ocsp/root");
        let root_crl_url = format!("{base_url}/crl/root.crl");
        let ocsp_url = match opts.ocsp {
            Ocsp::Live => Some(format!("{base_url}/ocsp/issuing")),
            Ocsp::Unreachable => Some(format!("http://127.0.0.1:{}/ocsp", dead_port())),
            Ocsp::Absent => None,
        };
        let crl_url = opts.crl.then(|| format!("{base_url}/crl/issuing.crl"));

        let (mut rp, rs) = params(
            "signgate Test Root CA",
            now - time::Duration::days(365),
            now + time::Duration::days(3650),
        );
        rp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        rp.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        rp.use_authority_key_identifier_extension = false;
        let root = node(rp, rs, ec_key(), None);

        let (mut ip, is) = params(
            "signgate Test Issuing CA",
            now - time::Duration::days(300),
            now + time::Duration::days(2000),
        );
        ip.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ip.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ip.custom_extensions.push(aia_ocsp(&root_ocsp_url));
        ip.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![root_crl_url.clone()],
        }];
        let issuing = node(ip, is, ec_key(), Some(&root));

        let ee = |p: &mut CertificateParams| {
            if let Some(u) = &ocsp_url {
                p.custom_extensions.push(aia_ocsp(u));
            }
            if let Some(u) = &crl_url {
                p.crl_distribution_points = vec![CrlDistributionPoint {
                    uris: vec![u.clone()],
                }];
            }
        };
        let (mut sp, ss) = params(
            "signgate Test Seal",
            now - time::Duration::days(30),
            now + time::Duration::days(700),
        );
        sp.distinguished_name.push(
            DnType::CustomDnType(vec![2, 5, 4, 97]),
            DnValue::Utf8String("NTRNO-999999999".into()),
        );
        sp.is_ca = IsCa::ExplicitNoCa;
        sp.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        ee(&mut sp);
        let seal_key =
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).unwrap();
        let seal = node(sp, ss, seal_key, Some(&issuing));

        let (mut tp, ts) = params(
            "signgate Test TSA",
            now - time::Duration::days(30),
            now + time::Duration::days(700),
        );
        tp.is_ca = IsCa::ExplicitNoCa;
        tp.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        // id-kp-timeStamping 1.3.6.1.5.5.7.3.8
        tp.custom_extensions.push(critical_eku(&[
            0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
        ]));
        ee(&mut tp);
        let tsa = node(tp, ts, ec_key(), Some(&issuing));

        let (mut op, os) = params(
            "signgate Test OCSP Responder",
            now - time::Duration::days(30),
            now + time::Duration::days(700),
        );
        op.is_ca = IsCa::ExplicitNoCa;
        op.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // id-kp-OCSPSigning 1.3.6.1.5.5.7.3.9
        op.custom_extensions.push(critical_eku(&[
            0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09,
        ]));
        op.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5],
            vec![0x05, 0x00],
        ));
        let responder = node(op, os, ec_key(), Some(&issuing));

        let (mut qp, qs) = params(
            "signgate Test Root OCSP Responder",
            now - time::Duration::days(30),
            now + time::Duration::days(700),
        );
        qp.is_ca = IsCa::ExplicitNoCa;
        qp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        qp.custom_extensions.push(critical_eku(&[
            0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09,
        ]));
        qp.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5],
            vec![0x05, 0x00],
        ));
        let root_responder = node(qp, qs, ec_key(), Some(&root));

        // Files.
        for (name, n) in [
            ("root", &root),
            ("issuing", &issuing),
            ("seal", &seal),
            ("tsa", &tsa),
            ("responder", &responder),
            ("root-responder", &root_responder),
        ] {
            std::fs::write(d.join(format!("{name}.pem")), &n.pem).unwrap();
            std::fs::write(d.join(format!("{name}.key")), n.key_pem()).unwrap();
        }
        std::fs::write(
            d.join("seal-chain.pem"),
            format!("{}{}{}", seal.pem, issuing.pem, root.pem),
        )
        .unwrap();
        std::fs::write(
            d.join("tsa-chain.pem"),
            format!("{}{}{}", tsa.pem, issuing.pem, root.pem),
        )
        .unwrap();
        let revoked_at = now - time::Duration::hours(1);
        let seal_revocation = opts.seal_revoked.then_some(revoked_at);
        std::fs::write(
            d.join("root-index.txt"),
            format!(
                "{}{}",
                index_line(&issuing, None),
                index_line(&root_responder, None)
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("issuing-index.txt"),
            format!(
                "{}{}{}",
                index_line(&seal, seal_revocation),
                index_line(&tsa, None),
                index_line(&responder, None)
            ),
        )
        .unwrap();

        // Services.
        let root_port = dead_port();
        let issuing_port = dead_port();
        let responders = vec![
            start_responder(
                d,
                root_port,
                "root-index.txt",
                if opts.root_signs_ocsp {
                    "root"
                } else {
                    "root-responder"
                },
                "root",
            ),
            start_responder(d, issuing_port, "issuing-index.txt", "responder", "issuing"),
        ];
        let mut routes: HashMap<String, Route> = HashMap::new();
        routes.insert("/ocsp/root".into(), Route::Forward(root_port));
        routes.insert("/ocsp/issuing".into(), Route::Forward(issuing_port));
        routes.insert("/crl/root.crl".into(), Route::File(crl(&root, now, &[])));
        let issuing_crl = match seal_revocation {
            Some(t) => crl(&issuing, now, &[(&seal, t)]),
            None => crl(&issuing, now, &[]),
        };
        routes.insert("/crl/issuing.crl".into(), Route::File(issuing_crl));
        let front = Front::start(front_listener, routes);

        Pki {
            dir,
            root,
            issuing,
            seal,
            tsa,
            responder,
            root_responder,
            base_url,
            root_ocsp_url,
            ocsp_url,
            crl_url,
            front: Some(front),
            responders,
        }
    }

    /// A file of the PKI directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The trust anchors (DER): the root.
    pub fn roots(&self) -> Vec<Vec<u8>> {
        vec![self.root.der.clone()]
    }

    /// The seal key with its chain (seal, issuing CA, root).
    pub fn seal_key(&self) -> signgate::sealing::keys::SealKey {
        let chain = std::fs::read(self.path("seal-chain.pem")).unwrap();
        signgate::sealing::keys::SealKey::from_pem(self.seal.key_pem().as_bytes(), &chain).unwrap()
    }

    /// The in-process time-stamping unit with the TSA certificate (chain: TSA, issuing CA,
    /// root) and the development policy.
    pub fn tsa_unit(&self) -> signgate::sealing::tsa::TsaUnit {
        let chain = std::fs::read(self.path("tsa-chain.pem")).unwrap();
        let key = signgate::sealing::keys::SealKey::from_pem(self.tsa.key_pem().as_bytes(), &chain)
            .unwrap();
        signgate::sealing::tsa::TsaUnit::new(key, signgate::sealing::tsa::DEV_POLICY)
    }

    /// Requests the front has seen for `path` (`/ocsp/issuing`, `/ocsp/root`,
    /// `/crl/issuing.crl`, `/crl/root.crl`).
    pub fn requests(&self, path: &str) -> usize {
        self.front
            .as_ref()
            .map(|f| f.count(path))
            .unwrap_or_default()
    }

    /// All OCSP requests seen.
    pub fn ocsp_requests(&self) -> usize {
        self.requests("/ocsp/root") + self.requests("/ocsp/issuing")
    }

    /// Stops the responders and the front: from now on nothing answers (offline validation).
    pub fn stop(&mut self) {
        for mut c in self.responders.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(f) = self.front.take() {
            f.stop();
        }
    }
}

/// A loopback HTTP server for fixed files (CRLs, certificates), counting requests per path.
/// Stopped on drop.
pub struct FileServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    front: Option<Front>,
}

impl FileServer {
    /// Binds a free loopback port (so URLs can be put into certificates before the files
    /// exist); serve with [`FileServer::start`].
    pub fn bind() -> (TcpListener, String) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
        (l, url)
    }

    /// Serves `files` (path → bytes, `GET` only) on `listener`.
    pub fn start(listener: TcpListener, files: Vec<(String, Vec<u8>)>) -> FileServer {
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let routes = files
            .into_iter()
            .map(|(p, b)| (p, Route::File(b)))
            .collect();
        FileServer {
            base_url,
            front: Some(Front::start(listener, routes)),
        }
    }

    /// Requests seen for `path`.
    pub fn requests(&self, path: &str) -> usize {
        self.front
            .as_ref()
            .map(|f| f.count(path))
            .unwrap_or_default()
    }

    /// Stops serving.
    pub fn stop(&mut self) {
        if let Some(f) = self.front.take() {
            f.stop();
        }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Route {
    /// Forward the request to `openssl ocsp` on this port.
    Forward(u16),
    /// Serve these bytes.
    File(Vec<u8>),
}

/// The HTTP front: one thread, one connection at a time, `Connection: close`.
struct Front {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Front {
    fn start(listener: TcpListener, routes: HashMap<String, Route>) -> Front {
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let (s, c) = (stop.clone(), counts.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = serve(conn, &routes, &c);
            }
        });
        Front {
            addr,
            stop,
            counts,
            thread: Some(thread),
        }
    }

    fn count(&self, path: &str) -> usize {
        self.counts
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or_default()
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut conn: TcpStream,
    routes: &HashMap<String, Route>,
    counts: &Mutex<HashMap<String, usize>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    // Head.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte)? == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head_s = String::from_utf8_lossy(&head).into_owned();
    let mut first = head_s.lines().next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let length: usize = head_s
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1024 * 1024)];
    conn.read_exact(&mut body)?;
    *counts.lock().unwrap().entry(path.clone()).or_default() += 1;
    match routes.get(&path) {
        Some(Route::File(bytes)) if method == "GET" => {
            let h = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            conn.write_all(h.as_bytes())?;
            conn.write_all(bytes)?;
        }
        Some(Route::Forward(port)) if method == "POST" => {
            let mut up = TcpStream::connect(("127.0.0.1", *port))?;
            up.set_read_timeout(Some(Duration::from_secs(10)))?;
            let h = format!(
                "POST / HTTP/1.0\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            up.write_all(h.as_bytes())?;
            up.write_all(&body)?;
            let mut answer = Vec::new();
            up.read_to_end(&mut answer)?;
            conn.write_all(&answer)?;
        }
        _ => {
            conn.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
        }
    }
    conn.flush()
}
