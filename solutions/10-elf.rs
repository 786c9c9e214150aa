//! Reference solution of exercise 10 · elf. (`cargo workbook solution 10`
//! shows it once you have solved the exercise.)

use std::io;
use std::path::Path;

pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub segment: Segment,
    pub load_bias: usize,
    pub maps_line: String,
}

const PT_LOAD: u32 = 1;
const PHDR_SIZE: usize = 56;

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// Little-endian numbers at an offset, or an error when the file is too short.
fn bytes<const N: usize>(file: &[u8], at: usize) -> io::Result<[u8; N]> {
    let slice = file.get(at..at.checked_add(N).ok_or_else(|| invalid("offset too large"))?);
    slice.and_then(|s| s.try_into().ok()).ok_or_else(|| invalid("the file is too short"))
}

fn u16_at(file: &[u8], at: usize) -> io::Result<u16> {
    Ok(u16::from_le_bytes(bytes(file, at)?))
}

fn u32_at(file: &[u8], at: usize) -> io::Result<u32> {
    Ok(u32::from_le_bytes(bytes(file, at)?))
}

fn u64_at(file: &[u8], at: usize) -> io::Result<u64> {
    Ok(u64::from_le_bytes(bytes(file, at)?))
}

/// Check the identification bytes; return (e_entry, PT_LOAD segments).
fn parse(file: &[u8]) -> io::Result<(u64, Vec<Segment>)> {
    if bytes::<4>(file, 0)? != *b"\x7fELF" {
        return Err(invalid("not an ELF file"));
    }
    if bytes::<2>(file, 4)? != [2, 1] {
        return Err(invalid("not a 64-bit little-endian ELF file"));
    }
    let entry = u64_at(file, 24)?;
    let phoff = usize::try_from(u64_at(file, 32)?).map_err(|_| invalid("e_phoff too large"))?;
    let phentsize = u16_at(file, 54)? as usize;
    let phnum = u16_at(file, 56)? as usize;
    if phentsize < PHDR_SIZE {
        return Err(invalid("program headers too small"));
    }
    let mut segments = Vec::new();
    for i in 0..phnum {
        let at = phoff.checked_add(i * phentsize).ok_or_else(|| invalid("e_phoff too large"))?;
        if u32_at(file, at)? != PT_LOAD {
            continue;
        }
        segments.push(Segment {
            flags: u32_at(file, at + 4)?,
            offset: u64_at(file, at + 8)?,
            vaddr: u64_at(file, at + 16)?,
            filesz: u64_at(file, at + 32)?,
            memsz: u64_at(file, at + 40)?,
        });
    }
    Ok((entry, segments))
}

pub fn load_segments(path: &Path) -> io::Result<Vec<Segment>> {
    Ok(parse(&std::fs::read(path)?)?.1)
}

pub fn origin_of(addr: usize) -> io::Result<Option<Origin>> {
    let (entry, segments) = parse(&std::fs::read("/proc/self/exe")?)?;
    // SAFETY: getauxval only reads the auxiliary vector the kernel gave us.
    let entry_now = unsafe { libc::getauxval(libc::AT_ENTRY) } as usize;
    let load_bias = entry_now.wrapping_sub(entry as usize);
    let Some(file_addr) = addr.checked_sub(load_bias) else { return Ok(None) };
    let file_addr = file_addr as u64;
    let Some(segment) = segments.into_iter().find(|s| s.vaddr <= file_addr && file_addr < s.vaddr + s.memsz) else {
        return Ok(None);
    };
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let maps_line = maps.lines().find(|line| line_holds(line, addr)).unwrap_or_default().to_string();
    Ok(Some(Origin { segment, load_bias, maps_line }))
}

fn line_holds(line: &str, addr: usize) -> bool {
    let Some((start, end)) = line.split_whitespace().next().and_then(|range| range.split_once('-')) else {
        return false;
    };
    match (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) {
        (Ok(start), Ok(end)) => start <= addr && addr < end,
        _ => false,
    }
}
