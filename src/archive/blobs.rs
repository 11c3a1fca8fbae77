//! The blob store: original documents and sealed results, on local files by default (any
//! `object_store` backend, e.g. S3, for scale).
//!
//! Large results are stored from a file without being read into memory
//! ([`Blobs::put_file_create`]): on the local store the file is hard-linked under its key
//! after an fsync (no copy), otherwise it is streamed as a multipart upload to a staging key
//! under `uploads/` and copied create-only under its key. Either way the key appears only
//! complete, and never replaces an existing blob.
//!
//! Owns: where bytes live and their keys. Must not: interpret the bytes (PDF, XML) or know
//! job state.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use bytes::Bytes;
use futures::StreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt as _;

/// Prefix of the staging keys of streamed uploads.
const UPLOADS: &str = "uploads";
/// Part size of a streamed upload (S3's smallest part); parts in flight at once.
const PART: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;
/// Chunk size for hashing a local file.
const HASH_CHUNK: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob store error: {0}")]
    Store(#[from] object_store::Error),
    #[error("blob key {0:?} is invalid")]
    Key(String),
    #[error("cannot prepare blob directory {0}: {1}")]
    Dir(String, std::io::Error),
    #[error("blob file I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl BlobError {
    /// A create-only write found the blob already there.
    pub fn already_exists(&self) -> bool {
        matches!(
            self,
            BlobError::Store(object_store::Error::AlreadyExists { .. })
        )
    }
}

#[derive(Clone)]
pub struct Blobs {
    inner: Arc<dyn ObjectStore>,
    /// The same store when it is local files: files can then be linked in and synced.
    local: Option<Arc<LocalFileSystem>>,
}

