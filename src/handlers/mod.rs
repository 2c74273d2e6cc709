//! Handlers: what runs on a host after its certificate files changed.
//!
//! [`map`] loads and validates the operator's `handlers.yaml` (PRODUCT.md
//! 3.3); [`command`] renders an action's command with every inserted value
//! shell-quoted.

pub mod command;
pub mod map;
pub mod run;

pub use map::{Action, Handler, HandlerMap};
