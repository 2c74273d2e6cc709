//! Monitoring output (PRODUCT.md 1.11, 3.1 `metrics_file`, `certcheck_file`):
//! after every pulse, successful or not, the Prometheus textfile and the
//! ssl-cert-check list are rewritten atomically from the store, the fleet
//! and `state_dir/monitor.json` (the counters this module keeps). `certbridge
//! export metrics|certcheck` renders the same files without a pulse.
//!
//! Both files are readable by everyone (0644): node_exporter and certcheck
//! run as their own users, and neither file holds a secret.

pub mod certcheck;
pub mod metrics;
pub mod state;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::load::Loaded;
use crate::store::{Store, StoreError, StoreView, StoreWriteError};
pub use state::{MonitorState, PulseOutcome};

/// Why monitoring output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The store could not be locked or `monitor.json` not written.
    #[error("recording the pulse in the store")]
    Store(#[source] StoreWriteError),
    /// The store could not be read.
    #[error("reading the central store")]
    Read(#[source] StoreError),
    /// An output file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Fold a finished pulse into `monitor.json` and rewrite the configured
/// files. Returns `Ok(false)` without writing anything when another run
/// took the store lock in the meantime: that run writes fresher files.
pub fn after_pulse(loaded: &Loaded, outcome: &PulseOutcome<'_>) -> Result<bool, MonitorError> {
    let root = &loaded.config.state_dir;
    let store = match Store::open(root) {
        Ok(s) => s,
        Err(StoreWriteError::Locked { holder, .. }) => {
            tracing::warn!(%holder, "another run holds the store lock; it writes the monitoring files");
            return Ok(false);
        }
        Err(e) => return Err(MonitorError::Store(e)),
    };
    // The counters are kept even when the store cannot be read (the
    // pulse failed on exactly that); only the files need the store.
    let view = StoreView::read(root);
    let mut state = state::read(root);
    let keys: Vec<&str> = loaded.fleet.certs.iter().map(|c| c.key.as_str()).collect();
    let now = Timestamp::now();
    state.record(
        outcome,
        view.as_ref().unwrap_or(&StoreView::default()),
        &keys,
        now,
    );
    let mut json = serde_json::to_vec_pretty(&state).unwrap_or_default();
    json.push(b'\n');
    store
        .write(state::FILE, &json)
        .map_err(MonitorError::Store)?;
    let view = view.map_err(MonitorError::Read)?;
    write_configured(loaded, &view, &state, now)?;
    drop(store);
    Ok(true)
}

/// Render the metrics textfile from what is on disk now.
pub fn render_metrics(
    loaded: &Loaded,
    view: &StoreView,
    state: &MonitorState,
    now: Timestamp,
) -> String {
    let rows = crate::status::rows(loaded, view, None, now, loaded.config.danger_zone);
    metrics::render(&metrics::MetricsInput {
        rows: &rows,
        state,
        danger_zone: loaded.config.danger_zone,
        build: (env!("CARGO_PKG_VERSION"), crate::GIT_COMMIT),
    })
}

/// Write `metrics_file` and `certcheck_file`, those that are configured.
pub fn write_configured(
    loaded: &Loaded,
    view: &StoreView,
    state: &MonitorState,
    now: Timestamp,
) -> Result<(), MonitorError> {
    if let Some(path) = &loaded.config.metrics_file {
        write_public(path, render_metrics(loaded, view, state, now).as_bytes())?;
    }
    if let Some(path) = &loaded.config.certcheck_file {
        write_public(path, certcheck::render(&loaded.fleet).as_bytes())?;
    }
    Ok(())
}

/// Replace `path` atomically with a world-readable file. The temp name
/// starts with a dot and does not end in `.prom`, so the textfile collector
/// never reads a half-written file.
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), MonitorError> {
    let err = |source| MonitorError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".certbridge")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err)
}

#[cfg(test)]
mod tests;
