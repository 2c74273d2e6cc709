//! Rendering and bookkeeping of the monitoring files, from named fixtures.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;

use jiff::Timestamp;

use super::metrics::{self, MetricsInput};
use super::state::{CertRecord, MonitorState, PulseOutcome, PulseRecord, RenewAt};
use crate::handlers::run::HandlerOutcome;
use crate::plan::{Action, CertPlan, DnsPlan, HandlerRun, Reason, Summary};
use crate::report::{CertOutcome, DnsReport, HandlerResult, OrderCounts, Outcome, PulseReport};
use crate::status::StatusRow;
use crate::store::StoreView;

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn row(host: &str, cert: &str) -> StatusRow {
    StatusRow {
        host: host.into(),
        cert: cert.into(),
        domains: vec![host.into()],
        version: None,
        not_after: None,
        renew_at: None,
        deployed: false,
        host_not_after: None,
        danger: false,
        pending_handlers: Vec::new(),
        last_error: None,
        held_until: None,
    }
}

/// One healthy certificate (ARI time recorded for its version), one whose
/// newer version did not reach the host and whose handler is pending, and
/// one never issued.
fn fixture_rows_and_state() -> (Vec<StatusRow>, MonitorState) {
    let healthy = StatusRow {
        version: Some("20261201T000000Z".into()),
        not_after: Some(ts("2027-03-01T00:00:00Z")),
        renew_at: Some(ts("2027-01-30T00:00:00Z")),
        deployed: true,
        host_not_after: Some(ts("2027-03-01T00:00:00Z")),
        ..row("gitea01.opendev.org", "gitea01-main")
    };
    let behind = StatusRow {
        version: Some("20261203T000000Z".into()),
        not_after: Some(ts("2027-03-03T00:00:00Z")),
        renew_at: Some(ts("2027-02-01T00:00:00Z")),
        host_not_after: Some(ts("2026-12-06T00:00:00Z")),
        danger: true,
        pending_handlers: vec!["letsencrypt updated nb01-main".into()],
        ..row("nb01.opendev.org", "nb01-main")
    };
    let new = row("zuul01.opendev.org", "zuul01-main");
    let mut state = MonitorState {
        pulse: Some(PulseRecord {
            last_run: ts("2026-12-04T10:00:00Z"),
            duration_seconds: 12.3456,
            success: false,
            last_success: Some(ts("2026-12-04T09:00:12Z")),
            consecutive_failures: 1,
            error: None,
        }),
        certs: BTreeMap::new(),
    };
    state.certs.insert(
        "gitea01-main".into(),
        CertRecord {
            last_success: Some(ts("2026-12-04T10:00:12Z")),
            renew_at: Some(RenewAt {
                version: "20261201T000000Z".into(),
                at: ts("2027-02-10T06:00:00Z"),
            }),
            ..CertRecord::default()
        },
    );
    state.certs.insert(
        "nb01-main".into(),
        CertRecord {
            last_success: Some(ts("2026-12-03T10:00:12Z")),
            last_failure: Some(ts("2026-12-04T10:00:12Z")),
            consecutive_failures: 3,
            last_error: Some("connection refused".into()),
            // For an older version: ignored.
            renew_at: Some(RenewAt {
                version: "20261101T000000Z".into(),
                at: ts("2026-12-20T00:00:00Z"),
            }),
        },
    );
    (vec![healthy, behind, new], state)
}

#[test]
fn metrics_textfile() {
    let (rows, state) = fixture_rows_and_state();
    let text = metrics::render(&MetricsInput {
        rows: &rows,
        state: &state,
        danger_zone: std::time::Duration::from_secs(7 * 86_400),
        build: ("0.1.0", "1a2b3c4d5e"),
    });
    insta::assert_snapshot!(text);
}

#[test]
fn metrics_textfile_is_well_formed() {
    let (rows, _) = fixture_rows_and_state();
    let text = metrics::render(&MetricsInput {
        rows: &rows,
        state: &MonitorState::default(),
        danger_zone: std::time::Duration::from_secs(60),
        build: ("0.1.0", "unknown"),
    });
    let mut families = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            families.push(rest.split(' ').next().expect("name").to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            assert_eq!(
                rest,
                format!("{} gauge", families.last().expect("HELP first"))
            );
        } else {
            // Every sample belongs to the family announced last, and its
            // value is a number.
            let (series, value) = line.rsplit_once(' ').expect("sample");
            assert!(
                series.starts_with(families.last().expect("family")),
                "{line}"
            );
            value.parse::<f64>().expect("numeric value");
        }
    }
    let unique: std::collections::BTreeSet<_> = families.iter().collect();
    assert_eq!(unique.len(), families.len(), "a family appears twice");
    assert!(text.ends_with('\n'));
    // No pulse recorded yet: the pulse families have no samples.
    assert!(!text.contains("\ncertbridge_pulse_success "));
}

fn plan_item(host: &str, cert: &str, action: Action, renew_at: Option<Timestamp>) -> CertPlan {
    CertPlan {
        host: host.into(),
        cert: cert.into(),
        domains: vec![host.into()],
        directory: format!("/etc/letsencrypt-certs/{host}"),
        action,
        reason: Reason::Valid,
        not_after: None,
        handler: format!("letsencrypt updated {cert}"),
        renew_at,
        self_signed: false,
        held_until: None,
    }
}

