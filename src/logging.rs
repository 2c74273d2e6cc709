//! Logs: human lines on stderr (with progress bars above them when stderr
//! is a terminal), and once the config is known, timestamped lines appended
//! to `log_file`. Results stay on stdout.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal as _, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use tracing_indicatif::IndicatifLayer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

static LOG_FILE: OnceLock<Mutex<File>> = OnceLock::new();

/// Set up logging from `-v`/`-q` (or `CERTBRIDGE_LOG`).
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // The log file keeps info and above even under -q, and follows -vv and
    // -vvv for a debugging run.
    let file_level = match verbose {
        0 | 1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("CERTBRIDGE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("certbridge={level}")));
    if std::io::stderr().is_terminal() && !quiet {
        // One line per stage: name, bar and count where the stage knows
        // its length, a spinner otherwise.
        let style = indicatif::ProgressStyle::with_template(
            "{span_child_prefix}{spinner:.green} {span_name:12} [{bar:30.cyan/blue}] {pos:>4}/{len:4} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        let bars = IndicatifLayer::new().with_progress_style(style);
        let stderr = tracing_subscriber::fmt::layer()
            .with_writer(bars.get_stderr_writer())
            .with_target(false)
            .without_time()
            .with_filter(filter);
        let _ = tracing_subscriber::registry()
            .with(stderr)
            .with(bars.with_filter(EnvFilter::new("certbridge=info")))
            .with(file_layer(file_level))
            .try_init();
    } else {
        let stderr = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_ansi(false)
            .with_filter(filter);
        let _ = tracing_subscriber::registry()
            .with(stderr)
            .with(file_layer(file_level))
            .try_init();
    }
}

/// The log file gets `level` and above, whatever `-q` says.
fn file_layer<S>(level: &str) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(FileWriter)
        .with_ansi(false)
        .with_target(false)
        .with_filter(EnvFilter::new(format!("certbridge={level}")))
}

/// Start appending log lines to `path` (creating its folder).
pub fn open_log_file(path: Option<&Path>) {
    let Some(path) = path else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // Not world-readable or writable whatever the umask: it names hosts,
    // names and errors, and nobody else should write lines into it.
    match OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
    {
        Ok(f) => {
            let _ = LOG_FILE.set(Mutex::new(f));
        }
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot open the log file"),
    }
}

struct FileWriter;

struct FileHandle;

impl Write for FileHandle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match LOG_FILE.get() {
            Some(m) => match m.lock() {
                Ok(mut f) => f.write(buf),
                Err(_) => Ok(buf.len()),
            },
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for FileWriter {
    type Writer = FileHandle;

    fn make_writer(&'a self) -> Self::Writer {
        FileHandle
    }
}
