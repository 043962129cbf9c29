//! The event types of contract section 1 and the order in which their fields
//! are checked (section 9, "Rejection order"): `type`, then presence of every
//! required field, then validity in the order of the contract's table.

use tripgate_model::{Event, EventBody, Line, Nanos, RejectReason, Rejection, Text};

use crate::check::{self, Path};
use crate::json::Value;

/// Every top-level field some event type reads; anything else is ignored
/// without being kept.
pub(crate) const EVENT_FIELDS: [&str; 17] = [
    "event_id",
    "type",
    "occurred_at",
    "order_id",
    "channel",
    "region",
    "warehouse",
    "promised_by",
    LINES_FIELD,
    "amount",
    "carrier",
    "sku",
    "quantity",
    "reason",
    "ticket_id",
    "category",
    "priority",
];

pub(crate) const LINES_FIELD: &str = "lines";

/// Positions in `EVENT_FIELDS` of the fields the checks read, so a field is
/// found by index instead of by comparing names.
pub(crate) mod slot {
    pub(crate) const EVENT_ID: usize = 0;
    pub(crate) const TYPE: usize = 1;
    pub(crate) const OCCURRED_AT: usize = 2;
    pub(crate) const ORDER_ID: usize = 3;
    pub(crate) const CHANNEL: usize = 4;
    pub(crate) const REGION: usize = 5;
    pub(crate) const WAREHOUSE: usize = 6;
    pub(crate) const PROMISED_BY: usize = 7;
    pub(crate) const LINES: usize = 8;
    pub(crate) const AMOUNT: usize = 9;
    pub(crate) const CARRIER: usize = 10;
    pub(crate) const SKU: usize = 11;
    pub(crate) const QUANTITY: usize = 12;
    pub(crate) const REASON: usize = 13;
    pub(crate) const TICKET_ID: usize = 14;
    pub(crate) const CATEGORY: usize = 15;
    pub(crate) const PRIORITY: usize = 16;
}

/// The fields of one line, in the contract's order.
pub(crate) const LINE_FIELDS: [&str; 4] = ["sku", "quantity", "unit_price", "unit_cost"];

const MAX_LINES: usize = 1000;

/// Fields every event requires besides `type`, which is checked first.
const COMMON_FIELDS: [usize; 2] = [slot::EVENT_ID, slot::OCCURRED_AT];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventType {
    OrderPlaced,
    OrderCancelled,
    OrderRefunded,
    OrderChargeback,
    Shipped,
    Delivered,
    DefectReported,
    TicketOpened,
    TicketFirstResponse,
    TicketResolved,
}

impl EventType {
    #[cfg(test)]
    const ALL: [EventType; 10] = [
        EventType::OrderPlaced,
        EventType::OrderCancelled,
        EventType::OrderRefunded,
        EventType::OrderChargeback,
        EventType::Shipped,
        EventType::Delivered,
        EventType::DefectReported,
        EventType::TicketOpened,
        EventType::TicketFirstResponse,
        EventType::TicketResolved,
    ];

    fn parse(name: &str) -> Option<EventType> {
        Some(match name {
            "order.placed" => EventType::OrderPlaced,
            "order.cancelled" => EventType::OrderCancelled,
            "order.refunded" => EventType::OrderRefunded,
            "order.chargeback" => EventType::OrderChargeback,
            "fulfillment.shipped" => EventType::Shipped,
            "fulfillment.delivered" => EventType::Delivered,
            "fulfillment.defect_reported" => EventType::DefectReported,
            "ticket.opened" => EventType::TicketOpened,
            "ticket.first_response" => EventType::TicketFirstResponse,
            "ticket.resolved" => EventType::TicketResolved,
            _ => return None,
        })
    }

    /// The required fields beyond the common ones, in the contract's order
    /// (ticket.opened's `order_id` is optional, so it is not listed).
    fn required_fields(self) -> &'static [usize] {
        use slot::*;
        match self {
            EventType::OrderPlaced => &[ORDER_ID, CHANNEL, REGION, WAREHOUSE, PROMISED_BY, LINES],
            EventType::OrderCancelled | EventType::Delivered => &[ORDER_ID],
            EventType::OrderRefunded | EventType::OrderChargeback => &[ORDER_ID, AMOUNT],
            EventType::Shipped => &[ORDER_ID, CARRIER],
            EventType::DefectReported => &[ORDER_ID, SKU, QUANTITY, REASON],
            EventType::TicketOpened => &[TICKET_ID, CATEGORY, PRIORITY],
            EventType::TicketFirstResponse | EventType::TicketResolved => &[TICKET_ID],
        }
    }
}

