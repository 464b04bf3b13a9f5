//! Python's `random.Random`, so that a seeded `random`, `shuffle` or `password` picks what Ansible picks: the
//! Mersenne Twister comes from `rand_mt`; the rest (how Python turns a seed into the twister's key, draws a number
//! below `n` from whole bits, shuffles and chooses) is Python's `random.py`, which no crate reproduces.

use minijinja::value::Value as JValue;
use rand_mt::Mt;
use sha2::Digest as _;

pub(super) struct PyRandom {
    twister: Mt,
}

impl PyRandom {
    /// `random.Random(seed)`: a string seeds with its bytes followed by their SHA-512 (seed version 2), an integer
    /// with its absolute value. Anything else seeds as its text. (Python would hash a float; a key of more than
    /// 624 words, a seed string over about 2.4 KB, is cut where Python's would wrap.)
    pub(super) fn seeded(seed: &JValue) -> Self {
        let key = match seed.as_i64().filter(|_| seed.is_integer()) {
            Some(n) => words_of_integer(&n.unsigned_abs().to_be_bytes()),
            None => {
                let text = match seed.as_str() {
                    Some(s) => s.to_string(),
                    None => super::filters::py_str(seed),
                };
                let mut bytes = text.into_bytes();
                let digest = sha2::Sha512::digest(&bytes);
                bytes.extend_from_slice(&digest);
                words_of_integer(&bytes)
            }
        };
        PyRandom {
            twister: Mt::new_with_key(key),
        }
    }

    /// `random.SystemRandom()`'s job, done by a twister keyed from the operating system's randomness.
    pub(super) fn unseeded() -> Self {
        let key: [u32; 8] = rand::random();
        PyRandom {
            twister: Mt::new_with_key(key),
        }
    }

    /// `getrandbits(k)` for `k` up to 64: 32-bit words from the least significant up, the last one cut.
    fn getrandbits(&mut self, k: u32) -> u64 {
        let mut result = 0u64;
        let mut filled = 0;
        while filled < k {
            let mut word = u64::from(self.twister.next_u32());
            let take = (k - filled).min(32);
            if take < 32 {
                word >>= 32 - take;
            }
            result |= word << filled;
            filled += take;
        }
        result
    }

    /// `_randbelow(n)`: whole bits drawn until they fall below `n`.
    pub(super) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randrange(start, stop, step)`, or None for an empty range.
    pub(super) fn randrange(&mut self, start: i64, stop: i64, step: i64) -> Option<i64> {
        let width = stop.checked_sub(start)?;
        let count = match step {
            1 => width,
            s if s > 0 => (width + s - 1).div_euclid(s),
            s if s < 0 => floor_div(width + s + 1, s),
            _ => return None,
        };
        if count <= 0 {
            return None;
        }
        let picked = i64::try_from(self.below(count as u64)).ok()?;
        Some(start + step * picked)
    }

    /// `shuffle(x)`: Fisher-Yates from the end.
    pub(super) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// `choice(seq)`'s index into a sequence of `len` items.
    pub(super) fn choice(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

/// Python's `a // b`, which rounds toward negative infinity.
fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

/// The key `init_by_array` gets for a non-negative integer given big-endian: its 32-bit words, least significant
/// first, without the zero words above its highest bit (at least one word).
fn words_of_integer(big_endian: &[u8]) -> Vec<u32> {
    let mut words: Vec<u32> = big_endian
        .rchunks(4)
        .map(|chunk| chunk.iter().fold(0u32, |w, b| (w << 8) | u32::from(*b)))
        .collect();
    while words.len() > 1 && words.last() == Some(&0) {
        words.pop();
    }
    words
}

#[cfg(test)]
mod unit {
    use super::*;

    // Values from CPython 3.11's `random.Random(seed)`.
    #[test]
    fn seeded_draws_are_pythons() {
        let mut r = PyRandom::seeded(&JValue::from("s"));
        assert_eq!(r.randrange(0, 100, 1), Some(61));
        let mut r = PyRandom::seeded(&JValue::from(42));
        assert_eq!(r.randrange(0, 1000, 1), Some(654));
        let mut items = vec![1, 2, 3, 4, 5];
        PyRandom::seeded(&JValue::from("x")).shuffle(&mut items);
        assert_eq!(items, [5, 2, 1, 4, 3]);
    }

    #[test]
    fn python_floor_division() {
        assert_eq!(floor_div(-7, 2), -4);
        assert_eq!(floor_div(-9, -5), 1);
        assert_eq!(floor_div(7, -2), -4);
    }
}
