//! The PKCS#11 key backend (through `cryptoki`): a private key on a token (an HSM, or
//! SoftHSM2 in tests) that signs for a [`super::SealKey`].
//!
//! Owns: loading and initialising a PKCS#11 module once per process, finding the token by
//! label and the private key by label and/or id, logging in with the PIN, a bounded pool of
//! sessions shared by concurrent signers (PKCS#11 sessions are single-threaded; the login is
//! per application and token), re-opening sessions that the token dropped, and the signing
//! mechanisms (CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA over a digest computed
//! here). Must not: log or print the PIN (its `Debug` is redacted), decide which certificate
//! goes with the key (the caller proves the match), or finalise a module other keys share.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError, RwLock};

use const_oid::ObjectIdentifier;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::Decode as _;

use super::{KeyAlgorithm, KeyError, PSS_SALT_LEN};

/// Largest PIN file we read.
const MAX_PIN_FILE: u64 = 4096;

/// A token PIN from the configuration. Never shown: `Debug` prints `<redacted>`, and the
/// text is wiped when dropped.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Pin(String);

impl Pin {
    /// A PIN from its text.
    pub fn new(text: impl Into<String>) -> Self {
        Pin(text.into())
    }

    /// The PIN text, for tests of the configuration loader.
    #[cfg(test)]
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    fn auth(&self) -> AuthPin {
        AuthPin::from(self.0.clone())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// Where a key lives on a PKCS#11 token (`[keys] seal_pkcs11 = { … }`, `tsa_pkcs11`).
///
/// ```toml
/// seal_pkcs11 = { module = "/usr/lib/softhsm/libsofthsm2.so", token_label = "signgate",
///                 key_label = "seal", pin_file = "/run/secrets/hsm-pin" }
/// ```
/// The PIN comes from `pin_file` (its first line) or `pin` (best from the environment,
/// `SIGNGATE__KEYS__SEAL_PKCS11__PIN`); `Debug` never shows it.
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library).
    pub module: PathBuf,
    /// Label of the token (CKA_LABEL of the token, as `pkcs11-tool -L` shows it).
    pub token_label: String,
    /// CKA_LABEL of the private key.
    #[serde(default)]
    pub key_label: Option<String>,
    /// CKA_ID of the private key, in hex.
    #[serde(default)]
    pub key_id: Option<String>,
    /// The user PIN.
    #[serde(default)]
    pub pin: Option<Pin>,
    /// A file holding the user PIN (trailing newline ignored).
    #[serde(default)]
    pub pin_file: Option<PathBuf>,
    /// Sessions kept open for concurrent signers (each signature needs one for its duration).
    #[serde(default = "default_sessions")]
    pub sessions: usize,
}

fn default_sessions() -> usize {
    4
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .field("key_id", &self.key_id)
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("pin_file", &self.pin_file)
            .field("sessions", &self.sessions)
            .finish()
    }
}

impl Pkcs11Config {
    /// Checks the shape (what `config` validates at load): a key label or id, exactly one
    /// PIN source, an id in hex, at least one session.
    pub fn check(&self) -> Result<(), String> {
        if self.key_label.is_none() && self.key_id.is_none() {
            return Err("set key_label and/or key_id".into());
        }
        if self.pin.is_some() == self.pin_file.is_some() {
            return Err("set exactly one of pin and pin_file".into());
        }
        if let Some(id) = &self.key_id
            && hex::decode(id).is_err()
        {
            return Err(format!("key_id {id:?} is not hex"));
        }
        if self.sessions == 0 {
            return Err("sessions must be at least 1".into());
        }
        if self.token_label.is_empty() {
            return Err("token_label is empty".into());
        }
        Ok(())
    }

