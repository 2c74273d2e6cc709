//! Storing certificate versions, many at once: `certs/<key>/<version>/`
//! with its five files, then `certs/<key>/current` naming it.
//!
//! A pulse stores up to hundreds of certificates within a second. Syncing
//! every file, folder and `current` one by one cost nine flushes per
//! certificate, and on a virtual disk each flush is a trip to the host, so
//! storing 200 certificates took longer than ordering them. Here a batch
//! takes three flushes of the whole filesystem (`syncfs`), one after each
//! step, and the order of the steps is what keeps a crash harmless:
//!
//! 1. every version's files are written into `.<version>.tmp`, and flushed;
//! 2. each temp folder is renamed to `<version>`, and flushed;
//! 3. each `current` is replaced to name its new version, and flushed.
//!
//! A crash before step 3 is flushed leaves each `current` naming its old
//! version, or the new one whose files are already on disk; a temp folder
//! left behind is swept at the next start. Nothing is reported stored
//! before its last flush returned.

use std::fs::{self, File};
use std::path::PathBuf;

use super::write::{CertMeta, Store, StoreWriteError, io, json, mkdir, replace, write_new};

/// One certificate version to store.
#[derive(Clone, Copy)]
pub struct NewVersion<'a> {
    /// Certificate key (its folder under `certs/`).
    pub key: &'a str,
    /// Version name (its folder under `certs/<key>/`).
    pub version: &'a str,
    /// Private key PEM.
    pub key_pem: &'a str,
    /// Leaf certificate PEM.
    pub cert_pem: &'a str,
    /// Intermediates PEM.
    pub chain_pem: &'a str,
    /// Metadata.
    pub meta: &'a CertMeta,
}

impl std::fmt::Debug for NewVersion<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewVersion")
            .field("key", &self.key)
            .field("version", &self.version)
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Store one new certificate version and make it current.
    pub fn save_cert(&self, version: NewVersion<'_>) -> Result<PathBuf, StoreWriteError> {
        self.save_certs(&[version])
            .pop()
            .unwrap_or_else(|| Err(io(self.root())(std::io::ErrorKind::Other.into())))
    }

    /// Store every version of `batch` and make each current (see the module
    /// comment); one result per item, in order. A failed item does not stop
    /// the others.
    pub fn save_certs(&self, batch: &[NewVersion<'_>]) -> Vec<Result<PathBuf, StoreWriteError>> {
        let mut staged: Vec<Result<Staged, StoreWriteError>> =
            batch.iter().map(|v| self.stage(v)).collect();
        self.flush(&mut staged);
        for s in staged.iter_mut() {
            if let Ok(st) = s
                && let Err(e) = st.rename()
            {
                *s = Err(e);
            }
        }
        self.flush(&mut staged);
        for (s, v) in staged.iter_mut().zip(batch) {
            if let Ok(st) = s
                && let Err(e) = replace(
                    &st.dir.join("current"),
                    format!("{}\n", v.version).as_bytes(),
                    false,
                )
            {
                *s = Err(e);
            }
        }
        self.flush(&mut staged);
        staged.into_iter().map(|s| s.map(|st| st.vdir)).collect()
    }

    /// Write one version's files into its temp folder.
    fn stage(&self, v: &NewVersion<'_>) -> Result<Staged, StoreWriteError> {
        let dir = self.root().join("certs").join(v.key);
        mkdir(&dir)?;
        let tmp = dir.join(format!(".{}.tmp", v.version));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        mkdir(&tmp)?;
        write_new(&tmp.join("key.pem"), v.key_pem.as_bytes())?;
        write_new(&tmp.join("cert.pem"), v.cert_pem.as_bytes())?;
        write_new(&tmp.join("chain.pem"), v.chain_pem.as_bytes())?;
        write_new(
            &tmp.join("fullchain.pem"),
            format!("{}{}", v.cert_pem, v.chain_pem).as_bytes(),
        )?;
        write_new(
            &tmp.join("meta.json"),
            &json(&tmp.join("meta.json"), v.meta)?,
        )?;
        let vdir = dir.join(v.version);
        Ok(Staged { dir, tmp, vdir })
    }

    /// Flush the store's filesystem; on failure every item still in the
    /// batch fails with the reason, since none of it is known to be on disk.
    fn flush(&self, staged: &mut [Result<Staged, StoreWriteError>]) {
        if staged.iter().all(Result::is_err) {
            return;
        }
        let root = self.root();
        let Err(e) = File::open(root).and_then(|d| rustix::fs::syncfs(&d).map_err(Into::into))
        else {
            return;
        };
        for s in staged.iter_mut().filter(|s| s.is_ok()) {
            *s = Err(io(root)(std::io::Error::new(e.kind(), e.to_string())));
        }
    }
}

/// A version written into its temp folder.
struct Staged {
    dir: PathBuf,
    tmp: PathBuf,
    vdir: PathBuf,
}

impl Staged {
    /// Put the temp folder in place as the version folder.
    fn rename(&self) -> Result<(), StoreWriteError> {
        if self.vdir.exists() {
            fs::remove_dir_all(&self.vdir).map_err(io(&self.vdir))?;
        }
        fs::rename(&self.tmp, &self.vdir).map_err(io(&self.vdir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn meta(cert: &str) -> CertMeta {
        CertMeta {
            cert: cert.into(),
            host: "web.example.org".into(),
            domains: vec!["web.example.org".into()],
            directory: "https://ca/dir".into(),
            stored: Timestamp::UNIX_EPOCH,
            order_url: None,
        }
    }

    #[test]
    fn a_batch_stores_every_version_and_makes_each_current() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let metas: Vec<CertMeta> = (0..3).map(|i| meta(&format!("c{i}"))).collect();
        let keys: Vec<String> = (0..3).map(|i| format!("c{i}")).collect();
        let batch: Vec<NewVersion<'_>> = keys
            .iter()
            .zip(&metas)
            .map(|(k, m)| NewVersion {
                key: k,
                version: "v2",
                key_pem: "KEY\n",
                cert_pem: "LEAF\n",
                chain_pem: "CA\n",
                meta: m,
            })
            .collect();
        let results = store.save_certs(&batch);
        assert_eq!(results.len(), 3);
        for (k, r) in keys.iter().zip(results) {
            let vdir = r.expect("stored");
            assert_eq!(vdir, dir.path().join("certs").join(k).join("v2"));
            assert_eq!(
                fs::read_to_string(vdir.join("fullchain.pem")).expect("read"),
                "LEAF\nCA\n"
            );
            assert_eq!(
                fs::read_to_string(dir.path().join("certs").join(k).join("current")).expect("read"),
                "v2\n"
            );
            assert!(!dir.path().join("certs").join(k).join(".v2.tmp").exists());
        }
    }

    #[test]
    fn a_failed_item_fails_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        // A plain file where the second certificate's folder must go.
        fs::write(dir.path().join("certs").join("blocked"), "x").expect("write");
        let (ma, mb) = (meta("ok"), meta("blocked"));
        let item = |key, meta| NewVersion {
            key,
            version: "v1",
            key_pem: "KEY\n",
            cert_pem: "LEAF\n",
            chain_pem: "CA\n",
            meta,
        };
        let results = store.save_certs(&[item("ok", &ma), item("blocked", &mb)]);
        assert!(results[0].is_ok(), "{:?}", results[0]);
        let err = results[1].as_ref().expect_err("blocked");
        assert!(err.to_string().contains("blocked"), "{err}");
        assert_eq!(
            fs::read_to_string(dir.path().join("certs/ok/current")).expect("read"),
            "v1\n"
        );
    }
}
