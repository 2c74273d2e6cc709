//! Steps 4–8 of a pulse: order everything, publish every DNS-01 value in one
//! zone update (in batches where an owner's answer would pass
//! `dns.txt_answer_limit`), verify propagation on every authoritative
//! server, answer, finalize, store, and clean the zone again.
//!
//! A failure hits only the certificates it concerns: a name without a CNAME
//! into the signing zone fails its certificate before ordering; a zone that
//! does not check or reload fails the orders that needed it; a server that
//! never serves a record fails the orders whose records are missing there.
//! Certificates are stored before anything else can use them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::Instrument as _;
use tracing_indicatif::span_ext::IndicatifSpanExt as _;

use crate::acme::account::{self, AccountSpec};
use crate::acme::order::{self, LiveOrder, OrderJob};
use crate::acme::{AcmeError, problem, ratelimit, selfsign};
use crate::config::Config;
use crate::dns::target::ZoneTarget;
use crate::dns::zone::{self, TxtRecord};
use crate::dns::{batch, client, owners, propagation};
use crate::store::{CertMeta, Store};

/// Orders answered and finalized at once.
const FINALIZE_CONCURRENCY: usize = 256;
/// Longest a CA may take to create one order (validation and finalization
/// get twice this), so a stalled connection fails its orders, not the pulse.
const ORDER_TIMEOUT: Duration = Duration::from_secs(120);

/// One certificate to issue.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Certificate key.
    pub cert: String,
    /// Host.
    pub host: String,
    /// Names.
    pub domains: Vec<String>,
    /// Use the staging directory.
    pub staging: bool,
    /// Use a local throwaway CA.
    pub self_signed: bool,
    /// ARI identifier of the certificate this one replaces.
    pub replaces: Option<instant_acme::CertificateIdentifier<'static>>,
}

/// A stored certificate version.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    /// Store version name.
    pub version: String,
    /// Expiry.
    pub not_after: Timestamp,
    /// True when an order from an earlier run was resumed.
    pub resumed: bool,
}

/// What happened to the signing zone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsOutcome {
    /// TXT records published.
    pub records: usize,
    /// Serial of the update.
    pub serial: Option<u32>,
    /// Serial of the clean-up.
    pub cleanup_serial: Option<u32>,
    /// Seconds until every server served everything.
    pub propagation_seconds: Option<f64>,
    /// The authoritative servers checked.
    pub servers: Vec<String>,
    /// Why publishing failed, if it did.
    pub error: Option<String>,
    /// Why the clean-up failed, if it did (the next update removes them).
    pub cleanup_error: Option<String>,
}

/// Result of the issuance stage.
#[derive(Debug, Default, Serialize)]
pub struct IssueReport {
    /// Per certificate key: the stored version, or why not.
    pub results: BTreeMap<String, Result<Issued, String>>,
    /// The zone update.
    pub dns: DnsOutcome,
    /// New orders created.
    pub orders_created: usize,
    /// Orders resumed from the journal.
    pub orders_resumed: usize,
    /// Certificates whose validation failed at the CA (or were rate
    /// limited): their names count towards the breakers.
    pub validation_failed: BTreeSet<String>,
}

impl IssueReport {
    /// Every request failed for the same reason (e.g. the DNS primary is
    /// unreachable, so nothing can be proved).
    pub fn all_failed(requests: &[IssueRequest], why: &str) -> IssueReport {
        IssueReport {
            results: requests
                .iter()
                .map(|r| (r.cert.clone(), Err(why.to_owned())))
                .collect(),
            ..IssueReport::default()
        }
    }
}