    fn read_pin(&self) -> Result<Pin, KeyError> {
        if let Some(pin) = &self.pin {
            return Ok(pin.clone());
        }
        let Some(path) = &self.pin_file else {
            return Err(KeyError::BadKey(
                "no PIN configured (pin or pin_file)".into(),
            ));
        };
        let meta = std::fs::metadata(path).map_err(|e| KeyError::io(path, e))?;
        if meta.len() > MAX_PIN_FILE {
            return Err(KeyError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, "PIN file too large"),
            ));
        }
        let text = Pin(std::fs::read_to_string(path).map_err(|e| KeyError::io(path, e))?);
        let line = text.0.lines().next().unwrap_or_default();
        if line.is_empty() {
            return Err(KeyError::BadKey(format!(
                "PIN file {} is empty",
                path.display()
            )));
        }
        Ok(Pin(line.to_owned()))
    }

    fn key_description(&self) -> String {
        match (&self.key_label, &self.key_id) {
            (Some(l), Some(id)) => format!("labelled {l:?} with id {id}"),
            (Some(l), None) => format!("labelled {l:?}"),
            (None, Some(id)) => format!("with id {id}"),
            (None, None) => "(no label or id)".into(),
        }
    }
}

/// The public half of the token key, as the token reports it.
pub(super) enum TokenPublic {
    /// RSA modulus and public exponent (big-endian).
    Rsa { modulus: Vec<u8>, exponent: Vec<u8> },
    /// EC on a named curve.
    Ec { curve: ObjectIdentifier },
}

struct Pool {
    idle: Vec<Session>,
    open: usize,
}

/// A logged-in private key on a token, with a bounded pool of sessions.
pub(super) struct TokenKey {
    ctx: Pkcs11,
    slot: Slot,
    token_label: String,
    key_description: String,
    template: Vec<Attribute>,
    key: RwLock<ObjectHandle>,
    pin: Pin,
    public: TokenPublic,
    pool: Mutex<Pool>,
    returned: Condvar,
    max_sessions: usize,
}

/// One initialised context per module path for the whole process: `C_Initialize` may run
/// only once per module, and several keys (seal, TSA) may share a module.
fn context(module: &Path) -> Result<Pkcs11, KeyError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let module_err = |reason: String| KeyError::Pkcs11Module {
        module: module.to_path_buf(),
        reason,
    };
    let canonical = std::fs::canonicalize(module)
        .map_err(|e| module_err(format!("cannot open the module: {e}")))?;
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(ctx) = modules.get(&canonical) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(&canonical).map_err(|e| module_err(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(format!("C_Initialize: {e}"))),
    }
    modules.insert(canonical, ctx.clone());
    Ok(ctx)
}

fn ck(what: &str, e: CkError) -> KeyError {
    KeyError::Pkcs11(format!("{what}: {e}"))
}

/// Errors after which a fresh session (and key lookup) may succeed.
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::OperationActive,
            _
        )
    )
}

