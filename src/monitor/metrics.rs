//! The Prometheus textfile (node_exporter's textfile collector format):
//! one `# HELP` and `# TYPE` per family, families in a fixed order, every
//! certificate of the fleet labelled `host` and `cert` so that a `--limit`
//! pulse never makes a series vanish.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::state::MonitorState;
use crate::status::StatusRow;

/// What the textfile is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct MetricsInput<'a> {
    /// Every certificate of the fleet (as `status` sees it).
    pub rows: &'a [StatusRow],
    /// Counters and the last pulse.
    pub state: &'a MonitorState,
    /// `status`'s danger zone, exported so alerts can use the same value.
    pub danger_zone: std::time::Duration,
    /// Crate version and commit, for `certbridge_build_info`.
    pub build: (&'a str, &'a str),
}

struct Family<'a> {
    name: &'a str,
    help: &'a str,
    kind: &'a str,
    samples: Vec<(String, String)>,
}

/// Render the textfile.
pub fn render(input: &MetricsInput<'_>) -> String {
    let rows = input.rows;
    let state = input.state;
    let per_cert = |f: &dyn Fn(&StatusRow) -> Option<String>| -> Vec<(String, String)> {
        rows.iter()
            .filter_map(|r| f(r).map(|v| (labels(&[("host", &r.host), ("cert", &r.cert)]), v)))
            .collect()
    };
    let rec = |r: &StatusRow| state.certs.get(&r.cert).cloned().unwrap_or_default();
    let pulse = state.pulse.as_ref();
    let one = |v: Option<String>| v.map(|v| (String::new(), v)).into_iter().collect();
    let families = [
        Family {
            name: "certbridge_build_info",
            help: "The certbridge build that wrote this file (always 1).",
            kind: "gauge",
            samples: vec![(
                labels(&[("version", input.build.0), ("commit", input.build.1)]),
                "1".into(),
            )],
        },
        Family {
            name: "certbridge_cert_expiry_timestamp_seconds",
            help: "Expiry (notAfter) of the newest stored version; absent until first issued.",
            kind: "gauge",
            samples: per_cert(&|r| r.not_after.map(secs)),
        },
        Family {
            name: "certbridge_cert_deployed_expiry_timestamp_seconds",
            help: "Expiry of the version the store records as deployed on the host; absent until first deployed.",
            kind: "gauge",
            samples: per_cert(&|r| r.host_not_after.map(secs)),
        },
        Family {
            name: "certbridge_cert_deployed",
            help: "1 when the host has the newest stored version, else 0.",
            kind: "gauge",
            samples: per_cert(&|r| Some(u8::from(r.deployed).to_string())),
        },
        Family {
            name: "certbridge_cert_renewal_timestamp_seconds",
            help: "When the stored version becomes due for renewal (the chosen point of the CA's ARI window where offered, else acme.renew_before); absent until first issued.",
            kind: "gauge",
            samples: per_cert(&|r| {
                let v = r.version.as_deref()?;
                let ari = rec(r).renew_at.filter(|a| a.version == v).map(|a| a.at);
                ari.or(r.renew_at).map(secs)
            }),
        },
        Family {
            name: "certbridge_cert_last_success_timestamp_seconds",
            help: "End of the last pulse that issued, deployed or kept it without error (0 = never).",
            kind: "gauge",
            samples: per_cert(&|r| Some(rec(r).last_success.map_or_else(|| "0".into(), secs))),
        },
        Family {
            name: "certbridge_cert_consecutive_failures",
            help: "Pulses in a row in which it or its handler failed (0 after a success).",
            kind: "gauge",
            samples: per_cert(&|r| Some(rec(r).consecutive_failures.to_string())),
        },
        Family {
            name: "certbridge_cert_pending_handlers",
            help: "Handlers this certificate fired on its host that have not succeeded yet.",
            kind: "gauge",
            samples: per_cert(&|r| Some(r.pending_handlers.len().to_string())),
        },
        Family {
            name: "certbridge_cert_danger",
            help: "1 when the host's certificate expires within the danger zone (certbridge status exits 1).",
            kind: "gauge",
            samples: per_cert(&|r| Some(u8::from(r.danger).to_string())),
        },
        Family {
            name: "certbridge_danger_zone_seconds",
            help: "The configured danger zone (danger_zone).",
            kind: "gauge",
            samples: one(Some(input.danger_zone.as_secs().to_string())),
        },
        Family {
            name: "certbridge_pulse_last_run_timestamp_seconds",
            help: "Start of the last pulse.",
            kind: "gauge",
            samples: one(pulse.map(|p| secs(p.last_run))),
        },
        Family {
            name: "certbridge_pulse_duration_seconds",
            help: "Wall time of the last pulse.",
            kind: "gauge",
            samples: one(pulse.map(|p| format!("{:.3}", p.duration_seconds))),
        },
        Family {
            name: "certbridge_pulse_success",
            help: "1 when nothing failed in the last pulse, else 0.",
            kind: "gauge",
            samples: one(pulse.map(|p| u8::from(p.success).to_string())),
        },
        Family {
            name: "certbridge_pulse_last_success_timestamp_seconds",
            help: "End of the last pulse in which nothing failed (0 = never).",
            kind: "gauge",
            samples: one(pulse.map(|p| p.last_success.map_or_else(|| "0".into(), secs))),
        },
        Family {
            name: "certbridge_pulse_consecutive_failures",
            help: "Pulses in a row that had a failure (0 after a success).",
            kind: "gauge",
            samples: one(pulse.map(|p| p.consecutive_failures.to_string())),
        },
    ];
    let mut out = String::new();
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        for (l, v) in f.samples {
            let _ = writeln!(out, "{}{l} {v}", f.name);
        }
    }
    out
}

fn secs(t: Timestamp) -> String {
    t.as_second().to_string()
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// The exposition format escapes `\`, `"` and newlines in label values.
fn escape_label(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// ... and `\` and newlines in HELP text.
fn escape_help(v: &str) -> String {
    v.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(labels(&[("a", "x\"y\\z\nw")]), r#"{a="x\"y\\z\nw"}"#);
    }
}