/// Run the stage for `requests`; never returns early on a per-cert failure.
pub async fn run(
    config: &Config,
    zone_target: &ZoneTarget,
    contact: &[String],
    store: &Store,
    requests: Vec<IssueRequest>,
) -> IssueReport {
    let mut report = IssueReport::default();
    let (local, acme): (Vec<_>, Vec<_>) = requests.into_iter().partition(|r| r.self_signed);
    for req in local {
        let result = self_sign(config, store, &req);
        report.results.insert(req.cert.clone(), result);
    }
    if acme.is_empty() {
        return report;
    }

    // Where each TXT value goes; a name without a usable CNAME fails its
    // certificate before anything is ordered.
    let resolver = match resolver(config).await {
        Ok(r) => r,
        Err(e) => {
            for req in &acme {
                report.results.insert(req.cert.clone(), Err(e.clone()));
            }
            return report;
        }
    };
    let names: Vec<String> = acme
        .iter()
        .flat_map(|r| r.domains.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let owner_map =
        owners::resolve_owners(resolver, &config.dns.zone, &names, Duration::from_secs(5)).await;
    let mut ready = Vec::new();
    for req in acme {
        let bad: Vec<String> = req
            .domains
            .iter()
            .filter_map(|d| match owner_map.get(d) {
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(client::error_chain(e)),
                None => Some(format!("{d}: not looked up")),
            })
            .collect();
        if bad.is_empty() {
            ready.push(req);
        } else {
            report.results.insert(req.cert.clone(), Err(bad.join("; ")));
        }
    }

    let live = place_all(config, contact, store, ready, &mut report).await;
    crate::fault::point("after-order");

    // Past one UDP answer's worth of values at an owner (OpenDev's apex
    // layout on a first pulse), one zone update per batch, each verified
    // and finalized before the next (dns::batch; `check --dns` warns).
    let batches = batch::split(
        live,
        |owner| batch::values_within(owner, config.dns.txt_answer_limit),
        |lo: &LiveOrder| {
            lo.challenges
                .iter()
                .filter_map(|ch| Some(owner_map.get(&ch.name)?.as_ref().ok()?.fqdn.clone()))
                .collect()
        },
    );
    for live in batches {
        publish_and_finalize(
            config,
            zone_target,
            store,
            resolver,
            &owner_map,
            live,
            &mut report,
        )
        .await;
    }
    if report.dns.serial.is_some() {
        crate::fault::point("before-cleanup");
        match publish(config, zone_target, store, &[]).await {
            Ok(serial) => report.dns.cleanup_serial = Some(serial),
            Err(e) => report.dns.cleanup_error = Some(e),
        }
    }
    report
}

/// One zone update with every value of `live`, then answer and finalize
/// the orders whose values every server serves.
async fn publish_and_finalize(
    config: &Config,
    zone_target: &ZoneTarget,
    store: &Store,
    resolver: SocketAddr,
    owner_map: &BTreeMap<String, Result<owners::Owner, owners::OwnerError>>,
    live: Vec<LiveOrder>,
    report: &mut IssueReport,
) {
    // One zone update with every value of every order.
    let mut records = Vec::new();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for lo in &live {
        for ch in &lo.challenges {
            if let Some(Ok(owner)) = owner_map.get(&ch.name) {
                records.push(TxtRecord {
                    label: owner.label.clone(),
                    owner: owner.fqdn.clone(),
                    value: ch.value.clone(),
                });
                expected
                    .entry(owner.fqdn.clone())
                    .or_default()
                    .insert(ch.value.clone());
            }
        }
    }
    let mut failed_owners = BTreeSet::new();
    let mut publish_error = None;
    if !records.is_empty() {
        report.dns.records += records.len();
        match publish(config, zone_target, store, &records).await {
            Ok(serial) => {
                crate::fault::point("after-publish");
                report.dns.serial.get_or_insert(serial);
                match verify(config, resolver, serial, &expected).await {
                    Ok(Verified {
                        elapsed,
                        failed,
                        why,
                        servers,
                    }) => {
                        *report.dns.propagation_seconds.get_or_insert(0.0) += elapsed.as_secs_f64();
                        report.dns.servers = servers;
                        if !failed.is_empty() {
                            report.dns.error = Some(why.clone());
                            publish_error = Some(why);
                            failed_owners = failed;
                        }
                    }
                    Err(e) => {
                        report.dns.error = Some(e.clone());
                        publish_error = Some(e);
                        failed_owners = expected.keys().cloned().collect();
                    }
                }
            }
            Err(e) => {
                report.dns.error = Some(e.clone());
                publish_error = Some(e);
                failed_owners = expected.keys().cloned().collect();
            }
        }
    }

    // Answer and finalize the orders whose records are visible everywhere.
    let span = tracing::info_span!("finalize");
    span.pb_set_length(live.len() as u64);
    let sem = Arc::new(Semaphore::new(FINALIZE_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    let (to_writer, for_writer) = tokio::sync::mpsc::unbounded_channel();
    let writer = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store_writer(&store, for_writer))
    };
    for lo in live {
        let blocked = lo.challenges.iter().any(|ch| {
            owner_map
                .get(&ch.name)
                .and_then(|o| o.as_ref().ok())
                .is_some_and(|o| failed_owners.contains(&o.fqdn))
        });
        if blocked {
            let why = publish_error.clone().unwrap_or_default();
            report
                .results
                .insert(lo.job.cert.clone(), Err(format!("DNS: {why}")));
            span.pb_inc(1);
            continue;
        }
        let sem = Arc::clone(&sem);
        let key_type = config.acme.key_type;
        let store = store.clone();
        let to_writer = to_writer.clone();
        tasks.spawn(
            async move {
                let _permit = sem.acquire_owned().await;
                let cert = lo.job.cert.clone();
                let resumed = lo.resumed;
                let job = lo.job.clone();
                let result =
                    tokio::time::timeout(ORDER_TIMEOUT * 2, order::complete(lo, &store, key_type))
                        .await
                        .unwrap_or(Err(AcmeError::Timeout {
                            cert: cert.clone(),
                            step: "validation and finalization",
                            seconds: ORDER_TIMEOUT.as_secs() * 2,
                        }));
                // Checked here, stored by the one writer with whatever else
                // is ready (see `store_writer`).
                let outcome = match result {
                    Ok(issued) => {
                        crate::fault::point("after-finalize");
                        let stored = match prepare(
                            &job,
                            &issued.key_pem,
                            &issued.chain_pem,
                            &job.directory,
                            Some(issued.order_url),
                        ) {
                            Ok(ready) => {
                                let (reply, answer) = tokio::sync::oneshot::channel();
                                let _ = to_writer.send((ready, reply));
                                answer
                                    .await
                                    .unwrap_or_else(|_| Err("the store writer stopped".into()))
                            }
                            Err(e) => Err(e),
                        };
                        Ok(stored.map(|mut i| {
                            i.resumed = resumed;
                            i
                        }))
                    }
                    Err(e) => Err(e),
                };
                (cert, outcome)
            }
            .instrument(span.clone()),
        );
    }
    drop(to_writer);
    // The bar shows while the loop runs inside the span.
    async {
        while let Some(joined) = tasks.join_next().await {
            span.pb_inc(1);
            let Ok((cert, outcome)) = joined else {
                continue;
            };
            let stored = match outcome {
                Ok(stored) => stored,
                Err(e) => {
                    if matches!(e, AcmeError::Invalid { .. })
                        || e.problem_type() == Some(problem::RATE_LIMITED)
                    {
                        report.validation_failed.insert(cert.clone());
                    }
                    Err(format!("{:#}", anyhow::Error::new(e)))
                }
            };
            report.results.insert(cert, stored);
        }
    }
    .instrument(span.clone())
    .await;
    let _ = writer.await;
    drop(span);
}

/// A checked certificate waiting for the writer, and where its result goes.
type ToStore = (
    Prepared,
    tokio::sync::oneshot::Sender<Result<Issued, String>>,
);

/// The one thread that stores certificates: it takes every certificate
/// ready at that moment and stores them together (`Store::save_certs`, three
/// filesystem flushes per batch instead of nine per certificate), so under
/// load batches grow instead of flushes queueing. Each order's journal
/// entry is forgotten only once its certificate is stored.
fn store_writer(store: &Store, mut incoming: tokio::sync::mpsc::UnboundedReceiver<ToStore>) {
    while let Some(first) = incoming.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(more) = incoming.try_recv() {
            batch.push(more);
        }
        let versions: Vec<_> = batch.iter().map(|(p, _)| p.version()).collect();
        let results = store.save_certs(&versions);
        let mut stored = Vec::new();
        for ((p, reply), result) in batch.into_iter().zip(results) {
            let outcome = result
                .map(|_| p.stored())
                .map_err(|e| format!("storing: {:#}", anyhow::Error::new(e)));
            if outcome.is_ok() {
                stored.push(p.cert.clone());
            }
            let _ = reply.send(outcome);
        }
        if !stored.is_empty() {
            crate::fault::point("after-store");
            let certs: Vec<&str> = stored.iter().map(String::as_str).collect();
            let _ = store.forget_orders(&certs);
        }
    }
}

