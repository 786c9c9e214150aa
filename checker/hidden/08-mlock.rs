//! Hidden tests of exercise 08 · mlock. Each test first drops CAP_IPC_LOCK
//! (which root has, and which ignores the limit) and sets RLIMIT_MEMLOCK to
//! four pages, so the limit bites the same for root and for everybody else.

use super::exercise::{LockError, LockedSecret};
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "locks_a_small_secret", run: locks_a_small_secret },
    Test { name: "everything_locked_counts_against_the_limit", run: everything_locked_counts_against_the_limit },
    Test { name: "past_the_limit_is_over_limit", run: past_the_limit_is_over_limit },
    Test { name: "the_error_message_is_clear", run: the_error_message_is_clear },
    Test { name: "a_failure_leaves_nothing_behind", run: a_failure_leaves_nothing_behind },
    Test { name: "drop_unlocks_and_unmaps", run: drop_unlocks_and_unmaps },
    Test { name: "an_empty_secret_is_invalid_input", run: an_empty_secret_is_invalid_input },
];

const LIMIT_PAGES: usize = 4;

fn limited() {
    drop_capability(CAP_IPC_LOCK);
    set_memlock_limit((LIMIT_PAGES * page_size()) as u64);
}

fn locked_bytes() -> u64 {
    status_field("VmLck").expect("VmLck in /proc/self/status")
}

fn secret(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

fn lock(secret: &[u8]) -> Result<LockedSecret, Failure> {
    LockedSecret::new(secret).map_err(|error| Failure {
        property: "a secret within the limit is locked".to_string(),
        detail: format!("your code returned Err({error:?})"),
    })
}

fn locks_a_small_secret() -> Outcome {
    limited();
    let text = b"correct horse battery staple";
    let locked = lock(text)?;
    ensure(locked.bytes() == text, "bytes() gives back exactly the secret")?;
    ensure(locked.bytes().as_ptr() as usize % page_size() == 0, "the secret starts a page of its own")?;
    ensure(locked_bytes() == page_size() as u64, "its page is locked: VmLck in /proc/self/status shows one page")
}

fn everything_locked_counts_against_the_limit() -> Outcome {
    limited();
    let one = lock(&secret(page_size()))?;
    let two = lock(&secret(2 * page_size()))?;
    ensure(locked_bytes() == 3 * page_size() as u64, "two secrets lock their pages together (VmLck)")?;
    let third = LockedSecret::new(&secret(2 * page_size()));
    ensure(
        matches!(third, Err(LockError::OverLimit { .. })),
        "the limit counts what is locked already: a third secret past it is OverLimit",
    )?;
    drop((one, two));
    Ok(())
}

fn past_the_limit_is_over_limit() -> Outcome {
    limited();
    let page = page_size();
    match LockedSecret::new(&secret(LIMIT_PAGES * page + 1)) {
        Err(LockError::OverLimit { wanted, limit }) => {
            ensure(wanted % page == 0, "wanted is a whole number of pages: what mlock was asked for")?;
            ensure(wanted == (LIMIT_PAGES + 1) * page, "wanted is the secret's length rounded up to whole pages")?;
            ensure(limit == (LIMIT_PAGES * page) as u64, "limit is the soft RLIMIT_MEMLOCK, in bytes")
        }
        Err(LockError::Other(error)) => Err(Failure {
            property: "a secret past the limit is LockError::OverLimit".into(),
            detail: format!("your code returned Other({error:?})"),
        }),
        Ok(_) => fail("a secret past the limit is an error (is CAP_IPC_LOCK ignored? the test dropped it)"),
    }
}

fn the_error_message_is_clear() -> Outcome {
    let error = LockError::OverLimit { wanted: 20480, limit: 16384 };
    let message = error.to_string();
    ensure(message.contains("20480"), "the OverLimit message names the bytes wanted")?;
    ensure(message.contains("16384"), "the OverLimit message names the limit")?;
    ensure(message.contains("ulimit -l"), "the OverLimit message says how to raise the limit: ulimit -l")?;
    let other = LockError::Other(std::io::Error::from_raw_os_error(libc::EAGAIN)).to_string();
    ensure(!other.trim().is_empty(), "the Other message is not empty")
}

fn a_failure_leaves_nothing_behind() -> Outcome {
    limited();
    let wanted = (LIMIT_PAGES + 2) * page_size();
    let before = maps_entries();
    let result = LockedSecret::new(&secret(wanted));
    let added = new_ranges(&before, &maps_entries());
    ensure(result.is_err(), "a secret past the limit is an error")?;
    ensure(locked_bytes() == 0, "after a failure nothing is locked (VmLck 0)")?;
    ensure(
        added.iter().all(|(start, end)| end - start < wanted),
        "after a failure the secret's pages are unmapped again",
    )
}

fn drop_unlocks_and_unmaps() -> Outcome {
    limited();
    let locked = lock(&secret(2 * page_size() + 3))?;
    let address = locked.bytes().as_ptr() as usize;
    drop(locked);
    ensure(locked_bytes() == 0, "after drop nothing is locked (munlock)")?;
    ensure(maps_entry(address).is_none(), "after drop the pages are unmapped (munmap)")
}

fn an_empty_secret_is_invalid_input() -> Outcome {
    limited();
    let result = LockedSecret::new(b"");
    ensure(
        matches!(&result, Err(LockError::Other(e)) if e.kind() == std::io::ErrorKind::InvalidInput),
        "an empty secret is LockError::Other with ErrorKind::InvalidInput",
    )
}
