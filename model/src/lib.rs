//! The types that cross tripgate's stage boundaries.
//!
//! Everything here is plain data with no runtime attached (no tokio, rdkafka or
//! prometheus), so every stage and every test can depend on it cheaply.
#![forbid(unsafe_code)]

pub mod action;
pub mod config;
pub mod duration;
pub mod event;
pub mod kpi;
pub mod notification;
pub mod snapshot;
pub mod time;

pub use action::{ActionMessage, ActionMessageType, ActionReason};
pub use duration::Span;
pub use event::{Event, EventBody, Line, Money, Priority, RejectReason, Rejection, Subject, Text};
pub use kpi::{Band, Kpi, KpiKind, ScopeDim, Stat};
pub use notification::{ActionChange, ActionState, Notification, NotificationType};
pub use snapshot::{DistributionStats, Measure, SeriesValues, TickSnapshot, WindowSpec};
pub use time::Nanos;