async fn resolver(config: &Config) -> Result<SocketAddr, String> {
    match &config.dns.resolver {
        Some(text) => client::parse_server(text, 53)
            .await
            .map_err(|e| format!("dns.resolver `{text}`: {}", client::error_chain(&e))),
        None => client::system_resolver()
            .map_err(|e| format!("system resolver: {}", client::error_chain(&e))),
    }
}

async fn place_all(
    config: &Config,
    contact: &[String],
    store: &Store,
    requests: Vec<IssueRequest>,
    report: &mut IssueReport,
) -> Vec<LiveOrder> {
    let span = tracing::info_span!("orders");
    span.pb_set_length(requests.len() as u64);
    let journal: BTreeMap<String, crate::store::JournalEntry> = store
        .journaled()
        .into_iter()
        .map(|e| (e.cert.clone(), e))
        .collect();
    let mut by_dir: BTreeMap<String, Vec<IssueRequest>> = BTreeMap::new();
    for r in requests {
        let dir = if r.staging {
            config.acme.staging_directory.clone()
        } else {
            config.acme.directory.clone()
        };
        by_dir.entry(dir).or_default().push(r);
    }
    let mut live = Vec::new();
    for (directory, reqs) in by_dir {
        if let Some(until) = ratelimit::held_until(store, &directory, Timestamp::now()) {
            let msg = format!("the CA rate-limited orders until {until}; not ordering before then");
            for r in reqs {
                report.results.insert(r.cert.clone(), Err(msg.clone()));
                span.pb_inc(1);
            }
            continue;
        }
        let spec = AccountSpec::from_config(config, &directory, contact);
        let mut acct = match account::load_or_create(store, &spec).await {
            Ok(a) => a,
            Err(e) => {
                let msg = format!("{:#}", anyhow::Error::new(e));
                for r in reqs {
                    report.results.insert(r.cert.clone(), Err(msg.clone()));
                    span.pb_inc(1);
                }
                continue;
            }
        };
        let mut pending = reqs;
        for attempt in 0..2 {
            let results = place_batch(&acct, store, &directory, config, &pending, &journal)
                .instrument(span.clone())
                .await;
            let mut retry = Vec::new();
            let mut forgotten = false;
            for (req, result) in pending.into_iter().zip(results) {
                match result {
                    Ok(lo) => {
                        if lo.resumed {
                            report.orders_resumed += 1;
                        } else {
                            report.orders_created += 1;
                        }
                        span.pb_inc(1);
                        live.push(lo);
                    }
                    Err(e)
                        if attempt == 0
                            && e.problem_type() == Some(problem::ACCOUNT_DOES_NOT_EXIST) =>
                    {
                        forgotten = true;
                        retry.push(req);
                    }
                    Err(e) => {
                        span.pb_inc(1);
                        let problem_type = e.problem_type().map(str::to_owned);
                        let detail = e.problem_detail().map(str::to_owned);
                        let mut msg = format!("{:#}", anyhow::Error::new(e));
                        if problem_type.as_deref() == Some(problem::RATE_LIMITED) {
                            let until = ratelimit::record(
                                store,
                                &directory,
                                detail.as_deref(),
                                Timestamp::now(),
                            );
                            msg.push_str(&format!(" (no orders to this CA before {until})"));
                            report.validation_failed.insert(req.cert.clone());
                        }
                        report.results.insert(req.cert.clone(), Err(msg));
                    }
                }
            }
            if !forgotten {
                break;
            }
            tracing::warn!(%directory, "the CA does not know the stored account; creating a new one");
            match account::create(store, &spec).await {
                Ok(a) => acct = a,
                Err(e) => {
                    let msg = format!("{:#}", anyhow::Error::new(e));
                    for r in retry {
                        report.results.insert(r.cert.clone(), Err(msg.clone()));
                    }
                    break;
                }
            }
            pending = retry;
        }
    }
    live
}

