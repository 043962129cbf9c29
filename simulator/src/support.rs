//! Support: tickets queue for a first response, served at the team's capacity, urgent first.
//!
//! First-response time is the wait in this queue, so it grows with the backlog: late orders
//! and defects open tickets, and a fulfillment problem becomes a support problem.

use std::collections::VecDeque;

use crate::business::{Action, Business, Fact, NANOS_PER_HOUR, NANOS_PER_MILLI};
use crate::catalog::{
    CATEGORIES, ESCALATED_PRIORITY_WEIGHTS, PRIORITIES, ROUTINE_PRIORITY_WEIGHTS,
};

/// A ticket that will be opened; it gets its number when it opens, so ticket ids increase
/// with time.
pub(crate) struct PendingTicket {
    pub(crate) category: usize,
    pub(crate) priority: usize,
    pub(crate) order: Option<u64>,
}

pub(crate) struct OpenTicket {
    pub(crate) number: u64,
    pub(crate) category: usize,
}

/// How upset the customer is, which sets the priority mix.
#[derive(Clone, Copy)]
pub(crate) enum Loudness {
    Routine,
    Escalated,
}

#[derive(Default)]
pub(crate) struct SupportState {
    /// Waiting for a first response, one queue per priority (index as in `PRIORITIES`).
    queues: [VecDeque<OpenTicket>; PRIORITIES.len()],
    /// A first response is being written (a `FirstResponseDone` is scheduled).
    busy: bool,
}

impl SupportState {
    pub(crate) fn waiting(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }
}

impl Business {
    /// A ticket nobody caused on purpose: a question about an order, billing or the account.
    pub(crate) fn routine_ticket(&mut self, opens_at: i64, order: u64) {
        let category = self
            .rng
            .weighted(&CATEGORIES.map(|category| category.weight));
        let linked = self.rng.chance(CATEGORIES[category].linked_share);
        let priority = self.rng.weighted(&ROUTINE_PRIORITY_WEIGHTS);
        let ticket = PendingTicket {
            category,
            priority,
            order: linked.then_some(order),
        };
        self.schedule(opens_at, Action::OpenTicket(ticket));
    }

    /// A ticket caused by something that happened to an order; it always names the order.
    pub(crate) fn caused_ticket(
        &mut self,
        opens_at: i64,
        category: usize,
        loudness: Loudness,
        order: u64,
    ) {
        let weights = match loudness {
            Loudness::Routine => ROUTINE_PRIORITY_WEIGHTS,
            Loudness::Escalated => ESCALATED_PRIORITY_WEIGHTS,
        };
        let priority = self.rng.weighted(&weights);
        let ticket = PendingTicket {
            category,
            priority,
            order: Some(order),
        };
        self.schedule(opens_at, Action::OpenTicket(ticket));
    }

    pub(crate) fn open_ticket(&mut self, ticket: PendingTicket, at: i64, out: &mut Vec<String>) {
        let number = self.next_ticket;
        self.next_ticket += 1;
        self.counters.tickets_opened += 1;
        let line = self.write_ticket_opened(at, number, &ticket);
        self.emit(at, line, out);
        self.support.queues[ticket.priority].push_back(OpenTicket {
            number,
            category: ticket.category,
        });
        if !self.support.busy {
            self.start_first_response(at);
        }
    }

    fn start_first_response(&mut self, at: i64) {
        if self.support.waiting() == 0 {
            self.support.busy = false;
            return;
        }
        self.support.busy = true;
        let mean_nanos = NANOS_PER_HOUR as f64 / self.scenario.support_capacity_per_hour.max(1e-3);
        let nanos = crate::business::milliseconds(mean_nanos * self.rng.uniform(0.5, 1.5))
            .max(NANOS_PER_MILLI);
        self.schedule(at + nanos, Action::FirstResponseDone);
    }

    pub(crate) fn finish_first_response(&mut self, at: i64, out: &mut Vec<String>) {
        // The most urgent waiting ticket gets the answer, even if it arrived during the work.
        if let Some(ticket) = self
            .support
            .queues
            .iter_mut()
            .rev()
            .find_map(VecDeque::pop_front)
        {
            let line = self.write_fact(
                at,
                &Fact::FirstResponse {
                    ticket: ticket.number,
                },
            );
            self.emit(at, line, out);
            let (shortest, longest) = CATEGORIES[ticket.category].resolution_hours;
            let resolved_at = at + self.duration_between(shortest, longest);
            self.schedule(
                resolved_at,
                Action::Emit(Fact::Resolved {
                    ticket: ticket.number,
                }),
            );
        }
        self.start_first_response(at);
    }
}
