//! Putting a stored certificate on a host, and checking what a host has.
//!
//! On-host layout (PRODUCT.md 3.4, acme.sh-compatible names):
//!
//! ```text
//! <cert_dir>/<first>/                          root:letsencrypt 2750
//! <cert_dir>/<first>/<first>.key             -> .certbridge/current/<first>.key   (0640)
//! <cert_dir>/<first>/<first>.cer             -> .certbridge/current/<first>.cer   (0644)
//! <cert_dir>/<first>/ca.cer                  -> .certbridge/current/ca.cer        (0644)
//! <cert_dir>/<first>/fullchain.cer           -> .certbridge/current/fullchain.cer (0644)
//! <cert_dir>/<first>/.certbridge/current     -> <version>
//! <cert_dir>/<first>/.certbridge/<version>/   the four files, root:letsencrypt 2750
//! ```
//!
//! A new version is uploaded over SFTP into a temp folder next to the
//! others, synced, given owner and modes, renamed to its version name, and
//! made visible by renaming one symlink (`current`) over the old one. The
//! four names services read never change, so key and certificate always
//! switch together; the previous version is kept for a manual rollback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::config::TargetsConfig;
use crate::handlers::command::shell_quote;
use crate::remote::{RemoteError, SshHost};
use crate::store::StoredCert;

/// Failures deploying one certificate to one host.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// SSH or SFTP failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The store's files could not be read.
    #[error("cannot read {}", path.display())]
    Store {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be uploaded; the host keeps the version it had.
    #[error(
        "{host}: uploading {file} failed{}; the version the host serves was not touched",
        free_note(.free_kib)
    )]
    Upload {
        /// Host.
        host: String,
        /// File name inside the certificate folder.
        file: String,
        /// Space left where the upload went, when the host still answered.
        free_kib: Option<u64>,
        /// Why (boxed: it is large and rare).
        #[source]
        source: Box<RemoteError>,
    },
    /// A step on the host failed.
    #[error("{host}: {what} failed (exit {code}): {output}")]
    Step {
        /// Host.
        host: String,
        /// The step.
        what: &'static str,
        /// Exit code.
        code: i32,
        /// Its output.
        output: String,
    },
    /// What landed on the host is not what was sent.
    #[error("{host}: checksum of {file} after upload is {got}, expected {want}")]
    Checksum {
        /// Host.
        host: String,
        /// File.
        file: String,
        /// Seen.
        got: String,
        /// Expected.
        want: String,
    },
}

/// One file as it must be on the host.
#[derive(Clone)]
pub struct FileSpec {
    /// Name inside the certificate folder.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// Mode.
    pub mode: u32,
    /// SHA-256, hex.
    pub sha256: String,
}

/// The four files of a stored version, named for `first`.
pub fn files_of(cert: &StoredCert, first: &str) -> Result<Vec<FileSpec>, DeployError> {
    let read = |f: &str| {
        let path = cert.dir.join(f);
        std::fs::read(&path).map_err(|source| DeployError::Store { path, source })
    };
    Ok(vec![
        spec(format!("{first}.key"), read("key.pem")?, 0o640),
        spec(format!("{first}.cer"), read("cert.pem")?, 0o644),
        spec("ca.cer".into(), read("chain.pem")?, 0o644),
        spec("fullchain.cer".into(), read("fullchain.pem")?, 0o644),
    ])
}

// By hand: the key file's bytes must never reach a `{:?}`.
impl std::fmt::Debug for FileSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSpec")
            .field("name", &self.name)
            .field("bytes", &self.bytes.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .field("sha256", &self.sha256)
            .finish()
    }
}

fn free_note(free_kib: &Option<u64>) -> String {
    match *free_kib {
        Some(0) => " (the host's filesystem is full: 0 KiB free)".into(),
        Some(k) => format!(" ({k} KiB free there)"),
        None => String::new(),
    }
}

