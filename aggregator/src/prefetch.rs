//! A cache prefetch hint: asks the processor to bring the line holding a
//! value into the cache, and goes on at once.
//!
//! The tables the aggregator keeps are far larger than the cache, and a
//! lookup made ahead of time as a plain read (see `warm` in `engine`)
//! holds the processor up until it arrives: a read that misses cannot
//! retire, and the few dozen instructions the processor can run past it
//! are soon used up. A prefetch retires at once, so a batch's worth can be
//! in flight while the work before them goes on. Stable Rust has no safe
//! prefetch yet (`std::hint::prefetch_read` is nightly-only, and safe
//! there).

/// Brings the cache line holding `value` into the cache, without waiting.
#[inline(always)]
#[allow(unsafe_code)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is `unsafe` only because it is a
    // `#[target_feature(enable = "sse")]` function, and SSE is part of the
    // x86_64 baseline every Rust target for it enables. A prefetch reads
    // nothing the program sees and cannot fault, whatever the address;
    // this one is a live reference's.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
