//! Writing the store: one lock, atomic files, certificate versions, the order
//! journal and host records.
//!
//! Every file is written to a temp file in its own folder, synced, renamed
//! over the target, and the folder synced, so a crash (even `kill -9`) leaves
//! either the old or the new file, never half of one. Folders are 0700 and
//! files 0600 whatever the umask, because the store holds private keys.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::read::HostRecord;

/// Failure to write the store or take its lock.
#[derive(Debug, thiserror::Error)]
pub enum StoreWriteError {
    /// Another certbridge run holds the lock.
    #[error("another certbridge run holds the store lock {} ({holder}); nothing was changed", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as written in the lock file.
        holder: String,
    },
    /// A file or folder could not be written.
    #[error("cannot write {}", path.display())]
    Io {
        /// What was being written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Data could not be serialized (a bug).
    #[error("cannot encode {}", path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreWriteError + '_ {
    move |source| StoreWriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The store, locked for writing for as long as this value lives.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    // Held for its lock; the last clone closing the file releases it (the
    // kernel releases it on kill -9 too).
    _lock: std::sync::Arc<File>,
}

/// An order in flight, journaled so a run after a crash resumes it instead
/// of ordering again.
#[derive(Clone, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Certificate key.
    pub cert: String,
    /// Host it is for.
    pub host: String,
    /// Names ordered.
    pub domains: Vec<String>,
    /// ACME directory the order lives on.
    pub directory: String,
    /// Order URL.
    pub order_url: String,
    /// The certificate key (PKCS#8 PEM), written before finalizing so that a
    /// certificate downloaded after a crash still has its key.
    pub key_pem: Option<String>,
    /// When the order was created.
    pub created: Timestamp,
}

// By hand, so that no `{:?}` anywhere can print the private key.
impl std::fmt::Debug for JournalEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalEntry")
            .field("cert", &self.cert)
            .field("host", &self.host)
            .field("domains", &self.domains)
            .field("directory", &self.directory)
            .field("order_url", &self.order_url)
            .field("key_pem", &self.key_pem.as_ref().map(|_| "<redacted>"))
            .field("created", &self.created)
            .finish()
    }
}

/// What is kept next to a stored certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertMeta {
    /// Certificate key.
    pub cert: String,
    /// Host it was issued for.
    pub host: String,
    /// Names in inventory order.
    pub domains: Vec<String>,
    /// Issuing directory (or `self-signed`).
    pub directory: String,
    /// When it was stored.
    pub stored: Timestamp,
    /// Order URL, if from ACME.
    pub order_url: Option<String>,
}

