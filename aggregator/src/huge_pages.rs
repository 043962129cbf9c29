//! Transparent huge pages for the big tables, and for nothing else.
//!
//! The aggregator's big tables (a scope's key names and window entries,
//! the dedup memory, the join's orders and tickets) are read at random, a
//! line here and a line there, and most of those reads miss the cache.
//! With 4 KiB pages most of them miss the TLB too, and under a virtual
//! machine a page walk costs several reads of its own (see
//! docs/BENCHMARKS.md, "The machine"): a random read over 256 MB took
//! about 270 ns in 4 KiB pages and 166 ns in 2 MiB ones. A prefetch waits
//! for its walk as well.
//!
//! Linux backs an anonymous mapping with 2 MiB pages where the program
//! asks for them (`madvise(MADV_HUGEPAGE)`, honoured when
//! `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise` or
//! `always`). Asking for the whole heap (jemalloc's `thp:always`) made the
//! window updates faster and the backtest slower: the allocator returns
//! freed memory every hundred milliseconds, and the kernel zeroed whole
//! huge pages to give it back. Asking for every allocation of 2 MiB or
//! more would give them to the lists a tick's snapshot is built in too,
//! which are written once, in order, and freed. So a table asks, where it
//! allocates ([`for_table`]).
//!
//! [`HugeTables`], the global allocator of the `tripgate` binary:
//! - places every allocation of [`HUGE_PAGE`] bytes or more on a huge
//!   page's boundary, so that all of it can be held in huge pages;
//! - advises those made inside [`for_table`] before anything is written
//!   to them;
//! - when one of those is freed, takes the advice back, so that small
//!   allocations made later in its place do not fault in 2 MiB at a time,
//!   and hands its pages back to the kernel at once. The allocator would
//!   keep them a while, and a table placed on a huge page's boundary
//!   seldom reuses them: while tables doubled, their old copies added 6 to
//!   8 MB to the peak of a run with 100,000 keys.
//!
//! A table placed where freed memory still has small pages keeps those
//! until the kernel's `khugepaged` collapses them; since a freed table's
//! pages are returned, that happens only where other big allocations were.
//! Where the advice is not honoured (another kernel setting, another
//! system), nothing changes but the alignment.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The size of a huge page on x86_64 Linux, and the least size of an
/// allocation that is given huge pages.
pub const HUGE_PAGE: usize = 2 << 20;

thread_local! {
    /// True while this thread runs a [`for_table`].
    static FOR_TABLE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `allocate`, whose allocations of [`HUGE_PAGE`] bytes or more are
/// a table's, read at random for a long time: they get huge pages, under
/// [`HugeTables`]. Growing a vector inside it moves it to memory that has
/// them.
pub fn for_table<R>(allocate: impl FnOnce() -> R) -> R {
    /// Puts the flag back as it was, even if `allocate` panics.
    struct Restore(bool);

    impl Drop for Restore {
        fn drop(&mut self) {
            FOR_TABLE.set(self.0);
        }
    }

    let _restore = Restore(FOR_TABLE.replace(true));
    allocate()
}

/// `Vec::deserialize` inside [`for_table`], for a table restored from a
/// checkpoint (`#[serde(deserialize_with = ...)]`).
pub(crate) fn deserialize_table<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    for_table(|| serde::Deserialize::deserialize(deserializer))
}

/// A global allocator that hands every allocation to `A`, and gives the
/// big ones made in [`for_table`] huge pages.
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
// and at least its alignment; a reallocation that changes `placed`'s
// alignment, or moves a table's, is a new allocation, a copy and a free.
// `madvise` changes how the kernel backs the pages, never whether they are
// mapped, and their contents only when they are being freed (see
// `madvise` below).
unsafe impl<A: GlobalAlloc> GlobalAlloc for HugeTables<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocate(layout, |placed| self.0.alloc(placed))
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocate(layout, |placed| self.0.alloc_zeroed(placed))
    }

    unsafe fn dealloc(&self, memory: *mut u8, layout: Layout) {
        let placed = placed(layout);
        take_huge_pages(memory, placed);
        self.0.dealloc(memory, placed);
    }

    unsafe fn realloc(&self, memory: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let big = |size| size >= HUGE_PAGE;
        if !big(layout.size()) && !big(new_size) {
            return self.0.realloc(memory, layout, new_size);
        }
        if big(layout.size()) && big(new_size) && !FOR_TABLE.get() && !has_huge_pages(memory) {
            // Big before and after, and not a table's: `A` may grow it in
            // place, and keeps the alignment it was given.
            return self.0.realloc(memory, placed(layout), new_size);
        }
        // Placed differently after, or a table's, whose new memory must be
        // advised before the copy writes to it.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let moved = self.alloc(new_layout);
        if !moved.is_null() {
            std::ptr::copy_nonoverlapping(memory, moved, layout.size().min(new_size));
            self.dealloc(memory, layout);
        }
        moved
    }
}

