//! Shared by the aggregator's property tests: event generators, a naive
//! reference implementation of the KPIs, and a harness to run and compare.

pub mod generate;
pub mod harness;
pub mod reference;
