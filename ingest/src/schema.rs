//! The event types of contract section 1 and the order in which their fields
//! are checked (section 9, "Rejection order"): `type`, then presence of every
//! required field, then validity in the order of the contract's table.

use tripgate_model::{Event, EventBody, Line, RejectReason, Rejection};

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

/// The fields of one line, in the contract's order.
pub(crate) const LINE_FIELDS: [&str; 4] = ["sku", "quantity", "unit_price", "unit_cost"];

const MAX_LINES: usize = 1000;

/// Fields every event requires besides `type`, which is checked first.
const COMMON_FIELDS: [&str; 2] = ["event_id", "occurred_at"];

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
    fn required_fields(self) -> &'static [&'static str] {
        match self {
            EventType::OrderPlaced => &[
                "order_id",
                "channel",
                "region",
                "warehouse",
                "promised_by",
                LINES_FIELD,
            ],
            EventType::OrderCancelled | EventType::Delivered => &["order_id"],
            EventType::OrderRefunded | EventType::OrderChargeback => &["order_id", "amount"],
            EventType::Shipped => &["order_id", "carrier"],
            EventType::DefectReported => &["order_id", "sku", "quantity", "reason"],
            EventType::TicketOpened => &["ticket_id", "category", "priority"],
            EventType::TicketFirstResponse | EventType::TicketResolved => &["ticket_id"],
        }
    }
}

/// The kept fields of one object: the event itself or one of its lines.
struct Fields<'v, 'de>(&'v [(&'static str, Value<'de>)]);

impl<'v, 'de> Fields<'v, 'de> {
    fn get(&self, name: &str) -> Option<&'v Value<'de>> {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    fn id(&self, name: &'static str) -> Result<String, Rejection> {
        check::id(Path::Field(name), self.get(name))
    }
}

/// Builds the event from a duplicate-free top-level object.
pub(crate) fn event_from_object(object: &[(&'static str, Value<'_>)]) -> Result<Event, Rejection> {
    let fields = Fields(object);
    let event_type = event_type(&fields)?;
    check_presence(&fields, event_type)?;

    // From here on, validity in table order. Rust evaluates struct fields in
    // the order they are written, so each literal below lists its fields in
    // the contract's order and the first failure is the one reported.
    let event_id = fields.id("event_id")?;
    let occurred_at = check::timestamp(Path::Field("occurred_at"), fields.get("occurred_at"))?;
    let body = match event_type {
        EventType::OrderPlaced => EventBody::OrderPlaced {
            order_id: fields.id("order_id")?,
            channel: fields.id("channel")?,
            region: fields.id("region")?,
            warehouse: fields.id("warehouse")?,
            promised_by: check::timestamp(Path::Field("promised_by"), fields.get("promised_by"))?,
            lines: lines(check::present(
                Path::Field(LINES_FIELD),
                fields.get(LINES_FIELD),
            )?)?,
        },
        EventType::OrderCancelled => EventBody::OrderCancelled {
            order_id: fields.id("order_id")?,
        },
        EventType::OrderRefunded => EventBody::OrderRefunded {
            order_id: fields.id("order_id")?,
            amount: check::money(Path::Field("amount"), fields.get("amount"))?,
        },
        EventType::OrderChargeback => EventBody::OrderChargeback {
            order_id: fields.id("order_id")?,
            amount: check::money(Path::Field("amount"), fields.get("amount"))?,
        },
        EventType::Shipped => EventBody::Shipped {
            order_id: fields.id("order_id")?,
            carrier: fields.id("carrier")?,
        },
        EventType::Delivered => EventBody::Delivered {
            order_id: fields.id("order_id")?,
        },
        EventType::DefectReported => EventBody::DefectReported {
            order_id: fields.id("order_id")?,
            sku: fields.id("sku")?,
            quantity: check::quantity(Path::Field("quantity"), fields.get("quantity"))?,
            reason: fields.id("reason")?,
        },
        EventType::TicketOpened => EventBody::TicketOpened {
            ticket_id: fields.id("ticket_id")?,
            category: fields.id("category")?,
            priority: check::priority(Path::Field("priority"), fields.get("priority"))?,
            order_id: check::optional_id(Path::Field("order_id"), fields.get("order_id"))?,
        },
        EventType::TicketFirstResponse => EventBody::TicketFirstResponse {
            ticket_id: fields.id("ticket_id")?,
        },
        EventType::TicketResolved => EventBody::TicketResolved {
            ticket_id: fields.id("ticket_id")?,
        },
    };
    Ok(Event {
        event_id,
        occurred_at,
        body,
    })
}

fn event_type(fields: &Fields<'_, '_>) -> Result<EventType, Rejection> {
    let path = Path::Field("type");
    match check::present(path, fields.get("type"))? {
        Value::String(name) => EventType::parse(name).ok_or_else(|| {
            let detail = format!("type: unknown event type {:?}", check::shorten(name));
            Rejection::new(RejectReason::UnknownType, detail)
        }),
        other => Err(check::invalid(path, "a string", other)),
    }
}

/// Every required field must be there, down to each field of each line
/// object, before any value is judged. Lines that are not objects are left
/// to the validity checks.
fn check_presence(fields: &Fields<'_, '_>, event_type: EventType) -> Result<(), Rejection> {
    for name in COMMON_FIELDS.iter().chain(event_type.required_fields()) {
        if fields.get(name).is_none() {
            return Err(check::missing(Path::Field(name)));
        }
    }
    if event_type != EventType::OrderPlaced {
        return Ok(());
    }
    let Some(Value::Array(lines)) = fields.get(LINES_FIELD) else {
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
    let fields = Fields(line_fields);
    let at = |name| Path::LineField(index, name);
    Ok(Line {
        sku: check::id(at("sku"), fields.get("sku"))?,
        quantity: check::quantity(at("quantity"), fields.get("quantity"))?,
        unit_price: check::money(at("unit_price"), fields.get("unit_price"))?,
        unit_cost: check::money(at("unit_cost"), fields.get("unit_cost"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_field_is_kept_by_the_parser() {
        for event_type in EventType::ALL {
            for name in COMMON_FIELDS.iter().chain(event_type.required_fields()) {
                assert!(
                    EVENT_FIELDS.contains(name),
                    "{name} of {event_type:?} is not in EVENT_FIELDS"
                );
            }
        }
        assert!(EVENT_FIELDS.contains(&"type"));
    }

    #[test]
    fn known_fields_fit_the_parsers_bitmask() {
        assert!(EVENT_FIELDS.len() <= u32::BITS as usize);
    }
}
