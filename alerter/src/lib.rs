//! The alerter stage: rules, breakers and gates over KPI snapshots, and the
//! outputs they feed (JSON Lines records, notifications, metrics).
//!
//! Entry point: [`Alerter`]. Build it from a validated config, hand its
//! [`Alerter::window_specs`] to the aggregator, and call
//! [`Alerter::evaluate`] with each closed tick's snapshot. The action layer
//! ([`actions::ActionController`]) follows it with leases and stepwise
//! release; [`notify`] delivers both until receivers accept them.
#![forbid(unsafe_code)]

pub mod actions;
pub mod breaker;
mod engine;
pub mod metrics;
mod notifications;
pub mod notify;
pub mod records;
mod rules;

pub use engine::{Alerter, AlerterState, BreakerSlot, GateTransition, Outcome, Transition};
pub use rules::CompiledRule;
