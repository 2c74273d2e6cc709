//! The one place that sequences side effects. A pulse:
//!
//! 1. take the store lock and read the store;
//! 2. observe: connect to every in-scope host (bounded) and read, without
//!    writing, what its certificate folders hold; fetch ARI windows;
//! 3. build the plan (the same `plan::build` that `plan` prints);
//! 4. issue (`issue.rs`): orders, one zone update, store;
//! 5. deploy, per host with bounded concurrency, recording each landing and
//!    its handler as pending in the store before running anything;
//! 6. run the handler steps; successes clear their pending mark.
//!
//! A failing host or certificate is a value in the report, never an early
//! return.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use jiff::Timestamp;
use tracing::Instrument as _;
use tracing_indicatif::span_ext::IndicatifSpanExt as _;

use crate::acme::account::AccountSpec;
use crate::acme::ari;
use crate::deploy;
use crate::dns::target::ZoneTarget;
use crate::dns::zone::LocalZone;
use crate::handlers::run::{self as handler_run, HandlerOutcome};
use crate::inventory::fleet::FleetHost;
use crate::issue::{self, IssueRequest};
use crate::load::Loaded;
use crate::plan::{self, Action, Observed, PlanOptions};
use crate::remote::{SshHost, Target};
use crate::report::{DeployOutcome, PulseReport};
use crate::store::{Deployed, HostRecord, Store, StoreView, breakers};

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

/// Connections to hosts: the live ones, and why the others failed.
pub type Connections = BTreeMap<String, Result<Arc<SshHost>, String>>;

/// Connect to `hosts` (at most `ssh.max_hosts` at once).
pub async fn connect(loaded: &Loaded, hosts: &BTreeSet<String>) -> Connections {
    let cfg = &loaded.config.ssh;
    let targets: Vec<Target> = hosts
        .iter()
        .filter_map(|h| loaded.fleet.host(h))
        .map(|h| Target::of(h, &cfg.user))
        .collect();
    futures::stream::iter(targets)
        .map(|t| async move {
            let r = SshHost::connect(&t, cfg)
                .await
                .map(Arc::new)
                .map_err(|e| e.to_string());
            if let Err(e) = &r {
                tracing::warn!(host = %t.host, error = %e, "host unreachable");
            }
            (t.host, r)
        })
        .buffer_unordered(cfg.max_hosts.max(1))
        .collect()
        .await
}

/// Read what each connected host has of its stored certificates.
pub async fn observe(
    loaded: &Loaded,
    view: &StoreView,
    conns: &Connections,
    options: &PlanOptions,
) -> Observed {
    let mut out = Observed::new();
    let jobs = conns
        .iter()
        .filter_map(|(host, c)| c.as_ref().ok().map(|s| (host, s)));
    let results = futures::future::join_all(jobs.map(|(host, ssh)| async move {
        let certs: Vec<_> = loaded
            .fleet
            .certs
            .iter()
            .filter(|c| &c.host == host && options.scope.contains(&c.host, &c.key))
            .filter_map(|c| view.certs.get(&c.key).map(|s| (c, s)))
            .collect();
        let firsts: Vec<String> = certs.iter().map(|(c, _)| c.first().to_owned()).collect();
        let seen = deploy::probe(ssh, &loaded.config.targets, &firsts).await;
        (host, certs, seen)
    }))
    .await;
    for (host, certs, seen) in results {
        let Ok(seen) = seen else { continue };
        for (c, stored) in certs {
            let Ok(files) = deploy::files_of(stored, c.first()) else {
                continue;
            };
            if let Some(o) = seen.get(c.first()) {
                let fact = deploy::compare(o, &files, &loaded.config.targets);
                out.insert((host.clone(), c.key.clone()), fact);
            }
        }
    }
    out
}

/// Everything `plan::build` needs besides the store, read without changing
/// anything: what connected hosts have (none probed when `conns` is
/// `None`), ARI windows, names on hold. `plan` and `pulse` both use this,
/// so `plan` shows exactly what `pulse` will do.
pub async fn facts(
    loaded: &Loaded,
    view: &StoreView,
    conns: Option<&Connections>,
    options: &PlanOptions,
    now: Timestamp,
) -> plan::Facts {
    let hosts = match conns {
        Some(c) => observe(loaded, view, c, options).await,
        None => Observed::new(),
    };
    plan::Facts {
        hosts,
        held: crate::acme::ratelimit::merge_holds(
            breakers::held(&breakers::read(&loaded.config.state_dir), now),
            crate::acme::ratelimit::held_names(
                &loaded.config.state_dir,
                &loaded.config,
                &loaded.fleet,
                now,
            ),
        ),
        ari: ari_windows(loaded, view, options).await,
    }
}

