//! The blob store: original documents and sealed results, on local files by default (any
//! `object_store` backend, e.g. S3, for scale).
//!
//! Owns: where bytes live and their keys. Must not: interpret the bytes (PDF, XML) or know
//! job state.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob store error: {0}")]
    Store(#[from] object_store::Error),
    #[error("blob key {0:?} is invalid")]
    Key(String),
    #[error("cannot prepare blob directory {0}: {1}")]
    Dir(String, std::io::Error),
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
}

impl Blobs {
    /// Local files under `dir` (created if missing). Writes go to a temporary file and are
    /// renamed into place, so a crash never leaves a half-written blob under its key.
    pub fn local(dir: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| BlobError::Dir(dir.display().to_string(), e))?;
        let fs = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Blobs {
            inner: Arc::new(fs),
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

    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        Ok(self.inner.get(&Self::key(key)?).await?.bytes().await?)
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
}
