//! The fixed world the business lives in: regions, warehouses, channels, carriers, ticket
//! vocabularies and the SKU catalog.
//!
//! None of it comes from the seed, so runs with different seeds are different histories of
//! the same business, and rule configs can name keys (`wh-west`, `SKU-017`) that always exist.

use crate::rng::Rng;

pub(crate) struct Region {
    pub(crate) name: &'static str,
    /// Share of orders placed from this region.
    pub(crate) share: f64,
    /// Index into [`WAREHOUSES`] of the warehouse that serves it.
    pub(crate) warehouse: usize,
    /// Delivery promise from placement, in business hours (scaled by `Scenario::time_scale`).
    pub(crate) promise_hours: f64,
    /// Transit added to the carrier's base for the distance from the warehouse.
    pub(crate) transit_extra_hours: f64,
}

pub(crate) const REGIONS: [Region; 4] = [
    Region {
        name: "us-east",
        share: 0.35,
        warehouse: 0,
        promise_hours: 42.0,
        transit_extra_hours: 2.0,
    },
    Region {
        name: "us-central",
        share: 0.20,
        warehouse: 1,
        promise_hours: 48.0,
        transit_extra_hours: 6.0,
    },
    Region {
        name: "us-south",
        share: 0.20,
        warehouse: 1,
        promise_hours: 50.0,
        transit_extra_hours: 8.0,
    },
    Region {
        name: "us-west",
        share: 0.25,
        warehouse: 2,
        promise_hours: 44.0,
        transit_extra_hours: 4.0,
    },
];

/// Warehouse names, in the order of `Scenario::warehouse_capacity_per_hour`.
pub const WAREHOUSES: [&str; 3] = ["wh-east", "wh-central", "wh-west"];

pub(crate) struct Channel {
    pub(crate) name: &'static str,
    pub(crate) share: f64,
    /// Multiplies the scenario's refund share (marketplace buyers return more).
    pub(crate) refund_factor: f64,
    /// Multiplies the scenario's chargeback share (marketplace fraud is higher, app lower).
    pub(crate) chargeback_factor: f64,
}

pub(crate) const CHANNELS: [Channel; 3] = [
    Channel {
        name: "web",
        share: 0.5,
        refund_factor: 1.0,
        chargeback_factor: 1.0,
    },
    Channel {
        name: "app",
        share: 0.3,
        refund_factor: 0.8,
        chargeback_factor: 0.5,
    },
    Channel {
        name: "marketplace",
        share: 0.2,
        refund_factor: 1.3,
        chargeback_factor: 2.0,
    },
];

pub(crate) struct Carrier {
    pub(crate) name: &'static str,
    pub(crate) share: f64,
    /// Base transit in business hours; the region's extra is added, then jitter.
    pub(crate) transit_hours: f64,
}

pub(crate) const CARRIERS: [Carrier; 3] = [
    Carrier {
        name: "fastship",
        share: 0.30,
        transit_hours: 22.0,
    },
    Carrier {
        name: "parcelco",
        share: 0.45,
        transit_hours: 26.0,
    },
    Carrier {
        name: "econoline",
        share: 0.25,
        transit_hours: 30.0,
    },
];

/// Ticket categories with their weight among tickets nobody caused on purpose, the chance
/// such a ticket names an order, and the first-response-to-resolution range in hours.
pub(crate) struct Category {
    pub(crate) name: &'static str,
    pub(crate) weight: f64,
    pub(crate) linked_share: f64,
    pub(crate) resolution_hours: (f64, f64),
}

pub(crate) const BILLING: usize = 0;
pub(crate) const SHIPPING: usize = 1;
pub(crate) const PRODUCT: usize = 2;

