//! Exact address arithmetic: addresses as `u128`, pool entries as aligned blocks.
//!
//! Nothing here ever enumerates a block to count it: an IPv6 /32 has 2^96 addresses.
//! Rules: metallb-semantics.md §2.1–§2.3 (parsing), §3.1 (counting), §4.9 (scan order).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{Ipv4Subnets, Ipv6Subnets};
use serde::Serialize;

/// An address family, in MetalLB's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    #[serde(rename = "ipv4")]
    V4,
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    /// Number of bits in an address of this family.
    pub fn bits(self) -> u32 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    pub fn other(self) -> Family {
        match self {
            Family::V4 => Family::V6,
            Family::V6 => Family::V4,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// One address. IPv4 values live in the low 32 bits. Ordered by family, then value,
/// which is the order MetalLB scans a pool's blocks in within one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ip {
    pub family: Family,
    pub value: u128,
}

impl Ip {
    pub fn v4(value: u32) -> Ip {
        Ip {
            family: Family::V4,
            value: u128::from(value),
        }
    }

    pub fn v6(value: u128) -> Ip {
        Ip {
            family: Family::V6,
            value,
        }
    }

    /// Parses an address the way Go's `net.ParseIP` does: no prefix, no zone, no leading
    /// zeros in IPv4 octets, and IPv4-mapped IPv6 text (`::ffff:10.0.0.1`) is IPv4 (§2.3).
    pub fn parse(text: &str) -> Option<Ip> {
        match IpAddr::from_str(text).ok()? {
            IpAddr::V4(v4) => Some(Ip::from(v4)),
            IpAddr::V6(v6) => Some(Ip::from(v6)),
        }
    }

    /// Go's 16-byte form, used where MetalLB compares addresses bytewise across families.
    fn sixteen_byte_form(self) -> u128 {
        match self.family {
            Family::V4 => (0xffff_u128 << 32) | self.value,
            Family::V6 => self.value,
        }
    }

    /// True for the IPv4 addresses `avoidBuggyIPs` excludes: last octet 0 or 255.
    pub fn is_buggy(self) -> bool {
        self.family == Family::V4 && matches!(self.value & 0xff, 0 | 0xff)
    }

    /// The next address of the same family, if any.
    pub fn next(self) -> Option<Ip> {
        let max = max_value(self.family);
        (self.value < max).then(|| Ip {
            family: self.family,
            value: self.value + 1,
        })
    }

    pub fn to_std(self) -> IpAddr {
        match self.family {
            // The value of a V4 address always fits 32 bits (constructors guarantee it).
            Family::V4 => IpAddr::V4(Ipv4Addr::from(self.value as u32)),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(self.value)),
        }
    }
}

impl From<Ipv4Addr> for Ip {
    fn from(v4: Ipv4Addr) -> Ip {
        Ip::v4(u32::from(v4))
    }
}

impl From<Ipv6Addr> for Ip {
    fn from(v6: Ipv6Addr) -> Ip {
        match v6.to_ipv4_mapped() {
            Some(v4) => Ip::from(v4),
            None => Ip::v6(u128::from(v6)),
        }
    }
}

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_std().fmt(f)
    }
}

