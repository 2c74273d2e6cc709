//! Log output on stderr; results stay on stdout.

use tracing_subscriber::EnvFilter;

/// Set up the tracing subscriber from `-v`/`-q` (or `CERTBRIDGE_LOG`).
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("CERTBRIDGE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("certbridge={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
