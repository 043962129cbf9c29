//! Transparent huge pages for the big tables, and for nothing else; and
//! tables that grow where they are.
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
//! [`HugeTables`], the global allocator of the `tripgate` binary, gives
//! each allocation of [`HUGE_PAGE`] bytes or more made inside
//! [`for_table`] a mapping of its own:
//! - it reserves [`RESERVED`] bytes of address space, starting on a huge
//!   page's boundary, and makes the allocation's first huge pages of it
//!   readable and writable, advised huge before anything is written to
//!   them;
//! - growing it (`realloc`) makes more of the reservation writable, so
//!   the table stays where it is: its pages are not copied, and only the
//!   new part is memory the process touches for the first time. A
//!   table that doubled into new memory each time touched twice its final
//!   size, and on this project's virtual machines a fresh huge page costs
//!   the host's page faults too (docs/BENCHMARKS.md, "Where the time
//!   goes"). `IdTable` moves its ids within the grown table;
//! - freeing it unmaps it: its pages go back to the kernel at once.
//!
//! Every other allocation is `A`'s, as it asked. A table that shrinks
//! below [`HUGE_PAGE`], or outgrows its reservation, moves to memory of
//! `A`'s or to a new mapping. Where the kernel refuses a mapping, or all
//! [`PLACES`] are taken, a table is simply `A`'s, without huge pages.
//! Where the advice is not honoured (another kernel setting, another
//! system), the mapping still grows in place.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The size of a huge page on x86_64 Linux, and the least size of an
/// allocation that is given huge pages.
pub const HUGE_PAGE: usize = 2 << 20;

/// The address space a table's mapping reserves, and so the most it grows
/// to where it is: 64 GiB, a table of more than two billion ids. Address
/// space only: no memory is committed to what is not writable, and
/// [`PLACES`] reservations take an eighth of the 128 TiB a process has.
pub const RESERVED: usize = 64 << 30;

/// How many tables have mappings at once. Tables this big are few (a
/// scope's names, a series' entries, dedup, the join).
pub const PLACES: usize = 256;

thread_local! {
    /// True while this thread runs a [`for_table`].
    static FOR_TABLE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `allocate`, whose allocations of [`HUGE_PAGE`] bytes or more are
/// a table's, read at random for a long time: they get huge pages, under
/// [`HugeTables`]. Growing a vector inside it moves it to memory that has
/// them, where it then grows in place.
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

/// A global allocator that hands every allocation to `A`, except the big
/// ones made in [`for_table`], which it maps itself.
pub struct HugeTables<A>(pub A);

/// Whether an allocation for `layout` is a table's own mapping.
fn wants_mapping(layout: Layout) -> bool {
    layout.size() >= HUGE_PAGE
        && layout.size() <= RESERVED
        && layout.align() <= HUGE_PAGE
        && FOR_TABLE.get()
}

#[allow(unsafe_code)]
// SAFETY: an allocation is either `A`'s, made and freed with the caller's
// layout, or a mapping of this module's (`Mapping`), found by its address
// among the `PLACES`: at least the caller's size is writable, it starts on
// a huge page's boundary (so any alignment `wants_mapping` accepts), fresh
// mappings are zeroed by the kernel, and it is unmapped only when freed or
// moved. `realloc` keeps the contents up to the smaller size: in place, or
// by a copy into the new allocation before the old one is freed.
unsafe impl<A: GlobalAlloc> GlobalAlloc for HugeTables<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if wants_mapping(layout) {
            if let Some(mapped) = Mapping::map(layout.size()) {
                return mapped;
            }
        }
        self.0.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if wants_mapping(layout) {
            if let Some(mapped) = Mapping::map(layout.size()) {
                return mapped;
            }
        }
        self.0.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, memory: *mut u8, layout: Layout) {
        match Mapping::find(memory, layout.size()) {
            Some(mapping) => mapping.unmap(),
            None => self.0.dealloc(memory, layout),
        }
    }

    unsafe fn realloc(&self, memory: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match Mapping::find(memory, layout.size()) {
            Some(mapping) if new_size >= HUGE_PAGE && mapping.grow(new_size) => return memory,
            Some(_) => {}
            None if !wants_mapping(new_layout) => {
                return self.0.realloc(memory, layout, new_size);
            }
            None => {}
        }
        // Moves: into a mapping, out of one, or past its reservation.
        let moved = self.alloc(new_layout);
        if !moved.is_null() {
            std::ptr::copy_nonoverlapping(memory, moved, layout.size().min(new_size));
            self.dealloc(memory, layout);
        }
        moved
    }
}

/// The mappings: by place, the address each starts at (zero for a free
/// place) and how much of it is writable. A place's two words are written
/// only by the thread that owns its allocation.
static MAPPED: [[AtomicUsize; 2]; PLACES] =
    [const { [AtomicUsize::new(0), AtomicUsize::new(0)] }; PLACES];

