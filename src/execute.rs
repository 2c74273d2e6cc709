//! The one place that sequences side effects. A pulse: take the store lock,
//! read the store, build the plan (the same `plan::build` that `plan`
//! prints), then run the issuance stage for every `issue`/`renew` item.
//! Deployment and handlers come next (pulse part 2); until then `deploy`
//! items are reported as pending.

use std::time::Instant;

use jiff::Timestamp;

use crate::acme::account::AccountSpec;
use crate::acme::ari;
use crate::issue::{self, IssueRequest};
use crate::load::Loaded;
use crate::plan::{self, Action, PlanOptions};
use crate::report::PulseReport;
use crate::store::{Store, StoreView, breakers};

/// Errors that stop a pulse before it starts any work.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The store could not be locked or created.
    #[error("opening the central store")]
    Store(#[source] crate::store::StoreWriteError),
    /// The store could not be read.
    #[error("reading the central store")]
    Read(#[source] crate::store::StoreError),
    /// The plan could not be built.
    #[error("planning")]
    Plan(#[source] plan::PlanError),
}

/// Run a pulse over `options.scope`.
pub async fn pulse(
    loaded: &Loaded,
    options: &PlanOptions,
    now: Timestamp,
) -> Result<PulseReport, ExecuteError> {
    let started = Instant::now();
    let store = Store::open(&loaded.config.state_dir).map_err(ExecuteError::Store)?;
    let view = StoreView::read(&loaded.config.state_dir).map_err(ExecuteError::Read)?;
    let plan = plan::build(
        &loaded.config,
        &loaded.fleet,
        &loaded.handlers,
        &view,
        &plan::Facts {
            held: breakers::held(&breakers::read(&loaded.config.state_dir), now),
            ari: ari_windows(loaded, &view, options).await,
            ..plan::Facts::default()
        },
        options,
        now,
    )
    .map_err(ExecuteError::Plan)?;
    let requests: Vec<IssueRequest> = plan
        .certificates
        .iter()
        .filter(|c| matches!(c.action, Action::Issue | Action::Renew) && c.held_until.is_none())
        .map(|c| IssueRequest {
            cert: c.cert.clone(),
            host: c.host.clone(),
            domains: c.domains.clone(),
            staging: loaded.fleet.host(&c.host).is_some_and(|h| h.staging),
            self_signed: c.self_signed,
            replaces: match c.action {
                Action::Renew => view
                    .certs
                    .get(&c.cert)
                    .and_then(ari::leaf_der)
                    .and_then(|der| ari::identifier(&der)),
                _ => None,
            },
        })
        .collect();
    tracing::info!(
        issue = plan.summary.issue,
        renew = plan.summary.renew,
        deploy = plan.summary.deploy,
        keep = plan.summary.keep,
        "pulse planned"
    );
    let issued = issue::run(&loaded.config, &contact(loaded), &store, requests).await;
    update_breakers(&store, &plan, &issued, now);
    Ok(PulseReport::new(plan, issued, started.elapsed()))
}

/// Close the breakers of names that were issued; count failed validations.
fn update_breakers(store: &Store, plan: &plan::Plan, issued: &issue::IssueReport, now: Timestamp) {
    let mut breakers = breakers::read(store.root());
    let before = breakers.clone();
    for c in &plan.certificates {
        let failed = issued.validation_failed.contains(&c.cert);
        let succeeded = matches!(issued.results.get(&c.cert), Some(Ok(_)));
        if failed || succeeded {
            for d in &c.domains {
                breakers::record(&mut breakers, d, failed, now);
            }
        }
    }
    if breakers != before {
        let text = serde_json::to_vec_pretty(&breakers).unwrap_or_default();
        if let Err(e) = store.write(breakers::FILE, &text) {
            tracing::warn!(error = %e, "could not record validation failures");
        }
    }
}

/// ARI windows of the stored certificates in scope.
pub async fn ari_windows(
    loaded: &Loaded,
    view: &StoreView,
    options: &PlanOptions,
) -> std::collections::BTreeMap<String, plan::AriWindow> {
    let certs: Vec<&crate::store::StoredCert> = loaded
        .fleet
        .certs
        .iter()
        .filter(|c| options.scope.contains(&c.host, &c.key))
        .filter_map(|c| view.certs.get(&c.key))
        .collect();
    if certs.is_empty() {
        return std::collections::BTreeMap::new();
    }
    let contact = contact(loaded);
    ari::windows(&loaded.config.state_dir, &certs, |d| {
        AccountSpec::from_config(&loaded.config, d, &contact)
    })
    .await
}

/// Account contacts: the config's, else `mailto:` the fleet's account email.
fn contact(loaded: &Loaded) -> Vec<String> {
    if !loaded.config.acme.contact.is_empty() {
        return loaded.config.acme.contact.clone();
    }
    loaded
        .fleet
        .hosts
        .values()
        .filter_map(|h| h.account_email.clone())
        .next()
        .map(|e| vec![format!("mailto:{e}")])
        .unwrap_or_default()
}