impl Store {
    /// Create the store folders if needed and take the lock, or fail at once
    /// naming the holder.
    pub fn open(root: &Path) -> Result<Store, StoreWriteError> {
        for sub in ["", "certs", "orders", "hosts", "accounts"] {
            mkdir(&root.join(sub))?;
        }
        let path = root.join("certbridge.lock");
        let mut lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        // A lock file created under umask 000 by an older run is fixed too.
        lock.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io(&path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                return Err(StoreWriteError::Locked {
                    path,
                    holder: holder.trim().to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        lock.set_len(0).map_err(io(&path))?;
        let _ = writeln!(
            lock,
            "pid {} since {}",
            std::process::id(),
            Timestamp::now()
        );
        let store = Store {
            root: root.to_path_buf(),
            _lock: std::sync::Arc::new(lock),
        };
        store.sweep_temp();
        Ok(store)
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Journal an order in flight.
    pub fn journal(&self, entry: &JournalEntry) -> Result<(), StoreWriteError> {
        let path = self
            .root
            .join("orders")
            .join(format!("{}.json", entry.cert));
        write_atomic(&path, &json(&path, entry)?)
    }

    /// Orders in flight from earlier runs.
    pub fn journaled(&self) -> Vec<JournalEntry> {
        let dir = self.root.join("orders");
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            match fs::read_to_string(&p).map(|t| serde_json::from_str::<JournalEntry>(&t)) {
                Ok(Ok(entry)) => out.push(entry),
                _ => {
                    tracing::warn!(path = %p.display(), "ignoring an unreadable order journal entry");
                }
            }
        }
        out.sort_by(|a, b| a.cert.cmp(&b.cert));
        out
    }

    /// Forget a journaled order (stored, or abandoned).
    pub fn forget_order(&self, cert: &str) -> Result<(), StoreWriteError> {
        self.forget_orders(&[cert])
    }

    /// Forget several journaled orders with one folder sync. An entry that
    /// outlives a crash here only makes the next pulse look at its order.
    pub fn forget_orders(&self, certs: &[&str]) -> Result<(), StoreWriteError> {
        let mut first_error = None;
        for cert in certs {
            let path = self.root.join("orders").join(format!("{cert}.json"));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    first_error.get_or_insert(io(&path)(e));
                }
            }
        }
        sync_dir(&self.root.join("orders"))?;
        first_error.map_or(Ok(()), Err)
    }

    /// Replace a host's record.
    pub fn save_host(&self, host: &str, record: &HostRecord) -> Result<(), StoreWriteError> {
        let path = self.root.join("hosts").join(format!("{host}.json"));
        write_atomic(&path, &json(&path, record)?)
    }

    /// Write a file under the store root (accounts, DNS serial, ...).
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), StoreWriteError> {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            mkdir(parent)?;
        }
        write_atomic(&path, bytes)
    }

    /// Remove a file under the store root (gone already is fine).
    pub fn remove(&self, rel: &str) -> Result<(), StoreWriteError> {
        let path = self.root.join(rel);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(path.parent().unwrap_or(&self.root)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Read a file under the store root, if present.
    pub fn read(&self, rel: &str) -> Option<String> {
        fs::read_to_string(self.root.join(rel)).ok()
    }
}

pub(super) fn json<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, StoreWriteError> {
    let mut v = serde_json::to_vec_pretty(value).map_err(|source| StoreWriteError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    v.push(b'\n');
    Ok(v)
}

/// Create a folder (and parents) with mode 0700.
pub fn mkdir(path: &Path) -> Result<(), StoreWriteError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io(path))?;
    // An existing folder keeps its mode unless we fix it; the umask must not matter.
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(io(path))
}

/// Create `path` (mode 0600) with `bytes`, unsynced: the caller flushes.
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), StoreWriteError> {
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(path)
        .map_err(io(path))?;
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))
}

/// Atomically replace `path` with `bytes` (mode 0600).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreWriteError> {
    replace(path, bytes, true)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Write a temp file next to `path` and rename it over `path`; `sync`
/// flushes the data first (else the caller flushes, rename included).
pub(super) fn replace(path: &Path, bytes: &[u8], sync: bool) -> Result<(), StoreWriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp")
        .tempfile_in(dir)
        .map_err(io(path))?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io(path))?;
    tmp.write_all(bytes).map_err(io(path))?;
    if sync {
        tmp.as_file().sync_all().map_err(io(path))?;
    }
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    Ok(())
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreWriteError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Store::open(dir.path()).expect("first lock");
        let err = Store::open(dir.path()).expect_err("second must fail");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        Store::open(dir.path()).expect("lock released on drop");
    }

    #[test]
    fn modes_ignore_the_umask() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s")).expect("open");
        store
            .write("accounts/x/account.json", b"{}")
            .expect("write");
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("s")), 0o700);
        assert_eq!(mode(&dir.path().join("s/accounts/x")), 0o700);
        assert_eq!(mode(&dir.path().join("s/accounts/x/account.json")), 0o600);
    }

    fn entry(key_pem: Option<&str>) -> JournalEntry {
        JournalEntry {
            cert: "web-main".into(),
            host: "web.example.org".into(),
            domains: vec!["web.example.org".into()],
            directory: "https://ca/dir".into(),
            order_url: "https://ca/order/1".into(),
            key_pem: key_pem.map(str::to_owned),
            created: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn journal_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let entry = entry(None);
        store.journal(&entry).expect("journal");
        assert_eq!(store.journaled().len(), 1);
        store.forget_order("web-main").expect("forget");
        assert!(store.journaled().is_empty());
    }

    #[test]
    fn debug_never_shows_the_journaled_key() {
        let entry = entry(Some("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n"));
        let shown = format!("{entry:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(
            !shown.contains("PRIVATE KEY") && !shown.contains("c2VjcmV0"),
            "{shown}"
        );
        assert!(shown.contains("https://ca/order/1"), "{shown}");
    }
}