async fn place_batch(
    acct: &instant_acme::Account,
    store: &Store,
    directory: &str,
    config: &Config,
    reqs: &[IssueRequest],
    journal: &BTreeMap<String, crate::store::JournalEntry>,
) -> Vec<Result<LiveOrder, AcmeError>> {
    let sem = Semaphore::new(config.acme.max_concurrent_orders);
    let new_orders = Semaphore::new(config.acme.max_concurrent_new_orders);
    let futs = reqs.iter().map(|r| {
        let job = OrderJob {
            cert: r.cert.clone(),
            host: r.host.clone(),
            domains: r.domains.clone(),
            directory: directory.to_owned(),
            profile: config.acme.profile.clone(),
            replaces: r.replaces.clone(),
        };
        let resume = journal.get(&r.cert).cloned();
        let (sem, new_orders) = (&sem, &new_orders);
        let key_type = config.acme.key_type;
        async move {
            let _permit = sem.acquire().await;
            let cert = job.cert.clone();
            tokio::time::timeout(
                ORDER_TIMEOUT,
                order::place(acct, store, job, resume, new_orders, key_type),
            )
            .await
            .unwrap_or(Err(AcmeError::Timeout {
                cert,
                step: "creating the order",
                seconds: ORDER_TIMEOUT.as_secs(),
            }))
        }
    });
    futures::future::join_all(futs).await
}

