//! The aggregator stage: event-time windows and gauges per scope.
//!
//! Entry point: [`Aggregator`]. Offer validated events, call
//! [`Aggregator::advance`], receive one [`tripgate_model::TickSnapshot`] per
//! closed tick.
// One `unsafe` block, a cache prefetch hint (`prefetch`); none elsewhere.
#![deny(unsafe_code)]

mod apply;
mod compact;
mod engine;
mod entities;
mod gauge;
mod keys;
mod kpis;
mod pending;
mod prefetch;
mod seen;
pub mod sketch;
mod table;
mod window;

pub use engine::{Admission, Aggregator, Counters};
pub use keys::OTHER_KEY;

/// The window store on its own, for the criterion benches in `benches/`.
/// Not part of the stage's interface: use [`Aggregator`].
#[doc(hidden)]
pub mod bench_support {
    pub use crate::kpis::{Delta, KpiState, ScopeKeys};
}
