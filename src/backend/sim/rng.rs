//! Seeded randomness for the demo world: splitmix64 streams and stable hashes.
//!
//! Every tick of every environment draws from its own stream, derived from the seed, the
//! environment and the tick number, so a tick's draws never depend on how often the
//! world was polled before it. Names (addresses, hashes, ARN suffixes) come from stable
//! hashes of their inputs. Nothing here reads the clock or the system's randomness.

/// One splitmix64 stream.
#[derive(Debug, Clone)]
pub(super) struct SplitMix(u64);

/// Stream purposes: the state of a tick, the log lines of a tick, a mutation.
pub(super) const PURPOSE_STATE: u64 = 0x5741_5445;
pub(super) const PURPOSE_LOGS: u64 = 0x4c4f_4753;
pub(super) const PURPOSE_MUTATION: u64 = 0x4d55_5441;
pub(super) const PURPOSE_SETUP: u64 = 0x5345_5455;

impl SplitMix {
    /// A stream starting at `state`.
    #[cfg(test)]
    pub(super) fn new(state: u64) -> Self {
        Self(state)
    }

    /// The stream of one (seed, environment, purpose, counter) quadruple.
    pub(super) fn derive(seed: u64, env_salt: u64, purpose: u64, counter: i64) -> Self {
        Self(mix(mix(mix(seed, env_salt), purpose), counter as u64))
    }

    /// The next 64 random bits.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        finalize(self.0)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for a demo and free of division.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `per_mille` / 1000.
    pub(super) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index into a slice of `len` elements (`None` when empty).
    pub(super) fn index(&mut self, len: usize) -> Option<usize> {
        (len > 0).then(|| self.below(len as u64) as usize)
    }

    /// `chars` lowercase hex digits.
    pub(super) fn hex(&mut self, chars: usize) -> String {
        hex_of(self.next_u64(), chars)
    }
}

/// The splitmix64 output function.
fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mixes two words into one well-spread word.
pub(super) fn mix(a: u64, b: u64) -> u64 {
    finalize(a ^ finalize(b.wrapping_add(0x9E37_79B9_7F4A_7C15)))
}

/// A stable 64-bit hash of a string (FNV-1a, then mixed).
pub(super) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    finalize(h)
}

/// `chars` hex digits (at most 64) expanded from one seed word.
pub(super) fn hex_of(seed: u64, chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    let mut n = 0u64;
    while out.len() < chars {
        let word = mix(seed, n);
        n += 1;
        for shift in (0..16).rev() {
            if out.len() == chars {
                break;
            }
            let nibble = ((word >> (shift * 4)) & 0xf) as u32;
            out.push(char::from_digit(nibble, 16).unwrap_or('0'));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = SplitMix::derive(1, 2, PURPOSE_STATE, 3);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = SplitMix::derive(1, 2, PURPOSE_STATE, 3);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        let mut c = SplitMix::derive(1, 2, PURPOSE_STATE, 4);
        assert_ne!(a[0], c.next_u64());
    }

    #[test]
    fn bounded_draws_stay_in_bounds() {
        let mut r = SplitMix::new(7);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            let x = r.range(-3, 3);
            assert!((-3..=3).contains(&x));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.index(0), None);
    }

    #[test]
    fn hex_has_the_asked_length() {
        assert_eq!(hex_of(1, 32).len(), 32);
        assert_eq!(hex_of(1, 64).len(), 64);
        assert_ne!(hex_of(1, 64), hex_of(2, 64));
        assert!(hex_of(3, 40).chars().all(|c| c.is_ascii_hexdigit()));
    }
}
