//! The aggregator stage: event-time windows and gauges per scope.
//!
//! Entry point: [`Aggregator`]. Offer validated events, call
//! [`Aggregator::advance`], receive one [`tripgate_model::TickSnapshot`] per
//! closed tick.
// `unsafe` in two modules only: a cache prefetch hint (`prefetch`), and
// the global allocator that gives the big tables huge pages (`huge_pages`).
#![deny(unsafe_code)]

mod apply;
mod compact;
mod engine;
mod entities;
mod gauge;
pub mod huge_pages;
mod keys;
mod kpis;
mod pending;
pub mod prefetch;
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
