//! Running the handler steps of a plan on the hosts.
//!
//! Steps run in order; items of one step run concurrently. An item runs
//! only when every item it waits for (`after:`) succeeded; otherwise it is
//! blocked and stays pending. Each action runs at most once per host per
//! pulse, however many certificates fired it. Commands are rendered with
//! shell-quoted values; `only_if` guards; each command is bounded by its
//! action's `timeout` on the host itself; only the beginning and end of
//! its output are kept, for the log and the report.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::Instrument as _;
use tracing_indicatif::span_ext::IndicatifSpanExt as _;

use super::command;
use super::map::{HandlerMap, PREFIX};
use crate::config::TargetsConfig;
use crate::inventory::fleet::Fleet;
use crate::plan::HandlerRun;
use crate::remote::{CmdOutput, Keep, RemoteError, SshHost};

/// What is kept of each output stream of an action, for the log and the
/// report: a handler printing 50 MB costs the bridge 64 KiB.
const KEEP: Keep = Keep {
    head: 16 << 10,
    tail: 16 << 10,
};

/// How long past an action's own limit the bridge waits for a host that
/// stopped answering: the host-side `timeout` gets its chance first.
const GRACE: Duration = Duration::from_secs(10);

/// A handler run ready to go: the run, its host and its template variables.
type Item = (HandlerRun, Arc<SshHost>, Option<minijinja::Value>);

/// What happened to one handler run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "detail")]
pub enum HandlerOutcome {
    /// Every action succeeded (or its `only_if` said no).
    Ran,
    /// An action failed; stays pending.
    Failed(String),
    /// Something it waits for did not succeed; stays pending.
    Blocked(String),
    /// Its host's files did not land; fires again on the next pulse.
    Deferred(String),
}

impl HandlerOutcome {
    /// Did it succeed?
    pub fn ok(&self) -> bool {
        matches!(self, HandlerOutcome::Ran)
    }

    /// Did it fire and not succeed, so it stays pending (a failure)?
    pub fn is_pending(&self) -> bool {
        matches!(self, HandlerOutcome::Failed(_) | HandlerOutcome::Blocked(_))
    }
}

/// Run `runs` (already ordered by step). `ready` holds the (host, handler)
/// pairs whose files landed (or that were pending from earlier pulses).
pub async fn run_all(
    runs: &[HandlerRun],
    ready: &BTreeSet<(String, String)>,
    hosts: &BTreeMap<String, Arc<SshHost>>,
    map: &HandlerMap,
    fleet: &Fleet,
    targets: &TargetsConfig,
) -> BTreeMap<(String, String), HandlerOutcome> {
    let mut outcomes: BTreeMap<(String, String), HandlerOutcome> = BTreeMap::new();
    // (host, action) already run successfully in this pulse.
    let done: Arc<Mutex<BTreeSet<(String, String)>>> = Arc::default();
    let bar = tracing::info_span!("handlers");
    bar.pb_set_length(runs.len() as u64);
    let mut steps: Vec<usize> = runs.iter().map(|r| r.step).collect();
    steps.dedup();
    async {
        for step in steps {
            // Items of one host run one after another (so a shared action runs
            // once); hosts run concurrently.
            let mut per_host: BTreeMap<String, Vec<Item>> = BTreeMap::new();
            for run in runs.iter().filter(|r| r.step == step) {
                let key = (run.host.clone(), run.handler.clone());
                if !ready.contains(&key) {
                    outcomes.insert(
                        key,
                        HandlerOutcome::Deferred(
                            "the certificate's files did not land on the host".into(),
                        ),
                    );
                    continue;
                }
                if let Some(why) = blocker(run, map, &outcomes) {
                    outcomes.insert(key, HandlerOutcome::Blocked(why));
                    continue;
                }
                let Some(ssh) = hosts.get(&run.host).cloned() else {
                    outcomes.insert(
                        key,
                        HandlerOutcome::Failed("no SSH connection to the host".into()),
                    );
                    continue;
                };
                let ctx = context(run, fleet, targets);
                per_host
                    .entry(run.host.clone())
                    .or_default()
                    .push((run.clone(), ssh, ctx));
            }
            let tasks = per_host.into_values().map(|items| {
                let done = Arc::clone(&done);
                async move {
                    let mut out = Vec::new();
                    for (run, ssh, ctx) in items {
                        let actions: Vec<String> =
                            run.actions.iter().chain(&run.merged).cloned().collect();
                        let outcome =
                            run_one(&ssh, &run.handler, &actions, map, ctx.as_ref(), &done).await;
                        out.push(((run.host.clone(), run.handler.clone()), outcome));
                    }
                    out
                }
            });
            for (key, outcome) in futures::future::join_all(tasks).await.into_iter().flatten() {
                outcomes.insert(key, outcome);
            }
            bar.pb_set_position(outcomes.len() as u64);
        }
    }
    .instrument(bar.clone())
    .await;
    outcomes
}

