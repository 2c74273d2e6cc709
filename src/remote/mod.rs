//! Talking to hosts over SSH: one multiplexed OpenSSH connection per host
//! (openssh, native mux), at most [`ssh::MAX_CHANNELS`] channels on it at
//! once (sshd allows 10 sessions per connection), SFTP for uploads, and
//! strict host key checking always.

pub mod capture;
pub mod ssh;

pub use capture::Keep;
pub use ssh::{CmdOutput, SshHost, Target};

/// Failures reaching or using a host. Each names the host.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The host key is unknown or changed: nothing is sent to such a host.
    #[error("{host}: host key verification failed: {reason}; nothing was written")]
    HostKey {
        /// Host.
        host: String,
        /// Which of the two, with the fingerprint and known_hosts line
        /// where ssh named them.
        reason: String,
    },
    /// The SSH connection could not be made.
    #[error("{host}: cannot connect over SSH: {detail}")]
    Connect {
        /// Host.
        host: String,
        /// What ssh said.
        detail: String,
    },
    /// Running a command failed (not a non-zero exit: that is an output).
    #[error("{host}: running `{what}` failed")]
    Command {
        /// Host.
        host: String,
        /// Which command.
        what: String,
        /// Why.
        #[source]
        source: openssh::Error,
    },
    /// A command or upload took too long.
    #[error("{host}: `{what}` timed out after {seconds}s")]
    Timeout {
        /// Host.
        host: String,
        /// What.
        what: String,
        /// Limit.
        seconds: u64,
    },
    /// An SFTP operation failed.
    #[error("{host}: SFTP {what} {path}")]
    Sftp {
        /// Host.
        host: String,
        /// Operation.
        what: &'static str,
        /// Remote path.
        path: String,
        /// Why.
        #[source]
        source: openssh_sftp_client::Error,
    },
}
