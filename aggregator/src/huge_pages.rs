//! Transparent huge pages for the big tables, and for nothing else.
//!
//! The aggregator's big tables (a scope's key names and windows, the dedup
//! memory, the join's orders and tickets) are read at random, a line here
//! and a line there, and most of those reads miss the cache. With 4 KiB
//! pages most of them miss the TLB too, and under a virtual machine a
//! page walk costs several reads of its own (see docs/BENCHMARKS.md, "The
//! machine"): a random read over 256 MB took about 270 ns in 4 KiB pages
//! and 166 ns in 2 MiB ones. A prefetch waits for its walk as well.
//!
//! Linux gives an anonymous mapping 2 MiB pages where the program asks
//! for them (`madvise(MADV_HUGEPAGE)`, honoured when
//! `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise` or
//! `always`). Asking for the whole heap (jemalloc's `thp:always`) made the
//! window updates faster and the backtest slower: the allocator returns
//! freed memory every few hundred milliseconds, and the kernel zeroed
//! whole huge pages to give it back. So [`HugeTables`] asks only for
//! allocations of [`HUGE_PAGE`] or more, which here are the tables: they
//! live long and are read at random. Each is placed on a huge page's
//! boundary, so that all of it can be held in huge pages, and loses the
//! advice when freed, so that the small allocations made later in its
//! place do not fault in 2 MiB at a time.
//!
//! Where the advice is not honoured (another kernel setting, another
//! system), nothing changes but the alignment.

use std::alloc::{GlobalAlloc, Layout};

/// The size of a huge page on x86_64 Linux, and the size from which an
/// allocation is given huge pages.
pub const HUGE_PAGE: usize = 2 << 20;

/// A global allocator that hands every allocation to `A`, and asks the
/// kernel for huge pages for those of [`HUGE_PAGE`] bytes or more.
pub struct HugeTables<A>(pub A);

/// The layout `A` is asked for: a big allocation aligned to a huge page.
fn placed(layout: Layout) -> Layout {
    if layout.size() < HUGE_PAGE {
        return layout;
    }
    Layout::from_size_align(layout.size(), layout.align().max(HUGE_PAGE)).unwrap_or(layout)
}

#[allow(unsafe_code)]
// SAFETY: every allocation is `A`'s, made and freed with the layout
// `placed` gives for the caller's layout, which keeps the caller's size
// and at least its alignment. `madvise` changes how the kernel backs the
// pages, never their contents or whether they are mapped.
unsafe impl<A: GlobalAlloc> GlobalAlloc for HugeTables<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let placed = placed(layout);
        let memory = self.0.alloc(placed);
        advise(memory, placed, Advice::Huge);
        memory
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let placed = placed(layout);
        let memory = self.0.alloc_zeroed(placed);
        advise(memory, placed, Advice::Huge);
        memory
    }

    unsafe fn dealloc(&self, memory: *mut u8, layout: Layout) {
        let placed = placed(layout);
        advise(memory, placed, Advice::Small);
        self.0.dealloc(memory, placed);
    }

    unsafe fn realloc(&self, memory: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < HUGE_PAGE && new_size < HUGE_PAGE {
            return self.0.realloc(memory, layout, new_size);
        }
        // To or from a big allocation: a new one, so that it is placed and
        // advised as one, and the old one freed as one.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let moved = self.alloc(new_layout);
        if !moved.is_null() {
            std::ptr::copy_nonoverlapping(memory, moved, layout.size().min(new_size));
            self.dealloc(memory, layout);
        }
        moved
    }
}

enum Advice {
    Huge,
    Small,
}

/// Advises the kernel on the pages of a big allocation; nothing for a
/// small one or a failed one.
#[allow(unsafe_code)]
fn advise(memory: *mut u8, placed: Layout, advice: Advice) {
    if placed.size() < HUGE_PAGE || memory.is_null() {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `memory` starts a live allocation of `placed.size()` bytes,
    // on a huge page's boundary, so on a page's; the advice only changes
    // the size of the pages backing them. A refusal (EINVAL from a kernel
    // without transparent huge pages) leaves them as they were, which is
    // correct, only slower.
    unsafe {
        let advice = match advice {
            Advice::Huge => libc::MADV_HUGEPAGE,
            Advice::Small => libc::MADV_NOHUGEPAGE,
        };
        libc::madvise(memory.cast(), placed.size(), advice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = advice;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_big_allocations_are_placed_on_a_huge_page() {
        let small = Layout::from_size_align(HUGE_PAGE - 1, 8).unwrap();
        assert_eq!(placed(small), small);
        let big = Layout::from_size_align(HUGE_PAGE + 24, 8).unwrap();
        assert_eq!(placed(big).size(), big.size());
        assert_eq!(placed(big).align(), HUGE_PAGE);
    }
}