fn spec(name: String, bytes: Vec<u8>, mode: u32) -> FileSpec {
    let sha256 = hex(&Sha256::digest(&bytes));
    FileSpec {
        name,
        bytes,
        mode,
        sha256,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Upload `files` as `version` into `<cert_dir>/<first>/` and switch to it.
/// Returns the checksums seen on the host after the switch.
pub async fn deploy(
    ssh: &SshHost,
    targets: &TargetsConfig,
    first: &str,
    version: &str,
    files: &[FileSpec],
) -> Result<BTreeMap<String, String>, DeployError> {
    let dir = targets.cert_dir.join(first);
    let meta = dir.join(".certbridge");
    // The temp folder is this process's own: after a kill -9 the SSH
    // master of the dead run can still be finishing its switch script on
    // the host, and must not move away the files this run uploads.
    let tmp_name = format!(".{version}.{}.tmp", std::process::id());
    let tmp = meta.join(&tmp_name);
    let q = |p: &Path| shell_quote(&p.to_string_lossy());
    let (owner, group) = (shell_quote(&targets.owner), shell_quote(&targets.group));

    let prepare = format!(
        "set -e\n\
         getent group {group} >/dev/null || {{ echo \"group {group} does not exist on this host; create it (OpenDev's base role does) before deploying\" >&2; exit 3; }}\n\
         install -d -o {owner} -g {group} -m 2750 {base} {dir} {meta}\n\
         find {meta} -maxdepth 1 -name '.*.tmp' -mmin +60 -exec rm -rf {{}} +\n\
         rm -rf {tmp}\n\
         install -d -m 0700 {tmp}",
        base = q(&targets.cert_dir),
        dir = q(&dir),
        meta = q(&meta),
        tmp = q(&tmp),
    );
    step(ssh, "preparing the certificate folder", &prepare).await?;

    for (i, f) in files.iter().enumerate() {
        crate::fault::pause(&format!("upload-{i}"), Some(&ssh.host)).await;
        if let Err(source) = ssh
            .upload(&tmp.join(&f.name), &f.bytes, ssh.command_timeout)
            .await
        {
            return Err(upload_failed(ssh, &tmp, &f.name, source).await);
        }
    }

    crate::fault::point("mid-deploy");
    let mut script = format!("set -e\ncd {}\n", q(&meta));
    let t = shell_quote(&tmp_name);
    for f in files {
        let n = shell_quote(&f.name);
        script.push_str(&format!(
            "chown {owner}:{group} {t}/{n}\nchmod {mode:o} {t}/{n}\n",
            mode = f.mode
        ));
    }
    let v = shell_quote(version);
    script.push_str(&format!(
        "chown {owner}:{group} {t}\nchmod 2750 {t}\n\
         rm -rf {v}\nmv -T {t} {v}\n\
         ln -sfn {v} .current.new\nmv -T .current.new current\n\
         cd ..\n"
    ));
    for f in files {
        let n = shell_quote(&f.name);
        let target = shell_quote(&format!(".certbridge/current/{}", f.name));
        // Replace an old regular file (acme.sh's) or a wrong link with the
        // stable link, atomically.
        script.push_str(&format!(
            "[ \"$(readlink {n} 2>/dev/null)\" = {target} ] || {{ ln -sfn {target} .{n}.new && mv -T .{n}.new {n}; }}\n"
        ));
    }
    // Keep the current and the previous version; drop older ones.
    script.push_str(&format!(
        "cd .certbridge && ls -1t | grep -v -e '^current$' -e '^\\.' | tail -n +3 | while read -r old; do [ \"$old\" != {v} ] && rm -rf -- \"$old\"; done; cd ..\n"
    ));
    for f in files {
        script.push_str(&format!(
            "printf '%s ' {n}; sha256sum < {n} | cut -d' ' -f1\n",
            n = shell_quote(&f.name)
        ));
    }
    let out = step(ssh, "switching to the new version", &script).await?;
    let seen: BTreeMap<String, String> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, s)| (n.to_owned(), s.trim().to_owned()))
        .collect();
    for f in files {
        let got = seen.get(&f.name).cloned().unwrap_or_default();
        if got != f.sha256 {
            return Err(DeployError::Checksum {
                host: ssh.host.clone(),
                file: f.name.clone(),
                got,
                want: f.sha256.clone(),
            });
        }
    }
    Ok(seen)
}

