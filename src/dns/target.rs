//! Where the signing zone file lives: on this machine, or on `dns.host`
//! over SSH. Both check a temp file first, replace atomically, reload, and
//! put the old file back when the reload fails.

use std::sync::Arc;
use std::time::Duration;

use super::zone::{LocalZone, ZoneError, substitute};
use crate::handlers::command::shell_quote;
use crate::remote::SshHost;

/// Time the whole remote update may take.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(90);

/// The zone file and how to update it.
#[derive(Debug, Clone)]
pub enum ZoneTarget {
    /// On this machine.
    Local(LocalZone),
    /// On the DNS primary, over SSH.
    Remote {
        /// The zone and its commands (the file path is on the remote host).
        zone: LocalZone,
        /// The connection.
        ssh: Arc<SshHost>,
    },
}

impl ZoneTarget {
    /// The current file's text, if any.
    pub async fn read(&self) -> Result<Option<String>, ZoneError> {
        match self {
            ZoneTarget::Local(z) => z.read(),
            ZoneTarget::Remote { zone, ssh } => {
                let f = shell_quote(&zone.file.to_string_lossy());
                let out = ssh
                    .run(
                        &format!("if [ -e {f} ]; then cat {f}; else exit 3; fi"),
                        None,
                        REMOTE_TIMEOUT,
                    )
                    .await
                    .map_err(|e| remote_io(zone, &e.to_string()))?;
                match out.code {
                    Some(0) => Ok(Some(out.stdout)),
                    Some(3) => Ok(None),
                    _ => Err(remote_io(zone, &out.text())),
                }
            }
        }
    }

    /// Check, replace and reload.
    pub async fn install(&self, text: &str) -> Result<(), ZoneError> {
        match self {
            ZoneTarget::Local(z) => z.install(text).await,
            ZoneTarget::Remote { zone, ssh } => install_remote(zone, ssh, text).await,
        }
    }
}

fn remote_io(zone: &LocalZone, detail: &str) -> ZoneError {
    ZoneError::Io {
        path: zone.file.clone(),
        source: std::io::Error::other(detail.to_owned()),
    }
}

async fn install_remote(zone: &LocalZone, ssh: &SshHost, text: &str) -> Result<(), ZoneError> {
    let file = zone.file.to_string_lossy().into_owned();
    let tmp = format!("{file}.certbridge-{}.tmp", std::process::id());
    ssh.upload(std::path::Path::new(&tmp), text.as_bytes(), REMOTE_TIMEOUT)
        .await
        .map_err(|e| remote_io(zone, &e.to_string()))?;
    let (f, t) = (shell_quote(&file), shell_quote(&tmp));
    let prev = shell_quote(&format!("{file}.certbridge-prev"));
    let check = substitute(&zone.check, &zone.zone, Some(std::path::Path::new(&tmp)));
    let reload = substitute(&zone.reload, &zone.zone, None);
    // Exit 10: the check failed; 11: the reload failed (old file restored).
    let script = format!(
        "if [ -e {f} ]; then chown --reference={f} {t} && chmod --reference={f} {t}; else chmod 0644 {t}; fi\n\
         if ! out=$({check} 2>&1); then rm -f {t}; echo \"$out\"; exit 10; fi\n\
         if [ -e {f} ]; then cp -p {f} {prev}; fi\n\
         mv -f {t} {f}\n\
         if ! out=$({reload} 2>&1); then\n\
           if [ -e {prev} ]; then mv -f {prev} {f}; {reload} >/dev/null 2>&1; fi\n\
           echo \"$out\"; exit 11\n\
         fi\n\
         rm -f {prev}\n"
    );
    let out = ssh
        .run(&script, None, REMOTE_TIMEOUT)
        .await
        .map_err(|e| remote_io(zone, &e.to_string()))?;
    match out.code {
        Some(0) => Ok(()),
        Some(10) => Err(ZoneError::Check {
            command: check,
            code: 1,
            output: out.text(),
        }),
        Some(11) => Err(ZoneError::Reload {
            command: reload,
            code: 1,
            output: out.text(),
        }),
        _ => Err(remote_io(zone, &out.text())),
    }
}
