//! The edge: runs one parsed command and maps its outcome to an exit code.
//! This is the only module that prints results (stdout) and diagnostics
//! (stderr); the stages below return data.

use std::io::Write as _;
use std::process::ExitCode;

use jiff::Timestamp;

use crate::cli::{Cli, Command, Export, ExportArgs, Output, PlanArgs, Selection, StatusArgs};
use crate::diag::{InputError, Problem};
use crate::load::{Loaded, load};
use crate::plan::{self, PlanOptions, scope};
use crate::store::StoreView;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: runtime failure (some work failed; the rest was done).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad input; nothing was changed.
pub const EXIT_INPUT: u8 = 2;
/// Exit code: `plan --detailed-exitcode` found changes.
pub const EXIT_CHANGES: u8 = 3;
/// Exit code: another run holds the store lock; nothing was done
/// (`EX_TEMPFAIL` of sysexits.h: try again later). systemd units list it
/// in `SuccessExitStatus=`.
pub const EXIT_LOCKED: u8 = 75;

/// Errors that end a command.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input (exit 2).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Anything else (exit 1).
    #[error(transparent)]
    Runtime(#[from] anyhow::Error),
}

/// Run the command; never panics on bad input.
pub fn run(cli: &Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Plan(args) => cmd_plan(cli, args),
        Command::Check(args) => cmd_check(cli, args.dns),
        Command::Status(args) => cmd_status(cli, args),
        Command::Pulse(args) => cmd_pulse(cli, &args.selection, args.force),
        Command::Renew(args) => cmd_renew(cli, &args.host, &args.certs),
        Command::Export(args) => cmd_export(cli, args),
        Command::Completions(args) => cmd_completions(args.shell),
        Command::Manpage(args) => cmd_manpage(args.dir.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(AppError::Input(e)) => {
            report_input_error(cli.output, &e);
            ExitCode::from(EXIT_INPUT)
        }
        Err(AppError::Runtime(e)) => {
            eprintln!("certbridge: error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn report_input_error(output: Output, e: &InputError) {
    let mut stderr = std::io::stderr().lock();
    for p in &e.problems {
        let _ = writeln!(stderr, "{p}");
    }
    let errors = e
        .problems
        .iter()
        .filter(|p| p.severity == crate::diag::Severity::Error)
        .count();
    let _ = writeln!(
        stderr,
        "certbridge: {errors} error(s) in the input; nothing was changed."
    );
    if output == Output::Json {
        let doc = serde_json::json!({
            "format_version": plan::FORMAT_VERSION,
            "error": "input",
            "problems": e.problems,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
}

fn warn_all(cli: &Cli, warnings: &[Problem]) {
    if !cli.quiet {
        for w in warnings {
            eprintln!("{w}");
        }
    }
}

fn load_scoped(cli: &Cli, sel: &Selection) -> Result<(Loaded, plan::Scope), AppError> {
    let loaded = load(&cli.config)?;
    warn_all(cli, &loaded.warnings);
    let scope = resolve_scope(&loaded, sel)?;
    Ok((loaded, scope))
}

fn resolve_scope(loaded: &Loaded, sel: &Selection) -> Result<plan::Scope, AppError> {
    scope::resolve(
        &loaded.inventory,
        &loaded.fleet,
        sel.limit.as_deref(),
        &sel.certs,
    )
    .map_err(|problems| AppError::Input(InputError { problems }))
}

fn read_store(loaded: &Loaded) -> Result<StoreView, AppError> {
    StoreView::read(&loaded.config.state_dir)
        .map_err(|e| AppError::Runtime(anyhow::Error::new(e).context("reading the central store")))
}

fn cmd_plan(cli: &Cli, args: &PlanArgs) -> Result<u8, AppError> {
    let (loaded, scope) = load_scoped(cli, &args.selection)?;
    let store = read_store(&loaded)?;
    let now = args.at.unwrap_or_else(Timestamp::now);
    let options = PlanOptions {
        scope,
        force: args.force,
    };
    // The probe and ARI lookups only read.
    let facts = runtime()?.block_on(async {
        let conns = if args.probe {
            let conns = crate::execute::connect(&loaded, &options.scope.hosts).await;
            for (host, c) in &conns {
                if let Err(e) = c {
                    eprintln!("certbridge: warning: {host}: not probed: {e}");
                }
            }
            Some(conns)
        } else {
            None
        };
        crate::execute::facts(&loaded, &store, conns.as_ref(), &options, now).await
    });
    let plan = plan::build(
        &loaded.config,
        &loaded.fleet,
        &loaded.handlers,
        &store,
        &facts,
        &options,
        now,
    )
    .map_err(|e| AppError::Runtime(e.into()))?;
    match cli.output {
        Output::Json => println!("{}", plan::render::json(&plan)),
        Output::Human => print!("{}", plan::render::human(&plan, now)),
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn cmd_check(cli: &Cli, dns: bool) -> Result<u8, AppError> {
    let loaded = load(&cli.config)?;
    warn_all(cli, &loaded.warnings);
    // Read-only: the resolver and the authoritative servers, never the CA.
    let findings = if dns {
        Some(runtime()?.block_on(crate::dns::lint::run(&loaded.config, &loaded.fleet)))
    } else {
        None
    };
    let dns_failed = findings
        .iter()
        .flatten()
        .any(|f| f.severity == crate::dns::lint::Severity::Error);
    let names: usize = loaded.fleet.certs.iter().map(|c| c.names.len()).sum();
    let summary = serde_json::json!({
        "hosts": loaded.fleet.hosts.len(),
        "certificates": loaded.fleet.certs.len(),
        "domains": names,
        "handlers": loaded.handlers.handlers.len(),
        "actions": loaded.handlers.actions.len(),
    });
    match cli.output {
        Output::Json => {
            // The effective config and handler map, resolved: what a
            // pulse would use, for tools and for reviewing defaults.
            let doc = serde_json::json!({
                "format_version": plan::FORMAT_VERSION,
                "ok": !dns_failed,
                "problems": loaded.warnings,
                "findings": findings,
                "summary": summary,
                "config": loaded.config,
                "handler_map": loaded.handlers,
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        Output::Human => println!(
            "OK: {} — {} host(s), {} certificate(s), {} name(s), {} handler(s), {} action(s); {} warning(s).",
            loaded.config.path.display(),
            loaded.fleet.hosts.len(),
            loaded.fleet.certs.len(),
            names,
            loaded.handlers.handlers.len(),
            loaded.handlers.actions.len(),
            loaded.warnings.len(),
        ),
    }
    if let (Output::Human, Some(f)) = (cli.output, &findings) {
        print!("{}", crate::dns::lint::human(f));
    }
    // The files are fine (else we would have stopped with 2); DNS that a
    // pulse would fail on is a failed check.
    Ok(if dns_failed { EXIT_FAILURE } else { EXIT_OK })
}

fn cmd_status(cli: &Cli, args: &StatusArgs) -> Result<u8, AppError> {
    let sel = Selection {
        limit: args.limit.clone(),
        certs: Vec::new(),
    };
    let (loaded, scope) = load_scoped(cli, &sel)?;
    let store = read_store(&loaded)?;
    let now = Timestamp::now();
    let zone = args.danger_zone.unwrap_or(loaded.config.danger_zone);
    let rows = crate::status::rows(&loaded, &store, Some(&scope), now, zone);
    match cli.output {
        Output::Json => println!("{}", crate::status::json(&rows, zone)),
        Output::Human => print!("{}", crate::status::human(&rows, now, zone)),
    }
    Ok(if crate::status::any_danger(&rows) {
        crate::status::EXIT_DANGER
    } else {
        EXIT_OK
    })
}

fn cmd_renew(cli: &Cli, host: &str, certs: &[String]) -> Result<u8, AppError> {
    let loaded = load(&cli.config)?;
    warn_all(cli, &loaded.warnings);
    if !loaded.fleet.hosts.contains_key(host) {
        let why = if loaded.inventory.hosts.contains_key(host) {
            format!(
                "`{host}` is in the inventory but not in group `{}` (or is excluded)",
                loaded.config.group
            )
        } else {
            format!("no host `{host}` in the inventory")
        };
        return Err(InputError::one(Problem::usage("renew HOST", why)).into());
    }
    for key in certs {
        if !loaded
            .fleet
            .certs
            .iter()
            .any(|c| c.host == host && &c.key == key)
        {
            return Err(InputError::one(Problem::usage(
                "--cert",
                format!("`{host}` has no certificate with key `{key}`"),
            ))
            .into());
        }
    }
    let sel = Selection {
        limit: Some(host.to_owned()),
        certs: certs.to_vec(),
    };
    let scope = resolve_scope(&loaded, &sel)?;
    run_pulse(cli, &loaded, scope, true)
}

fn cmd_pulse(cli: &Cli, sel: &Selection, force: bool) -> Result<u8, AppError> {
    let (loaded, scope) = load_scoped(cli, sel)?;
    run_pulse(cli, &loaded, scope, force)
}

fn run_pulse(cli: &Cli, loaded: &Loaded, scope: plan::Scope, force: bool) -> Result<u8, AppError> {
    crate::logging::open_log_file(loaded.config.log_file.as_deref());
    let options = PlanOptions { scope, force };
    let started = Timestamp::now();
    let clock = std::time::Instant::now();
    let result = match runtime()?.block_on(crate::execute::pulse(loaded, &options, started)) {
        // Not a failure: the run holding the lock does the work (and writes
        // the monitoring files); the next timer run tries again.
        Err(
            e @ crate::execute::ExecuteError::Store(crate::store::StoreWriteError::Locked {
                ..
            }),
        ) => {
            eprintln!("certbridge: {:#}", anyhow::Error::new(e));
            return Ok(EXIT_LOCKED);
        }
        other => other.map_err(anyhow::Error::new),
    };
    let failure = result.as_ref().err().map(|e| format!("{e:#}"));
    let monitored = crate::monitor::after_pulse(
        loaded,
        &crate::monitor::PulseOutcome {
            started,
            duration: clock.elapsed(),
            result: result
                .as_ref()
                .map_err(|_| failure.as_deref().unwrap_or_default()),
        },
    )
    .map_err(anyhow::Error::new);
    if let Err(e) = &monitored {
        eprintln!("certbridge: error: monitoring files not written: {e:#}");
    }
    let report = result.map_err(AppError::Runtime)?;
    match cli.output {
        Output::Json => println!("{}", report.json()),
        Output::Human => print!("{}", report.human()),
    }
    tracing::info!(
        failed = report.failed(),
        seconds = report.duration_seconds,
        "pulse finished"
    );
    Ok(if report.failed() || monitored.is_err() {
        EXIT_FAILURE
    } else {
        EXIT_OK
    })
}

fn cmd_export(cli: &Cli, args: &ExportArgs) -> Result<u8, AppError> {
    let loaded = load(&cli.config)?;
    warn_all(cli, &loaded.warnings);
    let store = read_store(&loaded)?;
    let now = Timestamp::now();
    let (text, path, key) = match args.what {
        Export::Metrics => {
            let state = crate::monitor::state::read(&loaded.config.state_dir);
            (
                crate::monitor::render_metrics(&loaded, &store, &state, now),
                loaded.config.metrics_file.as_deref(),
                "metrics_file",
            )
        }
        Export::Certcheck => (
            crate::monitor::certcheck::render(&loaded.fleet),
            loaded.config.certcheck_file.as_deref(),
            "certcheck_file",
        ),
    };
    if !args.write {
        print!("{text}");
        return Ok(EXIT_OK);
    }
    let Some(path) = path else {
        return Err(InputError::one(
            Problem::error(
                &loaded.config.path,
                format!("`{key}` is not set; nothing to write"),
            )
            .item(key),
        )
        .into());
    };
    crate::monitor::write_public(path, text.as_bytes())
        .map_err(|e| AppError::Runtime(anyhow::Error::new(e)))?;
    if !cli.quiet {
        eprintln!("certbridge: wrote {}", path.display());
    }
    Ok(EXIT_OK)
}

fn cmd_completions(shell: clap_complete::Shell) -> Result<u8, AppError> {
    use clap::CommandFactory as _;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "certbridge", &mut std::io::stdout());
    Ok(EXIT_OK)
}

fn cmd_manpage(dir: Option<&std::path::Path>) -> Result<u8, AppError> {
    use clap::CommandFactory as _;
    let cmd = Cli::command();
    let written = match dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .map_err(|e| {
                anyhow::Error::new(e).context(format!("writing man pages to {}", dir.display()))
            }),
        None => clap_mangen::Man::new(cmd)
            .date(crate::BUILD_DATE)
            .render(&mut std::io::stdout())
            .map_err(|e| anyhow::Error::new(e).context("printing the man page")),
    };
    written.map(|()| EXIT_OK).map_err(AppError::Runtime)
}

fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::Runtime(anyhow::Error::new(e).context("starting the async runtime")))
}
