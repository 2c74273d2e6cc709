//! One ACME order from creation to certificate, in two halves so that every
//! order's DNS-01 values can go into one zone update in between:
//!
//! 1. [`place`]: create (or resume from the journal) and collect the TXT
//!    values of authorizations that are still pending; already valid
//!    (reused) authorizations need no record. The certificate's fresh key is
//!    made here and journaled with the order URL in one write, so it is on
//!    disk long before finalizing and off the path from `ready` to the CSR.
//! 2. [`complete`]: answer the challenges, wait for `ready`, finalize with a
//!    CSR from the journaled key, and download the chain.

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, Order, OrderStatus,
    RetryPolicy,
};
use jiff::Timestamp;

use super::{AcmeError, keys};
use crate::config::KeyType;
use crate::store::{JournalEntry, Store};

/// What to order.
#[derive(Debug, Clone)]
pub struct OrderJob {
    /// Certificate key.
    pub cert: String,
    /// Host it is for.
    pub host: String,
    /// Names (may start with `*.`).
    pub domains: Vec<String>,
    /// Directory URL.
    pub directory: String,
    /// ACME profile, if any.
    pub profile: Option<String>,
    /// ARI: the certificate this order replaces.
    pub replaces: Option<instant_acme::CertificateIdentifier<'static>>,
}

/// A DNS-01 value to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeValue {
    /// The name as the certificate lists it (`*.x` for a wildcard).
    pub name: String,
    /// The TXT value.
    pub value: String,
}

/// An order between the two halves.
pub struct LiveOrder {
    /// What was ordered.
    pub job: OrderJob,
    order: Order,
    /// Values to publish before answering.
    pub challenges: Vec<ChallengeValue>,
    /// The certificate's key: made with the order, or from the journal.
    key_pem: Option<String>,
    /// True once `key_pem` is in the journal.
    key_journaled: bool,
    /// True when this continues an order from an earlier run.
    pub resumed: bool,
}

impl std::fmt::Debug for LiveOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveOrder")
            .field("job", &self.job)
            .field("url", &self.order.url())
            .field("challenges", &self.challenges.len())
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

/// A finished order.
pub struct Issued {
    /// Private key, PKCS#8 PEM.
    pub key_pem: String,
    /// Full chain PEM as the CA sent it.
    pub chain_pem: String,
    /// The order URL.
    pub order_url: String,
}

fn err<'a>(
    cert: &'a str,
    step: &'static str,
) -> impl FnOnce(instant_acme::Error) -> AcmeError + 'a {
    move |source| AcmeError::Order {
        cert: cert.to_owned(),
        step,
        source,
    }
}

/// Polling for order state: quick at first (Pebble validates in
/// milliseconds), backing off, honouring Retry-After (instant-acme does).
fn retry_policy() -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(100))
        .backoff(1.5)
        .timeout(Duration::from_secs(120))
}