/// Remove the half-filled temp folder (services never look there, but a
/// full disk should not stay full of it) and see how much space is left,
/// unless the host stopped answering altogether.
async fn upload_failed(ssh: &SshHost, tmp: &Path, file: &str, source: RemoteError) -> DeployError {
    let mut free_kib = None;
    if !matches!(source, RemoteError::Timeout { .. }) {
        let t = shell_quote(&tmp.to_string_lossy());
        let script = format!(
            "rm -rf {t}; df -Pk {parent} | awk 'NR == 2 {{ print $4 }}'",
            parent = shell_quote(&tmp.parent().unwrap_or(tmp).to_string_lossy())
        );
        if let Ok(out) = ssh.run(&script, None, ssh.command_timeout).await {
            free_kib = out.stdout.trim().parse().ok();
        }
    }
    DeployError::Upload {
        host: ssh.host.clone(),
        file: file.to_owned(),
        free_kib,
        source: Box::new(source),
    }
}

async fn step(ssh: &SshHost, what: &'static str, script: &str) -> Result<String, DeployError> {
    let out = ssh.run(script, None, ssh.command_timeout).await?;
    if out.success() {
        Ok(out.stdout)
    } else {
        Err(DeployError::Step {
            host: ssh.host.clone(),
            what,
            code: out.code.unwrap_or(-1),
            output: out.text(),
        })
    }
}

/// What a host has in one certificate folder (read-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// File name to (owner, group, mode, sha256); missing files are absent.
    pub files: BTreeMap<String, (String, String, u32, String)>,
}

/// Read owner, group, mode and checksum of each expected file of `firsts`.
pub async fn probe(
    ssh: &SshHost,
    targets: &TargetsConfig,
    firsts: &[String],
) -> Result<BTreeMap<String, Observed>, RemoteError> {
    let mut script = String::new();
    for first in firsts {
        let dir = targets.cert_dir.join(first);
        for name in [
            format!("{first}.key"),
            format!("{first}.cer"),
            "ca.cer".into(),
            "fullchain.cer".into(),
        ] {
            let p = shell_quote(&dir.join(&name).to_string_lossy());
            script.push_str(&format!(
                "if [ -f {p} ]; then printf 'F %s %s %s ' {fq} {nq} \"$(stat -L -c '%U %G %a' {p})\"; sha256sum < {p} | cut -d' ' -f1; fi\n",
                fq = shell_quote(first),
                nq = shell_quote(&name),
            ));
        }
    }
    script.push_str("true\n");
    let out = ssh.run(&script, None, ssh.command_timeout).await?;
    let mut map: BTreeMap<String, Observed> = firsts
        .iter()
        .map(|f| {
            (
                f.clone(),
                Observed {
                    files: BTreeMap::new(),
                },
            )
        })
        .collect();
    for line in out.stdout.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let ["F", first, name, owner, group, mode, sha] = w.as_slice()
            && let Some(o) = map.get_mut(*first)
        {
            o.files.insert(
                (*name).to_owned(),
                (
                    (*owner).to_owned(),
                    (*group).to_owned(),
                    u32::from_str_radix(mode, 8).unwrap_or(0),
                    (*sha).to_owned(),
                ),
            );
        }
    }
    Ok(map)
}

/// Compare what a host has with the stored version.
pub fn compare(
    observed: &Observed,
    expected: &[FileSpec],
    targets: &TargetsConfig,
) -> crate::plan::HostFact {
    if observed.files.is_empty()
        || expected
            .iter()
            .any(|f| !observed.files.contains_key(&f.name))
    {
        return crate::plan::HostFact::Missing;
    }
    let same = expected.iter().all(|f| {
        observed.files.get(&f.name).is_some_and(|(o, g, m, s)| {
            *s == f.sha256 && *o == targets.owner && *g == targets.group && *m == f.mode
        })
    });
    if same {
        crate::plan::HostFact::Matches
    } else {
        crate::plan::HostFact::Differs
    }
}
