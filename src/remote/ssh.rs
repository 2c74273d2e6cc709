//! One host's SSH connection: commands (`sh -c`, shell-quoted by openssh)
//! and SFTP uploads, both bounded in time and in channels.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use openssh_sftp_client::{Sftp, SftpOptions};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::{OnceCell, Semaphore};

use super::RemoteError;
use super::capture::{Capture, Keep};
use crate::config::SshConfig;

/// Channels used at once on one connection; sshd's `MaxSessions` is 10 and
/// the SFTP subsystem takes one of them. The rest is margin: sshd frees a
/// session slightly after the client has seen its command exit, and at 8
/// a busy host refused sessions (about 1 in 20 deploys of a 100-certificate
/// pulse on 4 hosts).
pub const MAX_CHANNELS: usize = 6;

/// Attempts to open a session that sshd refused (`MaxSessions` reached for
/// a moment). A refused session never ran anything, so trying again is safe.
const SESSION_ATTEMPTS: u32 = 4;

/// How long closing a connection may take: a host that stopped answering
/// must not keep the pulse from finishing.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// Inventory name (for messages).
    pub host: String,
    /// Address to connect to (`ansible_host`).
    pub address: String,
    /// Port (`ansible_port`), if not ssh's default.
    pub port: Option<u16>,
    /// User (`ansible_user`, else `ssh.user`).
    pub user: String,
}

impl Target {
    /// Where to reach a host of the inventory; `default_user` when it sets
    /// no `ansible_user`.
    pub fn of(host: &crate::inventory::fleet::FleetHost, default_user: &str) -> Target {
        Target {
            host: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone().unwrap_or_else(|| default_user.to_owned()),
        }
    }
}

/// A command's result. Output is kept within the [`Keep`] the caller
/// asked for; what was left out is marked in the text and counted.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output (as kept).
    pub stdout: String,
    /// Standard error (as kept).
    pub stderr: String,
    /// Bytes the command printed in all, both streams.
    pub bytes: u64,
    /// Of those, bytes not kept.
    pub omitted: u64,
}

impl CmdOutput {
    /// Did it exit 0?
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout and stderr together, trimmed, for messages.
    pub fn text(&self) -> String {
        let mut t = self.stdout.trim().to_owned();
        let e = self.stderr.trim();
        if !e.is_empty() {
            if !t.is_empty() {
                t.push('\n');
            }
            t.push_str(e);
        }
        t
    }
}

/// A connected host.
#[derive(Debug)]
pub struct SshHost {
    /// Inventory name.
    pub host: String,
    /// `ssh.command_timeout`: the bound on each of certbridge's own steps
    /// on this host (probe, upload, switch).
    pub command_timeout: Duration,
    session: Arc<Session>,
    channels: Arc<Semaphore>,
    sftp: OnceCell<Sftp>,
}

