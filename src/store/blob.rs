//! Sealed-job blobs through object_store: a local directory or an S3-compatible bucket.

use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::StoreError;

/// Where blobs live: `store.blob_url`, in the form `config` checks at load.
pub use crate::config::BlobUrl;

/// The blob store used for sealed jobs.
#[derive(Clone)]
pub struct Blobs {
    inner: Arc<dyn ObjectStore>,
    prefix: String,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blobs({})", self.inner)
    }
}

impl Blobs {
    /// # Errors
    /// [`StoreError::Blob`] if the directory cannot be created or S3 is misconfigured.
    pub fn open(url: &BlobUrl) -> Result<Self, StoreError> {
        match url {
            BlobUrl::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Blob(format!("{}: {e}", dir.display())))?;
                // fsync each written blob and its directory: a job row is committed only after
                // its blob, so the blob must survive a power cut too.
                let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| StoreError::Blob(e.to_string()))?
                    .with_fsync(true);
                Ok(Self { inner: Arc::new(fs), prefix: String::new() })
            }
            BlobUrl::S3 { bucket, prefix } => {
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| StoreError::Blob(e.to_string()))?;
                Ok(Self { inner: Arc::new(s3), prefix: prefix.clone() })
            }
        }
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() { ObjectPath::from(key) } else { ObjectPath::from(format!("{}/{key}", self.prefix)) }
    }

    /// # Errors
    /// [`StoreError::Blob`] on failure.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(&self.path(key), PutPayload::from(bytes)).await.map_err(|e| StoreError::Blob(e.to_string()))?;
        Ok(())
    }

    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Blob`].
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let result = self.inner.get(&self.path(key)).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound,
            other => StoreError::Blob(other.to_string()),
        })?;
        let bytes = result.bytes().await.map_err(|e| StoreError::Blob(e.to_string()))?;
        Ok(bytes.to_vec())
    }

    /// Keys under `dir` (e.g. `jobs/`) last written before `cutoff` (Unix seconds).
    ///
    /// # Errors
    /// [`StoreError::Blob`] when listing fails.
    pub async fn list_older_than(&self, dir: &str, cutoff: i64) -> Result<Vec<String>, StoreError> {
        use futures::TryStreamExt;
        let base = self.path(dir.trim_end_matches('/'));
        let strip = if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        let objects: Vec<object_store::ObjectMeta> =
            self.inner.list(Some(&base)).try_collect().await.map_err(|e| StoreError::Blob(e.to_string()))?;
        Ok(objects
            .into_iter()
            .filter(|o| o.last_modified.timestamp() < cutoff)
            .map(|o| o.location.as_ref().strip_prefix(strip.as_str()).unwrap_or(o.location.as_ref()).to_owned())
            .collect())
    }

    /// Deletes a blob; a blob that is already gone is fine (deletion is idempotent).
    ///
    /// # Errors
    /// [`StoreError::Blob`] on other failures.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StoreError::Blob(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blob_urls() {
        assert_eq!(BlobUrl::parse("file:///var/lib/pg").unwrap(), BlobUrl::Local("/var/lib/pg".into()));
        assert_eq!(BlobUrl::parse("file://data/blobs").unwrap(), BlobUrl::Local("data/blobs".into()));
        assert_eq!(BlobUrl::parse("s3://jobs/site-a/").unwrap(), BlobUrl::S3 { bucket: "jobs".into(), prefix: "site-a".into() });
        assert!(BlobUrl::parse("http://x").is_err());
        assert!(BlobUrl::parse("s3://").is_err());
    }
}
