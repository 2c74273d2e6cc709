//! Ordering the handler runs a plan fires.
//!
//! Nodes are (host, handler) pairs that fire in this run; `after: [X]` adds
//! an edge from every firing of X (on any host) to the handler. Each run's
//! step is one more than the highest step it waits for, so items with the
//! same step may run concurrently. Ties sort by host, then handler, for
//! stable output. An action that several handlers of one host share runs
//! once: in its first item, and is listed as `merged` in the later ones.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{DiGraph, NodeIndex};

use super::{HandlerRun, PlanError};
use crate::handlers::HandlerMap;

/// Order the fired (host, handler) pairs into steps.
pub fn order(map: &HandlerMap, fired: &[(String, String)]) -> Result<Vec<HandlerRun>, PlanError> {
    let unique: BTreeSet<(String, String)> = fired.iter().cloned().collect();
    let mut graph: DiGraph<(String, String), ()> = DiGraph::new();
    let nodes: BTreeMap<(String, String), NodeIndex> = unique
        .iter()
        .map(|k| (k.clone(), graph.add_node(k.clone())))
        .collect();
    let mut by_handler: BTreeMap<&str, Vec<NodeIndex>> = BTreeMap::new();
    for ((_, handler), idx) in &nodes {
        by_handler.entry(handler.as_str()).or_default().push(*idx);
    }
    for ((_, handler), idx) in &nodes {
        let Some(h) = map.handlers.get(handler) else {
            continue;
        };
        for dep in &h.after {
            for from in by_handler.get(dep.as_str()).into_iter().flatten() {
                graph.add_edge(*from, *idx, ());
            }
        }
    }
    let sorted = petgraph::algo::toposort(&graph, None)
        .map_err(|c| PlanError::HandlerCycle(graph[c.node_id()].1.clone()))?;
    let mut step: BTreeMap<NodeIndex, usize> = BTreeMap::new();
    for idx in sorted {
        let s = graph
            .neighbors_directed(idx, petgraph::Direction::Incoming)
            .map(|p| step[&p] + 1)
            .max()
            .unwrap_or(1);
        step.insert(idx, s);
    }
    let mut runs: Vec<HandlerRun> = nodes
        .iter()
        .map(|((host, handler), idx)| HandlerRun {
            step: step[idx],
            host: host.clone(),
            handler: handler.clone(),
            actions: map
                .handlers
                .get(handler)
                .map(|h| h.actions.clone())
                .unwrap_or_default(),
            merged: Vec::new(),
        })
        .collect();
    runs.sort_by(|a, b| (a.step, &a.host, &a.handler).cmp(&(b.step, &b.host, &b.handler)));
    let mut done: BTreeSet<(String, String)> = BTreeSet::new();
    for run in &mut runs {
        let (keep, merged): (Vec<String>, Vec<String>) = run
            .actions
            .iter()
            .cloned()
            .partition(|a| done.insert((run.host.clone(), a.clone())));
        run.actions = keep;
        run.merged = merged;
    }
    Ok(runs)
}