/// The first thing `run` waits for that did not succeed, if any.
fn blocker(
    run: &HandlerRun,
    map: &HandlerMap,
    outcomes: &BTreeMap<(String, String), HandlerOutcome>,
) -> Option<String> {
    let h = map.handlers.get(&run.handler)?;
    outcomes
        .iter()
        .find(|((host, handler), o)| {
            h.after.contains(handler) && !o.ok() && !(host == &run.host && handler == &run.handler)
        })
        .map(|((host, handler), _)| {
            format!("waits for `{handler}` on {host}, which did not succeed")
        })
}

async fn run_one(
    ssh: &SshHost,
    handler: &str,
    actions: &[String],
    map: &HandlerMap,
    ctx: Option<&minijinja::Value>,
    done: &Mutex<BTreeSet<(String, String)>>,
) -> HandlerOutcome {
    let Some(ctx) = ctx else {
        return HandlerOutcome::Failed(format!("no certificate in the fleet for `{handler}`"));
    };
    for name in actions {
        let key = (ssh.host.clone(), name.clone());
        if done.lock().map(|d| d.contains(&key)).unwrap_or(false) {
            continue;
        }
        let Some(action) = map.actions.get(name) else {
            return HandlerOutcome::Failed(format!("unknown action `{name}`"));
        };
        if let Some(guard) = &action.only_if {
            let cmd = match command::render(guard, ctx) {
                Ok(c) => c,
                Err(e) => {
                    return HandlerOutcome::Failed(format!("{name}: only_if does not render: {e}"));
                }
            };
            match exec(ssh, name, &cmd, action.timeout).await {
                Ok(out) if out.success() => {}
                Ok(out) => {
                    tracing::info!(host = %ssh.host, action = %name, code = ?out.code, "only_if said no; skipping");
                    continue;
                }
                Err(e) => return HandlerOutcome::Failed(format!("{e} (in only_if)")),
            }
        }
        let cmd = match command::render(&action.run, ctx) {
            Ok(c) => c,
            Err(e) => {
                return HandlerOutcome::Failed(format!("{name}: command does not render: {e}"));
            }
        };
        match exec(ssh, name, &cmd, action.timeout).await {
            Ok(out) => {
                let text = ends(&out.text(), 2000);
                if out.success() {
                    tracing::info!(host = %ssh.host, action = %name, output = %text, "action ran");
                    if let Ok(mut d) = done.lock() {
                        d.insert(key);
                    }
                } else {
                    tracing::warn!(host = %ssh.host, action = %name, code = ?out.code, output = %text, "action failed");
                    return HandlerOutcome::Failed(format!(
                        "{name} exited {}: {}{}",
                        out.code.map_or("by signal".into(), |c| c.to_string()),
                        ends(&out.text(), 200),
                        kept_note(&out)
                    ));
                }
            }
            Err(e) => return HandlerOutcome::Failed(e),
        }
    }
    HandlerOutcome::Ran
}

/// Run one command of action `name` on the host, bounded by `limit` there
/// and on the bridge; a time-out is an error that says which side gave up.
async fn exec(ssh: &SshHost, name: &str, cmd: &str, limit: Duration) -> Result<CmdOutput, String> {
    let started = Instant::now();
    let script = command::bounded(cmd, limit);
    match ssh.run_keeping(&script, None, limit + GRACE, KEEP).await {
        Ok(out)
            if out.code.is_some_and(|c| command::TIMED_OUT.contains(&c))
                && started.elapsed() >= limit =>
        {
            Err(format!(
                "{name} timed out after {}s and was stopped on the host{}",
                limit.as_secs(),
                kept_note(&out)
            ))
        }
        Ok(out) => Ok(out),
        Err(RemoteError::Timeout { .. }) => Err(format!(
            "{name} timed out: the host did not answer within {}s",
            (limit + GRACE).as_secs()
        )),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

/// Says how much output there was when not all of it was kept.
fn kept_note(out: &CmdOutput) -> String {
    if out.omitted == 0 {
        return String::new();
    }
    format!(
        " ({} bytes of output in all; only its beginning and end were kept)",
        out.bytes
    )
}

/// `s` whole if short, else its first and last `max` characters.
fn ends(s: &str, max: usize) -> String {
    let s = s.trim();
    let n = s.chars().count();
    if n <= 2 * max + 5 {
        return s.to_owned();
    }
    let head: String = s.chars().take(max).collect();
    let tail: String = s.chars().skip(n - max).collect();
    format!("{head} [...] {tail}")
}

/// The template variables of a handler run.
fn context(run: &HandlerRun, fleet: &Fleet, targets: &TargetsConfig) -> Option<minijinja::Value> {
    let key = run.handler.strip_prefix(PREFIX)?;
    let cert = fleet.certs.iter().find(|c| c.key == key)?;
    let first = cert.first();
    let dir = targets.cert_dir.join(first);
    let path = |n: &str| dir.join(n).to_string_lossy().into_owned();
    Some(minijinja::context! {
        host => run.host.clone(),
        cert => cert.key.clone(),
        domains => cert.domains(),
        first => first.to_owned(),
        cert_dir => dir.to_string_lossy().into_owned(),
        key_file => path(&format!("{first}.key")),
        cert_file => path(&format!("{first}.cer")),
        ca_file => path("ca.cer"),
        fullchain_file => path("fullchain.cer"),
    })
}