/// Allocates for `layout` with `inner`, placed, and gives a table's
/// allocation huge pages.
fn allocate(layout: Layout, inner: impl FnOnce(Layout) -> *mut u8) -> *mut u8 {
    let placed = placed(layout);
    let memory = inner(placed);
    if FOR_TABLE.get() {
        give_huge_pages(memory, placed);
    }
    memory
}

/// The addresses of the allocations given huge pages, so that freeing one
/// knows to take them back; zero marks a free place. Tables big enough
/// are few (a scope's names, a series' entries, dedup, the join), and one
/// that finds no place here is simply not given huge pages.
static HUGE: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];

fn has_huge_pages(memory: *mut u8) -> bool {
    let address = memory as usize;
    HUGE.iter()
        .any(|place| place.load(Ordering::Relaxed) == address)
}

/// Puts `new` in the first place of `HUGE` holding `old`; false when none
/// does.
fn replace_place(old: usize, new: usize) -> bool {
    HUGE.iter().any(|place| {
        place
            .compare_exchange(old, new, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    })
}

/// Asks for huge pages for a big allocation that nothing has written to
/// yet, and remembers it.
fn give_huge_pages(memory: *mut u8, placed: Layout) {
    if placed.size() < HUGE_PAGE || memory.is_null() {
        return;
    }
    if replace_place(0, memory as usize) {
        madvise(memory, placed.size(), Advice::Huge);
    }
}

/// For an allocation about to be freed that was given huge pages: takes
/// the advice back and hands its pages to the kernel (see the module's
/// documentation).
fn take_huge_pages(memory: *mut u8, placed: Layout) {
    if placed.size() < HUGE_PAGE {
        return;
    }
    if replace_place(memory as usize, 0) {
        madvise(memory, placed.size(), Advice::Small);
        madvise(memory, placed.size(), Advice::Free);
    }
}

enum Advice {
    Huge,
    Small,
    Free,
}

/// `madvise` on a big allocation: its memory starts on a huge page's
/// boundary, so on a page's.
#[allow(unsafe_code)]
fn madvise(memory: *mut u8, size: usize, advice: Advice) {
    #[cfg(target_os = "linux")]
    // SAFETY: `memory` starts an allocation of `size` bytes that is live
    // or being freed, on a page's boundary. `MADV_HUGEPAGE` and
    // `MADV_NOHUGEPAGE` only change the size of the pages backing it; a
    // refusal (EINVAL from a kernel without transparent huge pages)
    // leaves them as they were, which is correct, only slower.
    // `MADV_DONTNEED` is made only on memory being freed, whose contents
    // nobody reads again: a later allocation there finds zeros, where
    // the allocator promises nothing.
    unsafe {
        let advice = match advice {
            Advice::Huge => libc::MADV_HUGEPAGE,
            Advice::Small => libc::MADV_NOHUGEPAGE,
            Advice::Free => libc::MADV_DONTNEED,
        };
        libc::madvise(memory.cast(), size, advice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (memory, size, advice);
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

    #[test]
    fn a_table_is_asked_for_until_its_allocation_returns_even_by_a_panic() {
        assert!(!FOR_TABLE.get());
        assert!(for_table(|| FOR_TABLE.get()));
        assert!(for_table(|| for_table(|| true) && FOR_TABLE.get()));
        assert!(!FOR_TABLE.get());
        let unwound = std::panic::catch_unwind(|| for_table(|| panic!("while allocating")));
        assert!(unwound.is_err());
        assert!(!FOR_TABLE.get());
    }
}
