//! The action layer: leases, re-assertions, stepwise release, operator
//! overrides and silences, after the alerter and outside the contract's
//! transitions. See [`ActionController`] and docs/RECEIVERS.md.

mod controller;
mod operator;
mod state;
#[cfg(test)]
mod tests;

pub use controller::{ActionController, GATE_KEY};
pub use state::{
    ActionControllerState, ActionSource, ActionTarget, EngagedAction, Override, ReleaseProgress,
    Silence,
};