/// Addresses as the plugin's own words list them: `a, b`.
pub fn ip_list(ips: &[Ip]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Serialize for Ip {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn max_value(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// An aligned CIDR block: `first` has no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block {
    pub first: Ip,
    pub prefix: u8,
}

impl Block {
    fn host_bits(self) -> u32 {
        self.first.family.bits() - u32::from(self.prefix)
    }

    /// Mask of the host bits (all ones for `::/0`).
    fn host_mask(self) -> u128 {
        match self.host_bits() {
            128 => u128::MAX,
            bits => (1u128 << bits) - 1,
        }
    }

    pub fn last(self) -> Ip {
        Ip {
            family: self.first.family,
            value: self.first.value | self.host_mask(),
        }
    }

    pub fn contains(self, ip: Ip) -> bool {
        ip.family == self.first.family && ip.value & !self.host_mask() == self.first.value
    }

    /// Whether two blocks share an address; prefixes either nest or are disjoint.
    pub fn overlaps(self, other: Block) -> bool {
        self.contains(other.first) || other.contains(self.first)
    }

    /// Number of addresses, saturating only for `::/0` (2^128 does not fit a u128).
    pub fn size(self) -> u128 {
        self.host_mask().saturating_add(1)
    }

    /// Number of addresses `avoidBuggyIPs` removes from this block (§3.1).
    pub fn buggy_count(self) -> u128 {
        if self.first.family == Family::V6 {
            return 0;
        }
        if self.prefix <= 24 {
            // Every /24 inside loses its .0 and .255.
            return 2 << (24 - u32::from(self.prefix));
        }
        // A block longer than /24 lies inside one /24: it holds .0 only if it starts
        // there, .255 only if it ends there (a /32 holds at most one of them).
        u128::from(self.first.value & 0xff == 0) + u128::from(self.last().value & 0xff == 0xff)
    }

    /// Addresses MetalLB may hand out from this block.
    pub fn usable_count(self, avoid_buggy: bool) -> u128 {
        if avoid_buggy {
            self.size() - self.buggy_count()
        } else {
            self.size()
        }
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.first, self.prefix)
    }
}

/// Why a `spec.addresses` entry is invalid, worded as MetalLB's inner errors (§2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryError {
    InvalidCidr,
    InvalidStart(String),
    InvalidEnd(String),
    StartAfterEnd { start: String, end: String },
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::InvalidCidr => f.write_str("invalid CIDR"),
            EntryError::InvalidStart(s) => write!(f, "invalid start IP {s:?}"),
            EntryError::InvalidEnd(e) => write!(f, "invalid end IP {e:?}"),
            EntryError::StartAfterEnd { start, end } => {
                write!(f, "start IP {start:?} is after the end IP {end:?}")
            }
        }
    }
}

/// A parsed `spec.addresses` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The blocks, ascending, as MetalLB scans them.
    pub blocks: Vec<Block>,
    /// A CIDR written with host bits set (`10.0.0.5/24`): MetalLB masks them off.
    pub host_bits_masked: bool,
    /// A range whose ends are of different families: MetalLB accepts it as zero addresses.
    pub mixed_families: bool,
}

/// Parses one `spec.addresses` entry exactly as MetalLB's `ParseCIDR` does (§2.1): an entry
/// with a `-` is a range split at the first `-`, anything else must be a CIDR.
pub fn parse_entry(text: &str) -> Result<Entry, EntryError> {
    match text.split_once('-') {
        Some((start, end)) => parse_range(start.trim(), end.trim()),
        None => parse_cidr(text),
    }
}

fn parse_cidr(text: &str) -> Result<Entry, EntryError> {
    let (addr, len) = text.split_once('/').ok_or(EntryError::InvalidCidr)?;
    // Go accepts leading zeros in the length (`/08`) but nothing else: no sign, no space.
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EntryError::InvalidCidr);
    }
    let len: u32 = len.parse().map_err(|_| EntryError::InvalidCidr)?;
    let parsed = IpAddr::from_str(addr).map_err(|_| EntryError::InvalidCidr)?;
    let (first, prefix) = match parsed {
        IpAddr::V4(v4) if len <= 32 => (Ip::from(v4), len),
        IpAddr::V6(v6) if len <= 128 => {
            // IPv4-mapped text stays IPv4 when the prefix keeps the ::ffff: part (§2.3).
            match v6.to_ipv4_mapped() {
                Some(v4) if len >= 96 => (Ip::from(v4), len - 96),
                _ => (Ip::v6(u128::from(v6)), len),
            }
        }
        _ => return Err(EntryError::InvalidCidr),
    };
    let prefix = prefix as u8; // at most 128
    let unmasked = Block { first, prefix };
    let masked = Ip {
        family: first.family,
        value: first.value & !unmasked.host_mask(),
    };
    Ok(Entry {
        blocks: vec![Block {
            first: masked,
            prefix,
        }],
        host_bits_masked: masked != first,
        mixed_families: false,
    })
}

