//! Hidden tests of exercise 10 · elf. The reference is the kernel itself:
//! the program headers it loaded are in memory at getauxval(AT_PHDR), so
//! nothing here parses ELF the same way the learner does.

use super::exercise::{PF_W, PF_X, Segment, load_segments, origin_of};
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "reads_the_segments_the_kernel_loaded", run: reads_the_segments_the_kernel_loaded },
    Test { name: "reads_a_hand_made_elf_file", run: reads_a_hand_made_elf_file },
    Test { name: "refuses_what_is_not_elf64_little_endian", run: refuses_what_is_not_elf64_little_endian },
    Test { name: "a_function_comes_from_the_code_segment", run: a_function_comes_from_the_code_segment },
    Test { name: "a_static_comes_from_the_writable_segment", run: a_static_comes_from_the_writable_segment },
    Test { name: "the_bss_is_found_past_the_files_bytes", run: the_bss_is_found_past_the_files_bytes },
    Test { name: "addresses_outside_the_program_are_none", run: addresses_outside_the_program_are_none },
];

/// The load bias and PT_LOAD headers of this program, as the kernel loaded them.
fn loaded() -> (usize, Vec<libc::Elf64_Phdr>) {
    // SAFETY: AT_PHDR points at the program headers the kernel mapped, AT_PHNUM of them.
    let headers = unsafe {
        let at = libc::getauxval(libc::AT_PHDR) as *const libc::Elf64_Phdr;
        std::slice::from_raw_parts(at, libc::getauxval(libc::AT_PHNUM) as usize)
    };
    let phdr = headers.iter().find(|h| h.p_type == libc::PT_PHDR).expect("this program has a PT_PHDR header");
    // SAFETY: getauxval only reads.
    let bias = unsafe { libc::getauxval(libc::AT_PHDR) } as usize - phdr.p_vaddr as usize;
    (bias, headers.iter().filter(|h| h.p_type == libc::PT_LOAD).copied().collect())
}

/// The raw line of /proc/self/maps that holds `addr`.
fn raw_maps_line(addr: usize) -> String {
    let entry = maps_entry(addr).expect("the address is mapped");
    let prefix = format!("{:x}-{:x} ", entry.start, entry.end);
    let text = std::fs::read_to_string("/proc/self/maps").expect("read maps");
    text.lines().find(|l| l.starts_with(&prefix)).map(str::to_string).unwrap_or_default()
}

fn reads_the_segments_the_kernel_loaded() -> Outcome {
    let (_, kernel) = loaded();
    let read = ensure_ok(load_segments(std::path::Path::new("/proc/self/exe")), "load_segments reads /proc/self/exe")?;
    ensure(read.len() == kernel.len(), "as many PT_LOAD segments as the kernel loaded (only p_type 1)")?;
    for (mine, theirs) in read.iter().zip(&kernel) {
        ensure(mine.vaddr == theirs.p_vaddr, "each segment's p_vaddr")?;
        ensure(mine.offset == theirs.p_offset, "each segment's p_offset")?;
        ensure(mine.filesz == theirs.p_filesz, "each segment's p_filesz")?;
        ensure(mine.memsz == theirs.p_memsz, "each segment's p_memsz")?;
        ensure(mine.flags == theirs.p_flags, "each segment's p_flags")?;
    }
    Ok(())
}