/// Where the checks read an event's fields from: the kept fields as the
/// parsers build them ([`Object`]), or the fast decoder's slots, whose lines
/// are already checked (`fast::typed`). One set of checks serves both, so
/// they cannot drift apart.
pub(crate) trait Fields<'de> {
    /// The value of the field at `slot` of `EVENT_FIELDS`, if present.
    fn get(&self, slot: usize) -> Option<&Value<'de>>;
    /// Presence of every field of every line object (lines that are not
    /// objects are left to [`Fields::lines`]).
    fn check_line_presence(&self) -> Result<(), Rejection>;
    /// The lines, checked; only called once `lines` is known present.
    fn lines(&mut self) -> Result<Vec<Line>, Rejection>;

    fn id(&self, slot: usize) -> Result<Text, Rejection> {
        check::id(Path::Field(EVENT_FIELDS[slot]), self.get(slot))
    }

    /// The fields of `fast::typed` override this and `id` with what their
    /// read already found out.
    fn timestamp(&self, slot: usize) -> Result<Nanos, Rejection> {
        self.field(slot, check::timestamp)
    }

    fn field<T>(
        &self,
        slot: usize,
        check: fn(Path, Option<&Value<'_>>) -> Result<T, Rejection>,
    ) -> Result<T, Rejection> {
        check(Path::Field(EVENT_FIELDS[slot]), self.get(slot))
    }
}

/// The kept fields of one object, by name, as the parsers build them.
pub(crate) struct Object<'v, 'de>(pub(crate) &'v [(&'static str, Value<'de>)]);

impl<'v, 'de> Object<'v, 'de> {
    fn named(&self, name: &str) -> Option<&'v Value<'de>> {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }
}

impl<'de> Fields<'de> for Object<'_, 'de> {
    fn get(&self, slot: usize) -> Option<&Value<'de>> {
        self.named(EVENT_FIELDS[slot])
    }

    fn check_line_presence(&self) -> Result<(), Rejection> {
        let Some(Value::Array(lines)) = self.get(slot::LINES) else {
            return Ok(());
        };
        for (index, line) in lines.iter().enumerate() {
            let Value::Object(line_fields) = line else {
                continue;
            };
            for name in LINE_FIELDS {
                if !line_fields.iter().any(|(key, _)| *key == name) {
                    return Err(check::missing(Path::LineField(index, name)));
                }
            }
        }
        Ok(())
    }

    fn lines(&mut self) -> Result<Vec<Line>, Rejection> {
        lines(check::present(
            Path::Field(LINES_FIELD),
            self.get(slot::LINES),
        )?)
    }
}

/// Builds the event from a duplicate-free top-level object.
pub(crate) fn event_from_object(object: &[(&'static str, Value<'_>)]) -> Result<Event, Rejection> {
    event_from_fields(&mut Object(object))
}

/// Builds the event from its fields, checking them in the contract's order.
pub(crate) fn event_from_fields<'de>(fields: &mut impl Fields<'de>) -> Result<Event, Rejection> {
    use slot::*;
    let event_type = event_type(fields)?;
    check_presence(fields, event_type)?;

    // From here on, validity in table order. Rust evaluates struct fields in
    // the order they are written, so each literal below lists its fields in
    // the contract's order and the first failure is the one reported.
    let event_id = fields.id(EVENT_ID)?;
    let occurred_at = fields.timestamp(OCCURRED_AT)?;
    let body = match event_type {
        EventType::OrderPlaced => EventBody::OrderPlaced {
            order_id: fields.id(ORDER_ID)?,
            channel: fields.id(CHANNEL)?,
            region: fields.id(REGION)?,
            warehouse: fields.id(WAREHOUSE)?,
            promised_by: fields.timestamp(PROMISED_BY)?,
            lines: fields.lines()?,
        },
        EventType::OrderCancelled => EventBody::OrderCancelled {
            order_id: fields.id(ORDER_ID)?,
        },
        EventType::OrderRefunded => EventBody::OrderRefunded {
            order_id: fields.id(ORDER_ID)?,
            amount: fields.field(AMOUNT, check::money)?,
        },
        EventType::OrderChargeback => EventBody::OrderChargeback {
            order_id: fields.id(ORDER_ID)?,
            amount: fields.field(AMOUNT, check::money)?,
        },
        EventType::Shipped => EventBody::Shipped {
            order_id: fields.id(ORDER_ID)?,
            carrier: fields.id(CARRIER)?,
        },
        EventType::Delivered => EventBody::Delivered {
            order_id: fields.id(ORDER_ID)?,
        },
        EventType::DefectReported => EventBody::DefectReported {
            order_id: fields.id(ORDER_ID)?,
            sku: fields.id(SKU)?,
            quantity: fields.field(QUANTITY, check::quantity)?,
            reason: fields.id(REASON)?,
        },
        EventType::TicketOpened => EventBody::TicketOpened {
            ticket_id: fields.id(TICKET_ID)?,
            category: fields.id(CATEGORY)?,
            priority: fields.field(PRIORITY, check::priority)?,
            order_id: fields.field(ORDER_ID, check::optional_id)?,
        },
        EventType::TicketFirstResponse => EventBody::TicketFirstResponse {
            ticket_id: fields.id(TICKET_ID)?,
        },
        EventType::TicketResolved => EventBody::TicketResolved {
            ticket_id: fields.id(TICKET_ID)?,
        },
    };
    Ok(Event {
        event_id,
        occurred_at,
        body,
    })
}

