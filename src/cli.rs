//! The command line (PRODUCT.md section 2), clap derive only. `main.rs`
//! turns these types into calls; nothing else sees clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Central ACME certificates for an Ansible-managed fleet: one DNS update,
/// every order at once, SSH deployment and ordered handlers.
#[derive(Debug, Parser)]
#[command(
    name = "certbridge",
    version = crate::VERSION,
    propagate_version = true,
    after_long_help = EXIT_CODES
)]
pub struct Cli {
    /// Config file.
    #[arg(long, global = true, env = "CERTBRIDGE_CONFIG", default_value = crate::config::DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
    /// Result format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Shown by `--help` and in the man page.
const EXIT_CODES: &str = "Exit codes:
  0   success
  1   runtime failure: some certificate, host or handler failed (the rest was done);
      `status`: a host's certificate expires within the danger zone
  2   bad input (usage, config, inventory, handler map); nothing was changed
  3   `plan --detailed-exitcode`: the plan has changes
  75  another run holds the store lock; nothing was done (try again later)

Files: /etc/certbridge/certbridge.yaml (or --config, CERTBRIDGE_CONFIG); state_dir
(default /var/lib/certbridge); log_file, metrics_file and certcheck_file as configured.";

/// Result format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables for people.
    Human,
    /// JSON for machines.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a pulse would do; changes nothing.
    Plan(PlanArgs),
    /// Issue, renew, deploy and run handlers for what is due.
    Pulse(PulseArgs),
    /// Force renewal of one host's certificates, then deploy and run handlers.
    Renew(RenewArgs),
    /// Validate config, inventory and handler map.
    Check(CheckArgs),
    /// Per certificate: expiry, where deployed, pending work, last error;
    /// exit 1 when a host's certificate is in the danger zone.
    Status(StatusArgs),
    /// Print (or with --write, write) the metrics textfile or certcheck list.
    Export(ExportArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (or write one per command to a folder).
    Manpage(ManpageArgs),
}

/// Which hosts and certificates.
#[derive(Debug, Args, Clone, Default)]
pub struct Selection {
    /// Ansible-style host pattern(s): comma-separated globs, `^regex`, group names, `!exclude`.
    #[arg(long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Only this certificate key (repeatable).
    #[arg(long = "cert", value_name = "KEY")]
    pub certs: Vec<String>,
}

/// `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Which hosts and certificates.
    #[command(flatten)]
    pub selection: Selection,
    /// Plan as if every certificate in scope were due.
    #[arg(long)]
    pub force: bool,
    /// Also check over SSH (read-only) what hosts have.
    #[arg(long)]
    pub probe: bool,
    /// Exit 3 when the plan has changes, 0 when not.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan as if it were this time (RFC 3339), e.g. to see what falls due next week.
    #[arg(long, value_name = "TIME")]
    pub at: Option<jiff::Timestamp>,
}

/// `pulse`.
#[derive(Debug, Args)]
pub struct PulseArgs {
    /// Which hosts and certificates.
    #[command(flatten)]
    pub selection: Selection,
    /// Renew every certificate in scope.
    #[arg(long)]
    pub force: bool,
}

/// `renew HOST`.
#[derive(Debug, Args)]
pub struct RenewArgs {
    /// The host whose certificates to renew.
    pub host: String,
    /// Only this certificate key of that host (repeatable).
    #[arg(long = "cert", value_name = "KEY")]
    pub certs: Vec<String>,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also lint the live DNS (CNAMEs, CAA, authoritative servers).
    #[arg(long)]
    pub dns: bool,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Ansible-style host pattern(s).
    #[arg(long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Exit 1 when a host's certificate expires within this (e.g. 7d, 36h);
    /// overrides `danger_zone` from the config.
    #[arg(long, value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub danger_zone: Option<std::time::Duration>,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Which file.
    #[arg(value_enum)]
    pub what: Export,
    /// Write it (atomically) to the path the config names instead of stdout.
    #[arg(long)]
    pub write: bool,
}

/// The files `pulse` writes for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Export {
    /// Prometheus textfile (`metrics_file`).
    Metrics,
    /// ssl-cert-check `name port` list (`certcheck_file`).
    Certcheck,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `manpage`.
#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// Write `certbridge.1` and one `certbridge-<command>.1` per command
    /// into this folder instead of printing `certbridge.1`.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