/// Run a pulse over `options.scope`.
pub async fn pulse(
    loaded: &Loaded,
    options: &PlanOptions,
    now: Timestamp,
) -> Result<PulseReport, ExecuteError> {
    let started = Instant::now();
    let store = Store::open(&loaded.config.state_dir).map_err(ExecuteError::Store)?;
    crate::fault::pause("locked", None).await;
    let view = StoreView::read(&loaded.config.state_dir).map_err(ExecuteError::Read)?;

    let in_scope: BTreeSet<String> = loaded
        .fleet
        .certs
        .iter()
        .filter(|c| options.scope.contains(&c.host, &c.key))
        .map(|c| c.host.clone())
        .collect();
    let mut stages = BTreeMap::new();
    let mut lap = Instant::now();
    let mut stage = |name: &str, stages: &mut BTreeMap<String, f64>| {
        stages.insert(name.to_owned(), lap.elapsed().as_secs_f64());
        lap = Instant::now();
    };
    let conns = connect(loaded, &in_scope).await;
    let facts = facts(loaded, &view, Some(&conns), options, now).await;
    // Repair what a run killed mid-way left behind, before planning, so
    // the plan sees the store as the hosts and the CA really are.
    let view = recover(loaded, &store, view, &facts)?;
    let plan = plan::build(
        &loaded.config,
        &loaded.fleet,
        &loaded.handlers,
        &view,
        &facts,
        options,
        now,
    )
    .map_err(ExecuteError::Plan)?;
    stage("observe", &mut stages);
    crate::fault::mark("planned");
    tracing::info!(
        issue = plan.summary.issue,
        renew = plan.summary.renew,
        deploy = plan.summary.deploy,
        keep = plan.summary.keep,
        handlers = plan.handlers.len(),
        "pulse planned"
    );

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
            // Only where the CA offers ARI (a window was found for it).
            replaces: match c.action {
                Action::Renew if facts.ari.contains_key(&c.cert) => view
                    .certs
                    .get(&c.cert)
                    .and_then(ari::leaf_der)
                    .and_then(|d| ari::identifier(&d)),
                _ => None,
            },
        })
        .collect();
    let dirty = issue::zone_dirty(&store);
    let needs_zone = dirty || requests.iter().any(|r| !r.self_signed);
    let issued = match zone_target(loaded, needs_zone).await {
        Ok(target) => {
            let mut issued =
                issue::run(&loaded.config, &target, &contact(loaded), &store, requests).await;
            // A run killed between publishing and cleaning up left TXT
            // values in the zone; when this run did not rewrite it, clean
            // it now rather than leave them until the next issuance.
            if dirty && issued.dns.serial.is_none() {
                match issue::clean_zone(&loaded.config, &target, &store).await {
                    Ok(serial) => issued.dns.cleanup_serial = Some(serial),
                    Err(e) => issued.dns.cleanup_error = Some(e),
                }
            }
            issued
        }
        Err(e) => issue::IssueReport::all_failed(&requests, &e),
    };
    if let Some(e) = &issued.dns.cleanup_error {
        tracing::warn!(error = %e, "the signing zone still holds old TXT values");
    }
    update_breakers(&store, &plan, &issued, now);
    stage("issue", &mut stages);
    crate::fault::mark("issued");

    // Deploy what was issued now and what the store has that hosts lack.
    let view = StoreView::read(&loaded.config.state_dir).map_err(ExecuteError::Read)?;
    let to_deploy: Vec<&plan::CertPlan> = plan
        .certificates
        .iter()
        .filter(|c| match c.action {
            Action::Deploy => true,
            Action::Issue | Action::Renew => matches!(issued.results.get(&c.cert), Some(Ok(_))),
            Action::Keep => false,
        })
        .collect();
    let deployed = deploy_all(loaded, &store, &view, &conns, &to_deploy).await;
    stage("deploy", &mut stages);
    crate::fault::mark("deployed");

    // Handlers: those whose files landed now, plus pending ones.
    let mut ready: BTreeSet<(String, String)> = deployed
        .iter()
        .filter(|(_, o)| o.ok())
        .filter_map(|(key, _)| {
            plan.certificates
                .iter()
                .find(|c| &c.cert == key)
                .map(|c| (c.host.clone(), c.handler.clone()))
        })
        .collect();
    for (host, rec) in &view.hosts {
        if options.scope.hosts.contains(host) && matches!(conns.get(host), Some(Ok(_))) {
            ready.extend(
                rec.pending_handlers
                    .iter()
                    .map(|h| (host.clone(), h.clone())),
            );
        }
    }
    let live: BTreeMap<String, Arc<SshHost>> = conns
        .iter()
        .filter_map(|(h, c)| c.as_ref().ok().map(|s| (h.clone(), Arc::clone(s))))
        .collect();
    let outcomes = handler_run::run_all(
        &plan.handlers,
        &ready,
        &live,
        &loaded.handlers,
        &loaded.fleet,
        &loaded.config.targets,
    )
    .await;
    record_handlers(&store, &outcomes);
    stage("handlers", &mut stages);
    crate::fault::mark("handled");
    drop(live);
    for (_, c) in conns {
        if let Ok(ssh) = c
            && let Ok(ssh) = Arc::try_unwrap(ssh)
        {
            ssh.close().await;
        }
    }
    Ok(PulseReport::new(
        plan,
        issued,
        deployed,
        outcomes,
        started.elapsed(),
        stages,
    ))
}

