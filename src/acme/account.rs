//! ACME accounts: one per directory (production and staging apart), kept in
//! the store as instant-acme's credentials (0600), created on first use and
//! re-created when the CA has forgotten them.

use std::path::PathBuf;

use instant_acme::{Account, AccountBuilder, AccountCredentials, ExternalAccountKey, NewAccount};

use super::AcmeError;
use crate::store::Store;

/// How to reach and register with a directory.
#[derive(Clone)]
pub struct AccountSpec {
    /// Directory URL.
    pub directory: String,
    /// `mailto:` and other contact URLs.
    pub contact: Vec<String>,
    /// PEM roots to trust instead of the platform's (test CAs).
    pub trust_roots: Vec<PathBuf>,
    /// External account binding: key id and raw HMAC key.
    pub eab: Option<(String, Vec<u8>)>,
}

// By hand, so that no `{:?}` anywhere can print the EAB HMAC key.
impl std::fmt::Debug for AccountSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountSpec")
            .field("directory", &self.directory)
            .field("contact", &self.contact)
            .field("trust_roots", &self.trust_roots)
            .field("eab_key_id", &self.eab.as_ref().map(|(id, _)| id))
            .finish_non_exhaustive()
    }
}

impl AccountSpec {
    /// The spec for `directory` under this config.
    pub fn from_config(
        config: &crate::config::Config,
        directory: &str,
        contact: &[String],
    ) -> AccountSpec {
        AccountSpec {
            directory: directory.to_owned(),
            contact: contact.to_vec(),
            trust_roots: config.acme.trust_roots.clone(),
            eab: config.acme.eab.clone(),
        }
    }
}

/// The store path of a directory's account.
pub fn account_path(directory: &str) -> String {
    let slug: String = directory
        .trim_start_matches("https://")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("accounts/{}/account.json", slug.trim_matches('-'))
}

/// An account builder using certbridge's HTTP client.
pub fn builder(spec: &AccountSpec) -> Result<AccountBuilder, AcmeError> {
    let http = super::http::client(&spec.trust_roots).map_err(|reason| AcmeError::TrustRoot {
        directory: spec.directory.clone(),
        reason,
    })?;
    Ok(Account::builder_with_http(http))
}

/// Load the stored account for `spec.directory`, or create and store one.
pub async fn load_or_create(store: &Store, spec: &AccountSpec) -> Result<Account, AcmeError> {
    let rel = account_path(&spec.directory);
    if let Some(text) = store.read(&rel) {
        let creds: AccountCredentials =
            serde_json::from_str(&text).map_err(|source| AcmeError::StoredAccount {
                path: store.root().join(&rel).display().to_string(),
                source,
            })?;
        return builder(spec)?
            .from_credentials(creds)
            .await
            .map_err(|source| AcmeError::Account {
                directory: spec.directory.clone(),
                source,
            });
    }
    create(store, spec).await
}

/// Register a new account and store its credentials.
pub async fn create(store: &Store, spec: &AccountSpec) -> Result<Account, AcmeError> {
    let contact: Vec<&str> = spec.contact.iter().map(String::as_str).collect();
    let eab = spec
        .eab
        .as_ref()
        .map(|(kid, key)| ExternalAccountKey::new(kid.clone(), key));
    let (account, creds) = builder(spec)?
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            spec.directory.clone(),
            eab.as_ref(),
        )
        .await
        .map_err(|source| AcmeError::Account {
            directory: spec.directory.clone(),
            source,
        })?;
    let json = serde_json::to_vec_pretty(&creds).map_err(|source| AcmeError::StoredAccount {
        path: account_path(&spec.directory),
        source,
    })?;
    if let Err(e) = store.write(&account_path(&spec.directory), &json) {
        // The account exists at the CA; losing it only costs a new one later.
        tracing::warn!(error = %e, "could not store the new ACME account");
    }
    tracing::info!(directory = %spec.directory, id = %account.id(), "created ACME account");
    Ok(account)
}

/// Decode base64url (with or without padding), as EAB HMAC keys are given.
pub fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in text.trim().trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_paths_are_safe() {
        assert_eq!(
            account_path("https://acme-v02.api.letsencrypt.org/directory"),
            "accounts/acme-v02.api.letsencrypt.org-directory/account.json"
        );
        assert_eq!(
            account_path("https://127.0.0.1:14000/dir"),
            "accounts/127.0.0.1-14000-dir/account.json"
        );
    }

    #[test]
    fn base64url() {
        assert_eq!(decode_base64url("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64url("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64url("_-8").as_deref(), Some(&[0xff, 0xef][..]));
        assert!(decode_base64url("a b").is_none());
    }
}
