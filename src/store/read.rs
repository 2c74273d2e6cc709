//! Reading the store: certificates with their parsed validity, and what
//! each host is recorded to have.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Failure to read the store. The store is never guessed at: an unreadable
/// entry stops the run rather than risking a needless re-issue.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file is not what certbridge wrote.
    #[error("cannot parse {}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A certificate file holds no parsable certificate.
    #[error("{} holds no valid certificate: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// One certificate version in the store.
#[derive(Debug, Clone, Serialize)]
pub struct StoredCert {
    /// The certificate key.
    pub key: String,
    /// Version folder name.
    pub version: String,
    /// Folder holding the files.
    pub dir: PathBuf,
    /// Names the certificate covers (SANs, in order).
    pub domains: Vec<String>,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// Serial number, hex.
    pub serial: String,
    /// Issuer's distinguished name.
    pub issuer: String,
}

/// What certbridge recorded about one host.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostRecord {
    /// Per certificate key: the deployed version and file checksums.
    #[serde(default)]
    pub deployed: BTreeMap<String, Deployed>,
    /// Handlers that fired but have not yet succeeded.
    #[serde(default)]
    pub pending_handlers: Vec<String>,
    /// The last failure on this host, if the last attempt failed.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// A certificate as deployed on a host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Deployed {
    /// Store version that was uploaded.
    pub version: String,
    /// File name to SHA-256 (hex) as verified after upload.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// When.
    pub at: Timestamp,
}

/// A read-only snapshot of the store.
#[derive(Debug, Clone, Default)]
pub struct StoreView {
    /// The folder read.
    pub root: PathBuf,
    /// Current version of each certificate.
    pub certs: BTreeMap<String, StoredCert>,
    /// Host records.
    pub hosts: BTreeMap<String, HostRecord>,
}

impl StoreView {
    /// Read the store at `root`; a missing folder is an empty store.
    pub fn read(root: &Path) -> Result<StoreView, StoreError> {
        let mut view = StoreView {
            root: root.to_path_buf(),
            ..StoreView::default()
        };
        for key in list_dir(&root.join("certs"))? {
            let dir = root.join("certs").join(&key);
            let current = dir.join("current");
            let version = match std::fs::read_to_string(&current) {
                Ok(v) => v.trim().to_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(StoreError::Io {
                        path: current,
                        source,
                    });
                }
            };
            let vdir = dir.join(&version);
            let cert = parse_cert(&key, &version, &vdir)?;
            view.certs.insert(key, cert);
        }
        for file in list_dir(&root.join("hosts"))? {
            let Some(host) = file.strip_suffix(".json") else {
                continue;
            };
            if let Some(record) = read_host(root, host)? {
                view.hosts.insert(host.to_owned(), record);
            }
        }
        Ok(view)
    }

    /// What the store says `host` has of `cert_key`.
    pub fn deployed(&self, host: &str, cert_key: &str) -> Option<&Deployed> {
        self.hosts.get(host)?.deployed.get(cert_key)
    }
}

/// One host's record, without reading the rest of the store.
pub fn read_host(root: &Path, host: &str) -> Result<Option<HostRecord>, StoreError> {
    let path = root.join("hosts").join(format!("{host}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::Io { path, source }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| StoreError::Json { path, source })
}

fn list_dir(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StoreError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// Parse `cert.pem` (the leaf) of a version folder.
pub(crate) fn parse_cert(key: &str, version: &str, dir: &Path) -> Result<StoredCert, StoreError> {
    let path = dir.join("cert.pem");
    let pem = std::fs::read(&path).map_err(|source| StoreError::Io {
        path: path.clone(),
        source,
    })?;
    let info = crate::x509::leaf_info(&pem).map_err(|reason| StoreError::Pem { path, reason })?;
    Ok(StoredCert {
        key: key.to_owned(),
        version: version.to_owned(),
        dir: dir.to_path_buf(),
        domains: info.sans,
        not_before: info.not_before,
        not_after: info.not_after,
        serial: info.serial,
        issuer: info.issuer,
    })
}