/// The signing zone: local, or on `dns.host` over SSH (connected only when
/// the zone will be written: something is ordered, or old values remain).
async fn zone_target(loaded: &Loaded, needed: bool) -> Result<ZoneTarget, String> {
    let dns = &loaded.config.dns;
    let zone = LocalZone {
        zone: dns.zone.clone(),
        file: dns.zone_file.clone(),
        check: dns.check_command.clone(),
        reload: dns.reload_command.clone(),
    };
    let Some(host) = &dns.host else {
        return Ok(ZoneTarget::Local(zone));
    };
    if !needed {
        return Ok(ZoneTarget::Local(zone));
    }
    // The DNS primary may be in the inventory (address, port, user from it);
    // its variables were not part of validation, so problems are ignored.
    let target = match loaded.inventory.hosts.get(host) {
        Some(h) => Target::of(
            &FleetHost::from_host(h, &mut crate::diag::Problems::default()),
            &loaded.config.ssh.user,
        ),
        None => Target {
            host: host.clone(),
            address: host.clone(),
            port: None,
            user: loaded.config.ssh.user.clone(),
        },
    };
    let ssh = SshHost::connect(&target, &loaded.config.ssh)
        .await
        .map_err(|e| format!("DNS primary: {e}"))?;
    Ok(ZoneTarget::Remote {
        zone,
        ssh: Arc::new(ssh),
    })
}

/// Bring the store in line with what a killed run left: journaled orders
/// that were already stored are forgotten (or a later renewal would resume
/// them and store the old certificate again), and files that landed on a
/// host without being recorded are recorded, with their handler pending
/// (the run died between the switch and the record, so the handler never
/// ran). Returns the store as re-read.
fn recover(
    loaded: &Loaded,
    store: &Store,
    view: StoreView,
    facts: &plan::Facts,
) -> Result<StoreView, ExecuteError> {
    store.prune_journal(&view);
    let mut changed = false;
    for ((host, key), fact) in &facts.hosts {
        let Some(stored) = view.certs.get(key) else {
            continue;
        };
        if *fact != plan::HostFact::Matches
            || view
                .deployed(host, key)
                .is_some_and(|d| d.version == stored.version)
        {
            continue;
        }
        let Some(cert) = loaded.fleet.certs.iter().find(|c| &c.key == key) else {
            continue;
        };
        let files = deploy::files_of(stored, cert.first())
            .map(|f| f.into_iter().map(|f| (f.name, f.sha256)).collect())
            .unwrap_or_default();
        let handler = format!("{}{key}", crate::handlers::map::PREFIX);
        tracing::info!(%host, cert = %key, version = %stored.version, "recording a deployment an interrupted run did not record");
        if let Err(e) = store.adopt_deployment(host, key, &stored.version, files, &handler) {
            tracing::warn!(%host, error = %e, "could not record the deployment");
        }
        changed = true;
    }
    if !changed {
        return Ok(view);
    }
    StoreView::read(&loaded.config.state_dir).map_err(ExecuteError::Read)
}