impl Blobs {
    /// Local files under `dir` (created if missing). Writes go to a temporary file and are
    /// renamed into place, so a crash never leaves a half-written blob under its key.
    pub fn local(dir: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| BlobError::Dir(dir.display().to_string(), e))?;
        let fs = Arc::new(LocalFileSystem::new_with_prefix(dir)?);
        Ok(Blobs {
            inner: fs.clone(),
            local: Some(fs),
        })
    }

    fn key(k: &str) -> Result<ObjectPath, BlobError> {
        ObjectPath::parse(k).map_err(|_| BlobError::Key(k.to_string()))
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.inner
            .put(&Self::key(key)?, PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    /// Writes with a mode; `PutMode::Create` refuses to replace an existing blob.
    pub async fn put_mode(&self, key: &str, bytes: Bytes, mode: PutMode) -> Result<(), BlobError> {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        self.inner
            .put_opts(&Self::key(key)?, PutPayload::from_bytes(bytes), opts)
            .await?;
        Ok(())
    }

    /// Stores the file at `path` under `key`, create-only like
    /// [`put_mode`](Self::put_mode)`(…, PutMode::Create)` (an existing blob makes it fail with
    /// [`BlobError::already_exists`]), without reading the file into memory. The blob is durable
    /// when this returns (local store: the data is fsynced before the key names it, and the
    /// directory after). Returns the hex SHA-256 of the stored content. The file must not change
    /// meanwhile; it stays where it is (on the local store it may now share its data with the
    /// blob: never write to it again).
    pub async fn put_file_create(&self, key: &str, path: &Path) -> Result<String, BlobError> {
        let location = Self::key(key)?;
        if let Some(local) = &self.local {
            let dest = local.path_to_filesystem(&location)?;
            let src = path.to_path_buf();
            let linked = tokio::task::spawn_blocking(move || link_create(&src, &dest))
                .await
                .map_err(|e| std::io::Error::other(format!("linking task failed: {e}")))?;
            match linked {
                Ok(Some(sha)) => return Ok(sha),
                // Another file system (or links not allowed): copy it in instead.
                Ok(None) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(object_store::Error::AlreadyExists {
                        path: key.to_string(),
                        source: Box::new(e),
                    }
                    .into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.put_stream_create(&location, path).await
    }

    /// [`put_file_create`](Self::put_file_create) by streaming: a multipart upload of `path`
    /// to a fresh staging key under `uploads/`, then a create-only copy under `location`; the
    /// staging object is removed either way.
    async fn put_stream_create(
        &self,
        location: &ObjectPath,
        path: &Path,
    ) -> Result<String, BlobError> {
        let staging = Self::key(&format!("{UPLOADS}/{}", uuid::Uuid::new_v4()))?;
        let mut file = tokio::fs::File::open(path).await?;
        let mut upload =
            WriteMultipart::new_with_chunk_size(self.inner.put_multipart(&staging).await?, PART);
        let mut sha = digest::Context::new(&digest::SHA256);
        let read = async {
            loop {
                let mut part = vec![0u8; PART];
                let mut filled = 0;
                while filled < PART {
                    let n = file.read(&mut part[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                part.truncate(filled);
                if part.is_empty() {
                    return Ok::<_, BlobError>(());
                }
                sha.update(&part);
                upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                upload.put(Bytes::from(part));
            }
        }
        .await;
        if let Err(e) = read {
            let _ = upload.abort().await;
            return Err(e);
        }
        upload.finish().await?;
        let stored = async {
            self.sync_local(&staging).await?;
            self.inner.copy_if_not_exists(&staging, location).await?;
            self.sync_local_dir(location).await
        }
        .await;
        let _ = self.inner.delete(&staging).await;
        stored?;
        Ok(hex::encode(sha.finish().as_ref()))
    }

    /// Local store: fsyncs the file of `location`.
    async fn sync_local(&self, location: &ObjectPath) -> Result<(), BlobError> {
        if let Some(local) = &self.local {
            let path = local.path_to_filesystem(location)?;
            tokio::task::spawn_blocking(move || std::fs::File::open(path)?.sync_all())
                .await
                .map_err(|e| std::io::Error::other(format!("sync task failed: {e}")))??;
        }
        Ok(())
    }

    /// Local store: fsyncs the directory holding `location` (its new name).
    async fn sync_local_dir(&self, location: &ObjectPath) -> Result<(), BlobError> {
        if let Some(local) = &self.local {
            let path = local.path_to_filesystem(location)?;
            tokio::task::spawn_blocking(move || sync_parent(&path))
                .await
                .map_err(|e| std::io::Error::other(format!("sync task failed: {e}")))??;
        }
        Ok(())
    }

    /// The hex SHA-256 of the blob under `key`, read in chunks (never whole into memory);
    /// `None` when no blob has that key.
    pub async fn sha256_opt(&self, key: &str) -> Result<Option<String>, BlobError> {
        let location = Self::key(key)?;
        if let Some(local) = &self.local {
            let path = local.path_to_filesystem(&location)?;
            let hashed = tokio::task::spawn_blocking(move || sha256_file(&path))
                .await
                .map_err(|e| std::io::Error::other(format!("hashing task failed: {e}")))?;
            return match hashed {
                Ok(sha) => Ok(Some(sha)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
        let mut stream = match self.inner.get(&location).await {
            Ok(r) => r.into_stream(),
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut sha = digest::Context::new(&digest::SHA256);
        while let Some(chunk) = stream.next().await {
            sha.update(&chunk?);
        }
        Ok(Some(hex::encode(sha.finish().as_ref())))
    }

    /// Removes staging objects of streamed uploads older than `older_than` (left by a process
    /// that died mid-upload; younger ones may belong to a live process sharing the store).
    /// Returns how many were removed.
    pub fn remove_stale_uploads(&self, older_than: Duration) -> Result<usize, BlobError> {
        let Some(local) = &self.local else {
            return Ok(0);
        };
        let dir = local.path_to_filesystem(&Self::key(UPLOADS)?)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            let meta = entry.metadata()?;
            let old = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age >= older_than);
            if meta.is_file() && old {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(removed)
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        Ok(self.inner.get(&Self::key(key)?).await?.bytes().await?)
    }

    /// The blob as a stream of chunks with its size, so a large document is served
    /// without being read into memory.
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<
        (
            u64,
            futures::stream::BoxStream<'static, Result<Bytes, object_store::Error>>,
        ),
        BlobError,
    > {
        let r = self.inner.get(&Self::key(key)?).await?;
        Ok((r.meta.size, r.into_stream()))
    }

    /// `None` when no blob has that key.
    pub async fn get_opt(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        match self.inner.get(&Self::key(key)?).await {
            Ok(r) => Ok(Some(r.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn ping(&self) -> Result<(), BlobError> {
        // Listing nothing under a key that never exists exercises the backend cheaply.
        match self.inner.head(&Self::key("health/probe")?).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The local half of [`Blobs::put_file_create`]: hashes and fsyncs `src`, hard-links it as
/// `dest` (failing with `AlreadyExists` when `dest` exists) and fsyncs `dest`'s directory.
/// `Ok(None)` when `src` cannot be linked there (another file system, links not permitted).
fn link_create(src: &Path, dest: &Path) -> std::io::Result<Option<String>> {
    let sha = sha256_file(src)?;
    std::fs::File::open(src)?.sync_all()?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::hard_link(src, dest) {
        Ok(()) => {}
        // EXDEV; EPERM/EACCES on file systems without hard links.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::CrossesDevices | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    sync_parent(dest)?;
    Ok(Some(sha))
}

/// fsyncs the directory holding `path`.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

/// The hex SHA-256 of the file at `path`, read in chunks.
fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut sha = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; HASH_CHUNK];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    Ok(hex::encode(sha.finish().as_ref()))
}

/// Key of a job's original document.
pub fn document_key(job_id: &str, doc_id: &str) -> String {
    format!("jobs/{job_id}/documents/{doc_id}.pdf")
}

/// Key of a job's sealed PAdES.
pub fn sealed_key(job_id: &str) -> String {
    format!("jobs/{job_id}/sealed.pdf")
}

/// Key of one signer's XAdES evidence record (`sealing::evidence`).
pub fn evidence_key(job_id: &str, signer_id: &str) -> String {
    format!("jobs/{job_id}/signers/{signer_id}/evidence.xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn roundtrip_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let b = Blobs::local(dir.path()).unwrap();
        b.put("jobs/a/documents/b.pdf", Bytes::from_static(b"%PDF-1.7"))
            .await
            .unwrap();
        assert_eq!(
            &b.get("jobs/a/documents/b.pdf").await.unwrap()[..],
            b"%PDF-1.7"
        );
        assert!(b.get_opt("jobs/a/none").await.unwrap().is_none());
        assert!(b.put("../escape", Bytes::new()).await.is_err());
    }

    fn sha(data: &[u8]) -> String {
        hex::encode(digest::digest(&digest::SHA256, data).as_ref())
    }

    /// A file larger than one upload part, not a multiple of it.
    fn big_file(dir: &Path) -> (PathBuf, Vec<u8>) {
        let data: Vec<u8> = (0..PART * 2 + 12_345).map(|i| (i % 251) as u8).collect();
        let path = dir.join("spooled");
        std::fs::write(&path, &data).unwrap();
        (path, data)
    }

    #[tokio::test]
    async fn files_are_linked_in_create_only() {
        let dir = tempfile::tempdir().unwrap();
        let b = Blobs::local(&dir.path().join("blobs")).unwrap();
        let (path, data) = big_file(dir.path());
        let key = "jobs/x/sealed.pdf";
        assert_eq!(b.sha256_opt(key).await.unwrap(), None);
        assert_eq!(b.put_file_create(key, &path).await.unwrap(), sha(&data));
        assert_eq!(b.get(key).await.unwrap().as_ref(), data.as_slice());
        assert_eq!(b.sha256_opt(key).await.unwrap(), Some(sha(&data)));
        // Same file system: linked, not copied.
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().nlink(), 2);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(b.get(key).await.unwrap().as_ref(), data.as_slice());
        // Create-only: a second file under the same key is refused, the first stays.
        std::fs::write(&path, b"other").unwrap();
        let err = b.put_file_create(key, &path).await.unwrap_err();
        assert!(err.already_exists(), "{err}");
        assert_eq!(b.sha256_opt(key).await.unwrap(), Some(sha(&data)));
    }

    #[tokio::test]
    async fn files_are_streamed_in_create_only() {
        let dir = tempfile::tempdir().unwrap();
        let b = Blobs::local(&dir.path().join("blobs")).unwrap();
        let (path, data) = big_file(dir.path());
        let key = "jobs/y/sealed.pdf";
        let location = Blobs::key(key).unwrap();
        assert_eq!(
            b.put_stream_create(&location, &path).await.unwrap(),
            sha(&data)
        );
        assert_eq!(b.get(key).await.unwrap().as_ref(), data.as_slice());
        std::fs::write(&path, b"other").unwrap();
        let err = b.put_stream_create(&location, &path).await.unwrap_err();
        assert!(err.already_exists(), "{err}");
        assert_eq!(b.get(key).await.unwrap().as_ref(), data.as_slice());
        // No staging object is left behind, after success or refusal.
        let staging = dir.path().join("blobs").join(UPLOADS);
        let left: Vec<_> = std::fs::read_dir(&staging)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn stale_uploads_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let b = Blobs::local(&dir.path().join("blobs")).unwrap();
        let staging = dir.path().join("blobs").join(UPLOADS);
        std::fs::create_dir_all(&staging).unwrap();
        let old = staging.join("0190-old#1");
        let young = staging.join("0190-young");
        std::fs::write(&old, b"partial").unwrap();
        std::fs::write(&young, b"in flight").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
        assert_eq!(
            b.remove_stale_uploads(Duration::from_secs(3600)).unwrap(),
            1
        );
        assert!(!old.exists());
        assert!(young.exists());
    }
}