/// A short control directory: unix socket paths are limited to ~108 bytes.
fn control_dir() -> PathBuf {
    let dir = PathBuf::from(format!("/tmp/certbridge-ssh-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700));
    dir
}

impl SshHost {
    /// Connect with strict host key checking.
    pub async fn connect(target: &Target, cfg: &SshConfig) -> Result<SshHost, RemoteError> {
        let mut b = SessionBuilder::default();
        b.user(target.user.clone())
            .known_hosts_check(KnownHosts::Strict)
            .connect_timeout(cfg.connect_timeout)
            .server_alive_interval(Duration::from_secs(15))
            .control_directory(control_dir());
        if let Some(p) = target.port {
            b.port(p);
        }
        if let Some(k) = &cfg.identity_file {
            b.keyfile(k);
        }
        if let Some(kh) = &cfg.known_hosts {
            b.user_known_hosts_file(kh);
        }
        // The connect timeout bounds the TCP connect; this bounds the rest.
        let limit = cfg.connect_timeout + Duration::from_secs(10);
        let session = match tokio::time::timeout(limit, b.connect_mux(&target.address)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(classify(&target.host, &e)),
            Err(_) => {
                return Err(RemoteError::Timeout {
                    host: target.host.clone(),
                    what: "connect".into(),
                    seconds: limit.as_secs(),
                });
            }
        };
        Ok(SshHost {
            host: target.host.clone(),
            command_timeout: cfg.command_timeout,
            session: Arc::new(session),
            channels: Arc::new(Semaphore::new(MAX_CHANNELS)),
            sftp: OnceCell::new(),
        })
    }

    /// Run `script` with `sh -c`, optionally feeding `stdin`, within
    /// `timeout`, keeping up to [`Keep::OWN_SCRIPT`] of its output.
    pub async fn run(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<CmdOutput, RemoteError> {
        self.run_keeping(script, stdin, timeout, Keep::OWN_SCRIPT)
            .await
    }

    /// Like [`SshHost::run`], keeping only `keep` of each output stream;
    /// the rest is read and dropped, so the command still runs to its end.
    pub async fn run_keeping(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        timeout: Duration,
        keep: Keep,
    ) -> Result<CmdOutput, RemoteError> {
        let _permit = self.channels.acquire().await;
        let what = first_line(script);
        let fut = async {
            let mut cmd = self.session.command("sh");
            cmd.arg("-c").arg(script);
            cmd.stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut attempt = 1;
            let mut child = loop {
                match cmd.spawn().await {
                    Ok(child) => break child,
                    Err(e) if attempt < SESSION_ATTEMPTS && session_refused(&e) => {
                        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                        attempt += 1;
                    }
                    Err(source) => {
                        return Err(RemoteError::Command {
                            host: self.host.clone(),
                            what: what.clone(),
                            source,
                        });
                    }
                }
            };
            let input = child.stdin().take();
            let feed = async move {
                if let (Some(data), Some(mut w)) = (stdin, input) {
                    // A failed write shows up as the command's failure.
                    let _ = w.write_all(data).await;
                    let _ = w.shutdown().await;
                }
            };
            let (_, out, err) = tokio::join!(
                feed,
                Capture::read(child.stdout().take(), keep),
                Capture::read(child.stderr().take(), keep),
            );
            let status = child.wait().await.map_err(|source| RemoteError::Command {
                host: self.host.clone(),
                what: what.clone(),
                source,
            })?;
            Ok(CmdOutput {
                code: status.code(),
                stdout: out.text(),
                stderr: err.text(),
                bytes: out.total() + err.total(),
                omitted: out.omitted() + err.omitted(),
            })
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(RemoteError::Timeout {
                host: self.host.clone(),
                what,
                seconds: timeout.as_secs(),
            }),
        }
    }

    async fn sftp(&self) -> Result<&Sftp, RemoteError> {
        self.sftp
            .get_or_try_init(|| async {
                Sftp::from_clonable_session(Arc::clone(&self.session), SftpOptions::default())
                    .await
                    .map_err(|source| RemoteError::Sftp {
                        host: self.host.clone(),
                        what: "start",
                        path: String::new(),
                        source,
                    })
            })
            .await
    }

    /// Write `bytes` to `path` (created or truncated, mode 0600, synced).
    /// Callers write to a temp name and rename, so readers never see a
    /// partial file.
    pub async fn upload(
        &self,
        path: &Path,
        bytes: &[u8],
        timeout: Duration,
    ) -> Result<(), RemoteError> {
        let p = path.display().to_string();
        let err = |what: &'static str| {
            let host = self.host.clone();
            let path = p.clone();
            move |source| RemoteError::Sftp {
                host,
                what,
                path,
                source,
            }
        };
        // Starting SFTP is inside the bound too: a host that stalls before
        // answering the subsystem request must time out, not hang the pulse.
        let fut = async {
            let sftp = self.sftp().await?;
            let mut f = sftp
                .options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .await
                .map_err(err("open"))?;
            f.write_all(bytes).await.map_err(err("write"))?;
            f.sync_all().await.map_err(err("sync"))?;
            f.close().await.map_err(err("close"))
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(RemoteError::Timeout {
                host: self.host.clone(),
                what: format!("upload of {p}"),
                seconds: timeout.as_secs(),
            }),
        }
    }

    /// Close the connection (the master process exits), each part within
    /// a few seconds: a host that stopped answering is simply dropped.
    pub async fn close(self) {
        if let Some(sftp) = self.sftp.into_inner() {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, sftp.close()).await;
        }
        if let Ok(session) = Arc::try_unwrap(self.session) {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, session.close()).await;
        }
    }
}

