//! A small seeded random generator (xoshiro256++ seeded through SplitMix64).
//!
//! Written out here rather than taken from `rand` because the simulator promises the same
//! events for the same seed across builds: `rand`'s `SmallRng` explicitly reserves the right
//! to change its algorithm between versions and platforms, which would silently change every
//! recorded scenario.

/// The generator. Cheap to clone; every draw advances it.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: [u64; 4],
}

/// One SplitMix64 step: the recommended way to expand a single seed into xoshiro state, also
/// used on its own to hash (seed, index) pairs into independent draws.
pub(crate) fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        let mut next = seed;
        let mut state = [0u64; 4];
        for slot in &mut state {
            next = next.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *slot = splitmix64(next);
        }
        Rng { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.state;
        let result = s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0);
        let t = s1 << 17;
        let mut s = [s0, s1, s2 ^ s0, s3 ^ s1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        self.state = s;
        result
    }

    /// Uniform in [0, 1), with 53 bits of precision.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    pub(crate) fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform in 0..count (count > 0), by multiply-shift, which has no modulo bias worth
    /// noticing at the small counts used here.
    pub(crate) fn below(&mut self, count: usize) -> usize {
        ((self.next_u64() as u128 * count as u128) >> 64) as usize
    }

    /// Exponentially distributed with the given mean.
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// An index drawn with probability proportional to its weight.
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut remaining = self.unit() * total;
        for (index, weight) in weights.iter().enumerate() {
            if remaining < *weight {
                return index;
            }
            remaining -= weight;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first, (0..5).map(|_| c.next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = Rng::new(1);
        for _ in 0..10_000 {
            let unit = rng.unit();
            assert!((0.0..1.0).contains(&unit));
            assert!(rng.below(3) < 3);
            assert!(rng.weighted(&[0.2, 0.0, 0.8]) != 1);
            assert!(rng.exponential(2.0) >= 0.0);
        }
    }
}
