//! Hidden tests of exercise 09 · smaps. The regions are kept apart from
//! their neighbours (guard pages) so each has a smaps block of its own.

use super::exercise::{Usage, pss_while_shared, usage_of};
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "untouched_memory_uses_nothing", run: untouched_memory_uses_nothing },
    Test { name: "touched_private_memory_is_private_dirty", run: touched_private_memory_is_private_dirty },
    Test { name: "finds_the_region_that_holds_the_address", run: finds_the_region_that_holds_the_address },
    Test { name: "an_address_in_no_region_is_none", run: an_address_in_no_region_is_none },
    Test { name: "reads_pss_not_a_field_that_starts_like_it", run: reads_pss_not_a_field_that_starts_like_it },
    Test { name: "pss_is_divided_among_the_sharers", run: pss_is_divided_among_the_sharers },
];

fn usage(addr: usize) -> Result<Usage, Failure> {
    let found = ensure_ok(usage_of(addr), "usage_of reads /proc/self/smaps")?;
    ensure_some(found, "usage_of finds the region of a mapped address")
}

fn untouched_memory_uses_nothing() -> Outcome {
    let memory = Mapping::isolated(4 * page_size(), libc::PROT_READ | libc::PROT_WRITE);
    let used = usage(memory.addr())?;
    ensure(used == Usage::default(), "memory never touched has every field 0")
}

fn touched_private_memory_is_private_dirty() -> Outcome {
    no_huge_pages();
    let memory = Mapping::isolated(4 * page_size(), libc::PROT_READ | libc::PROT_WRITE);
    for page in 0..4 {
        // SAFETY: inside the test's own read-write mapping.
        unsafe { memory.ptr.add(page * page_size()).write_volatile(1) };
    }
    let used = usage(memory.addr())?;
    let four_pages = 4 * page_size() as u64;
    ensure(used.rss != 0, "touched memory has an Rss")?;
    ensure(used.rss == four_pages, "Rss is in bytes: smaps says kB, that is 1024 bytes")?;
    ensure(used.pss == four_pages, "Pss of memory only this process maps equals its Rss")?;
    ensure(used.private_dirty == four_pages, "pages this process wrote are Private_Dirty")?;
    ensure(used.shared_clean == 0 && used.shared_dirty == 0 && used.private_clean == 0, "the other fields stay 0")
}

fn finds_the_region_that_holds_the_address() -> Outcome {
    let page = page_size();
    let memory = Mapping::isolated(4 * page, libc::PROT_READ | libc::PROT_WRITE);
    for i in 0..2 {
        // SAFETY: the first two pages of the test's own mapping.
        unsafe { memory.ptr.add(i * page).write_volatile(1) };
    }
    // The last two pages become a region of their own, untouched.
    // SAFETY: changing the protection of the test's own pages.
    unsafe { libc::mprotect(memory.ptr.add(2 * page).cast(), 2 * page, libc::PROT_READ) };
    ensure(usage(memory.addr() + 2 * page - 1)?.rss == 2 * page as u64, "the last byte of a region belongs to it")?;
    ensure(usage(memory.addr() + 2 * page)?.rss == 0, "a region's end address belongs to the next region, not to it")?;
    ensure(usage(memory.addr() + 3 * page)?.rss == 0, "an address inside a region finds that region")
}

fn an_address_in_no_region_is_none() -> Outcome {
    ensure(ensure_ok(usage_of(0), "usage_of reads /proc/self/smaps")?.is_none(), "address 0 is in no region: None")?;
    let gone = Mapping::anonymous(page_size(), libc::PROT_READ);
    let address = gone.addr();
    drop(gone);
    ensure(ensure_ok(usage_of(address), "usage_of reads /proc/self/smaps")?.is_none(), "an unmapped address gives None")
}

/// A clean file page: Pss is counted, Pss_Dirty is 0. Mixing them up shows.
fn reads_pss_not_a_field_that_starts_like_it() -> Outcome {
    let page = page_size();
    let path = temp_file("smaps", &vec![7u8; 4 * page]);
    let file = std::fs::File::open(&path).expect("open the test's file");
    // Written back to disk, so the page cache pages are clean.
    let _ = std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.sync_all());
    let _ = std::fs::remove_file(&path);
    // SAFETY: a private read-only mapping of the test's own file.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4 * page,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            std::os::fd::AsRawFd::as_raw_fd(&file),
            0,
        )
    };
    assert!(map != libc::MAP_FAILED, "the test could not map its file");
    for i in 0..4 {
        // SAFETY: reading the mapped file's pages.
        unsafe { std::ptr::read_volatile(map.cast::<u8>().add(i * page)) };
    }
    let used = usage(map as usize)?;
    ensure(used.rss == 4 * page as u64, "the file's pages read are in Rss")?;
    ensure(used.pss == used.rss, "Pss is the field named exactly Pss (not Pss_Dirty, Pss_File...)")?;
    ensure(used.private_clean == used.rss, "pages read from a file and mapped by this process only are Private_Clean")
}

fn pss_is_divided_among_the_sharers() -> Outcome {
    no_huge_pages();
    let page = page_size();
    let region = Mapping::new(8 * page, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED | libc::MAP_ANONYMOUS);
    for i in 0..8 {
        // SAFETY: the test's own shared mapping.
        unsafe { region.ptr.add(i * page).write_volatile(1) };
    }
    for (children, shares) in [(0, 1), (1, 2), (3, 4)] {
        let pss = ensure_ok(pss_while_shared(region.addr(), region.len, children), "pss_while_shared succeeds")?;
        ensure(pss != 0, "the region's Pss is measured while it is shared (not 0)")?;
        ensure(
            pss == (8 * page / shares) as u64,
            "with N processes mapping every page, Pss is Rss / N (children must touch the pages)",
        )?;
        ensure(no_children_left(), "every child is waited for: no zombie is left")?;
    }
    Ok(())
}
