//! The free part of a pool, summarised: ranges, exact counts, and the next addresses MetalLB
//! would hand out (metallb-semantics.md §3.1, §4.9). Nothing is enumerated: the work is
//! proportional to the blocks and the held addresses, never to the size of a block.

use std::fmt;

use serde::Serialize;

use super::addr::{AddressSpace, Block, Family, Ip};

/// Consecutive addresses `first..=last` of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub first: Ip,
    pub last: Ip,
}

impl Range {
    /// Addresses of the range MetalLB can hand out: with `avoid_buggy`, IPv4 addresses
    /// ending in .0 or .255 are not counted (§3.1). Saturates only for all of IPv6.
    pub fn count(self, avoid_buggy: bool) -> u128 {
        let size = (self.last.value - self.first.value).saturating_add(1);
        if avoid_buggy && self.first.family == Family::V4 {
            size - last_octet_count(self.first.value, self.last.value, 0)
                - last_octet_count(self.first.value, self.last.value, 0xff)
        } else {
            size
        }
    }
}

/// `first-last`, or the address alone when the range holds one (both are valid
/// `spec.addresses` and `loadBalancerIPs` material).
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl Serialize for Range {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How many values in `[first, last]` have `octet` as their last byte.
fn last_octet_count(first: u128, last: u128, octet: u128) -> u128 {
    // Values in [0, n] ending in `octet`.
    let up_to = |n: u128| if n < octet { 0 } else { (n - octet) / 256 + 1 };
    up_to(last) - if first == 0 { 0 } else { up_to(first - 1) }
}

/// The free addresses of `space` as ranges: its blocks minus the held addresses, adjacent
/// pieces merged, ascending by family then address. `held_in` yields the held addresses
/// of a block in ascending order. With `avoidBuggyIPs`, each range's ends are trimmed of
/// .0/.255 addresses (a range of only such addresses disappears); those inside a range
/// stay in it and are left out of its [`Range::count`].
pub fn free_ranges<I>(space: &AddressSpace, mut held_in: impl FnMut(Block) -> I) -> Vec<Range>
where
    I: Iterator<Item = Ip>,
{
    let mut pieces = Vec::new();
    for block in &space.blocks {
        let last = block.last();
        let mut cursor = Some(block.first);
        for ip in held_in(*block) {
            if let Some(from) = cursor
                && ip > from
            {
                pieces.push(Range {
                    first: from,
                    last: previous(ip),
                });
            }
            cursor = ip.next();
        }
        if let Some(from) = cursor
            && from <= last
        {
            pieces.push(Range { first: from, last });
        }
    }
    pieces.sort_unstable();
    let mut merged: Vec<Range> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match merged.last_mut() {
            Some(open) if open.last.next() == Some(piece.first) => open.last = piece.last,
            _ => merged.push(piece),
        }
    }
    if space.avoid_buggy {
        merged = merged.into_iter().filter_map(trim_buggy_ends).collect();
    }
    merged
}

/// A range without .0/.255 addresses at its ends; `None` when nothing else is left.
fn trim_buggy_ends(mut range: Range) -> Option<Range> {
    while range.first.is_buggy() {
        range.first = range.first.next().filter(|ip| *ip <= range.last)?;
    }
    while range.last.is_buggy() {
        if range.last <= range.first {
            return None;
        }
        range.last = previous(range.last);
    }
    Some(range)
}

/// The address before `ip` (callers never pass the family's first address).
fn previous(ip: Ip) -> Ip {
    Ip {
        family: ip.family,
        value: ip.value - 1,
    }
}

