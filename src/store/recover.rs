//! Repairs after a run that died mid-way (`kill -9`, power loss): the
//! store's own records are brought in line with what is known to have
//! happened, so nothing is ordered, stored or run twice by mistake and
//! nothing that should run is forgotten.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::read::{Deployed, StoreView, read_host};
use super::write::{CertMeta, Store, StoreWriteError};

impl Store {
    /// Remove temp files and folders that a killed writer left (every
    /// write goes through one, and only the lock holder writes, so any
    /// found by the new holder are dead).
    pub(super) fn sweep_temp(&self) {
        let mut dirs = vec![self.root().to_path_buf()];
        for sub in ["orders", "hosts", "dns", "certs"] {
            dirs.push(self.root().join(sub));
        }
        let certs = std::fs::read_dir(self.root().join("certs"))
            .into_iter()
            .flatten();
        dirs.extend(certs.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        for dir in dirs {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let temp =
                    name.starts_with(".tmp") || (name.starts_with('.') && name.ends_with(".tmp"));
                if !temp {
                    continue;
                }
                let p = e.path();
                let r = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                match r {
                    Ok(()) => {
                        tracing::info!(path = %p.display(), "removed a temp file a killed run left");
                    }
                    Err(e) => {
                        tracing::warn!(path = %p.display(), error = %e, "cannot remove a stale temp file");
                    }
                }
            }
        }
    }

    /// Forget journaled orders whose certificate is already the stored
    /// current version (the run died between storing it and forgetting the
    /// order). Resuming such an order at the next renewal would download
    /// and store the old certificate again instead of ordering a new one.
    pub fn prune_journal(&self, view: &StoreView) {
        for entry in self.journaled() {
            let Some(stored) = view.certs.get(&entry.cert) else {
                continue;
            };
            let meta = std::fs::read_to_string(stored.dir.join("meta.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<CertMeta>(&t).ok());
            if meta.and_then(|m| m.order_url).as_deref() == Some(entry.order_url.as_str()) {
                tracing::info!(cert = %entry.cert, url = %entry.order_url, "forgetting an order that was already stored");
                if let Err(e) = self.forget_order(&entry.cert) {
                    tracing::warn!(cert = %entry.cert, error = %e, "could not forget the order");
                }
            }
        }
    }

    /// Record that `host` has `version` of `cert` (seen on the host, not
    /// recorded: the run died between the switch and the record) and mark
    /// `handler` pending, since it cannot have run for these files.
    pub fn adopt_deployment(
        &self,
        host: &str,
        cert: &str,
        version: &str,
        files: BTreeMap<String, String>,
        handler: &str,
    ) -> Result<(), StoreWriteError> {
        // An unreadable record is replaced: this one says what the host has.
        let mut record = read_host(self.root(), host)
            .ok()
            .flatten()
            .unwrap_or_default();
        record.deployed.insert(
            cert.to_owned(),
            Deployed {
                version: version.to_owned(),
                files,
                at: Timestamp::now(),
            },
        );
        if !record.pending_handlers.iter().any(|h| h == handler) {
            record.pending_handlers.push(handler.to_owned());
        }
        self.save_host(host, &record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::JournalEntry;

    #[test]
    fn a_stored_order_is_forgotten_and_a_pending_one_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let meta = |url: &str| CertMeta {
            cert: "web-main".into(),
            host: "web.example.org".into(),
            domains: vec!["web.example.org".into()],
            directory: "https://ca/dir".into(),
            stored: Timestamp::UNIX_EPOCH,
            order_url: Some(url.into()),
        };
        let (key, leaf, ca) = crate::acme::selfsign::issue(
            &["web.example.org".to_owned()],
            crate::config::KeyType::EcdsaP256,
        )
        .expect("self-sign");
        store
            .save_cert(crate::store::NewVersion {
                key: "web-main",
                version: "v1",
                key_pem: &key,
                cert_pem: &leaf,
                chain_pem: &ca,
                meta: &meta("https://ca/order/1"),
            })
            .expect("save");
        let entry = |cert: &str, url: &str| JournalEntry {
            cert: cert.into(),
            host: "web.example.org".into(),
            domains: vec!["web.example.org".into()],
            directory: "https://ca/dir".into(),
            order_url: url.into(),
            key_pem: None,
            created: Timestamp::UNIX_EPOCH,
        };
        store
            .journal(&entry("web-main", "https://ca/order/1"))
            .expect("journal");
        store
            .journal(&entry("db-main", "https://ca/order/2"))
            .expect("journal");
        let view = StoreView::read(dir.path()).expect("read");
        store.prune_journal(&view);
        let left: Vec<String> = store.journaled().into_iter().map(|e| e.cert).collect();
        assert_eq!(left, ["db-main"]);

        // A new order for the same certificate (a renewal in flight) stays.
        store
            .journal(&entry("web-main", "https://ca/order/3"))
            .expect("journal");
        store.prune_journal(&view);
        assert_eq!(store.journaled().len(), 2);
    }

    #[test]
    fn temp_files_of_a_killed_writer_are_swept_when_the_lock_is_taken() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(Store::open(dir.path()).expect("open"));
        let left = [
            dir.path().join("orders/.tmpAbC123"),
            dir.path().join("hosts/.tmpXyZ"),
            dir.path().join("certs/web-main/.v2.tmp/key.pem"),
        ];
        for p in &left {
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, "x").expect("write");
        }
        std::fs::write(dir.path().join("orders/web-main.json"), "{}").expect("write");
        drop(Store::open(dir.path()).expect("open"));
        assert!(!left[0].exists() && !left[1].exists());
        assert!(!dir.path().join("certs/web-main/.v2.tmp").exists());
        assert!(dir.path().join("orders/web-main.json").exists());
    }

    #[test]
    fn an_unrecorded_landing_is_recorded_with_its_handler_pending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let files = BTreeMap::from([("a.key".to_owned(), "00".to_owned())]);
        for _ in 0..2 {
            store
                .adopt_deployment(
                    "web",
                    "web-main",
                    "v2",
                    files.clone(),
                    "letsencrypt updated web-main",
                )
                .expect("adopt");
        }
        let rec = read_host(dir.path(), "web").expect("read").expect("record");
        assert_eq!(rec.deployed["web-main"].version, "v2");
        assert_eq!(rec.pending_handlers, ["letsencrypt updated web-main"]);
    }
}
