//! Stage 1 of every command: load config, inventory and handler map, and
//! validate all of it. Every problem in every file is collected; any error
//! stops the command here, before any side effect.

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::Config;
use crate::diag::{InputError, Problem, Problems};
use crate::handlers::HandlerMap;
use crate::inventory::Inventory;
use crate::inventory::fleet::{Fleet, FleetHost};

/// Everything loaded and validated.
#[derive(Debug)]
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// The whole inventory.
    pub inventory: Inventory,
    /// In-scope hosts and their certificates.
    pub fleet: Fleet,
    /// The handler map.
    pub handlers: HandlerMap,
    /// Warnings found (errors stop loading).
    pub warnings: Vec<Problem>,
}

/// Load everything from the config at `path`.
pub fn load(path: &Path) -> Result<Loaded, InputError> {
    let config = Config::load(path)?;
    let mut problems = Problems::default();
    let inventory = Inventory::load(&config.inventory, &mut problems);
    let fleet = Fleet::from_inventory(&inventory, &config, &mut problems);
    // The DNS primary's address, port and user come from the inventory too
    // and reach `ssh` just the same: check them here, before any effect.
    if let Some(host) = config
        .dns
        .host
        .as_deref()
        .and_then(|h| inventory.hosts.get(h))
        && !fleet.hosts.contains_key(&host.name)
    {
        FleetHost::from_host(host, &mut problems);
    }
    let keys: BTreeSet<String> = fleet.certs.iter().map(|c| c.key.clone()).collect();
    // Keys of every host, excluded ones included: their handlers are not stale.
    let known: BTreeSet<String> = inventory
        .hosts
        .values()
        .filter_map(|h| h.vars.get("letsencrypt_certs")?.value.as_mapping())
        .flat_map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_owned)))
        .collect();
    let handlers = HandlerMap::load(&config.handlers, &keys, &known, &mut problems);
    check_zone_template(&config, &mut problems);
    let warnings = problems.into_result()?;
    Ok(Loaded {
        config,
        inventory,
        fleet,
        handlers,
        warnings,
    })
}

/// The zone template is input too: one that cannot render (syntax, an
/// undefined variable) would otherwise fail mid-pulse, after every order
/// was placed. Rendered once with a sample record so the loop body counts.
/// A missing file is left to the pulse that needs it: `plan` and
/// self-signed fleets do without.
fn check_zone_template(config: &Config, problems: &mut Problems) {
    use crate::dns::zone::{self, TxtRecord, ZoneError};
    if !config.dns.template.exists() {
        return;
    }
    let sample = [TxtRecord {
        label: "@".into(),
        owner: config.dns.zone.clone(),
        value: "A".repeat(43),
    }];
    match zone::render(&config.dns.template, &config.dns.zone, 1, &sample) {
        Ok(_) => {}
        Err(ZoneError::Render { message, .. }) => problems.push(Problem::error(
            &config.dns.template,
            format!("the zone template does not render: {message}"),
        )),
        Err(e) => problems.push(Problem::error(
            &config.dns.template,
            format!("{:#}", anyhow::Error::new(e)),
        )),
    }
}
