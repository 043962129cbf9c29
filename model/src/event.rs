//! The event model of contract section 1, after validation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Nanos;

mod money;

pub use money::Money;

/// Ids and dimension values as events carry them: held inline up to 24
/// bytes (order numbers, SKUs, warehouse and channel names), so decoding
/// such an event allocates nothing for them; longer ones (a UUID) go to
/// the heap.
pub type Text = compact_str::CompactString;

/// A ticket's priority (a closed enum in the contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn parse(text: &str) -> Option<Priority> {
        match text {
            "low" => Some(Priority::Low),
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            "urgent" => Some(Priority::Urgent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub sku: Text,
    pub quantity: u32,
    pub unit_price: Money,
    pub unit_cost: Money,
}

/// What happened, with the fields its type requires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EventBody {
    OrderPlaced {
        order_id: Text,
        channel: Text,
        region: Text,
        warehouse: Text,
        promised_by: Nanos,
        lines: Vec<Line>,
    },
    OrderCancelled {
        order_id: Text,
    },
    OrderRefunded {
        order_id: Text,
        amount: Money,
    },
    OrderChargeback {
        order_id: Text,
        amount: Money,
    },
    Shipped {
        order_id: Text,
        carrier: Text,
    },
    Delivered {
        order_id: Text,
    },
    DefectReported {
        order_id: Text,
        sku: Text,
        quantity: u32,
        reason: Text,
    },
    TicketOpened {
        ticket_id: Text,
        category: Text,
        priority: Priority,
        order_id: Option<Text>,
    },
    TicketFirstResponse {
        ticket_id: Text,
    },
    TicketResolved {
        ticket_id: Text,
    },
}

/// The order or ticket an event is about, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject<'a> {
    Order(&'a str),
    Ticket(&'a str),
}

impl EventBody {
    /// The contract's name for this event type.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventBody::OrderPlaced { .. } => "order.placed",
            EventBody::OrderCancelled { .. } => "order.cancelled",
            EventBody::OrderRefunded { .. } => "order.refunded",
            EventBody::OrderChargeback { .. } => "order.chargeback",
            EventBody::Shipped { .. } => "fulfillment.shipped",
            EventBody::Delivered { .. } => "fulfillment.delivered",
            EventBody::DefectReported { .. } => "fulfillment.defect_reported",
            EventBody::TicketOpened { .. } => "ticket.opened",
            EventBody::TicketFirstResponse { .. } => "ticket.first_response",
            EventBody::TicketResolved { .. } => "ticket.resolved",
        }
    }

    /// What the event is about: its order for order and fulfillment
    /// events, its ticket for ticket events.
    pub fn subject(&self) -> Subject<'_> {
        match self {
            EventBody::OrderPlaced { order_id, .. }
            | EventBody::OrderCancelled { order_id }
            | EventBody::OrderRefunded { order_id, .. }
            | EventBody::OrderChargeback { order_id, .. }
            | EventBody::Shipped { order_id, .. }
            | EventBody::Delivered { order_id }
            | EventBody::DefectReported { order_id, .. } => Subject::Order(order_id),
            EventBody::TicketOpened { ticket_id, .. }
            | EventBody::TicketFirstResponse { ticket_id }
            | EventBody::TicketResolved { ticket_id } => Subject::Ticket(ticket_id),
        }
    }

    /// The id Kafka partitions by: the event's order or ticket.
    pub fn partition_key(&self) -> &str {
        match self.subject() {
            Subject::Order(id) | Subject::Ticket(id) => id,
        }
    }
}

/// A validated event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: Text,
    pub occurred_at: Nanos,
    pub body: EventBody,
}

/// The closed set of rejection reasons (contract section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    TooLarge,
    InvalidUtf8,
    MalformedJson,
    NotAnObject,
    UnknownType,
    MissingField,
    InvalidField,
    DuplicateField,
    FutureTimestamp,
}

impl RejectReason {
    pub const ALL: [RejectReason; 9] = [
        RejectReason::TooLarge,
        RejectReason::InvalidUtf8,
        RejectReason::MalformedJson,
        RejectReason::NotAnObject,
        RejectReason::UnknownType,
        RejectReason::MissingField,
        RejectReason::InvalidField,
        RejectReason::DuplicateField,
        RejectReason::FutureTimestamp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::TooLarge => "too_large",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::UnknownType => "unknown_type",
            RejectReason::MissingField => "missing_field",
            RejectReason::InvalidField => "invalid_field",
            RejectReason::DuplicateField => "duplicate_field",
            RejectReason::FutureTimestamp => "future_timestamp",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an event was refused, with a human-readable detail such as
/// `lines[2].quantity: expected an integer from 1 to 1000000, got 10.0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Rejection {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}