/// Deploy each item's current stored version; returns outcomes by cert key.
async fn deploy_all(
    loaded: &Loaded,
    store: &Store,
    view: &StoreView,
    conns: &Connections,
    items: &[&plan::CertPlan],
) -> BTreeMap<String, DeployOutcome> {
    let bar = tracing::info_span!("deploy");
    bar.pb_set_length(items.len() as u64);
    let bar = &bar;
    let mut by_host: BTreeMap<&str, Vec<&plan::CertPlan>> = BTreeMap::new();
    for c in items {
        by_host.entry(c.host.as_str()).or_default().push(c);
    }
    let jobs = by_host.into_iter().map(|(host, certs)| async move {
        let mut out = Vec::new();
        let ssh = match conns.get(host) {
            Some(Ok(s)) => Arc::clone(s),
            Some(Err(e)) => {
                for c in &certs {
                    out.push((c.cert.clone(), DeployOutcome::Failed(e.clone())));
                }
                record_host_error(store, view, host, Some(e.clone()));
                return out;
            }
            None => {
                for c in &certs {
                    out.push((
                        c.cert.clone(),
                        DeployOutcome::Failed("host not connected".into()),
                    ));
                }
                return out;
            }
        };
        // A host's certificates go up concurrently (its channel limit
        // bounds them); its record is updated under a lock, one landing at
        // a time.
        let record = std::sync::Mutex::new(view.hosts.get(host).cloned().unwrap_or_default());
        let last_error: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
        let one = |c: &plan::CertPlan| {
            let (ssh, record, last_error) = (&ssh, &record, &last_error);
            let c = c.clone();
            async move {
                let Some(stored) = view.certs.get(&c.cert) else {
                    return (c.cert.clone(), DeployOutcome::Failed("nothing stored to deploy".into()));
                };
                let first = c.domains.first().cloned().unwrap_or_default();
                let result = match deploy::files_of(stored, &first) {
                    Ok(files) => deploy::deploy(ssh, &loaded.config.targets, &first, &stored.version, &files)
                        .await
                        .map_err(|e| format!("{:#}", anyhow::Error::new(e))),
                    Err(e) => Err(format!("{:#}", anyhow::Error::new(e))),
                };
                bar.pb_inc(1);
                match result {
                    Ok(files) => {
                        crate::fault::point("after-switch");
                        if let Ok(mut rec) = record.lock() {
                            rec.deployed.insert(
                                c.cert.clone(),
                                Deployed {
                                    version: stored.version.clone(),
                                    files,
                                    at: Timestamp::now(),
                                },
                            );
                            // Pending before it runs: a crash now still runs it next time.
                            if !rec.pending_handlers.contains(&c.handler) {
                                rec.pending_handlers.push(c.handler.clone());
                            }
                            if let Err(e) = store.save_host(host, &rec) {
                                tracing::warn!(%host, error = %e, "could not record the deployment");
                            }
                        }
                        tracing::info!(%host, cert = %c.cert, version = %stored.version, "deployed");
                        (c.cert.clone(), DeployOutcome::Deployed(stored.version.clone()))
                    }
                    Err(e) => {
                        tracing::warn!(%host, cert = %c.cert, error = %e, "deploy failed");
                        if let Ok(mut l) = last_error.lock() {
                            *l = Some(e.clone());
                        }
                        (c.cert.clone(), DeployOutcome::Failed(e))
                    }
                }
            }
        };
        out.extend(futures::future::join_all(certs.iter().map(|c| one(c))).await);
        if let (Ok(mut rec), Ok(l)) = (record.lock(), last_error.lock()) {
            rec.last_error = l.clone();
            let _ = store.save_host(host, &rec);
        }
        out
    });
    futures::stream::iter(jobs)
        .buffer_unordered(loaded.config.ssh.max_hosts.max(1))
        .collect::<Vec<_>>()
        .instrument(bar.clone())
        .await
        .into_iter()
        .flatten()
        .collect()
}

fn record_host_error(store: &Store, view: &StoreView, host: &str, error: Option<String>) {
    let mut record = view.hosts.get(host).cloned().unwrap_or_default();
    record.last_error = error;
    let _ = store.save_host(host, &record);
}

/// Clear the pending mark of handlers that ran; keep the others.
fn record_handlers(store: &Store, outcomes: &BTreeMap<(String, String), HandlerOutcome>) {
    // Only the host records: deployment just rewrote them. An unreadable
    // record is left alone rather than replaced.
    let mut changed: BTreeMap<String, HostRecord> = BTreeMap::new();
    for ((host, handler), outcome) in outcomes {
        if !changed.contains_key(host) {
            match crate::store::read_host(store.root(), host) {
                Ok(r) => changed.insert(host.clone(), r.unwrap_or_default()),
                Err(e) => {
                    tracing::warn!(%host, error = %e, "cannot record handler results");
                    continue;
                }
            };
        }
        let Some(rec) = changed.get_mut(host) else {
            continue;
        };
        match outcome {
            HandlerOutcome::Ran => rec.pending_handlers.retain(|h| h != handler),
            HandlerOutcome::Failed(e) | HandlerOutcome::Blocked(e) => {
                if !rec.pending_handlers.contains(handler) {
                    rec.pending_handlers.push(handler.clone());
                }
                rec.last_error = Some(format!("{handler}: {e}"));
            }
            HandlerOutcome::Deferred(_) => {}
        }
    }
    for (host, rec) in changed {
        if let Err(e) = store.save_host(&host, &rec) {
            tracing::warn!(%host, error = %e, "could not record handler results");
        }
    }
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
) -> BTreeMap<String, plan::AriWindow> {
    let certs: Vec<&crate::store::StoredCert> = loaded
        .fleet
        .certs
        .iter()
        .filter(|c| options.scope.contains(&c.host, &c.key))
        .filter_map(|c| view.certs.get(&c.key))
        .collect();
    if certs.is_empty() {
        return BTreeMap::new();
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
