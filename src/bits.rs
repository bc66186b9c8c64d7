//! One bit per item of a list: whether a pool admits some labels, whether a walked pool is in
//! MetalLB's namespace index, whether a service's request is already reported. A bit apiece
//! where a `Vec<bool>` takes a byte: these sets are made per walk and per label set.

/// A fixed number of bits, all set or all clear to begin with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    /// `len` bits, each `on`.
    pub(crate) fn new(len: usize, on: bool) -> Bits {
        Bits(vec![if on { u64::MAX } else { 0 }; len.div_ceil(64)])
    }

    pub(crate) fn set(&mut self, i: usize, on: bool) {
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if on {
            self.0[word] |= bit;
        } else {
            self.0[word] &= !bit;
        }
    }

    /// Bit `i`; a bit past the end is clear.
    pub(crate) fn get(&self, i: usize) -> bool {
        self.0
            .get(i / 64)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::Bits;

    #[test]
    fn bits_are_set_and_cleared_one_by_one_across_words() {
        let mut bits = Bits::new(130, false);
        for i in [0, 63, 64, 129] {
            bits.set(i, true);
        }
        let on: Vec<usize> = (0..130).filter(|&i| bits.get(i)).collect();
        assert_eq!(on, [0, 63, 64, 129]);
        bits.set(64, false);
        assert!(!bits.get(64) && bits.get(63));
        assert!(!bits.get(1_000), "past the end");
        let mut all = Bits::new(70, true);
        assert!((0..70).all(|i| all.get(i)));
        all.set(69, false);
        assert!(!all.get(69) && all.get(68));
    }
}