/// sshd said no to a new session (openssh_mux_client's `RequestFailure`,
/// "Session open refused by peer"); only its text tells it apart.
fn session_refused(e: &openssh::Error) -> bool {
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        if err.to_string().contains("Session open refused") {
            return true;
        }
        cur = err.source();
    }
    false
}

fn first_line(script: &str) -> String {
    let line = script.trim().lines().next().unwrap_or("");
    if line.len() > 60 {
        format!(
            "{}...",
            &line[..line.char_indices().nth(57).map_or(line.len(), |(i, _)| i)]
        )
    } else {
        line.to_owned()
    }
}

/// Tell a host-key failure apart from other connection failures.
fn classify(host: &str, e: &openssh::Error) -> RemoteError {
    let mut detail = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        src = s.source();
    }
    classify_detail(host, detail.trim().replace('\n', " "))
}

fn classify_detail(host: &str, detail: String) -> RemoteError {
    if detail.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || detail.contains("has changed and you have requested strict checking")
    {
        let presented = word_after(&detail, "sent by the remote host is")
            .map(|f| format!(" ({})", f.trim_end_matches('.')))
            .unwrap_or_default();
        let line = detail
            .find("Offending ")
            .and_then(|at| word_after(&detail[at..], "key in"))
            .unwrap_or("known_hosts");
        RemoteError::HostKey {
            host: host.to_owned(),
            reason: format!(
                "it presents a different key{presented} than {line} lists for it \
                 (a reinstalled host, or a man in the middle); if the change is expected, \
                 replace that line"
            ),
        }
    } else if detail.contains("Host key verification failed")
        || detail.contains("No ED25519 host key is known")
        || detail.contains("host key for")
    {
        RemoteError::HostKey {
            host: host.to_owned(),
            reason: format!("its key is not in known_hosts ({detail})"),
        }
    } else {
        RemoteError::Connect {
            host: host.to_owned(),
            detail,
        }
    }
}

/// The whitespace-separated word after `marker` in `text`.
fn word_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let at = text.find(marker)? + marker.len();
    text[at..].split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(e: RemoteError) -> String {
        match e {
            RemoteError::HostKey { reason, .. } => reason,
            other => panic!("not a host key error: {other}"),
        }
    }

    #[test]
    fn a_changed_key_names_the_presented_key_and_the_known_hosts_line() {
        // What OpenSSH 9.2 prints, newlines folded.
        let said = "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@ \
            The fingerprint for the ED25519 key sent by the remote host is SHA256:Hmu6P4. \
            Add correct host key in /etc/ssh/known_hosts to get rid of this message. \
            Offending ED25519 key in /etc/ssh/known_hosts:5 remove with: \
            Host key for [h]:22 has changed and you have requested strict checking.";
        let r = reason(classify_detail("h", said.into()));
        assert!(r.contains("different key (SHA256:Hmu6P4)"), "{r}");
        assert!(r.contains("/etc/ssh/known_hosts:5"), "{r}");
    }

    #[test]
    fn an_unknown_key_says_so() {
        let said = "No ED25519 host key is known for [h]:22 and you have requested strict checking. Host key verification failed.";
        let r = reason(classify_detail("h", said.into()));
        assert!(r.starts_with("its key is not in known_hosts"), "{r}");
    }
}