/// An ELF header (program headers at `phoff`) followed by `headers`.
fn elf_file(class: u8, data: u8, phoff: usize, headers: &[(u32, u32, u64, u64, u64, u64)]) -> Vec<u8> {
    let mut file = vec![0u8; phoff + headers.len() * 56];
    file[..4].copy_from_slice(b"\x7fELF");
    (file[4], file[5], file[6]) = (class, data, 1);
    file[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
    file[24..32].copy_from_slice(&0x1040u64.to_le_bytes());
    file[32..40].copy_from_slice(&(phoff as u64).to_le_bytes());
    file[52..54].copy_from_slice(&64u16.to_le_bytes());
    file[54..56].copy_from_slice(&56u16.to_le_bytes());
    file[56..58].copy_from_slice(&(headers.len() as u16).to_le_bytes());
    for (i, &(kind, flags, offset, vaddr, filesz, memsz)) in headers.iter().enumerate() {
        let at = phoff + i * 56;
        file[at..at + 4].copy_from_slice(&kind.to_le_bytes());
        file[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
        file[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
        file[at + 16..at + 24].copy_from_slice(&vaddr.to_le_bytes());
        file[at + 24..at + 32].copy_from_slice(&vaddr.to_le_bytes());
        file[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
        file[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
        file[at + 48..at + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    file
}

fn segments_of(bytes: &[u8]) -> std::io::Result<Vec<Segment>> {
    let path = temp_file("elf", bytes);
    let result = load_segments(&path);
    let _ = std::fs::remove_file(&path);
    result
}

fn reads_a_hand_made_elf_file() -> Outcome {
    let headers = [
        (1, 5, 0, 0, 0x1234, 0x1234),
        (4, 4, 0x200, 0x200, 0x20, 0x20), // PT_NOTE: not a load segment
        (1, 6, 0x1e00, 0x2e00, 0x100, 0x5000),
    ];
    let file = elf_file(2, 1, 0x80, &headers);
    let read = ensure_ok(segments_of(&file), "load_segments reads a small, valid ELF file")?;
    ensure(read.len() == 2, "only the PT_LOAD headers are returned, in file order")?;
    ensure(
        read[0] == Segment { offset: 0, vaddr: 0, filesz: 0x1234, memsz: 0x1234, flags: 5 },
        "the first segment's fields",
    )?;
    ensure(
        read[1] == Segment { offset: 0x1e00, vaddr: 0x2e00, filesz: 0x100, memsz: 0x5000, flags: 6 },
        "the second segment's fields (the program headers start at e_phoff, wherever that is)",
    )
}

fn refuses_what_is_not_elf64_little_endian() -> Outcome {
    let load = [(1, 5, 0, 0, 0x10, 0x10)];
    let mut truncated = elf_file(2, 1, 64, &[(1, 5, 0, 0, 0x10, 0x10), (1, 6, 0, 0, 0x10, 0x10)]);
    truncated.truncate(64 + 56 + 20);
    let mut small_entries = elf_file(2, 1, 64, &load);
    small_entries[54..56].copy_from_slice(&32u16.to_le_bytes());
    let cases: [(&str, Vec<u8>); 6] = [
        ("a file that is not ELF is InvalidData", b"#!/bin/sh\necho hello\n".to_vec()),
        ("an empty file is InvalidData", Vec::new()),
        ("a 32-bit ELF file is InvalidData", elf_file(1, 1, 64, &load)),
        ("a big-endian ELF file is InvalidData", elf_file(2, 2, 64, &load)),
        ("a file cut short inside its program headers is InvalidData", truncated),
        ("program headers smaller than 56 bytes are InvalidData", small_entries),
    ];
    for (property, bytes) in cases {
        let result = segments_of(&bytes);
        ensure(matches!(&result, Err(e) if e.kind() == std::io::ErrorKind::InvalidData), property)?;
    }
    let missing = load_segments(std::path::Path::new("/nonexistent/workbook-elf"));
    ensure(
        matches!(missing, Err(e) if e.kind() == std::io::ErrorKind::NotFound),
        "a missing file is the NotFound error from reading it",
    )
}

fn origin(addr: usize) -> Result<super::exercise::Origin, Failure> {
    let found = ensure_ok(origin_of(addr), "origin_of succeeds")?;
    ensure_some(found, "an address inside this program has an origin")
}

fn check_origin(addr: usize) -> Outcome {
    let (bias, kernel) = loaded();
    let origin = origin(addr)?;
    ensure(origin.load_bias == bias, "the load bias is where the program was placed (AT_ENTRY - e_entry)")?;
    let expected = kernel.iter().find(|h| {
        let file_addr = (addr - bias) as u64;
        h.p_vaddr <= file_addr && file_addr < h.p_vaddr + h.p_memsz
    });
    ensure(
        expected.is_some_and(|h| h.p_vaddr == origin.segment.vaddr),
        "the segment is the PT_LOAD that holds the address",
    )?;
    ensure(
        origin.maps_line == raw_maps_line(addr),
        "maps_line is the whole line of /proc/self/maps that holds the address",
    )
}

fn a_function_comes_from_the_code_segment() -> Outcome {
    let addr = a_function_comes_from_the_code_segment as fn() -> Outcome as usize;
    check_origin(addr)?;
    let origin = origin(addr)?;
    ensure(origin.segment.flags & PF_X != 0, "a function's segment is executable (PF_X)")
}

static mut INITIALIZED: [u8; 64] = [1; 64];

fn a_static_comes_from_the_writable_segment() -> Outcome {
    let addr = std::hint::black_box(&raw const INITIALIZED) as usize;
    check_origin(addr)?;
    ensure(origin(addr)?.segment.flags & PF_W != 0, "a mutable static's segment is writable (PF_W)")
}

static mut ZEROED: [u8; 256 * 1024] = [0; 256 * 1024];

fn the_bss_is_found_past_the_files_bytes() -> Outcome {
    let addr = std::hint::black_box(&raw const ZEROED) as usize + 256 * 1024 - 1;
    let (bias, kernel) = loaded();
    let file_addr = (addr - bias) as u64;
    let beyond_file = kernel.iter().any(|h| h.p_vaddr + h.p_filesz <= file_addr && file_addr < h.p_vaddr + h.p_memsz);
    assert!(beyond_file, "the test expected its zeroed static in the bss, past p_filesz");
    check_origin(addr)?;
    let origin = origin(addr)?;
    ensure(
        origin.segment.memsz > origin.segment.filesz,
        "a bss address is in the segment whose memsz exceeds its filesz",
    )
}

fn addresses_outside_the_program_are_none() -> Outcome {
    let heap = Box::new([0u8; 64]);
    let memory = Mapping::anonymous(page_size(), libc::PROT_READ);
    for (property, addr) in [
        ("a heap address is in no segment of the program", heap.as_ptr() as usize),
        ("an anonymous mapping is in no segment of the program", memory.addr()),
        ("address 0 is in no segment of the program", 0),
    ] {
        ensure(ensure_ok(origin_of(addr), "origin_of succeeds")?.is_none(), property)?;
    }
    Ok(())
}