/// Create the order, or resume the journaled one, and collect its values.
///
/// `new_orders` gates the newOrder requests themselves
/// (`acme.max_concurrent_new_orders`): Debian's Pebble 2.4 deadlocks when
/// two arrive at once, while everything around them may overlap.
pub async fn place(
    account: &Account,
    store: &Store,
    job: OrderJob,
    resume: Option<JournalEntry>,
    new_orders: &tokio::sync::Semaphore,
    key_type: KeyType,
) -> Result<LiveOrder, AcmeError> {
    if let Some(entry) = resume.filter(|e| e.domains == job.domains && e.directory == job.directory)
    {
        match account.order(entry.order_url.clone()).await {
            Ok(mut order) => {
                let status = order.state().status;
                if status != OrderStatus::Invalid {
                    tracing::info!(cert = %job.cert, url = %entry.order_url, ?status, "resuming journaled order");
                    let challenges = collect(&mut order, &job.cert).await?;
                    return Ok(LiveOrder {
                        job,
                        order,
                        challenges,
                        key_journaled: entry.key_pem.is_some(),
                        key_pem: entry.key_pem,
                        resumed: true,
                    });
                }
                tracing::info!(cert = %job.cert, "journaled order is invalid; ordering again");
            }
            Err(e) => {
                tracing::info!(cert = %job.cert, error = %e, "journaled order is gone; ordering again");
            }
        }
    }
    let identifiers: Vec<Identifier> = job
        .domains
        .iter()
        .map(|d| Identifier::Dns(d.clone()))
        .collect();
    let new_order = |replaces: bool| {
        let mut new = NewOrder::new(&identifiers);
        if let Some(p) = &job.profile {
            new = new.profile(p);
        }
        if let (true, Some(r)) = (replaces, &job.replaces) {
            new = new.replaces(r.clone());
        }
        new
    };
    let permit = new_orders.acquire().await;
    let created = account.new_order(&new_order(true)).await;
    drop(permit);
    let mut order = match created {
        Ok(o) => o,
        // `replaces` is only a hint: a CA without ARI, or one that says the
        // old certificate was already replaced, gets a plain order.
        Err(e) if job.replaces.is_some() && replaces_refused(&e) => {
            tracing::info!(cert = %job.cert, error = %e, "ordering again without `replaces`");
            let _permit = new_orders.acquire().await;
            account
                .new_order(&new_order(false))
                .await
                .map_err(err(&job.cert, "creating the order"))?
        }
        Err(e) => return Err(err(&job.cert, "creating the order")(e)),
    };
    let key_pem = new_key(&job.cert, key_type).await?;
    // Without the journal a crash would order again next pulse; the order
    // itself still works, so this is only worth a warning. Without the key
    // on disk it must not be finalized, so `complete` journals it again.
    let journaled = match journal(store, &job, order.url(), Some(key_pem.clone())).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(cert = %job.cert, error = %format!("{:#}", anyhow::Error::new(e)), "could not journal the order");
            false
        }
    };
    let challenges = collect(&mut order, &job.cert).await?;
    tracing::debug!(cert = %job.cert, "order placed");
    Ok(LiveOrder {
        job,
        order,
        challenges,
        key_pem: Some(key_pem),
        key_journaled: journaled,
        resumed: false,
    })
}

/// A fresh certificate key (PEM), made off the async threads: an RSA key
/// takes long enough to stall every other order.
async fn new_key(cert: &str, key_type: KeyType) -> Result<String, AcmeError> {
    tokio::task::spawn_blocking(move || keys::generate(key_type).map(|k| k.serialize_pem()))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        .map_err(|source| AcmeError::Key {
            cert: cert.to_owned(),
            source,
        })
}

fn replaces_refused(e: &instant_acme::Error) -> bool {
    match e {
        instant_acme::Error::Unsupported(_) => true,
        instant_acme::Error::Api(p) => {
            p.r#type.as_deref() == Some(super::problem::ALREADY_REPLACED)
        }
        _ => false,
    }
}

/// Persist the order (and its key, once there is one) off the async
/// threads: hundreds of orders journal at once and each write is fsynced.
async fn journal(
    store: &Store,
    job: &OrderJob,
    url: &str,
    key_pem: Option<String>,
) -> Result<(), AcmeError> {
    let entry = JournalEntry {
        cert: job.cert.clone(),
        host: job.host.clone(),
        domains: job.domains.clone(),
        directory: job.directory.clone(),
        order_url: url.to_owned(),
        key_pem,
        created: Timestamp::now(),
    };
    let store = store.clone();
    let written = tokio::task::spawn_blocking(move || store.journal(&entry))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    written.map_err(|source| AcmeError::Journal {
        cert: job.cert.clone(),
        source,
    })
}

async fn collect(order: &mut Order, cert: &str) -> Result<Vec<ChallengeValue>, AcmeError> {
    let mut out = Vec::new();
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz.map_err(err(cert, "fetching authorizations"))?;
        let name = authz.identifier().to_string();
        match authz.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => {
                return Err(AcmeError::Authorization {
                    cert: cert.to_owned(),
                    name,
                    status: format!("{other:?}").to_lowercase(),
                });
            }
        }
        let Some(ch) = authz.challenge(ChallengeType::Dns01) else {
            return Err(AcmeError::NoDns01 {
                cert: cert.to_owned(),
                name,
            });
        };
        out.push(ChallengeValue {
            name,
            value: ch.key_authorization().dns_value(),
        });
    }
    Ok(out)
}

