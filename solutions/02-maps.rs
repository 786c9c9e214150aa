//! Reference solution of exercise 02 · maps. (`cargo workbook solution 02`
//! shows it once you have solved the exercise.)

use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsLine {
    pub start: usize,
    pub end: usize,
    pub perms: Perms,
    pub offset: u64,
    pub device: (u32, u32),
    pub inode: u64,
    pub path: String,
    pub deleted: bool,
}

pub fn parse_line(line: &str) -> Option<MapsLine> {
    // Take the five fixed columns one by one; whatever is left is the path,
    // spaces and all. (split_whitespace would cut "/tmp/my file" in two.)
    let mut rest = line;
    let mut column = || -> Option<&str> {
        let (word, after) = rest.split_once(' ')?;
        rest = after;
        Some(word)
    };
    let (start, end) = column()?.split_once('-')?;
    let perms = parse_perms(column()?)?;
    let offset = u64::from_str_radix(column()?, 16).ok()?;
    let (major, minor) = column()?.split_once(':')?;
    let inode_and_path = rest;
    let (inode, path) = match inode_and_path.split_once(' ') {
        Some((inode, path)) => (inode, path.trim_start()),
        None => (inode_and_path, ""),
    };
    let (path, deleted) = match path.strip_suffix(" (deleted)") {
        Some(path) => (path, true),
        None => (path, false),
    };
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    if end < start {
        return None;
    }
    Some(MapsLine {
        start,
        end,
        perms,
        offset,
        device: (u32::from_str_radix(major, 16).ok()?, u32::from_str_radix(minor, 16).ok()?),
        inode: inode.parse().ok()?,
        path: path.to_string(),
        deleted,
    })
}

fn parse_perms(text: &str) -> Option<Perms> {
    let letters: Vec<char> = text.chars().collect();
    let [r, w, x, s] = letters[..] else { return None };
    let flag = |letter: char, on: char| match letter {
        '-' => Some(false),
        l if l == on => Some(true),
        _ => None,
    };
    let shared = match s {
        's' => true,
        'p' => false,
        _ => return None,
    };
    Some(Perms { read: flag(r, 'r')?, write: flag(w, 'w')?, exec: flag(x, 'x')?, shared })
}

pub fn region_of(addr: usize) -> io::Result<Option<MapsLine>> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    Ok(maps.lines().filter_map(parse_line).find(|line| line.start <= addr && addr < line.end))
}