/// The next `n` addresses of `family` that MetalLB would hand out from `space`, one new
/// service after another, for services without a sharing key: blocks in `spec.addresses`
/// order, each upward, held and `avoidBuggyIPs` addresses skipped (§4.9).
pub fn next_free<I>(
    space: &AddressSpace,
    family: Family,
    n: usize,
    mut held_in: impl FnMut(Block) -> I,
) -> Vec<Ip>
where
    I: Iterator<Item = Ip>,
{
    let mut found = Vec::with_capacity(n);
    for block in space.blocks.iter().filter(|b| b.first.family == family) {
        if found.len() >= n {
            break;
        }
        let mut held = held_in(*block).peekable();
        let mut cursor = Some(block.first);
        while let Some(ip) = cursor.filter(|ip| *ip <= block.last()) {
            if found.len() >= n {
                break;
            }
            // Jump over the held addresses at the cursor, and past those below it.
            while held.peek().is_some_and(|h| *h < ip) {
                held.next();
            }
            let taken = held.peek() == Some(&ip);
            let excluded = space.avoid_buggy && ip.is_buggy();
            if !(taken || excluded) {
                found.push(ip);
            }
            cursor = ip.next();
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metallb::addr::parse_entry;

    fn ip(text: &str) -> Ip {
        Ip::parse(text).unwrap()
    }

    fn space(entries: &[&str], avoid_buggy: bool) -> AddressSpace {
        AddressSpace {
            blocks: entries
                .iter()
                .flat_map(|e| parse_entry(e).unwrap().blocks)
                .collect(),
            avoid_buggy,
        }
    }

    /// Held addresses given as a sorted list, served per block as the allocator does.
    fn held<'a>(list: &'a [Ip]) -> impl FnMut(Block) -> std::vec::IntoIter<Ip> + 'a {
        move |b: Block| {
            list.iter()
                .copied()
                .filter(|ip| b.contains(*ip))
                .collect::<Vec<_>>()
                .into_iter()
        }
    }

    fn texts(ranges: &[Range]) -> Vec<String> {
        ranges.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn an_ipv6_slash_32_with_nothing_held_is_one_range() {
        let s = space(&["2001:db8::/32"], false);
        let ranges = free_ranges(&s, held(&[]));
        assert_eq!(
            texts(&ranges),
            ["2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"]
        );
        assert_eq!(ranges[0].count(false), 1 << 96);
    }

    #[test]
    fn held_addresses_split_ranges_and_adjacent_blocks_merge() {
        // A range summarised into several blocks reads as one range again.
        let s = space(&["10.0.0.5-10.0.0.20"], false);
        assert!(s.blocks.len() > 1);
        let h = [ip("10.0.0.5"), ip("10.0.0.9"), ip("10.0.0.10")];
        let ranges = free_ranges(&s, held(&h));
        assert_eq!(texts(&ranges), ["10.0.0.6-10.0.0.8", "10.0.0.11-10.0.0.20"]);
        let count: u128 = ranges.iter().map(|r| r.count(false)).sum();
        assert_eq!(count, 16 - 3);
    }

    #[test]
    fn a_fully_held_pool_has_no_range() {
        let s = space(&["10.0.0.0/31"], false);
        assert!(free_ranges(&s, held(&[ip("10.0.0.0"), ip("10.0.0.1")])).is_empty());
    }

    #[test]
    fn avoid_buggy_trims_the_ends_and_is_not_counted_inside() {
        let s = space(&["10.0.0.0/23"], true);
        let ranges = free_ranges(&s, held(&[]));
        assert_eq!(texts(&ranges), ["10.0.0.1-10.0.1.254"]);
        // .255 and .0 in the middle are inside the range, and not counted: 508 (§3.1).
        assert_eq!(ranges[0].count(true), 508);
        // A /32 on .0 is nothing at all.
        assert!(free_ranges(&space(&["10.0.0.0/32"], true), held(&[])).is_empty());
        let r = free_ranges(&space(&["10.0.0.254/31"], true), held(&[]));
        assert_eq!(texts(&r), ["10.0.0.254"]);
    }

    #[test]
    fn counting_last_octets_is_exact_at_the_edges() {
        assert_eq!(last_octet_count(0, 255, 0), 1);
        assert_eq!(last_octet_count(0, 255, 255), 1);
        assert_eq!(last_octet_count(1, 254, 0), 0);
        assert_eq!(last_octet_count(255, 256, 0), 1);
        assert_eq!(last_octet_count(0, u128::from(u32::MAX), 0), 1 << 24);
    }

    #[test]
    fn next_addresses_follow_the_scan_order() {
        // Blocks in spec.addresses order: .128/25 is scanned before .0/25 (§4.9).
        let s = space(&["10.0.0.128/25", "10.0.0.0/25"], false);
        let h = [ip("10.0.0.129")];
        assert_eq!(
            next_free(&s, Family::V4, 3, held(&h)),
            [ip("10.0.0.128"), ip("10.0.0.130"), ip("10.0.0.131")]
        );
    }

    #[test]
    fn next_addresses_skip_avoid_buggy_and_cross_blocks() {
        let s = space(&["10.0.0.254/31", "10.0.1.0/30"], true);
        assert_eq!(
            next_free(&s, Family::V4, 5, held(&[])),
            [
                ip("10.0.0.254"),
                ip("10.0.1.1"),
                ip("10.0.1.2"),
                ip("10.0.1.3")
            ]
        );
        assert!(next_free(&s, Family::V6, 5, held(&[])).is_empty());
    }

    #[test]
    fn next_addresses_of_a_huge_block_are_found_without_walking_it() {
        let s = space(&["fc00::/8"], false);
        assert_eq!(
            next_free(&s, Family::V6, 2, held(&[ip("fc00::")])),
            [ip("fc00::1"), ip("fc00::2")]
        );
    }
}
