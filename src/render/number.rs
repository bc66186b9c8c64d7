//! Counts a person can read: exact below a billion, else three significant digits
//! (`1.84e19`, one notation for every column). JSON and YAML always carry the exact integer.

pub fn count(n: u128) -> String {
    if n < 1_000_000_000 {
        return n.to_string();
    }
    let digits = n.to_string();
    let exponent = digits.len() - 1;
    // Rounded to three significant digits from the exact digits, not through f64.
    let mut mantissa: u32 = digits[..3].parse().unwrap_or(0);
    if digits.as_bytes()[3] >= b'5' {
        mantissa += 1;
    }
    let (mantissa, exponent) = if mantissa >= 1000 {
        (mantissa / 10, exponent + 1)
    } else {
        (mantissa, exponent)
    };
    format!("{}.{:02}e{exponent}", mantissa / 100, mantissa % 100)
}

/// Use as a percentage: `<1%` for a little use of a huge pool, `-` for an empty pool.
pub fn percent(used: u128, total: u128) -> String {
    if total == 0 {
        return "-".to_string();
    }
    if used == 0 {
        return "0%".to_string();
    }
    let pct = used as f64 * 100.0 / total as f64;
    if pct < 1.0 {
        "<1%".to_string()
    } else {
        format!("{}%", pct.floor() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999_999_999), "999999999");
        assert_eq!(count(1 << 64), "1.84e19");
        assert_eq!(count(1 << 96), "7.92e28");
        assert_eq!(count((1 << 64) - 3), "1.84e19");
        assert_eq!(count(1_995_000_000), "2.00e9");
        assert_eq!(count(9_996_000_000), "1.00e10");
        assert_eq!(count(u128::MAX), "3.40e38");
    }

    #[test]
    fn percents() {
        assert_eq!(percent(0, 0), "-");
        assert_eq!(percent(0, 16), "0%");
        assert_eq!(percent(3, 16), "18%");
        assert_eq!(percent(16, 16), "100%");
        assert_eq!(percent(1, 1 << 64), "<1%");
    }
}
