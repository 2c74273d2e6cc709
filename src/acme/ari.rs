//! ACME Renewal Information (RFC 9773): the CA's suggested renewal window
//! for each stored certificate, and the `replaces` identifier for renewals.
//!
//! Read-only (plain GETs with stored account credentials), so `plan` uses
//! it as well as `pulse`. A CA without `renewalInfo` simply yields no window
//! and renewal falls back to `acme.renew_before`.

use std::collections::BTreeMap;

use instant_acme::{Account, AccountCredentials, CertificateIdentifier};
use jiff::Timestamp;
use rustls_pki_types::CertificateDer;

use super::account::{AccountSpec, account_path};
use crate::plan::AriWindow;
use crate::store::StoredCert;

/// The DER of a stored certificate's leaf.
pub fn leaf_der(cert: &StoredCert) -> Option<Vec<u8>> {
    let pem = std::fs::read(cert.dir.join("cert.pem")).ok()?;
    let block = x509_parser::pem::Pem::iter_from_buffer(&pem).next()?.ok()?;
    Some(block.contents)
}

/// The ARI identifier (`AKI.serial`) of a DER certificate.
pub fn identifier(der: &[u8]) -> Option<CertificateIdentifier<'static>> {
    let der = CertificateDer::from(der.to_vec());
    let id = CertificateIdentifier::try_from(&der).ok()?;
    Some(CertificateIdentifier {
        authority_key_identifier: id.authority_key_identifier.into_owned().into(),
        serial: id.serial.into_owned().into(),
    })
}

/// The directory a stored certificate came from (from its `meta.json`).
pub fn directory_of(cert: &StoredCert) -> Option<String> {
    let text = std::fs::read_to_string(cert.dir.join("meta.json")).ok()?;
    let meta: crate::store::CertMeta = serde_json::from_str(&text).ok()?;
    Some(meta.directory).filter(|d| d.starts_with("https://"))
}

/// Fetch the windows of `certs`, per directory with stored credentials.
pub async fn windows(
    store_root: &std::path::Path,
    certs: &[&StoredCert],
    spec_for: impl Fn(&str) -> AccountSpec,
) -> BTreeMap<String, AriWindow> {
    let mut by_dir: BTreeMap<String, Vec<&StoredCert>> = BTreeMap::new();
    for c in certs {
        if let Some(d) = directory_of(c) {
            by_dir.entry(d).or_default().push(c);
        }
    }
    let mut out = BTreeMap::new();
    for (directory, certs) in by_dir {
        let Some(account) = stored_account(store_root, &spec_for(&directory)).await else {
            continue;
        };
        let lookups = certs.iter().map(|c| {
            let account = account.clone();
            async move {
                let id = identifier(&leaf_der(c)?)?;
                match account.renewal_info(&id).await {
                    Ok((info, _retry_after)) => Some((
                        c.key.clone(),
                        AriWindow {
                            start: to_jiff(info.suggested_window.start)?,
                            end: to_jiff(info.suggested_window.end)?,
                        },
                    )),
                    Err(instant_acme::Error::Unsupported(_)) => None,
                    Err(e) => {
                        tracing::warn!(cert = %c.key, error = %e, "no ARI window; falling back to renew_before");
                        None
                    }
                }
            }
        });
        out.extend(
            futures::future::join_all(lookups)
                .await
                .into_iter()
                .flatten(),
        );
    }
    out
}

async fn stored_account(store_root: &std::path::Path, spec: &AccountSpec) -> Option<Account> {
    let text = std::fs::read_to_string(store_root.join(account_path(&spec.directory))).ok()?;
    let creds: AccountCredentials = serde_json::from_str(&text).ok()?;
    super::account::builder(spec)
        .ok()?
        .from_credentials(creds)
        .await
        .ok()
}

fn to_jiff(t: time::OffsetDateTime) -> Option<Timestamp> {
    Timestamp::from_second(t.unix_timestamp()).ok()
}