impl TokenKey {
    /// Loads the module, finds the token and the key, logs in, and reads the public key
    /// parameters.
    pub(super) fn open(config: &Pkcs11Config) -> Result<Self, KeyError> {
        config.check().map_err(KeyError::BadKey)?;
        let pin = config.read_pin()?;
        let ctx = context(&config.module)?;
        let slots = ctx
            .get_slots_with_token()
            .map_err(|e| ck("C_GetSlotList", e))?;
        let mut available = Vec::new();
        let mut found = Vec::new();
        for slot in slots {
            let Ok(info) = ctx.get_token_info(slot) else {
                continue;
            };
            let label = info.label().trim_end().to_owned();
            if label == config.token_label {
                found.push(slot);
            }
            available.push(label);
        }
        let slot = match found.as_slice() {
            [slot] => *slot,
            [] => {
                return Err(KeyError::TokenNotFound {
                    label: config.token_label.clone(),
                    available,
                });
            }
            _ => {
                return Err(KeyError::Pkcs11(format!(
                    "{} tokens are labelled {:?}; labels must be unique",
                    found.len(),
                    config.token_label
                )));
            }
        };

        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(label) = &config.key_label {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &config.key_id {
            let id = hex::decode(id).map_err(|_| KeyError::BadKey("key_id is not hex".into()))?;
            template.push(Attribute::Id(id));
        }
        let key_description = config.key_description();
        let session = login_session(&ctx, slot, &pin, &config.token_label)?;
        let handle = find_key(&session, &template, &config.token_label, &key_description)?;
        let public = read_public(&session, handle, &key_description)?;
        Ok(TokenKey {
            ctx,
            slot,
            token_label: config.token_label.clone(),
            key_description,
            template,
            key: RwLock::new(handle),
            pin,
            public,
            pool: Mutex::new(Pool {
                idle: vec![session],
                open: 1,
            }),
            returned: Condvar::new(),
            max_sessions: config.sessions,
        })
    }

    /// "PKCS#11 token "x", key labelled "y"" for `Debug`.
    pub(super) fn describe(&self) -> String {
        format!(
            "PKCS#11 token {:?}, key {}",
            self.token_label, self.key_description
        )
    }

    pub(super) fn public(&self) -> &TokenPublic {
        &self.public
    }

    fn open_session(&self) -> Result<Session, KeyError> {
        login_session(&self.ctx, self.slot, &self.pin, &self.token_label)
    }

    /// A session from the pool, waiting while `max_sessions` are busy.
    fn acquire(&self) -> Result<Session, KeyError> {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(s) = pool.idle.pop() {
                return Ok(s);
            }
            if pool.open < self.max_sessions {
                pool.open += 1;
                drop(pool);
                return self.open_session().inspect_err(|_| self.forget());
            }
            pool = self
                .returned
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn release(&self, session: Session) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        pool.idle.push(session);
        drop(pool);
        self.returned.notify_one();
    }

    /// Closes a broken session and frees its place in the pool.
    fn discard(&self, session: Session) {
        drop(session);
        self.forget();
    }

    fn forget(&self) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        pool.open = pool.open.saturating_sub(1);
        drop(pool);
        self.returned.notify_one();
    }

    /// Signs `data` with the mechanism of `algorithm`. RSA: the token hashes (SHA-256);
    /// ECDSA: we hash and the token signs the digest, returning `r || s`.
    pub(super) fn sign(&self, algorithm: KeyAlgorithm, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let digest;
        let (mechanism, input) = match algorithm {
            KeyAlgorithm::Rsa { .. } => (Mechanism::Sha256RsaPkcs, data),
            KeyAlgorithm::RsaPss { .. } => (
                Mechanism::Sha256RsaPkcsPss(PkcsPssParams {
                    hash_alg: MechanismType::SHA256,
                    mgf: PkcsMgfType::MGF1_SHA256,
                    s_len: u64::from(PSS_SALT_LEN).into(),
                }),
                data,
            ),
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                digest = algorithm.digest().digest(data);
                (Mechanism::Ecdsa, digest.as_slice())
            }
        };
        let mut retried = false;
        loop {
            let session = self.acquire()?;
            let handle = *self.key.read().unwrap_or_else(PoisonError::into_inner);
            match session.sign(&mechanism, handle, input) {
                Ok(sig) => {
                    self.release(session);
                    return Ok(sig);
                }
                Err(e) if session_lost(&e) && !retried => {
                    retried = true;
                    tracing::warn!(
                        token = %self.token_label,
                        error = %e,
                        "PKCS#11 session failed; retrying with a fresh session"
                    );
                    self.discard(session);
                    // The key handle may be stale too (token re-inserted): look it up again.
                    let fresh = self.acquire()?;
                    let found = find_key(
                        &fresh,
                        &self.template,
                        &self.token_label,
                        &self.key_description,
                    );
                    self.release(fresh);
                    *self.key.write().unwrap_or_else(PoisonError::into_inner) = found?;
                }
                Err(e) => {
                    if session_lost(&e) {
                        self.discard(session);
                    } else {
                        self.release(session);
                    }
                    return Err(ck("C_Sign", e));
                }
            }
        }
    }
}

