//! The contract's event lines (section 1), one writer per kind of happening.

use crate::business::{Business, Fact};
use crate::catalog::{
    CARRIERS, CATEGORIES, CHANNELS, DEFECT_REASONS, PRIORITIES, REGIONS, WAREHOUSES,
};
use crate::format::{
    push_integer_field, push_money_field, push_numbered_id, push_text, push_timestamp_field,
    start_event,
};
use crate::fulfillment::QueuedOrder;
use crate::support::PendingTicket;

const ORDER_PREFIX: &str = "ord-";
const TICKET_PREFIX: &str = "tkt-";
/// Upper bounds of line lengths in bytes, with room for 9-digit ids (a hint only: a longer
/// line just grows its buffer).
const SHORT_EVENT_CAPACITY: usize = 208;
const PLACED_CAPACITY: usize = 240;
const ORDER_LINE_CAPACITY: usize = 80;

impl Business {
    /// Starts a line with the next event id; ids are numbered in emission order.
    fn begin_event(&mut self, event_type: &str, at: i64) -> String {
        self.begin_event_with_capacity(event_type, at, SHORT_EVENT_CAPACITY)
    }

    /// Sized so a line is written without growing its buffer: one allocation per event.
    fn begin_event_with_capacity(&mut self, event_type: &str, at: i64, capacity: usize) -> String {
        let mut line = String::with_capacity(capacity);
        start_event(&mut line, self.next_event, event_type, at);
        self.next_event += 1;
        line
    }

    pub(crate) fn write_placed(&mut self, at: i64, order: &QueuedOrder) -> String {
        let region = &REGIONS[order.region];
        let capacity = PLACED_CAPACITY + ORDER_LINE_CAPACITY * order.lines.len();
        let mut line = self.begin_event_with_capacity("order.placed", at, capacity);
        push_numbered_id(&mut line, "order_id", ORDER_PREFIX, order.number);
        push_text(&mut line, "channel", CHANNELS[order.channel].name);
        push_text(&mut line, "region", region.name);
        push_text(&mut line, "warehouse", WAREHOUSES[region.warehouse]);
        push_timestamp_field(&mut line, "promised_by", order.promised_by);
        line.push_str(",\"lines\":[");
        for (index, order_line) in order.lines.iter().enumerate() {
            let sku = &self.catalog[order_line.sku];
            line.push_str(if index == 0 {
                "{\"sku\":\""
            } else {
                ",{\"sku\":\""
            });
            line.push_str(&sku.name);
            line.push('"');
            push_integer_field(&mut line, "quantity", u64::from(order_line.quantity));
            push_money_field(&mut line, "unit_price", sku.price_cents);
            push_money_field(&mut line, "unit_cost", sku.cost_cents);
            line.push('}');
        }
        line.push_str("]}");
        line
    }

    pub(crate) fn write_cancelled(&mut self, at: i64, order: u64) -> String {
        let mut line = self.begin_event("order.cancelled", at);
        push_numbered_id(&mut line, "order_id", ORDER_PREFIX, order);
        line.push('}');
        line
    }

    pub(crate) fn write_ticket_opened(
        &mut self,
        at: i64,
        number: u64,
        ticket: &PendingTicket,
    ) -> String {
        let mut line = self.begin_event("ticket.opened", at);
        push_numbered_id(&mut line, "ticket_id", TICKET_PREFIX, number);
        push_text(&mut line, "category", CATEGORIES[ticket.category].name);
        push_text(&mut line, "priority", PRIORITIES[ticket.priority]);
        if let Some(order) = ticket.order {
            push_numbered_id(&mut line, "order_id", ORDER_PREFIX, order);
        }
        line.push('}');
        line
    }

    pub(crate) fn write_fact(&mut self, at: i64, fact: &Fact) -> String {
        let mut line;
        match *fact {
            Fact::Shipped { order, carrier } => {
                line = self.begin_event("fulfillment.shipped", at);
                push_numbered_id(&mut line, "order_id", ORDER_PREFIX, order);
                push_text(&mut line, "carrier", CARRIERS[carrier].name);
            }
            Fact::Delivered { order, .. } => {
                line = self.begin_event("fulfillment.delivered", at);
                push_numbered_id(&mut line, "order_id", ORDER_PREFIX, order);
            }
            Fact::Defect {
                order,
                sku,
                quantity,
                reason,
            } => {
                line = self.begin_event("fulfillment.defect_reported", at);
                push_numbered_id(&mut line, "order_id", ORDER_PREFIX, order);
                push_text(&mut line, "sku", &self.catalog[sku].name);
                push_integer_field(&mut line, "quantity", u64::from(quantity));
                push_text(&mut line, "reason", DEFECT_REASONS[reason]);
            }
            Fact::Refund { order, cents } => {
                line = self.begin_event("order.refunded", at);
                push_numbered_id(&mut line, "order_id", ORDER_PREFIX, order);
                push_money_field(&mut line, "amount", cents);
            }
            Fact::Chargeback { order, cents } => {
                line = self.begin_event("order.chargeback", at);
                push_numbered_id(&mut line, "order_id", ORDER_PREFIX, order);
                push_money_field(&mut line, "amount", cents);
            }
            Fact::FirstResponse { ticket } => {
                line = self.begin_event("ticket.first_response", at);
                push_numbered_id(&mut line, "ticket_id", TICKET_PREFIX, ticket);
            }
            Fact::Resolved { ticket } => {
                line = self.begin_event("ticket.resolved", at);
                push_numbered_id(&mut line, "ticket_id", TICKET_PREFIX, ticket);
            }
        }
        line.push('}');
        line
    }
}
