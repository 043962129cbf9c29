//! `HugeTables` as the `tripgate` binary uses it: the global allocator,
//! over jemalloc, with tables allocated in `for_table` as the aggregator's
//! are. What the kernel was told about each allocation's pages is read
//! back from `/proc/self/smaps` (`hg`: huge pages advised).

use std::sync::Mutex;

use tripgate_aggregator::huge_pages::{for_table, HugeTables, HUGE_PAGE, PLACES};

#[global_allocator]
static ALLOCATOR: HugeTables<tikv_jemallocator::Jemalloc> = HugeTables(tikv_jemallocator::Jemalloc);

/// The tests look at the whole address space: one at a time, so that
/// none sees another's allocations.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The `VmFlags` of the mapping holding `address`, if one does.
fn flags_at(address: usize) -> Option<Vec<String>> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("Linux has /proc/self/smaps");
    let mut inside = false;
    for line in smaps.lines() {
        if let Some((range, _)) = line.split_once(' ') {
            if let Some((start, end)) = range.split_once('-') {
                if let (Ok(start), Ok(end)) = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                ) {
                    inside = (start..end).contains(&address);
                    continue;
                }
            }
        }
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            if inside {
                return Some(flags.split_whitespace().map(str::to_owned).collect());
            }
        }
    }
    None
}

fn advised_huge(address: usize) -> bool {
    flags_at(address).is_some_and(|flags| flags.iter().any(|flag| flag == "hg"))
}

/// Whether this kernel takes the advice at all.
fn kernel_has_huge_pages() -> bool {
    std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists()
}

#[test]
fn a_table_gets_a_mapping_of_its_own_and_a_list_does_not() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let list = vec![7u64; 3 * HUGE_PAGE / 8];
    assert!(!advised_huge(list.as_ptr() as usize));
    let table = for_table(|| vec![7u64; 3 * HUGE_PAGE / 8]);
    let address = table.as_ptr() as usize;
    assert_eq!(address % HUGE_PAGE, 0, "placed");
    if kernel_has_huge_pages() {
        assert!(advised_huge(address));
        assert!(advised_huge(address + table.len() * 8 - 1));
    }
    assert!(table.iter().all(|&word| word == 7));
    drop(table);
    assert_eq!(flags_at(address), None, "unmapped");
}

#[test]
fn a_small_allocation_is_left_to_the_allocator() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let small = for_table(|| vec![1u8; 4096]);
    assert!(!advised_huge(small.as_ptr() as usize));
}

#[test]
fn a_table_grows_where_it_is_and_keeps_its_contents() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Pushes grow the vector by realloc from small to big (a move into a
    // mapping), then from big to bigger (in place).
    let mut grown: Vec<u32> = Vec::new();
    let mut mapped_at = None;
    for value in 0..(3 * HUGE_PAGE / 2) as u32 {
        for_table(|| grown.push(value));
        if grown.capacity() * 4 >= HUGE_PAGE {
            let (address, _) =
                *mapped_at.get_or_insert((grown.as_ptr() as usize, grown.capacity()));
            assert_eq!(grown.as_ptr() as usize, address, "at {value}");
        }
    }
    let (_, first_capacity) = mapped_at.expect("grown past a huge page");
    assert_eq!(
        grown.capacity(),
        8 * first_capacity,
        "doubled three times in place"
    );
    let address = grown.as_ptr() as usize;
    assert_eq!(address % HUGE_PAGE, 0);
    assert!(grown
        .iter()
        .enumerate()
        .all(|(at, &value)| value == at as u32));
    if kernel_has_huge_pages() {
        assert!(advised_huge(address));
        assert!(advised_huge(address + grown.len() * 4 - 1));
    }
    // Still a table's outside `for_table`: grown in place again.
    grown.reserve(grown.capacity() + 1);
    assert_eq!(grown.as_ptr() as usize, address);
    // Shrunk below a huge page: moved out, and the mapping is gone.
    grown.truncate(1000);
    grown.shrink_to_fit();
    assert_ne!(grown.as_ptr() as usize, address);
    assert_eq!(flags_at(address), None, "unmapped");
    assert!(grown
        .iter()
        .enumerate()
        .all(|(at, &value)| value == at as u32));
}

#[test]
fn tables_beyond_the_places_go_without_and_all_free_cleanly() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Zeroed and never written: address space, not memory.
    let tables: Vec<Vec<u8>> = (0..PLACES + 44)
        .map(|_| for_table(|| vec![0u8; HUGE_PAGE]))
        .collect();
    let mapped = tables
        .iter()
        .filter(|table| (table.as_ptr() as usize).is_multiple_of(HUGE_PAGE))
        .filter(|table| !kernel_has_huge_pages() || advised_huge(table.as_ptr() as usize))
        .count();
    assert!(mapped >= PLACES, "{mapped}");
    if kernel_has_huge_pages() {
        assert_eq!(mapped, PLACES);
    }
    let addresses: Vec<usize> = tables.iter().map(|table| table.as_ptr() as usize).collect();
    drop(tables);
    assert!(addresses.iter().all(|&address| !advised_huge(address)));
    // The places are free again.
    let table = for_table(|| vec![0u8; HUGE_PAGE]);
    if kernel_has_huge_pages() {
        assert!(advised_huge(table.as_ptr() as usize));
    }
}