/// Opens a read-only session and logs the user in (the login is shared by every session of
/// this process on the token, so "already logged in" is success).
fn login_session(ctx: &Pkcs11, slot: Slot, pin: &Pin, token: &str) -> Result<Session, KeyError> {
    let session = ctx
        .open_ro_session(slot)
        .map_err(|e| ck("C_OpenSession", e))?;
    match session.login(UserType::User, Some(&pin.auth())) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(CkError::Pkcs11(rv, _)) => Err(KeyError::Login {
            token: token.to_owned(),
            reason: match rv {
                RvError::PinIncorrect => "the PIN is incorrect".into(),
                RvError::PinLocked => "the PIN is locked".into(),
                RvError::PinExpired => "the PIN has expired".into(),
                RvError::PinLenRange | RvError::PinInvalid => {
                    "the PIN has an invalid length or characters".into()
                }
                other => format!("C_Login: {other}"),
            },
        }),
        Err(e) => Err(KeyError::Login {
            token: token.to_owned(),
            reason: e.to_string(),
        }),
    }
}

fn find_key(
    session: &Session,
    template: &[Attribute],
    token: &str,
    key_description: &str,
) -> Result<ObjectHandle, KeyError> {
    let found = session
        .find_objects(template)
        .map_err(|e| ck("C_FindObjects", e))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(KeyError::KeyNotFound {
            token: token.to_owned(),
            key: key_description.to_owned(),
        }),
        many => Err(KeyError::Pkcs11(format!(
            "{} private keys {} on token {:?}; set key_id to pick one",
            many.len(),
            key_description,
            token
        ))),
    }
}

fn read_public(
    session: &Session,
    key: ObjectHandle,
    key_description: &str,
) -> Result<TokenPublic, KeyError> {
    let attrs = session
        .get_attributes(key, &[AttributeType::KeyType, AttributeType::Sign])
        .map_err(|e| ck("C_GetAttributeValue", e))?;
    let mut key_type = None;
    for a in attrs {
        match a {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::Sign(false) => {
                return Err(KeyError::BadKey(format!(
                    "the token key {} may not sign (CKA_SIGN is false)",
                    key_description
                )));
            }
            _ => {}
        }
    }
    match key_type {
        Some(KeyType::RSA) => {
            let attrs = session
                .get_attributes(
                    key,
                    &[AttributeType::Modulus, AttributeType::PublicExponent],
                )
                .map_err(|e| ck("C_GetAttributeValue", e))?;
            let (mut modulus, mut exponent) = (None, None);
            for a in attrs {
                match a {
                    Attribute::Modulus(m) => modulus = Some(m),
                    Attribute::PublicExponent(e) => exponent = Some(e),
                    _ => {}
                }
            }
            match (modulus, exponent) {
                (Some(modulus), Some(exponent)) => Ok(TokenPublic::Rsa { modulus, exponent }),
                _ => Err(KeyError::BadKey(
                    "the token does not reveal the RSA key's modulus and exponent".into(),
                )),
            }
        }
        Some(KeyType::EC) => {
            let attrs = session
                .get_attributes(key, &[AttributeType::EcParams])
                .map_err(|e| ck("C_GetAttributeValue", e))?;
            let params = attrs.into_iter().find_map(|a| match a {
                Attribute::EcParams(p) => Some(p),
                _ => None,
            });
            let curve = params
                .and_then(|p| ObjectIdentifier::from_der(&p).ok())
                .ok_or_else(|| {
                    KeyError::BadKey("the token EC key has no named-curve CKA_EC_PARAMS".into())
                })?;
            Ok(TokenPublic::Ec { curve })
        }
        other => Err(KeyError::BadKey(format!(
            "unsupported token key type {other:?}; use RSA or EC"
        ))),
    }
}