fn event_type<'de>(fields: &impl Fields<'de>) -> Result<EventType, Rejection> {
    let path = Path::Field("type");
    match check::present(path, fields.get(slot::TYPE))? {
        Value::String(name) => EventType::parse(name).ok_or_else(|| {
            let detail = format!("type: unknown event type {:?}", check::shorten(name));
            Rejection::new(RejectReason::UnknownType, detail)
        }),
        other => Err(check::invalid(path, "a string", other)),
    }
}

/// Every required field must be there, down to each field of each line
/// object, before any value is judged.
fn check_presence<'de>(fields: &impl Fields<'de>, event_type: EventType) -> Result<(), Rejection> {
    for &slot in COMMON_FIELDS.iter().chain(event_type.required_fields()) {
        if fields.get(slot).is_none() {
            return Err(check::missing(Path::Field(EVENT_FIELDS[slot])));
        }
    }
    if event_type != EventType::OrderPlaced {
        return Ok(());
    }
    fields.check_line_presence()
}

/// `lines` must be an array of 1 to 1000 objects; then each line is checked
/// in order, field by field.
fn lines(value: &Value<'_>) -> Result<Vec<Line>, Rejection> {
    let path = Path::Field(LINES_FIELD);
    let Value::Array(elements) = value else {
        return Err(check::invalid(path, "an array of 1 to 1000 lines", value));
    };
    if elements.is_empty() || elements.len() > MAX_LINES {
        let detail = format!(
            "{path}: expected an array of 1 to 1000 lines, got {} lines",
            elements.len()
        );
        return Err(Rejection::new(RejectReason::InvalidField, detail));
    }
    // Shape before content: a non-object anywhere is reported ahead of a bad
    // field in an earlier line, as `lines` itself is checked before its lines.
    if let Some((index, element)) = elements
        .iter()
        .enumerate()
        .find(|(_, element)| !matches!(element, Value::Object(_)))
    {
        return Err(check::invalid(Path::Line(index), "a line object", element));
    }
    elements
        .iter()
        .enumerate()
        .map(|(index, element)| line(index, element))
        .collect()
}

fn line(index: usize, element: &Value<'_>) -> Result<Line, Rejection> {
    let Value::Object(line_fields) = element else {
        return Err(check::invalid(Path::Line(index), "a line object", element));
    };
    let fields = Object(line_fields);
    let at = |name| Path::LineField(index, name);
    Ok(Line {
        sku: check::id(at("sku"), fields.named("sku"))?,
        quantity: check::quantity(at("quantity"), fields.named("quantity"))?,
        unit_price: check::money(at("unit_price"), fields.named("unit_price"))?,
        unit_cost: check::money(at("unit_cost"), fields.named("unit_cost"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_field_is_kept_by_the_parser() {
        for event_type in EventType::ALL {
            for &slot in COMMON_FIELDS.iter().chain(event_type.required_fields()) {
                assert!(slot < EVENT_FIELDS.len(), "{slot} of {event_type:?}");
            }
        }
    }

    #[test]
    fn slots_name_their_fields() {
        use slot::*;
        let named = [
            (EVENT_ID, "event_id"),
            (TYPE, "type"),
            (OCCURRED_AT, "occurred_at"),
            (ORDER_ID, "order_id"),
            (CHANNEL, "channel"),
            (REGION, "region"),
            (WAREHOUSE, "warehouse"),
            (PROMISED_BY, "promised_by"),
            (LINES, LINES_FIELD),
            (AMOUNT, "amount"),
            (CARRIER, "carrier"),
            (SKU, "sku"),
            (QUANTITY, "quantity"),
            (REASON, "reason"),
            (TICKET_ID, "ticket_id"),
            (CATEGORY, "category"),
            (PRIORITY, "priority"),
        ];
        assert_eq!(named.len(), EVENT_FIELDS.len());
        for (slot, name) in named {
            assert_eq!(EVENT_FIELDS[slot], name);
        }
    }

    #[test]
    fn known_fields_fit_the_parsers_bitmask() {
        assert!(EVENT_FIELDS.len() <= u32::BITS as usize);
    }
}