fn self_sign(config: &Config, store: &Store, req: &IssueRequest) -> Result<Issued, String> {
    let (key, leaf, ca) = selfsign::issue(&req.domains, config.acme.key_type)
        .map_err(|e| format!("self-signing: {e}"))?;
    let job = OrderJob {
        cert: req.cert.clone(),
        host: req.host.clone(),
        domains: req.domains.clone(),
        directory: "self-signed".into(),
        profile: None,
        replaces: None,
    };
    let ready = prepare(&job, &key, &format!("{leaf}{ca}"), "self-signed", None)?;
    store
        .save_cert(ready.version())
        .map(|_| ready.stored())
        .map_err(|e| format!("storing: {:#}", anyhow::Error::new(e)))
}

/// A certificate from the CA, checked and ready to store.
struct Prepared {
    cert: String,
    version: String,
    not_after: Timestamp,
    key_pem: String,
    leaf: String,
    chain: String,
    meta: CertMeta,
}

impl Prepared {
    fn version(&self) -> crate::store::NewVersion<'_> {
        crate::store::NewVersion {
            key: &self.cert,
            version: &self.version,
            key_pem: &self.key_pem,
            cert_pem: &self.leaf,
            chain_pem: &self.chain,
            meta: &self.meta,
        }
    }

    /// Log and report it once the store has it.
    fn stored(&self) -> Issued {
        tracing::info!(cert = %self.cert, version = %self.version, not_after = %self.not_after, "stored certificate");
        Issued {
            version: self.version.clone(),
            not_after: self.not_after,
            resumed: false,
        }
    }
}

/// Check what the CA sent (names, key, readability) before it is stored.
fn prepare(
    job: &OrderJob,
    key_pem: &str,
    chain_pem: &str,
    directory: &str,
    order_url: Option<String>,
) -> Result<Prepared, String> {
    let (leaf, chain) =
        crate::acme::keys::split_chain(chain_pem).ok_or("the CA sent no certificate")?;
    let info = crate::x509::leaf_info(leaf.as_bytes())
        .map_err(|e| format!("the CA sent an unreadable certificate: {e}"))?;
    let want: BTreeSet<&str> = job.domains.iter().map(String::as_str).collect();
    let got: BTreeSet<&str> = info.sans.iter().map(String::as_str).collect();
    if want != got {
        return Err(format!(
            "the certificate covers {got:?}, not the requested {want:?}"
        ));
    }
    if !crate::x509::key_matches(&leaf, key_pem) {
        return Err("the certificate does not match its private key".into());
    }
    let version = format!(
        "{}-{}",
        info.not_before.strftime("%Y%m%dT%H%M%SZ"),
        &info.serial[..info.serial.len().min(12)]
    );
    let meta = CertMeta {
        cert: job.cert.clone(),
        host: job.host.clone(),
        domains: job.domains.clone(),
        directory: directory.to_owned(),
        stored: Timestamp::now(),
        order_url,
    };
    Ok(Prepared {
        cert: job.cert.clone(),
        version,
        not_after: info.not_after,
        key_pem: key_pem.to_owned(),
        leaf,
        chain,
        meta,
    })
}