fn report(
    items: Vec<(CertPlan, Outcome, Option<&str>)>,
    handlers: Vec<HandlerResult>,
) -> PulseReport {
    PulseReport {
        format_version: 1,
        certificates: items
            .into_iter()
            .map(|(plan, outcome, error)| CertOutcome {
                plan,
                outcome,
                version: None,
                error: error.map(str::to_owned),
            })
            .collect(),
        dns: DnsReport {
            plan: DnsPlan {
                zone: "acme.opendev.org".into(),
                challenges: Vec::new(),
            },
            outcome: Default::default(),
        },
        handlers,
        summary: Summary::default(),
        orders: OrderCounts {
            created: 0,
            resumed: 0,
        },
        duration_seconds: 2.0,
        stage_seconds: BTreeMap::new(),
    }
}

#[test]
fn a_pulse_counts_failures_per_certificate_and_resets_on_success() {
    let now = ts("2026-12-04T10:00:00Z");
    let ari = ts("2027-01-15T00:00:00Z");
    let mut view = StoreView::default();
    view.certs.insert(
        "a-main".into(),
        crate::store::StoredCert {
            key: "a-main".into(),
            version: "v1".into(),
            dir: "/nonexistent".into(),
            domains: vec!["a.example.org".into()],
            not_before: ts("2026-12-01T00:00:00Z"),
            not_after: ts("2027-03-01T00:00:00Z"),
            serial: "01".into(),
            issuer: "CN=test".into(),
        },
    );
    let failing_handler = HandlerResult {
        run: HandlerRun {
            step: 1,
            host: "c.example.org".into(),
            handler: "letsencrypt updated c-main".into(),
            actions: vec!["reload".into()],
            merged: Vec::new(),
        },
        outcome: HandlerOutcome::Failed("exit 1".into()),
    };
    let r = report(
        vec![
            (
                plan_item("a.example.org", "a-main", Action::Keep, Some(ari)),
                Outcome::Kept,
                None,
            ),
            (
                plan_item("b.example.org", "b-main", Action::Issue, None),
                Outcome::Failed,
                Some("CA said no"),
            ),
            (
                plan_item("c.example.org", "c-main", Action::Deploy, None),
                Outcome::Deployed,
                None,
            ),
        ],
        vec![failing_handler],
    );
    let mut state = MonitorState::default();
    state
        .certs
        .insert("gone-main".into(), CertRecord::default());
    let keys = ["a-main", "b-main", "c-main"];
    let outcome = PulseOutcome {
        started: now,
        duration: std::time::Duration::from_secs(2),
        result: Ok(&r),
    };
    state.record(&outcome, &view, &keys, now);
    state.record(&outcome, &view, &keys, now);
    assert!(!state.certs.contains_key("gone-main"));
    let a = &state.certs["a-main"];
    assert_eq!((a.consecutive_failures, a.last_success), (0, Some(now)));
    assert_eq!(
        a.renew_at,
        Some(RenewAt {
            version: "v1".into(),
            at: ari
        })
    );
    let b = &state.certs["b-main"];
    assert_eq!(b.consecutive_failures, 2);
    assert_eq!(b.last_success, None);
    assert_eq!(b.last_error.as_deref(), Some("CA said no"));
    let c = &state.certs["c-main"];
    assert_eq!(c.consecutive_failures, 2, "a pending handler is a failure");
    assert!(
        c.last_error
            .as_deref()
            .is_some_and(|e| e.contains("exit 1"))
    );
    let p = state.pulse.as_ref().expect("pulse");
    assert_eq!(
        (p.success, p.consecutive_failures, p.last_success),
        (false, 2, None)
    );

    // A pulse that stopped before a report counts against the pulse only.
    let later = ts("2026-12-04T11:00:00Z");
    state.record(
        &PulseOutcome {
            started: later,
            duration: std::time::Duration::from_millis(10),
            result: Err("reading the central store: bad JSON"),
        },
        &view,
        &keys,
        later,
    );
    assert_eq!(state.certs["b-main"].consecutive_failures, 2);
    let p = state.pulse.as_ref().expect("pulse");
    assert_eq!(p.consecutive_failures, 3);
    assert_eq!(
        p.error.as_deref(),
        Some("reading the central store: bad JSON")
    );

    // A clean pulse resets the pulse counter and keeps the time.
    let clean = report(
        vec![(
            plan_item("a.example.org", "a-main", Action::Keep, Some(ari)),
            Outcome::Kept,
            None,
        )],
        Vec::new(),
    );
    let end = ts("2026-12-04T12:00:00Z");
    state.record(
        &PulseOutcome {
            started: end,
            duration: std::time::Duration::from_secs(1),
            result: Ok(&clean),
        },
        &view,
        &keys,
        end,
    );
    let p = state.pulse.as_ref().expect("pulse");
    assert_eq!(
        (p.success, p.consecutive_failures, p.last_success),
        (true, 0, Some(end))
    );
}

#[test]
fn files_are_replaced_atomically_and_world_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("textfile/certbridge.prom");
    super::write_public(&path, b"one\n").expect("first write");
    super::write_public(&path, b"two\n").expect("second write");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "two\n");
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    let names: Vec<String> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["certbridge.prom"], "no temp file left behind");
}
