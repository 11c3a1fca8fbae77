//! The sealing spool: a local directory where a sealed PDF is written, patched and read back
//! before it is stored as a blob, so that no sealed file is ever held whole in memory.
//!
//! Each spool file has a unique name (`seal-<random>.spool`), is locked (`flock`) by the
//! process writing it for as long as it is open, and is removed when its [`SpoolFile`] is
//! dropped: after it was stored, on an error and on unwinding alike. A process that dies
//! (kill -9, power loss) leaves its files unlocked; [`Spool::open`] removes those at start and
//! leaves the locked files of live processes sharing the directory alone.
//!
//! [`store_once`] is the crash-safe path from spool to blob store: an existing blob is kept
//! (a retried task never produces a second document), otherwise the file is written, fsynced
//! and stored create-only, and only then does the caller commit anything that refers to it.
//!
//! Owns: the spool directory and its files. Must not: interpret the bytes or know job state.

use std::fs::{File, TryLockError};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::archive::blobs::{BlobError, Blobs};

/// Name prefix and suffix of spool files (only such files are ever removed by a sweep).
const PREFIX: &str = "seal-";
const SUFFIX: &str = ".spool";
/// A file younger than this is never swept: its creator may not have locked it yet.
const SWEEP_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool directory {0}: {1}")]
    Dir(String, io::Error),
    #[error("spool file: {0}")]
    File(#[from] io::Error),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("blob {0} was reported present by a concurrent write but cannot be read")]
    Vanished(String),
}

/// The spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
}

/// One spool file, locked while open and removed on drop.
#[derive(Debug)]
pub struct SpoolFile {
    file: tempfile::NamedTempFile,
}

impl Spool {
    /// Opens `dir` (created if missing) and removes the spool files that no live process
    /// holds (a crashed process's leftovers). Returns the spool and how many it removed.
    pub fn open(dir: &Path) -> Result<(Spool, usize), SpoolError> {
        let dir_err = |e| SpoolError::Dir(dir.display().to_string(), e);
        std::fs::create_dir_all(dir).map_err(dir_err)?;
        let mut removed = 0;
        for entry in std::fs::read_dir(dir).map_err(dir_err)? {
            let entry = entry.map_err(dir_err)?;
            let name = entry.file_name();
            let ours = name
                .to_str()
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX));
            if ours && entry.file_type().map_err(dir_err)?.is_file() && sweep(&entry.path())? {
                removed += 1;
            }
        }
        Ok((
            Spool {
                dir: dir.to_path_buf(),
            },
            removed,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new, empty spool file with a unique name, locked by this process.
    pub fn create(&self) -> Result<SpoolFile, SpoolError> {
        let file = tempfile::Builder::new()
            .prefix(PREFIX)
            .suffix(SUFFIX)
            .tempfile_in(&self.dir)
            .map_err(|e| SpoolError::Dir(self.dir.display().to_string(), e))?;
        file.as_file().try_lock().map_err(|e| match e {
            TryLockError::Error(e) => SpoolError::File(e),
            TryLockError::WouldBlock => {
                SpoolError::File(io::Error::other("a fresh spool file is locked"))
            }
        })?;
        Ok(SpoolFile { file })
    }
}

/// Removes the spool file at `path` when it is old enough and no process holds its lock.
fn sweep(path: &Path) -> Result<bool, SpoolError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let young = file
        .metadata()?
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_none_or(|age| age < SWEEP_GRACE);
    if young {
        return Ok(false);
    }
    match file.try_lock() {
        Ok(()) => match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        },
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e.into()),
    }
}