/// Store file that exists while the signing zone may hold TXT values.
const ZONE_DIRTY: &str = "dns/records-published";

/// True when an earlier run published TXT values and did not clean them up.
pub fn zone_dirty(store: &Store) -> bool {
    store.read(ZONE_DIRTY).is_some()
}

/// Rewrite the zone without any TXT value (second serial bump); the serial.
pub async fn clean_zone(
    config: &Config,
    target: &ZoneTarget,
    store: &Store,
) -> Result<u32, String> {
    publish(config, target, store, &[]).await
}

/// Render, check, install and reload the zone with `records`; the serial.
async fn publish(
    config: &Config,
    target: &ZoneTarget,
    store: &Store,
    records: &[TxtRecord],
) -> Result<u32, String> {
    let span = tracing::info_span!("dns");
    span.pb_set_message(if records.is_empty() {
        "cleaning the zone"
    } else {
        "publishing TXT records"
    });
    let current = target
        .read()
        .await
        .map_err(|e| format!("{:#}", anyhow::Error::new(e)))?;
    let last: Option<u32> = store.read("dns/serial").and_then(|s| s.trim().parse().ok());
    let serial = zone::next_serial(
        current.as_deref().and_then(zone::parse_serial),
        last,
        Timestamp::now(),
    );
    let text = zone::render(&config.dns.template, &config.dns.zone, serial, records)
        .map_err(|e| format!("{:#}", anyhow::Error::new(e)))?;
    // Marked before the zone can hold values, cleared once it holds none:
    // a run killed in between leaves the mark, and the next one cleans.
    if !records.is_empty()
        && let Err(e) = store.write(ZONE_DIRTY, format!("{serial}\n").as_bytes())
    {
        tracing::warn!(error = %e, "could not mark the zone as holding TXT values");
    }
    target
        .install(&text)
        .instrument(span)
        .await
        .map_err(|e| format!("{:#}", anyhow::Error::new(e)))?;
    if records.is_empty()
        && let Err(e) = store.remove(ZONE_DIRTY)
    {
        tracing::warn!(error = %e, "could not clear the zone's TXT mark");
    }
    if let Err(e) = store.write("dns/serial", format!("{serial}\n").as_bytes()) {
        tracing::warn!(error = %e, "could not record the zone serial");
    }
    tracing::info!(zone = %config.dns.zone, serial, records = records.len(), "zone updated");
    Ok(serial)
}

/// Wait until every authoritative server serves `serial` and every value.
async fn verify(
    config: &Config,
    resolver: SocketAddr,
    serial: u32,
    expected: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Verified, String> {
    let span = tracing::info_span!("propagation");
    let started = Instant::now();
    let servers = propagation::authoritative_servers(
        &config.dns.nameservers,
        &config.dns.zone,
        resolver,
        Duration::from_secs(5),
    )
    .await
    .map_err(|e| {
        format!(
            "finding the authoritative servers of {}: {}",
            config.dns.zone,
            client::error_chain(&e)
        )
    })?;
    span.pb_set_message(&format!("{} server(s)", servers.len()));
    let report = propagation::wait_for(
        &servers,
        &config.dns.zone,
        serial,
        expected,
        config.dns.propagation_timeout,
        Duration::from_millis(250),
    )
    .instrument(span)
    .await;
    let failed = report.failed_owners();
    Ok(Verified {
        elapsed: started.elapsed(),
        failed,
        why: report.describe_failures().join("; "),
        servers: servers.iter().map(ToString::to_string).collect(),
    })
}

/// What the propagation check found.
struct Verified {
    elapsed: Duration,
    failed: BTreeSet<String>,
    why: String,
    servers: Vec<String>,
}