pub(crate) const CATEGORIES: [Category; 4] = [
    Category {
        name: "billing",
        weight: 0.30,
        linked_share: 0.7,
        resolution_hours: (0.5, 24.0),
    },
    Category {
        name: "shipping",
        weight: 0.25,
        linked_share: 0.9,
        resolution_hours: (1.0, 48.0),
    },
    Category {
        name: "product",
        weight: 0.20,
        linked_share: 0.8,
        resolution_hours: (2.0, 72.0),
    },
    Category {
        name: "account",
        weight: 0.25,
        linked_share: 0.1,
        resolution_hours: (0.2, 12.0),
    },
];

/// Contract priorities, lowest first; support serves the highest non-empty one first.
pub(crate) const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
pub(crate) const ROUTINE_PRIORITY_WEIGHTS: [f64; 4] = [0.30, 0.45, 0.20, 0.05];
/// A late order or a chargeback makes customers louder.
pub(crate) const ESCALATED_PRIORITY_WEIGHTS: [f64; 4] = [0.0, 0.3, 0.5, 0.2];

pub(crate) const DEFECT_REASONS: [&str; 4] =
    ["damaged", "defective", "wrong_item", "missing_parts"];

/// Order shape: how many lines (1 to 5) and how many units per line (1 to 3).
pub(crate) const LINE_COUNT_WEIGHTS: [f64; 5] = [0.45, 0.25, 0.15, 0.10, 0.05];
pub(crate) const QUANTITY_WEIGHTS: [f64; 3] = [0.7, 0.2, 0.1];

/// The SKU the demo's defect spike hits. It is made a bestseller so that its per-SKU defect
/// rate has enough samples to be judged within an hour of demo time.
pub const SPIKE_SKU: &str = "SKU-017";
pub const SKU_COUNT: usize = 40;

#[derive(Clone, Debug)]
pub(crate) struct Sku {
    pub(crate) name: String,
    pub(crate) price_cents: i64,
    pub(crate) cost_cents: i64,
    /// Chance that one delivered unit is reported defective.
    pub(crate) defect_probability: f64,
    pub(crate) popularity: f64,
}

/// Builds the catalog from a fixed generator: the same forty SKUs whatever the seed.
pub(crate) fn build_catalog() -> Vec<Sku> {
    let mut rng = Rng::new(0x00CA_7A10_6000_0040);
    (1..=SKU_COUNT)
        .map(|number| {
            let name = format!("SKU-{number:03}");
            // Log-uniform prices from $5 to $250, ending in .99 like a real price list.
            let dollars = rng.uniform(5f64.ln(), 250f64.ln()).exp().floor() as i64;
            let price_cents = dollars * 100 + 99;
            let cost_cents = (price_cents as f64 * rng.uniform(0.35, 0.70)).round() as i64;
            let defect_probability = rng.uniform(0.002, 0.015);
            let mut popularity = rng.uniform(0.2, 1.0).powi(2);
            if name == SPIKE_SKU {
                popularity = 1.5;
            }
            Sku {
                name,
                price_cents,
                cost_cents,
                defect_probability,
                popularity,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_fixed_and_priced_sensibly() {
        let catalog = build_catalog();
        assert_eq!(catalog.len(), SKU_COUNT);
        assert_eq!(catalog[16].name, SPIKE_SKU);
        for sku in &catalog {
            assert!(
                sku.cost_cents > 0 && sku.cost_cents < sku.price_cents,
                "{sku:?}"
            );
            assert!(sku.price_cents < 26_000);
        }
        assert_eq!(build_catalog()[3].price_cents, catalog[3].price_cents);
    }

    #[test]
    fn shares_sum_to_one() {
        let sum = |values: &[f64]| values.iter().sum::<f64>();
        assert!((sum(&REGIONS.map(|r| r.share)) - 1.0).abs() < 1e-9);
        assert!((sum(&CHANNELS.map(|c| c.share)) - 1.0).abs() < 1e-9);
        assert!((sum(&CARRIERS.map(|c| c.share)) - 1.0).abs() < 1e-9);
    }
}