fn parse_range(start: &str, end: &str) -> Result<Entry, EntryError> {
    let start_ip = Ip::parse(start).ok_or_else(|| EntryError::InvalidStart(start.to_string()))?;
    let end_ip = Ip::parse(end).ok_or_else(|| EntryError::InvalidEnd(end.to_string()))?;
    if start_ip.sixteen_byte_form() > end_ip.sixteen_byte_form() {
        return Err(EntryError::StartAfterEnd {
            start: start.to_string(),
            end: end.to_string(),
        });
    }
    if start_ip.family != end_ip.family {
        // MetalLB's summariser returns nothing for mixed families: zero addresses, no error.
        return Ok(Entry {
            blocks: Vec::new(),
            host_bits_masked: false,
            mixed_families: true,
        });
    }
    Ok(Entry {
        blocks: summarize(start_ip, end_ip),
        host_bits_masked: false,
        mixed_families: false,
    })
}

/// The minimal ascending list of aligned blocks covering exactly `[start, end]` (§2.2), as
/// MetalLB's summariser gives them.
pub fn summarize(start: Ip, end: Ip) -> Vec<Block> {
    debug_assert_eq!(start.family, end.family);
    match (start.to_std(), end.to_std()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => Ipv4Subnets::new(a, b, 0)
            .map(|net| Block {
                first: Ip::from(net.network()),
                prefix: net.prefix_len(),
            })
            .collect(),
        (IpAddr::V6(a), IpAddr::V6(b)) => Ipv6Subnets::new(a, b, 0)
            .map(|net| Block {
                first: Ip::v6(u128::from(net.network())),
                prefix: net.prefix_len(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Counts of one pool, per family and in all (§3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FamilyCounts {
    pub total: u128,
    pub used: u128,
    pub free: u128,
}

impl FamilyCounts {
    pub fn new(total: u128, used: u128) -> FamilyCounts {
        FamilyCounts {
            total,
            used,
            free: total.saturating_sub(used),
        }
    }

    pub fn plus(self, other: FamilyCounts) -> FamilyCounts {
        FamilyCounts::new(
            self.total.saturating_add(other.total),
            self.used + other.used,
        )
    }
}

/// A pool's address space: its blocks in `spec.addresses` order, which is MetalLB's scan
/// order (§2.2, §4.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressSpace {
    pub blocks: Vec<Block>,
    pub avoid_buggy: bool,
}

impl AddressSpace {
    /// Addresses of `family` MetalLB can hand out (exact; saturates only for `::/0`).
    pub fn total(&self, family: Family) -> u128 {
        self.blocks
            .iter()
            .filter(|b| b.first.family == family)
            .fold(0u128, |sum, b| {
                sum.saturating_add(b.usable_count(self.avoid_buggy))
            })
    }

    pub fn has_family(&self, family: Family) -> bool {
        self.total(family) > 0
    }

    /// Where `ip` comes in MetalLB's scan of the pool (§4.9: blocks in order, each upward),
    /// if the pool has it: earlier compares less.
    pub fn scan_position(&self, ip: Ip) -> Option<(usize, u128)> {
        let block = self.blocks.iter().position(|b| b.contains(ip))?;
        Some((block, ip.value))
    }

    /// Whether the pool owns `ip`: inside a block, and not an `avoidBuggyIPs` exclusion
    /// (MetalLB's `poolFor`, §3.3, §4.5).
    pub fn owns(&self, ip: Ip) -> bool {
        !(self.avoid_buggy && ip.is_buggy()) && self.blocks.iter().any(|b| b.contains(ip))
    }

    /// The first address of `family` usable by a service, scanning blocks in order and each
    /// block upward (§4.9). `held` yields the held addresses of a block in ascending order
    /// with whether the service may share each one; every other address is free.
    pub fn first_usable<'h, H>(
        &self,
        family: Family,
        mut held_in: impl FnMut(Block) -> H,
    ) -> Option<Ip>
    where
        H: Iterator<Item = (Ip, bool)> + 'h,
    {
        for block in self.blocks.iter().filter(|b| b.first.family == family) {
            if let Some(ip) = self.first_usable_in_block(*block, held_in(*block)) {
                return Some(ip);
            }
        }
        None
    }

    fn first_usable_in_block(
        &self,
        block: Block,
        held: impl Iterator<Item = (Ip, bool)>,
    ) -> Option<Ip> {
        let last = block.last();
        let mut cursor = Some(block.first);
        for (ip, shareable) in held {
            let from = cursor?;
            // Addresses in [from, ip) are held by nobody.
            if ip > from
                && let Some(free) = self.first_allowed(from, ip.value - 1)
            {
                return Some(free);
            }
            if shareable && !(self.avoid_buggy && ip.is_buggy()) {
                return Some(ip);
            }
            cursor = ip.next();
        }
        cursor.and_then(|from| self.first_allowed(from, last.value))
    }

    /// The first address in `[from, to]` that `avoidBuggyIPs` does not exclude.
    fn first_allowed(&self, from: Ip, to: u128) -> Option<Ip> {
        let mut ip = from;
        // At most two steps: x.255 then x+1.0.
        while self.avoid_buggy && ip.is_buggy() {
            ip = ip.next()?;
        }
        (ip.value <= to).then_some(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Ip {
        Ip::parse(text).unwrap()
    }

    fn blocks(text: &str) -> Vec<String> {
        parse_entry(text)
            .unwrap()
            .blocks
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn space(entries: &[&str], avoid_buggy: bool) -> AddressSpace {
        let blocks = entries
            .iter()
            .flat_map(|e| parse_entry(e).unwrap().blocks)
            .collect();
        AddressSpace {
            blocks,
            avoid_buggy,
        }
    }

    fn first_free(space: &AddressSpace, family: Family) -> Option<Ip> {
        space.first_usable(family, |_| std::iter::empty())
    }

    #[test]
    fn range_splits_into_minimal_ascending_blocks() {
        // Appendix B.1.
        assert_eq!(
            blocks("192.168.1.240-192.168.1.250"),
            ["192.168.1.240/29", "192.168.1.248/31", "192.168.1.250/32"]
        );
        assert_eq!(blocks("10.0.0.0-10.0.0.255"), ["10.0.0.0/24"]);
        assert_eq!(blocks("10.0.0.7-10.0.0.7"), ["10.0.0.7/32"]);
        assert_eq!(blocks("0.0.0.0-255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(
            blocks("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ["::/0"]
        );
        assert_eq!(
            blocks("2001:db8::1-2001:db8::2"),
            ["2001:db8::1/128", "2001:db8::2/128"]
        );
    }

    #[test]
    fn range_sides_are_trimmed_and_split_at_first_dash() {
        assert_eq!(blocks("10.0.0.1 - 10.0.0.1"), ["10.0.0.1/32"]);
        assert_eq!(
            parse_entry("10.0.0.1-10.0.0.2-10.0.0.3"),
            Err(EntryError::InvalidEnd("10.0.0.2-10.0.0.3".into()))
        );
        assert_eq!(
            parse_entry("x-10.0.0.3"),
            Err(EntryError::InvalidStart("x".into()))
        );
        assert_eq!(
            parse_entry("10.0.0.0/24-10.0.1.0"),
            Err(EntryError::InvalidStart("10.0.0.0/24".into()))
        );
    }

    #[test]
    fn range_start_after_end_is_invalid() {
        assert_eq!(
            parse_entry("10.0.0.9-10.0.0.1"),
            Err(EntryError::StartAfterEnd {
                start: "10.0.0.9".into(),
                end: "10.0.0.1".into()
            })
        );
        // IPv6 start above every IPv4 end in Go's 16-byte comparison.
        assert!(matches!(
            parse_entry("2001:db8::1-10.0.0.1"),
            Err(EntryError::StartAfterEnd { .. })
        ));
    }

    #[test]
    fn mixed_family_range_is_silently_empty() {
        let entry = parse_entry("10.0.0.1-2001:db8::1").unwrap();
        assert!(entry.blocks.is_empty());
        assert!(entry.mixed_families);
        // IPv6 start below ::ffff:0:0 with an IPv4 end passes the order check: empty too.
        let entry = parse_entry("::1-10.0.0.1").unwrap();
        assert!(entry.blocks.is_empty() && entry.mixed_families);
    }

    #[test]
    fn bare_ip_and_malformed_cidrs_are_invalid() {
        for bad in [
            "10.0.0.7",
            " 10.0.0.0/24",
            "10.0.0.0/33",
            "2001:db8::/129",
            "010.0.0.1/32",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "fe80::1%eth0/64",
            "10.0.0.0/24 ",
        ] {
            assert_eq!(parse_entry(bad), Err(EntryError::InvalidCidr), "{bad}");
        }
    }

    #[test]
    fn cidr_host_bits_are_masked_off() {
        let entry = parse_entry("10.0.0.5/24").unwrap();
        assert_eq!(entry.blocks[0].to_string(), "10.0.0.0/24");
        assert!(entry.host_bits_masked);
        assert!(!parse_entry("10.0.0.0/24").unwrap().host_bits_masked);
        assert_eq!(blocks("10.0.0.0/08"), ["10.0.0.0/8"]);
    }

    #[test]
    fn ipv4_mapped_cidr_is_ipv4() {
        assert_eq!(blocks("::ffff:10.0.0.0/120"), ["10.0.0.0/24"]);
        assert_eq!(ip("::ffff:10.0.0.1"), Ip::v4(0x0a00_0001));
        assert_eq!(
            space(&["::ffff:10.0.0.0/120"], false).total(Family::V4),
            256
        );
    }

    #[test]
    fn counts_are_exact_for_huge_ipv6_pools() {
        assert_eq!(
            space(&["2001:db8::/32"], false).total(Family::V6),
            79228162514264337593543950336
        );
        assert_eq!(
            space(&["2001:db8::/48"], false).total(Family::V6),
            1208925819614629174706176
        );
        assert_eq!(
            space(&["2001:db8::/64", "2001:db9::/120"], false).total(Family::V6),
            (1 << 64) + 256
        );
        assert_eq!(
            space(&["2001:db8::/64"], true).total(Family::V6),
            1 << 64,
            "IPv6 never excludes"
        );
    }

    #[test]
    fn avoid_buggy_counts() {
        // §3.1 examples.
        for (entry, with, without) in [
            ("10.0.0.0/24", 254, 256),
            ("10.0.0.0/23", 508, 512),
            ("10.0.0.0/31", 1, 2),
            ("10.0.0.0/32", 0, 1),
            ("10.0.0.255/32", 0, 1),
            ("192.168.1.240-192.168.1.250", 11, 11),
            ("10.0.0.128/25", 127, 128),
            ("10.0.0.0/8", (1 << 24) - 2 * 65536, 1 << 24),
        ] {
            assert_eq!(
                space(&[entry], true).total(Family::V4),
                with,
                "{entry} with avoidBuggyIPs"
            );
            assert_eq!(space(&[entry], false).total(Family::V4), without, "{entry}");
        }
    }

    #[test]
    fn first_free_scans_entries_in_spec_order_from_the_network_address() {
        // §4.9 examples and Appendix B.2.
        assert_eq!(
            first_free(&space(&["192.168.10.0/24"], false), Family::V4),
            Some(ip("192.168.10.0"))
        );
        assert_eq!(
            first_free(&space(&["fc00::/124"], false), Family::V6),
            Some(ip("fc00::"))
        );
        assert_eq!(
            first_free(&space(&["10.0.0.128/25", "10.0.0.0/25"], false), Family::V4),
            Some(ip("10.0.0.128"))
        );
        assert_eq!(
            first_free(&space(&["10.1.0.0/23"], true), Family::V4),
            Some(ip("10.1.0.1"))
        );
        assert_eq!(
            first_free(&space(&["10.1.0.0/23"], false), Family::V4),
            Some(ip("10.1.0.0"))
        );
        assert_eq!(first_free(&space(&["10.2.0.0/32"], true), Family::V4), None);
        assert_eq!(
            first_free(&space(&["10.1.0.0/23"], false), Family::V6),
            None
        );
    }

    #[test]
    fn first_usable_skips_held_and_takes_shareable() {
        let pool = space(&["10.0.0.0/30"], false);
        let held = [(ip("10.0.0.0"), false), (ip("10.0.0.1"), false)];
        assert_eq!(
            pool.first_usable(Family::V4, |_| held.into_iter()),
            Some(ip("10.0.0.2"))
        );
        // A shareable held address below the first free one wins.
        let held = [(ip("10.0.0.0"), false), (ip("10.0.0.1"), true)];
        assert_eq!(
            pool.first_usable(Family::V4, |_| held.into_iter()),
            Some(ip("10.0.0.1"))
        );
        let all = [
            (ip("10.0.0.0"), false),
            (ip("10.0.0.1"), false),
            (ip("10.0.0.2"), false),
            (ip("10.0.0.3"), false),
        ];
        assert_eq!(pool.first_usable(Family::V4, |_| all.into_iter()), None);
    }

    #[test]
    fn buggy_shared_address_is_never_usable() {
        let pool = space(&["10.0.0.0/30"], true);
        let held = [(ip("10.0.0.0"), true)];
        assert_eq!(
            pool.first_usable(Family::V4, |_| held.into_iter()),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn ownership_excludes_buggy_addresses() {
        let pool = space(&["10.0.0.0/24"], true);
        assert!(!pool.owns(ip("10.0.0.0")));
        assert!(!pool.owns(ip("10.0.0.255")));
        assert!(pool.owns(ip("10.0.0.1")));
        assert!(!pool.owns(ip("10.0.1.1")));
        assert!(!pool.owns(ip("::ffff:10.0.1.1")));
        assert!(space(&["10.0.0.0/24"], false).owns(ip("10.0.0.0")));
    }

    #[test]
    fn overlap_is_nesting() {
        let a = parse_entry("10.0.0.0/24").unwrap().blocks[0];
        let b = parse_entry("10.0.0.128/25").unwrap().blocks[0];
        let c = parse_entry("10.0.1.0/24").unwrap().blocks[0];
        assert!(a.overlaps(b) && b.overlaps(a));
        assert!(!a.overlaps(c), "adjacent blocks do not overlap");
        let v6 = parse_entry("::a00:0/120").unwrap().blocks[0];
        assert!(!a.overlaps(v6), "families never overlap");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn brute_force_blocks(start: u32, end: u32) -> Vec<u32> {
            (start..=end).collect()
        }

        proptest! {
            #[test]
            fn summarize_covers_exactly_the_range(start in 0u32..5000, len in 0u32..3000) {
                let end = start + len;
                let blocks = summarize(Ip::v4(start), Ip::v4(end));
                let covered: Vec<u32> = blocks.iter()
                    .flat_map(|b| (b.first.value as u32)..=(b.last().value as u32))
                    .collect();
                prop_assert_eq!(covered, brute_force_blocks(start, end));
                // Minimal: no two neighbours could merge into one aligned block.
                for pair in blocks.windows(2) {
                    let merged = pair[0].prefix == pair[1].prefix
                        && pair[0].prefix > 0
                        && (pair[0].first.value >> (32 - u32::from(pair[0].prefix) + 1)) << 1
                            == pair[0].first.value >> (32 - u32::from(pair[0].prefix));
                    prop_assert!(!merged, "{} and {} could merge", pair[0], pair[1]);
                }
            }

            #[test]
            fn counts_match_brute_force(start in 0u32..2000, len in 0u32..1500, avoid in any::<bool>()) {
                let pool = AddressSpace { blocks: summarize(Ip::v4(start), Ip::v4(start + len)), avoid_buggy: avoid };
                let brute = (start..=start + len)
                    .filter(|v| !(avoid && matches!(v & 0xff, 0 | 255)))
                    .count() as u128;
                prop_assert_eq!(pool.total(Family::V4), brute);
            }

            #[test]
            fn first_usable_matches_brute_force(
                start in 0u32..1200,
                len in 0u32..600,
                avoid in any::<bool>(),
                held in proptest::collection::btree_map(0u32..1800, any::<bool>(), 0..200),
            ) {
                let end = start + len;
                let pool = AddressSpace { blocks: summarize(Ip::v4(start), Ip::v4(end)), avoid_buggy: avoid };
                let found = pool.first_usable(Family::V4, |block| {
                    held.range(block.first.value as u32..=block.last().value as u32)
                        .map(|(v, s)| (Ip::v4(*v), *s))
                        .collect::<Vec<_>>()
                        .into_iter()
                });
                let brute = (start..=end)
                    .find(|v| !(avoid && matches!(v & 0xff, 0 | 255)) && held.get(v).is_none_or(|s| *s))
                    .map(Ip::v4);
                prop_assert_eq!(found, brute);
            }
        }
    }
}
