//! ACME: accounts, orders, challenges, finalization (instant-acme), plus
//! fresh keys and CSRs (rcgen) and the self-signed mode.
//!
//! Everything here is driven by `issue.rs`, which decides the order of
//! operations; this module only talks to the CA.

pub mod account;
pub mod ari;
pub mod http;
pub mod keys;
pub mod order;
pub mod ratelimit;
pub mod selfsign;

/// Failures talking to the CA. Each carries the certificate (or directory)
/// it concerns, so one failure never hides which order it hit.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The account could not be created or loaded.
    #[error("ACME account at {directory}")]
    Account {
        /// Directory URL.
        directory: String,
        /// The client's error.
        #[source]
        source: instant_acme::Error,
    },
    /// The TLS trust for the ACME server could not be set up.
    #[error("TLS trust for {directory}: {reason}")]
    TrustRoot {
        /// Directory URL.
        directory: String,
        /// What was wrong (names the file).
        reason: String,
    },
    /// The stored account file is unreadable.
    #[error("stored ACME account {path} is unreadable")]
    StoredAccount {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Creating, resuming or polling an order failed.
    #[error("{step} for {cert}")]
    Order {
        /// Certificate key.
        cert: String,
        /// What was being done.
        step: &'static str,
        /// The client's error (the CA's problem document, if any).
        #[source]
        source: instant_acme::Error,
    },
    /// The CA did not answer in time.
    #[error("{step} for {cert}: the CA did not answer within {seconds}s")]
    Timeout {
        /// Certificate key.
        cert: String,
        /// What was being done.
        step: &'static str,
        /// The limit.
        seconds: u64,
    },
    /// The CA offered no dns-01 challenge for a name.
    #[error("the CA offers no dns-01 challenge for {name} ({cert})")]
    NoDns01 {
        /// Certificate key.
        cert: String,
        /// The name.
        name: String,
    },
    /// An authorization is in a state that cannot be completed.
    #[error("authorization for {name} ({cert}) is {status}")]
    Authorization {
        /// Certificate key.
        cert: String,
        /// The name.
        name: String,
        /// Its status.
        status: String,
    },
    /// Validation failed at the CA.
    #[error("validation failed for {cert}: {detail}")]
    Invalid {
        /// Certificate key.
        cert: String,
        /// What the CA said, per name.
        detail: String,
    },
    /// Making the key or CSR failed.
    #[error("key or CSR for {cert}")]
    Key {
        /// Certificate key.
        cert: String,
        /// Why.
        #[source]
        source: rcgen::Error,
    },
    /// The new key could not be journaled, so the order is not finalized:
    /// a crash after finalizing would leave a certificate without its key.
    #[error("journaling the key for {cert} before finalizing")]
    Journal {
        /// Certificate key.
        cert: String,
        /// Why.
        #[source]
        source: crate::store::StoreWriteError,
    },
    /// The CA's certificate chain could not be used.
    #[error("the CA returned an unusable certificate for {cert}: {why}")]
    Chain {
        /// Certificate key.
        cert: String,
        /// Why.
        why: String,
    },
}

impl AcmeError {
    /// The ACME problem detail, when the CA sent one.
    pub fn problem_detail(&self) -> Option<&str> {
        match self {
            AcmeError::Account { source, .. } | AcmeError::Order { source, .. } => match source {
                instant_acme::Error::Api(p) => p.detail.as_deref(),
                _ => None,
            },
            _ => None,
        }
    }

    /// The ACME problem type, when the CA sent one.
    pub fn problem_type(&self) -> Option<&str> {
        match self {
            AcmeError::Account { source, .. } | AcmeError::Order { source, .. } => match source {
                instant_acme::Error::Api(p) => p.r#type.as_deref(),
                _ => None,
            },
            _ => None,
        }
    }
}

/// `urn:ietf:params:acme:error:` problem types certbridge reacts to.
pub mod problem {
    /// The CA does not know the account (e.g. a test CA restarted).
    pub const ACCOUNT_DOES_NOT_EXIST: &str = "urn:ietf:params:acme:error:accountDoesNotExist";
    /// ARI: the certificate named in `replaces` was already replaced.
    pub const ALREADY_REPLACED: &str = "urn:ietf:params:acme:error:alreadyReplaced";
    /// Rate limited.
    pub const RATE_LIMITED: &str = "urn:ietf:params:acme:error:rateLimited";
}
