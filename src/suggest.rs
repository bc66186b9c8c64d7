//! "Did you mean …?": the closest of some known names to a name that matched none of them.

/// The known name closest to `wanted` by edit distance, if it is close enough to be a typo
/// (at most half the length of the longer of the two); ties go to the first in name order.
pub fn closest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|name| (strsim::levenshtein(wanted, name), name))
        .filter(|(distance, name)| *distance <= name.len().max(wanted.len()) / 2)
        .min()
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn a_typo_finds_its_name() {
        let known = ["public-ips", "team-a-ips", "team-b-ips"];
        assert_eq!(closest("publc-ips", known), Some("public-ips"));
        assert_eq!(
            closest("team-c-ips", known),
            Some("team-a-ips"),
            "ties: name order"
        );
    }

    #[test]
    fn a_name_unlike_every_known_one_finds_none() {
        assert_eq!(closest("production", ["public-ips", "dev"]), None);
        assert_eq!(closest("x", Vec::<&str>::new()), None);
    }

    #[test]
    fn the_bound_is_half_the_longer_name() {
        // "ab" → "abcd": distance 2, half of 4 is 2: close enough; "abcde": 3 > 2.
        assert_eq!(closest("ab", ["abcd"]), Some("abcd"));
        assert_eq!(closest("ab", ["abcde"]), None);
    }
}
