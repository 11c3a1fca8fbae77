//! TLS / mutual-TLS listener and client-certificate extraction.
//!
//! This module owns everything between the TCP socket and the axum
//! [`Router`]:
//!
//! * building a [`rustls::ServerConfig`] from PEM files ([`server_config`]),
//!   optionally *requesting* (never requiring) client certificates that chain
//!   to a configured CA bundle;
//! * the accept loop ([`serve`]): per-connection TLS handshake with a
//!   timeout, HTTP/1.1 + HTTP/2 via hyper-util's auto builder, and graceful
//!   shutdown;
//! * making the verified peer certificate available to handlers as the
//!   [`ClientCertificate`] request extension, plus
//!   [`ConnectInfo<std::net::SocketAddr>`](axum::extract::ConnectInfo);
//! * small, pure helpers to read the subject `organizationIdentifier`
//!   (ETSI EN 319 412-1) from a certificate ([`organization_identifier`],
//!   [`norwegian_orgnr`]).
//!
//! It deliberately does **not** map certificates to organisations or decide
//! authorization: a request carrying a [`ClientCertificate`] only proves that
//! the peer holds a key for a certificate issued under the configured client
//! CA. Mapping that to a tenant and deciding what it may do is the caller's
//! job.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use const_oid::ObjectIdentifier;
use der::{Decode, Tag, Tagged};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::RootCertStore;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a client gets to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`serve`] waits for in-flight connections after shutdown was
/// requested before it returns anyway (remaining connections are dropped when
/// the runtime shuts down).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long an HTTP/1.1 client gets to send a complete request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// OID of the X.520 `organizationIdentifier` attribute (2.5.4.97).
const ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

/// Where to find the server's key material and (optionally) the CA bundle
/// used to verify client certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file with the server certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM file with the server private key (PKCS#8, SEC1 or PKCS#1/RSA).
    pub key_file: PathBuf,
    /// PEM bundle of CA certificates trusted to issue client certificates.
    /// When set, clients are asked for a certificate; presenting none is
    /// still allowed (API-key clients), presenting an untrusted one fails the
    /// handshake.
    pub client_ca_file: Option<PathBuf>,
}

