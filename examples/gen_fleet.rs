//! Generate a large synthetic fleet for benchmarks:
//! `cargo run --release --example gen_fleet -- OUT_DIR HOSTS CERTS`.
//!
//! Layout and shapes follow the OpenDev inventory (hosts file, yamlgroup
//! patterns, one host_vars file per host, a handler per certificate, gitea
//! style `after` chains), so `plan` does the same work as on a real fleet.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: gen_fleet OUT_DIR HOSTS CERTS");
        std::process::exit(2);
    }
    let out = Path::new(&args[1]);
    let hosts: usize = args[2].parse().expect("HOSTS is a number");
    let certs: usize = args[3].parse().expect("CERTS is a number");
    std::fs::create_dir_all(out.join("base"))?;
    std::fs::create_dir_all(out.join("service/host_vars"))?;
    std::fs::create_dir_all(out.join("service/group_vars"))?;

    let mut hosts_yaml = String::from("all:\n  hosts:\n");
    for h in 0..hosts {
        let _ = writeln!(
            hosts_yaml,
            "    {}:\n      ansible_host: 192.0.2.{}",
            host(h),
            h % 250 + 1
        );
    }
    std::fs::write(out.join("base/hosts.yaml"), hosts_yaml)?;
    std::fs::write(
        out.join("service/groups.yaml"),
        "plugin: yamlgroup\ngroups:\n  letsencrypt:\n    - 'svc[0-9]*.*.example.org'\n    - '^web(?!99999)[0-9]+\\.'\n  disabled: []\n",
    )?;
    std::fs::write(
        out.join("service/group_vars/letsencrypt.yaml"),
        "letsencrypt_account_email: ops@example.org\n",
    )?;

    let mut handlers = String::from(
        "actions:\n  reload-apache:\n    run: systemctl reload apache2\n    only_if: systemctl is-active --quiet apache2\n  restart-app:\n    run: install -m 0640 {{ key_file }} /srv/app/key.pem && systemctl restart app\nhandlers:\n",
    );
    let per_host = certs.div_ceil(hosts.max(1));
    let mut n = 0;
    for h in 0..hosts {
        let mut vars = String::from("letsencrypt_certs:\n");
        for c in 0..per_host {
            if n == certs {
                break;
            }
            let key = format!("{}-c{c}", host(h).replace('.', "-"));
            // Every certificate has its own first name (its folder on the host).
            let first = if c == 0 {
                host(h)
            } else {
                format!("c{c}.{}", host(h))
            };
            let _ = writeln!(vars, "  {key}:\n    - {first}\n    - www.{first}");
            if !h.is_multiple_of(10) && c == 0 {
                // Chains of ten across hosts, like gitea's rolling restart.
                let prev = format!("{}-c0", host(h - 1).replace('.', "-"));
                let _ = writeln!(
                    handlers,
                    "  letsencrypt updated {key}:\n    actions: [restart-app]\n    after: [letsencrypt updated {prev}]"
                );
            } else {
                let _ = writeln!(handlers, "  letsencrypt updated {key}: reload-apache");
            }
            n += 1;
        }
        std::fs::write(
            out.join(format!("service/host_vars/{}.yaml", host(h))),
            vars,
        )?;
    }
    std::fs::write(out.join("handlers.yaml"), handlers)?;
    std::fs::write(
        out.join("certbridge.yaml"),
        "inventory: [base/hosts.yaml, service/groups.yaml]\nhandlers: handlers.yaml\nstate_dir: state\nlog_file: certbridge.log\n",
    )?;
    eprintln!(
        "wrote {hosts} hosts and {n} certificates to {}",
        out.display()
    );
    Ok(())
}

fn host(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("svc{i:05}.dc{}.example.org", i % 7)
    } else {
        format!("web{i:05}.example.org")
    }
}
