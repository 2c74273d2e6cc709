//! The central store under `state_dir` (PRODUCT.md 3.5): plain PEM and JSON
//! files that people can read with standard tools.
//!
//! ```text
//! state_dir/
//!   certbridge.lock                one lock; two pulses never overlap
//!   accounts/<directory-slug>/     ACME account per directory (staging apart)
//!   certs/<cert-key>/current       the name of the current version (one line)
//!   certs/<cert-key>/<version>/    key.pem cert.pem chain.pem fullchain.pem meta.json
//!   orders/<cert-key>.json         an order in flight (resumed after a crash)
//!   hosts/<host>.json              what each host has, and pending handlers
//!   breakers.json                  names on hold after repeated failed validations
//!   dns/serial                     the last serial written to the signing zone
//!   dns/records-published          present while the zone may hold TXT values
//! ```
//!
//! Every write is a temp file in the same folder, fsync, rename; folders are
//! 0700 and keys 0600. This module is the read side the planner and `status`
//! use; a missing store simply means nothing was issued yet.

pub mod breakers;
mod read;
mod recover;
mod versions;
mod write;

pub use read::{Deployed, HostRecord, StoreError, StoreView, StoredCert, read_host};
pub use versions::NewVersion;
pub use write::{CertMeta, JournalEntry, Store, StoreWriteError, mkdir, write_atomic};