/// Errors while building the TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {kind} file {path}: {source}")]
    Read {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid PEM in {kind} file {path}: {message}")]
    Pem {
        kind: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("no certificates found in {kind} file {path}")]
    NoCertificates { kind: &'static str, path: PathBuf },
    #[error("no private key (PKCS#8, SEC1 or RSA) found in key file {path}")]
    NoPrivateKey { path: PathBuf },
    #[error("unusable client CA certificate in {path}: {message}")]
    ClientCa { path: PathBuf, message: String },
    #[error("invalid TLS configuration (cert {cert}, key {key}): {source}")]
    Config {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
}

/// The certificate the TLS peer presented and that was verified against the
/// client CA bundle. Inserted into the extensions of every request on such a
/// connection; absent when the client presented no certificate.
///
/// Extract it in a handler with
/// `Option<axum::Extension<ClientCertificate>>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// DER of the leaf (end-entity) certificate.
    pub der: Vec<u8>,
    /// DER of every certificate the peer sent, in the order sent: leaf first
    /// (so `chain[0] == der`), then any intermediates.
    pub chain: Vec<Vec<u8>>,
}

/// Builds the server configuration: certificate chain + key from PEM files,
/// optional (requested, not required) client-certificate verification, ALPN
/// `h2` and `http/1.1`. Uses the aws-lc-rs provider explicitly, so nothing
/// depends on a process-wide default provider.
pub fn server_config(s: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider: Arc<CryptoProvider> = Arc::new(aws_lc_rs::default_provider());

    let certs = load_certs("certificate", &s.cert_file)?;
    let key = load_key(&s.key_file)?;

    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|source| config_error(s, source))?;

    let builder = match &s.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_path) => {
            let mut roots = RootCertStore::empty();
            for cert in load_certs("client CA", ca_path)? {
                roots.add(cert).map_err(|e| TlsError::ClientCa {
                    path: ca_path.clone(),
                    message: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::ClientCa {
                    path: ca_path.clone(),
                    message: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };

    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|source| config_error(s, source))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn config_error(s: &TlsSettings, source: rustls::Error) -> TlsError {
    TlsError::Config {
        cert: s.cert_file.clone(),
        key: s.key_file.clone(),
        source,
    }
}

fn read_file(kind: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        kind,
        path: path.to_path_buf(),
        source,
    })
}

fn load_certs(kind: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(kind, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            kind,
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates {
            kind,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file("key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        },
        e => TlsError::Pem {
            kind: "key",
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    })
}

/// Serves `app` over TLS on `listener` until `shutdown` resolves.
///
/// Each accepted connection is handled on its own task: the TLS handshake
/// (bounded by [`HANDSHAKE_TIMEOUT`]) never blocks the accept loop, and a
/// failed handshake is only logged at debug level. Requests get a
/// [`ConnectInfo<std::net::SocketAddr>`] extension and, when the peer presented a
/// (verified) certificate, a [`ClientCertificate`] extension. HTTP/1.1 and
/// HTTP/2 are both served (chosen by ALPN / preface).
///
/// When `shutdown` resolves the listener is closed, in-flight connections are
/// asked to finish gracefully, and the function returns once they have, or
/// after [`SHUTDOWN_GRACE`] at the latest.
pub async fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    // Graceful-shutdown tracking (the same scheme as hyper-util's
    // `server::graceful`, which sits behind a cargo feature we don't enable):
    // every connection task holds a receiver; `send` asks them to wind down
    // and `closed()` resolves once the last one has been dropped.
    let (shutdown_tx, shutdown_rx) = watch::channel(());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) if is_connection_error(&e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
                Err(e) => {
                    // e.g. EMFILE: back off instead of spinning.
                    tracing::error!(error = %e, "accept failed, retrying in 1s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);

        let acceptor = acceptor.clone();
        let app = app.clone();
        let builder = builder.clone();
        let mut shutdown_rx = shutdown_rx.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
            // A connection still handshaking when shutdown starts has no
            // request in flight: drop it rather than wait for it.
            let handshake = tokio::select! {
                result = handshake => result,
                _ = shutdown_rx.changed() => return,
            };
            let tls = match handshake {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };

            let client_cert = tls.get_ref().1.peer_certificates().and_then(|certs| {
                let leaf = certs.first()?;
                Some(ClientCertificate {
                    der: leaf.as_ref().to_vec(),
                    chain: certs.iter().map(|c| c.as_ref().to_vec()).collect(),
                })
            });

            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                if let Some(cert) = &client_cert {
                    req.extensions_mut().insert(cert.clone());
                }
                // `Router` is always ready and its error type is `Infallible`.
                app.clone().oneshot(req)
            });

            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = shutdown_rx.changed() => {
                    // Finish in-flight requests, then close (HTTP/2 GOAWAY,
                    // HTTP/1.1 no keep-alive).
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with error");
            }
            drop(shutdown_rx);
        });
    }

    drop(listener);
    drop(shutdown_rx);
    let _ = shutdown_tx.send(());
    if tokio::time::timeout(SHUTDOWN_GRACE, shutdown_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            "graceful shutdown timed out after {:?}; dropping remaining connections",
            SHUTDOWN_GRACE
        );
    }
    Ok(())
}

/// Errors from `accept` that concern only the one connection.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Returns the subject's `organizationIdentifier` (OID 2.5.4.97, ETSI EN
/// 319 412-1), e.g. `NTRNO-991825827`, exactly as it appears in the
/// certificate (PrintableString, UTF8String or IA5String). Returns `None` for
/// unparsable input or when the attribute is absent. If several are present,
/// the first is returned.
pub fn organization_identifier(cert_der: &[u8]) -> Option<String> {
    let cert = x509_cert::Certificate::from_der(cert_der).ok()?;
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == ORGANIZATION_IDENTIFIER)
        .find_map(|atv| match atv.value.tag() {
            Tag::PrintableString | Tag::Utf8String | Tag::Ia5String => {
                std::str::from_utf8(atv.value.value())
                    .ok()
                    .map(str::to_owned)
            }
            _ => None,
        })
}