/// Answer the challenges, finalize and download the chain.
pub async fn complete(
    mut live: LiveOrder,
    store: &Store,
    key_type: KeyType,
) -> Result<Issued, AcmeError> {
    let cert = live.job.cert.clone();
    let status = live.order.state().status;
    if status == OrderStatus::Pending {
        let mut authzs = live.order.authorizations();
        while let Some(authz) = authzs.next().await {
            let mut authz = authz.map_err(err(&cert, "fetching authorizations"))?;
            if authz.status != AuthorizationStatus::Pending {
                continue;
            }
            let name = authz.identifier().to_string();
            let mut ch =
                authz
                    .challenge(ChallengeType::Dns01)
                    .ok_or_else(|| AcmeError::NoDns01 {
                        cert: cert.clone(),
                        name,
                    })?;
            ch.set_ready()
                .await
                .map_err(err(&cert, "answering the challenge"))?;
        }
    }
    tracing::debug!(%cert, "challenges answered");
    if matches!(
        live.order.state().status,
        OrderStatus::Pending | OrderStatus::Ready
    ) {
        let status = live
            .order
            .poll_ready(&retry_policy())
            .await
            .map_err(err(&cert, "waiting for validation"))?;
        if status != OrderStatus::Ready {
            return Err(AcmeError::Invalid {
                detail: failure_detail(&mut live.order).await,
                cert,
            });
        }
    }
    tracing::debug!(%cert, "order ready");
    let key_pem = match live.order.state().status {
        OrderStatus::Ready => {
            let key_pem = match live.key_pem.take() {
                Some(pem) => pem,
                // A journal from before keys were made with the order.
                None => new_key(&cert, key_type).await?,
            };
            // The key is on disk before the CA can issue for it.
            if !live.key_journaled {
                journal(store, &live.job, live.order.url(), Some(key_pem.clone())).await?;
            }
            let key = rcgen::KeyPair::from_pem(&key_pem).map_err(|source| AcmeError::Key {
                cert: cert.clone(),
                source,
            })?;
            let csr = keys::csr(&live.job.domains, &key).map_err(|source| AcmeError::Key {
                cert: cert.clone(),
                source,
            })?;
            live.order
                .finalize_csr(&csr)
                .await
                .map_err(err(&cert, "finalizing"))?;
            tracing::debug!(%cert, status = ?live.order.state().status, "finalized");
            key_pem
        }
        // Finalized in an earlier run that died: the journal has the key.
        OrderStatus::Processing | OrderStatus::Valid => {
            live.key_pem.take().ok_or_else(|| AcmeError::Chain {
                cert: cert.clone(),
                why: "the order was finalized in an earlier run but its key was not journaled"
                    .into(),
            })?
        }
        other => {
            return Err(AcmeError::Chain {
                cert,
                why: format!("unexpected order status {other:?}"),
            });
        }
    };
    // A CA that issued right away (the finalize answer says `valid`) needs
    // no polling: download at once instead of waiting a poll interval.
    let ready_now = if live.order.state().status == OrderStatus::Valid {
        live.order
            .certificate()
            .await
            .map_err(err(&cert, "downloading the certificate"))?
    } else {
        None
    };
    let chain_pem = match ready_now {
        Some(pem) => pem,
        None => live
            .order
            .poll_certificate(&retry_policy())
            .await
            .map_err(err(&cert, "downloading the certificate"))?,
    };
    Ok(Issued {
        key_pem,
        chain_pem,
        order_url: live.order.url().to_owned(),
    })
}

/// What the CA said about failed authorizations, per name.
async fn failure_detail(order: &mut Order) -> String {
    let mut parts = Vec::new();
    let mut authzs = order.authorizations();
    while let Some(Ok(mut authz)) = authzs.next().await {
        let name = authz.identifier().to_string();
        if let Ok(state) = authz.refresh().await {
            for ch in &state.challenges {
                if let Some(e) = &ch.error {
                    parts.push(format!(
                        "{name}: {}",
                        e.detail
                            .clone()
                            .unwrap_or_else(|| e.r#type.clone().unwrap_or_default())
                    ));
                }
            }
        }
    }
    if parts.is_empty() {
        "the order became invalid".to_owned()
    } else {
        parts.join("; ")
    }
}