impl SpoolFile {
    /// The open file, to write the sealed PDF into (it is a [`crate::sealing::SealSink`]).
    pub fn file_mut(&mut self) -> &mut File {
        self.file.as_file_mut()
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// The hex SHA-256 of the blob under `key`, making it first when there is none: `make` writes
/// it into a fresh spool file (and hands the file back), which is then fsynced and stored
/// create-only ([`Blobs::put_file_create`]). When another writer stored the key first, its
/// blob wins and is what the digest is of, so racing or retried tasks end with one and the
/// same blob. The spool file is removed on every path out of here; a failure leaves the key
/// untouched. Callers commit whatever refers to the blob only after this returned.
pub async fn store_once<F, Fut, E>(
    blobs: &Blobs,
    spool: &Spool,
    key: &str,
    make: F,
) -> Result<String, E>
where
    F: FnOnce(SpoolFile) -> Fut,
    Fut: Future<Output = Result<SpoolFile, E>>,
    E: From<SpoolError>,
{
    if let Some(sha) = blobs.sha256_opt(key).await.map_err(SpoolError::from)? {
        return Ok(sha);
    }
    let file = spool.create()?;
    let file = make(file).await?;
    // The blob store fsyncs the file before the key names it (write → fsync → store).
    let stored = blobs.put_file_create(key, file.path()).await;
    drop(file);
    match stored {
        Ok(sha) => Ok(sha),
        Err(e) if e.already_exists() => Ok(blobs
            .sha256_opt(key)
            .await
            .map_err(SpoolError::from)?
            .ok_or_else(|| SpoolError::Vanished(key.to_string()))?),
        Err(e) => Err(SpoolError::from(e).into()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn sha(data: &[u8]) -> String {
        hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
    }

    fn age(path: &Path, by: Duration) {
        let f = File::options().write(true).open(path).unwrap();
        f.set_modified(std::time::SystemTime::now() - by).unwrap();
    }

    /// A failure of `make`.
    #[derive(Debug)]
    #[allow(dead_code)] // the spool error is read through `Debug` when a test fails
    enum Fail {
        Make,
        Spool(SpoolError),
    }

    impl From<SpoolError> for Fail {
        fn from(e: SpoolError) -> Self {
            Fail::Spool(e)
        }
    }

    #[tokio::test]
    async fn stores_once_and_leaves_the_spool_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(&tmp.path().join("blobs")).unwrap();
        let (spool, removed) = Spool::open(&tmp.path().join("spool")).unwrap();
        assert_eq!(removed, 0);
        let key = "jobs/a/sealed.pdf";
        let body = vec![7u8; 3 * 1024 * 1024 + 11];
        let (body, spool_ref) = (&body, &spool);

        // A failure after writing: nothing stored, nothing left in the spool.
        let seen = std::sync::Mutex::new(None);
        let seen_ref = &seen;
        let err = store_once(&blobs, &spool, key, |mut f| async move {
            f.file_mut().write_all(body).unwrap();
            *seen_ref.lock().unwrap() = Some(f.path().to_path_buf());
            assert_eq!(
                names(spool_ref.dir()).len(),
                1,
                "the spool file exists meanwhile"
            );
            Err::<SpoolFile, _>(Fail::Make)
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Fail::Make));
        let path = seen.lock().unwrap().take().unwrap();
        assert!(path.starts_with(spool.dir()));
        assert!(names(spool.dir()).is_empty());
        assert!(blobs.get_opt(key).await.unwrap().is_none());

        // Success: the blob is the file, the digest is the blob's, the spool is empty.
        let got = store_once(&blobs, &spool, key, |mut f| async move {
            f.file_mut()
                .write_all(body)
                .map_err(|e| Fail::Spool(e.into()))?;
            Ok::<_, Fail>(f)
        })
        .await
        .unwrap();
        assert_eq!(got, sha(body));
        assert_eq!(blobs.get(key).await.unwrap().as_ref(), body.as_slice());
        assert!(names(spool.dir()).is_empty());

        // A retry finds the blob and does not make another.
        let again = store_once(&blobs, &spool, key, |_| async {
            Err::<SpoolFile, _>(Fail::Make)
        })
        .await
        .expect("a stored blob is found, not made again");
        assert_eq!(again, got);
    }

    #[tokio::test]
    async fn a_racing_writer_wins_and_its_blob_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(&tmp.path().join("blobs")).unwrap();
        let (spool, _) = Spool::open(&tmp.path().join("spool")).unwrap();
        let key = "jobs/b/sealed.pdf";
        let other = &blobs;
        let got = store_once(&blobs, &spool, key, |mut f| async move {
            // Another worker stores its (different) document while this one seals.
            other
                .put_mode(
                    key,
                    bytes::Bytes::from_static(b"first"),
                    object_store::PutMode::Create,
                )
                .await
                .unwrap();
            f.file_mut().write_all(b"second").unwrap();
            Ok::<_, Fail>(f)
        })
        .await
        .unwrap();
        assert_eq!(got, sha(b"first"));
        assert_eq!(blobs.get(key).await.unwrap().as_ref(), b"first");
        assert!(names(spool.dir()).is_empty());
    }

    #[test]
    fn open_removes_dead_leftovers_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spool");
        let (spool, _) = Spool::open(&dir).unwrap();
        // A live file of this (or another) process: locked, kept however old.
        let live = spool.create().unwrap();
        age(live.path(), Duration::from_secs(3600));
        // A crashed process's file: unlocked and old, removed.
        let dead = dir.join("seal-dead0001.spool");
        std::fs::write(&dead, b"partial").unwrap();
        age(&dead, Duration::from_secs(3600));
        // A file just created by a process that has not locked it yet: kept.
        let fresh = dir.join("seal-fresh001.spool");
        std::fs::write(&fresh, b"").unwrap();
        // Not a spool file: never touched.
        let other = dir.join("notes.txt");
        std::fs::write(&other, b"x").unwrap();
        age(&other, Duration::from_secs(3600));

        let (_again, removed) = Spool::open(&dir).unwrap();
        assert_eq!(removed, 1);
        assert!(!dead.exists());
        assert!(live.path().exists());
        assert!(fresh.exists());
        assert!(other.exists());
        let live_path = live.path().to_path_buf();
        drop(live);
        assert!(!live_path.exists(), "a spool file is removed when dropped");
    }
}