/// Extracts the Norwegian organisation number from an ETSI
/// organizationIdentifier: `NTRNO-991825827` → `991825827`. Requires exactly
/// nine ASCII digits after the `NTRNO-` prefix; anything else is `None`.
/// (No MOD11 check-digit validation is done.)
pub fn norwegian_orgnr(org_identifier: &str) -> Option<String> {
    let digits = org_identifier.strip_prefix("NTRNO-")?;
    (digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::SocketAddr;

    use axum::Extension;
    use axum::routing::get;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa,
        Issuer, KeyPair, KeyUsagePurpose,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    const ORG_ID: &str = "NTRNO-991825827";
    const ORG_ID_OID: &[u64] = &[2, 5, 4, 97];

    // ---------------------------------------------------------------- PKI

    fn install_provider() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }

    struct Ca {
        pem: String,
        issuer: Issuer<'static, KeyPair>,
    }

    fn new_ca(cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    struct Leaf {
        cert_pem: String,
        key_pem: String,
        der: Vec<u8>,
    }

    impl Leaf {
        /// Key and certificate in one PEM buffer, as reqwest's
        /// `Identity::from_pem` wants it for rustls.
        fn identity_pem(&self) -> Vec<u8> {
            format!("{}{}", self.key_pem, self.cert_pem).into_bytes()
        }
    }

    fn new_leaf(
        ca: &Ca,
        sans: &[&str],
        cn: &str,
        org_id: Option<DnValue>,
        eku: ExtendedKeyUsagePurpose,
    ) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        if let Some(v) = org_id {
            params
                .distinguished_name
                .push(DnType::CustomDnType(ORG_ID_OID.to_vec()), v);
        }
        params.extended_key_usages = vec![eku];
        let cert = params.signed_by(&key, &ca.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    fn client_leaf(ca: &Ca, cn: &str, org_id: Option<DnValue>) -> Leaf {
        new_leaf(ca, &[], cn, org_id, ExtendedKeyUsagePurpose::ClientAuth)
    }

    struct Pki {
        dir: tempfile::TempDir,
        server_ca: Ca,
        server: Leaf,
        client_ca: Ca,
        client: Leaf,
        untrusted_client: Leaf,
    }

    impl Pki {
        fn new() -> Self {
            install_provider();
            let server_ca = new_ca("signgate test server CA");
            let server = new_leaf(
                &server_ca,
                &["127.0.0.1", "localhost"],
                "signgate test server",
                None,
                ExtendedKeyUsagePurpose::ServerAuth,
            );
            let client_ca = new_ca("signgate test client CA");
            let client = client_leaf(&client_ca, "Test Org AS", Some(ORG_ID.into()));
            let rogue_ca = new_ca("untrusted CA");
            let untrusted_client = client_leaf(&rogue_ca, "Rogue AS", Some(ORG_ID.into()));

            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("server.crt"), &server.cert_pem).unwrap();
            std::fs::write(dir.path().join("server.key"), &server.key_pem).unwrap();
            std::fs::write(dir.path().join("client-ca.crt"), &client_ca.pem).unwrap();
            Pki {
                dir,
                server_ca,
                server,
                client_ca,
                client,
                untrusted_client,
            }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn settings(&self, mtls: bool) -> TlsSettings {
            TlsSettings {
                cert_file: self.path("server.crt"),
                key_file: self.path("server.key"),
                client_ca_file: mtls.then(|| self.path("client-ca.crt")),
            }
        }

        fn client(&self, identity: Option<&Leaf>) -> reqwest::Client {
            let mut b = reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(
                    reqwest::Certificate::from_pem(self.server_ca.pem.as_bytes()).unwrap(),
                )
                .timeout(Duration::from_secs(10));
            if let Some(leaf) = identity {
                b = b.identity(reqwest::Identity::from_pem(&leaf.identity_pem()).unwrap());
            }
            b.build().unwrap()
        }
    }

    // ------------------------------------------------------------- server

    async fn whoami(cert: Option<Extension<ClientCertificate>>) -> String {
        match cert {
            None => "none".to_owned(),
            Some(Extension(c)) => {
                assert_eq!(c.chain.first(), Some(&c.der), "chain starts with the leaf");
                organization_identifier(&c.der).unwrap_or_else(|| "no-org-id".to_owned())
            }
        }
    }

    async fn peer(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> String {
        addr.ip().to_string()
    }

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(500)).await;
        "slow done"
    }

    fn app() -> Router {
        Router::new()
            .route("/whoami", get(whoami))
            .route("/peer", get(peer))
            .route("/slow", get(slow))
    }

    struct Running {
        addr: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: JoinHandle<io::Result<()>>,
    }

    impl Running {
        fn url(&self, path: &str) -> String {
            format!("https://127.0.0.1:{}{path}", self.addr.port())
        }

        async fn stop(mut self) -> io::Result<()> {
            let _ = self.stop.take().unwrap().send(());
            tokio::time::timeout(Duration::from_secs(10), &mut self.task)
                .await
                .expect("serve did not return after shutdown")
                .unwrap()
        }
    }

    async fn start(settings: &TlsSettings) -> Running {
        let config = server_config(settings).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, app(), async move {
            let _ = rx.await;
        }));
        Running {
            addr,
            stop: Some(tx),
            task,
        }
    }

    async fn get_text(client: &reqwest::Client, url: &str) -> reqwest::Result<String> {
        let resp = client.get(url).send().await?.error_for_status()?;
        resp.text().await
    }

    // -------------------------------------------------------------- tests

    #[tokio::test]
    async fn trusted_client_certificate_is_exposed_to_handlers() {
        let pki = Pki::new();
        let server = start(&pki.settings(true)).await;
        let client = pki.client(Some(&pki.client));
        assert_eq!(
            get_text(&client, &server.url("/whoami")).await.unwrap(),
            ORG_ID
        );
        // ConnectInfo is available too.
        assert_eq!(
            get_text(&client, &server.url("/peer")).await.unwrap(),
            "127.0.0.1"
        );
        server.stop().await.unwrap();
    }

    #[tokio::test]
    async fn client_without_certificate_still_connects() {
        let pki = Pki::new();
        let server = start(&pki.settings(true)).await;
        let client = pki.client(None);
        assert_eq!(
            get_text(&client, &server.url("/whoami")).await.unwrap(),
            "none"
        );
        server.stop().await.unwrap();
    }

    #[tokio::test]
    async fn client_certificate_from_untrusted_ca_is_rejected() {
        let pki = Pki::new();
        let server = start(&pki.settings(true)).await;
        let client = pki.client(Some(&pki.untrusted_client));
        let result = get_text(&client, &server.url("/whoami")).await;
        assert!(result.is_err(), "expected failure, got {result:?}");
        // rustls on the server rejects the chain with an `unknown_ca` alert.
        let err = format!("{:?}", result.unwrap_err());
        assert!(err.contains("UnknownCA"), "{err}");

        // ... and the server keeps serving good clients.
        let good = pki.client(Some(&pki.client));
        assert_eq!(
            get_text(&good, &server.url("/whoami")).await.unwrap(),
            ORG_ID
        );
        server.stop().await.unwrap();
    }

    #[tokio::test]
    async fn without_client_ca_no_certificate_is_requested() {
        let pki = Pki::new();
        let server = start(&pki.settings(false)).await;
        let client = pki.client(Some(&pki.client));
        assert_eq!(
            get_text(&client, &server.url("/whoami")).await.unwrap(),
            "none"
        );
        server.stop().await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_does_not_wait_for_stalled_handshakes() {
        let pki = Pki::new();
        let server = start(&pki.settings(true)).await;
        let _stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t = std::time::Instant::now();
        server.stop().await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn garbage_and_stalled_connections_do_not_stop_the_server() {
        let pki = Pki::new();
        let server = start(&pki.settings(true)).await;

        // A connection that never starts a handshake must not block accept.
        let _stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();

        // Plain-text HTTP and random bytes instead of a ClientHello.
        for junk in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0x00][..],
            &[0xde, 0xad, 0xbe, 0xef][..],
        ] {
            let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
            let _ = s.write_all(junk).await;
            let _ = s.shutdown().await;
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        }

        let client = pki.client(Some(&pki.client));
        let text = tokio::time::timeout(
            Duration::from_secs(5),
            get_text(&client, &server.url("/whoami")),
        )
        .await
        .expect("server blocked by a stalled connection")
        .unwrap();
        assert_eq!(text, ORG_ID);
        server.stop().await.unwrap();
    }

    #[tokio::test]
    async fn alpn_offers_h2_and_http11() {
        let pki = Pki::new();
        let server = start(&pki.settings(true)).await;

        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(pki.server_ca.pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        for (offer, expected) in [
            (vec![b"h2".to_vec(), b"http/1.1".to_vec()], b"h2".as_slice()),
            (vec![b"http/1.1".to_vec()], b"http/1.1".as_slice()),
        ] {
            let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
                aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
            cfg.alpn_protocols = offer;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
            let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let tls = connector.connect(name, tcp).await.unwrap();
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(expected));
        }
        server.stop().await.unwrap();
    }

    #[tokio::test]
    async fn graceful_shutdown_finishes_in_flight_requests() {
        let pki = Pki::new();
        let mut server = start(&pki.settings(true)).await;
        let client = pki.client(Some(&pki.client));
        // Warm up so the connection is established before shutdown.
        assert_eq!(
            get_text(&client, &server.url("/whoami")).await.unwrap(),
            ORG_ID
        );

        let url = server.url("/slow");
        let in_flight = tokio::spawn(async move { get_text(&client, &url).await });
        tokio::time::sleep(Duration::from_millis(150)).await;
        let addr = server.addr;
        let _ = server.stop.take().unwrap().send(());

        assert_eq!(in_flight.await.unwrap().unwrap(), "slow done");
        tokio::time::timeout(Duration::from_secs(10), &mut server.task)
            .await
            .expect("serve did not return")
            .unwrap()
            .unwrap();
        // The listener is gone.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[test]
    fn server_config_errors_name_the_file() {
        let pki = Pki::new();

        let mut s = pki.settings(true);
        s.cert_file = pki.path("missing.crt");
        let err = server_config(&s).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("missing.crt"), "{err}");

        std::fs::write(pki.path("empty.pem"), "").unwrap();
        let mut s = pki.settings(true);
        s.cert_file = pki.path("empty.pem");
        let err = server_config(&s).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificates { .. }), "{err:?}");
        assert!(err.to_string().contains("empty.pem"), "{err}");

        let mut s = pki.settings(true);
        s.key_file = pki.path("empty.pem");
        let err = server_config(&s).unwrap_err();
        assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err:?}");
        assert!(err.to_string().contains("empty.pem"), "{err}");

        let mut s = pki.settings(true);
        s.client_ca_file = Some(pki.path("empty.pem"));
        let err = server_config(&s).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificates { .. }), "{err:?}");

        // Key that does not belong to the certificate.
        std::fs::write(pki.path("other.key"), &pki.client.key_pem).unwrap();
        let mut s = pki.settings(true);
        s.key_file = pki.path("other.key");
        let err = server_config(&s).unwrap_err();
        assert!(matches!(err, TlsError::Config { .. }), "{err:?}");
        assert!(err.to_string().contains("other.key"), "{err}");

        // The good settings work, with and without client auth.
        server_config(&pki.settings(true)).unwrap();
        let cfg = server_config(&pki.settings(false)).unwrap();
        assert_eq!(
            cfg.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn organization_identifier_from_certificates() {
        let pki = Pki::new();
        // UTF8String (rcgen's default for string values).
        assert_eq!(
            organization_identifier(&pki.client.der).as_deref(),
            Some(ORG_ID)
        );
        // PrintableString.
        let printable = rcgen::string::PrintableString::try_from(ORG_ID).unwrap();
        let leaf = client_leaf(
            &pki.client_ca,
            "Printable AS",
            Some(DnValue::PrintableString(printable)),
        );
        assert_eq!(organization_identifier(&leaf.der).as_deref(), Some(ORG_ID));
        // Without the attribute.
        let leaf = client_leaf(&pki.client_ca, "No Org AS", None);
        assert_eq!(organization_identifier(&leaf.der), None);
        assert_eq!(organization_identifier(&pki.server.der), None);
        // Truncated certificate.
        assert_eq!(
            organization_identifier(&pki.client.der[..pki.client.der.len() / 2]),
            None
        );
        // End to end with the orgnr helper.
        assert_eq!(
            organization_identifier(&pki.client.der)
                .as_deref()
                .and_then(norwegian_orgnr)
                .as_deref(),
            Some("991825827")
        );
    }

    #[test]
    fn orgnr_parsing() {
        assert_eq!(
            norwegian_orgnr("NTRNO-991825827").as_deref(),
            Some("991825827")
        );
        for bad in [
            "",
            "NTRNO-",
            "NTRNO-99182582",
            "NTRNO-9918258270",
            "NTRNO-99182582a",
            "NTRNO-+99182582",
            "ntrno-991825827",
            "NTRSE-991825827",
            "991825827",
            " NTRNO-991825827",
            "NTRNO-991825827 ",
            "NTRNO-９９１８２５８２７",
        ] {
            assert_eq!(norwegian_orgnr(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn organization_identifier_on_garbage() {
        assert_eq!(organization_identifier(b""), None);
        assert_eq!(organization_identifier(b"not a certificate"), None);
        assert_eq!(
            organization_identifier(&[0x30, 0x82, 0xff, 0xff, 0x00]),
            None
        );
        assert_eq!(organization_identifier(&[0x30; 64]), None);
    }
}
