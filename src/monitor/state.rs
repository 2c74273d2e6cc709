//! `state_dir/monitor.json`: what the metrics need that the rest of the
//! store does not keep — when each certificate last came through a pulse
//! cleanly, how many pulses in a row it failed, and the last pulse itself.
//! Updated under the store lock after every pulse; read without it.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::plan::Action;
use crate::report::{Outcome, PulseReport};
use crate::store::StoreView;

/// The file's path under the store.
pub const FILE: &str = "monitor.json";

/// Everything recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorState {
    /// The last pulse, if any ran.
    #[serde(default)]
    pub pulse: Option<PulseRecord>,
    /// Per certificate key.
    #[serde(default)]
    pub certs: BTreeMap<String, CertRecord>,
}

/// The last pulse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulseRecord {
    /// When it started.
    pub last_run: Timestamp,
    /// How long it took.
    pub duration_seconds: f64,
    /// Nothing failed.
    pub success: bool,
    /// When a pulse last succeeded.
    pub last_success: Option<Timestamp>,
    /// Failed pulses in a row (0 after a success).
    pub consecutive_failures: u32,
    /// Why it failed, when it failed as a whole (before any report).
    pub error: Option<String>,
}

/// One certificate's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CertRecord {
    /// The last pulse in which it was issued, deployed or kept cleanly.
    pub last_success: Option<Timestamp>,
    /// The last pulse in which it (or its handler) failed.
    pub last_failure: Option<Timestamp>,
    /// Pulses in a row in which it failed (0 after a success).
    pub consecutive_failures: u32,
    /// The last failure's cause.
    pub last_error: Option<String>,
    /// When the stored version renews, as the last plan computed it (with
    /// the CA's ARI window where offered).
    pub renew_at: Option<RenewAt>,
}

/// A renewal time and the version it was computed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewAt {
    /// Store version.
    pub version: String,
    /// When it becomes due.
    pub at: Timestamp,
}

/// How a pulse ended, as the monitor sees it.
#[derive(Debug, Clone, Copy)]
pub struct PulseOutcome<'a> {
    /// When it started.
    pub started: Timestamp,
    /// Wall time.
    pub duration: std::time::Duration,
    /// Its report, or why it stopped before producing one.
    pub result: Result<&'a PulseReport, &'a str>,
}

/// Read the state; a missing or unreadable file is an empty state (the
/// counters restart rather than the pulse failing over monitoring).
pub fn read(root: &Path) -> MonitorState {
    std::fs::read_to_string(root.join(FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

impl MonitorState {
    /// Fold one pulse in. `view` is the store after the pulse; `keys` are
    /// the fleet's certificate keys (records of others are dropped).
    pub fn record(
        &mut self,
        outcome: &PulseOutcome<'_>,
        view: &StoreView,
        keys: &[&str],
        now: Timestamp,
    ) {
        let success = matches!(outcome.result, Ok(r) if !r.failed());
        let before = self.pulse.take();
        let failures = before.as_ref().map_or(0, |p| p.consecutive_failures);
        self.pulse = Some(PulseRecord {
            last_run: outcome.started,
            duration_seconds: outcome.duration.as_secs_f64(),
            success,
            last_success: if success {
                Some(now)
            } else {
                before.and_then(|p| p.last_success)
            },
            consecutive_failures: if success { 0 } else { failures + 1 },
            error: outcome.result.err().map(str::to_owned),
        });
        self.certs.retain(|k, _| keys.contains(&k.as_str()));
        let Ok(report) = outcome.result else { return };
        for item in &report.certificates {
            let c = &item.plan;
            let handler_error = report
                .handlers
                .iter()
                .find(|h| {
                    h.run.host == c.host && h.run.handler == c.handler && h.outcome.is_pending()
                })
                .map(|h| {
                    format!(
                        "`{}` pending: {}",
                        h.run.handler,
                        pending_reason(&h.outcome)
                    )
                });
            let error = item.error.clone().or(handler_error).or_else(|| {
                matches!(item.outcome, Outcome::Failed | Outcome::Held)
                    .then(|| format!("{:?}", item.outcome).to_lowercase())
            });
            let rec = self.certs.entry(c.cert.clone()).or_default();
            match error {
                None => {
                    rec.last_success = Some(now);
                    rec.consecutive_failures = 0;
                    rec.last_error = None;
                }
                Some(e) => {
                    rec.last_failure = Some(now);
                    rec.consecutive_failures += 1;
                    rec.last_error = Some(e);
                }
            }
            // Only a version this pulse did not replace still has the
            // renewal time the plan computed for it.
            rec.renew_at = match (c.action, c.renew_at, view.certs.get(&c.cert)) {
                (Action::Keep | Action::Deploy, Some(at), Some(s)) => Some(RenewAt {
                    version: s.version.clone(),
                    at,
                }),
                _ => None,
            };
        }
    }
}

fn pending_reason(o: &crate::handlers::run::HandlerOutcome) -> &str {
    use crate::handlers::run::HandlerOutcome;
    match o {
        HandlerOutcome::Failed(e) | HandlerOutcome::Blocked(e) | HandlerOutcome::Deferred(e) => e,
        HandlerOutcome::Ran => "",
    }
}