/// One of the mappings in [`MAPPED`].
struct Mapping {
    place: &'static [AtomicUsize; 2],
}

impl Mapping {
    /// Reserves a mapping and makes its first `size` bytes (rounded up to
    /// huge pages) writable; `None` when the kernel refuses or all places
    /// are taken.
    fn map(size: usize) -> Option<*mut u8> {
        let address = reserve()?;
        let Some(place) = MAPPED.iter().find(|place| {
            place[0]
                .compare_exchange(0, address, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }) else {
            unmap(address, RESERVED);
            return None;
        };
        let mapping = Mapping { place };
        if !mapping.grow(size) {
            mapping.unmap();
            return None;
        }
        Some(address as *mut u8)
    }

    /// The mapping `memory` starts, if it is one: only allocations of a
    /// huge page or more can be (the fast path of every small free).
    fn find(memory: *mut u8, size: usize) -> Option<Mapping> {
        if size < HUGE_PAGE {
            return None;
        }
        let address = memory as usize;
        MAPPED
            .iter()
            .find(|place| place[0].load(Ordering::Relaxed) == address)
            .map(|place| Mapping { place })
    }

    /// Makes the first `size` bytes writable, if they are not yet; false
    /// if that is past the reservation or the kernel refuses.
    fn grow(&self, size: usize) -> bool {
        let address = self.place[0].load(Ordering::Relaxed);
        let writable = self.place[1].load(Ordering::Relaxed);
        if size <= writable {
            return true;
        }
        let wanted = size.div_ceil(HUGE_PAGE) * HUGE_PAGE;
        if wanted > RESERVED || !make_writable(address + writable, wanted - writable) {
            return false;
        }
        self.place[1].store(wanted, Ordering::Relaxed);
        true
    }

    /// Frees the place, with its writable size zero for whoever takes it
    /// next, then unmaps the whole reservation: by the time the kernel can
    /// hand the same addresses to a new mapping, no place names them.
    fn unmap(self) {
        let address = self.place[0].load(Ordering::Relaxed);
        self.place[1].store(0, Ordering::Relaxed);
        self.place[0].store(0, Ordering::Release);
        unmap(address, RESERVED);
    }
}

/// Reserves [`RESERVED`] bytes of address space, inaccessible, starting
/// on a huge page's boundary.
#[allow(unsafe_code)]
fn reserve() -> Option<usize> {
    // SAFETY: a new private anonymous mapping that nothing else uses; the
    // parts of it before the boundary and after the reservation are
    // unmapped again at once.
    unsafe {
        let mapped = libc::mmap(
            std::ptr::null_mut(),
            RESERVED + HUGE_PAGE,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if mapped == libc::MAP_FAILED {
            return None;
        }
        let start = mapped as usize;
        let aligned = start.next_multiple_of(HUGE_PAGE);
        if aligned > start {
            unmap(start, aligned - start);
        }
        let tail = start + RESERVED + HUGE_PAGE - (aligned + RESERVED);
        if tail > 0 {
            unmap(aligned + RESERVED, tail);
        }
        Some(aligned)
    }
}

/// Makes `size` bytes at `address`, inside a reservation and on huge
/// pages' boundaries, writable and asks for huge pages for them.
#[allow(unsafe_code)]
fn make_writable(address: usize, size: usize) -> bool {
    // SAFETY: the range lies inside a reservation of this module's, which
    // nothing has read or written yet. `MADV_HUGEPAGE` only changes the
    // size of the pages backing it; a refusal (EINVAL from a kernel
    // without transparent huge pages) leaves them small, which is correct,
    // only slower.
    unsafe {
        let memory = address as *mut libc::c_void;
        if libc::mprotect(memory, size, libc::PROT_READ | libc::PROT_WRITE) != 0 {
            return false;
        }
        #[cfg(target_os = "linux")]
        libc::madvise(memory, size, libc::MADV_HUGEPAGE);
    }
    true
}

#[allow(unsafe_code)]
fn unmap(address: usize, size: usize) {
    // SAFETY: the range is this module's own mapping, or part of one, and
    // no allocation lives in it any more.
    unsafe {
        libc::munmap(address as *mut libc::c_void, size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_big_table_gets_a_mapping() {
        let big = Layout::from_size_align(HUGE_PAGE + 24, 8).unwrap();
        let small = Layout::from_size_align(HUGE_PAGE - 1, 8).unwrap();
        let aligned = Layout::from_size_align(HUGE_PAGE, 2 * HUGE_PAGE).unwrap();
        let huge = Layout::from_size_align(RESERVED + 1, 8).unwrap();
        assert!(!wants_mapping(big));
        assert!(for_table(|| wants_mapping(big)));
        for layout in [small, aligned, huge] {
            assert!(!for_table(|| wants_mapping(layout)), "{layout:?}");
        }
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
