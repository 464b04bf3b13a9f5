//! The order of CPython's `set` for numbers, which Ansible's set filters show: `difference`, `intersect`,
//! `union` and `symmetric_difference` are `list(set(a) - set(b))` and the like (ansible/plugins/filter/
//! mathstuff.py), so their result comes in the order of the result set's hash table.
//!
//! For numbers that order is deterministic: `hash(n)` is `n` reduced modulo 2**61 - 1 (`hash(-1)` is -2), a
//! float's hash is that of the rational it is, and where a value lands follows from the table's size and the
//! probing of Objects/setobject.c. We replay that table here. For text the order is not reproducible: Python
//! salts string hashes per process (PYTHONHASHSEED), so two Ansible runs disagree with each other; `None`
//! hashes by address. Those lists (and any with one such element) keep the order of first appearance instead.
//!
//! What is replayed, from CPython 3.11 (the Python of the ansible-core we compare with):
//! - a table of 8 slots to start; an insertion into a never-used slot that brings `fill * 5 >= mask * 3`
//!   resizes to the smallest power of two above `used * 4` (`used * 2` past 50000 items), re-inserting the
//!   live entries in slot order; a deleted entry leaves a dummy, and an insertion takes the last dummy its
//!   probe passed before the empty slot that ends it, if any;
//! - probing: slot `hash & mask`, then up to 9 following slots while they are inside the table, then
//!   `perturb >>= 5; i = (i * 5 + 1 + perturb) & mask`, with `perturb` starting as the hash (unsigned);
//! - `set(list)` inserts item by item; a copy (`set_merge` into an empty set) first resizes for twice the
//!   items when there are 5 or more, then copies the table as is when the sizes match, else re-inserts;
//! - `a | b` copies `a` and adds `b`'s entries in slot order; `a - b` iterates `a` adding what `b` lacks,
//!   or, when `a` has more than four times `b`'s items, copies `a` and deletes `b`'s; `a & b` iterates the
//!   smaller (`b` on a tie) adding what the other has; `a ^ b` copies `b`, then for each entry of `a`
//!   deletes it if present, else adds it.
//!
//! Values that compare equal across types (`1`, `1.0`, `true`) are one element, as in Python; the one kept
//! is the one the table got first.

use minijinja::value::{Value as JValue, ValueKind};

/// Python's hash modulus for numbers, 2**61 - 1 (`sys.hash_info.modulus`).
const MODULUS: u64 = (1 << 61) - 1;
/// Bits of the modulus (`_PyHASH_BITS`).
const HASH_BITS: u32 = 61;
/// `hash(float('inf'))` (`sys.hash_info.inf`).
const HASH_INF: i64 = 314_159;
/// The size of a new set's table (`PySet_MINSIZE`).
const MIN_SIZE: usize = 8;
/// Slots probed one after the other before jumping (`LINEAR_PROBES`).
const LINEAR_PROBES: usize = 9;
/// `PERTURB_SHIFT`.
const PERTURB_SHIFT: u32 = 5;

/// A number as Python compares and hashes it.
#[derive(Clone, Copy, Debug)]
enum Number {
    Int(i128),
    Float(f64),
}

impl PartialEq for Number {
    /// Python's `==` across int and float: exact, so `2**53 + 1 != float(2**53 + 1)`.
    fn eq(&self, other: &Number) -> bool {
        match (*self, *other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Float(a), Number::Float(b)) => a == b,
            (Number::Int(i), Number::Float(f)) | (Number::Float(f), Number::Int(i)) => {
                // Every float of magnitude below 2**127 that has no fraction is an exact i128.
                f.fract() == 0.0 && f.abs() < 2f64.powi(127) && f as i128 == i
            }
        }
    }
}

impl Number {
    /// The number a Jinja value is, when its hash is the same in every Python process: ints (and bools,
    /// which are ints) and floats other than NaN (whose hash is its address).
    fn of(value: &JValue) -> Option<Number> {
        match value.kind() {
            ValueKind::Bool => Some(Number::Int(i128::from(value.is_true()))),
            ValueKind::Number if value.is_integer() => {
                i128::try_from(value.clone()).ok().map(Number::Int)
            }
            ValueKind::Number => f64::try_from(value.clone())
                .ok()
                .filter(|f| !f.is_nan())
                .map(Number::Float),
            _ => None,
        }
    }

    /// Python's `hash()` of the number.
    fn hash(self) -> i64 {
        match self {
            Number::Int(n) => hash_int(n),
            Number::Float(f) => hash_float(f),
        }
    }
}

/// `hash(n)` for an int: `n` reduced modulo 2**61 - 1, keeping its sign; -1 (CPython's error value) is -2.
fn hash_int(n: i128) -> i64 {
    // The remainder is below 2**61, so it fits an i64.
    let reduced = (n.unsigned_abs() % u128::from(MODULUS)) as i64;
    let hash = if n < 0 { -reduced } else { reduced };
    if hash == -1 { -2 } else { hash }
}

/// `hash(x)` for a float that is not NaN (`_Py_HashDouble`): the hash of the rational number it is, so an
/// integral float hashes as the int.
fn hash_float(x: f64) -> i64 {
    if x.is_infinite() {
        return if x > 0.0 { HASH_INF } else { -HASH_INF };
    }
    let (mut mantissa, mut exponent) = frexp(x);
    let negative = mantissa < 0.0;
    mantissa = mantissa.abs();
    // The mantissa's bits, 28 at a time, folded into a number modulo 2**61 - 1 (a left rotation by 28 bits
    // is a multiplication by 2**28 there).
    let mut folded: u64 = 0;
    while mantissa != 0.0 {
        folded = ((folded << 28) & MODULUS) | folded >> (HASH_BITS - 28);
        mantissa *= 268_435_456.0; // 2**28
        exponent -= 28;
        // The integer part is below 2**28: the cast is exact.
        let top = mantissa as u64;
        mantissa -= top as f64;
        folded += top;
        if folded >= MODULUS {
            folded -= MODULUS;
        }
    }
    // Times 2**exponent, the exponent reduced modulo 61 (2**61 is 1 modulo 2**61 - 1).
    let shift = exponent.rem_euclid(HASH_BITS as i32) as u32;
    folded = ((folded << shift) & MODULUS) | folded >> (HASH_BITS - shift);
    // Below 2**61 after the masking: it fits an i64.
    let hash = if negative {
        -(folded as i64)
    } else {
        folded as i64
    };
    if hash == -1 { -2 } else { hash }
}

/// C's `frexp`: `x == mantissa * 2**exponent` with `0.5 <= |mantissa| < 1`, and `(x, 0)` for zero.
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (mantissa, exponent) = frexp(x * 2f64.powi(64));
        return (mantissa, exponent - 64);
    }
    // The same sign and fraction with the exponent of [0.5, 1).
    let mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (mantissa, biased - 1022)
}

/// One element: its number, its hash and the value it came from.
#[derive(Clone)]
struct Entry<T> {
    hash: i64,
    number: Number,
    value: T,
}

#[derive(Clone)]
enum Slot<T> {
    Empty,
    /// A deleted entry: probing goes past it, an insertion may take it.
    Dummy,
    Active(Entry<T>),
}

/// A CPython set's hash table.
#[derive(Clone)]
struct PySet<T> {
    table: Vec<Slot<T>>,
    /// Slots not empty (live entries and dummies).
    fill: usize,
    /// Live entries.
    used: usize,
}

/// The slots CPython visits for a hash, in order: from `hash & mask`, up to `LINEAR_PROBES` more one by one
/// while inside the table, then a jump mixing in the hash's higher bits. Endless; the table always has an
/// empty slot that ends the search.
fn probe(hash: i64, mask: usize) -> impl Iterator<Item = usize> {
    // C converts the hash to size_t: a negative hash is a large unsigned number.
    let mut perturb = hash as u64 as usize;
    let mut start = perturb & mask;
    let mut offset = 0;
    std::iter::from_fn(move || {
        let run = if start + LINEAR_PROBES <= mask {
            LINEAR_PROBES
        } else {
            0
        };
        if offset > run {
            perturb >>= PERTURB_SHIFT;
            start = start.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb) & mask;
            offset = 0;
        }
        offset += 1;
        Some(start + offset - 1)
    })
}

impl<T: Clone> PySet<T> {
    fn new() -> PySet<T> {
        PySet {
            table: vec![Slot::Empty; MIN_SIZE],
            fill: 0,
            used: 0,
        }
    }

    /// `set(items)`: each item added in turn.
    fn from_items(items: impl IntoIterator<Item = Entry<T>>) -> PySet<T> {
        let mut set = PySet::new();
        for entry in items {
            set.add(entry);
        }
        set
    }

    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// The live entries in slot order: how Python iterates a set.
    fn entries(&self) -> impl Iterator<Item = &Entry<T>> {
        self.table.iter().filter_map(|slot| match slot {
            Slot::Active(entry) => Some(entry),
            _ => None,
        })
    }

    fn into_values(self) -> Vec<T> {
        self.table
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Active(entry) => Some(entry.value),
                _ => None,
            })
            .collect()
    }

    /// The slot of the live entry equal to `entry` (`set_lookkey`).
    fn find(&self, entry: &Entry<T>) -> Option<usize> {
        for i in probe(entry.hash, self.mask()) {
            match &self.table[i] {
                Slot::Empty => return None,
                Slot::Active(e) if e.hash == entry.hash && e.number == entry.number => {
                    return Some(i);
                }
                _ => {}
            }
        }
        None
    }

    fn contains(&self, entry: &Entry<T>) -> bool {
        self.find(entry).is_some()
    }

    /// `set_add_entry`: nothing when an equal entry is there; else the last dummy met on the way, or the
    /// empty slot that ended the search, after which the table may grow.
    fn add(&mut self, entry: Entry<T>) {
        let mut dummy = None;
        let mut empty = None;
        for i in probe(entry.hash, self.mask()) {
            match &self.table[i] {
                Slot::Empty => {
                    empty = Some(i);
                    break;
                }
                Slot::Active(e) if e.hash == entry.hash && e.number == entry.number => return,
                // CPython keeps the last dummy it passes, not the first (checked on 3.11 by reading a
                // set's table with ctypes).
                Slot::Dummy => dummy = Some(i),
                _ => {}
            }
        }
        if let Some(i) = dummy {
            self.table[i] = Slot::Active(entry);
            self.used += 1;
            return;
        }
        let Some(i) = empty else { return };
        self.table[i] = Slot::Active(entry);
        self.fill += 1;
        self.used += 1;
        if self.fill * 5 >= self.mask() * 3 {
            self.resize(if self.used > 50_000 {
                self.used * 2
            } else {
                self.used * 4
            });
        }
    }

    /// `set_discard_entry`: the equal entry, if any, becomes a dummy.
    fn discard(&mut self, entry: &Entry<T>) -> bool {
        match self.find(entry) {
            Some(i) => {
                self.table[i] = Slot::Dummy;
                self.used -= 1;
                true
            }
            None => false,
        }
    }

    /// `set_table_resize`: a table of the smallest power of two above `min_used` (at least 8), the live
    /// entries re-inserted in slot order. A small table without dummies is left alone.
    fn resize(&mut self, min_used: usize) {
        let mut size = MIN_SIZE;
        while size <= min_used {
            size <<= 1;
        }
        if size == MIN_SIZE && self.table.len() == MIN_SIZE && self.fill == self.used {
            return;
        }
        let old = std::mem::replace(&mut self.table, vec![Slot::Empty; size]);
        self.fill = self.used;
        for slot in old {
            if let Slot::Active(entry) = slot {
                self.insert_clean(entry);
            }
        }
    }

    /// `set_insert_clean`: into the first empty slot of the probe, for an entry known to be absent from a
    /// table without dummies. Counts are the caller's.
    fn insert_clean(&mut self, entry: Entry<T>) {
        for i in probe(entry.hash, self.mask()) {
            if matches!(self.table[i], Slot::Empty) {
                self.table[i] = Slot::Active(entry);
                return;
            }
        }
    }

    /// `set_merge`: `other`'s entries added to this set.
    fn merge(&mut self, other: &PySet<T>) {
        if other.used == 0 {
            return;
        }
        // One resize up front, expecting few common entries.
        if (self.fill + other.used) * 5 >= self.mask() * 3 {
            self.resize((self.used + other.used) * 2);
        }
        if self.fill == 0 && self.mask() == other.mask() && other.fill == other.used {
            // An empty table of the same size: the slots are copied as they are.
            self.table = other.table.clone();
            self.fill = other.fill;
            self.used = other.used;
            return;
        }
        if self.fill == 0 {
            self.fill = other.used;
            self.used = other.used;
            for entry in other.entries() {
                self.insert_clean(entry.clone());
            }
            return;
        }
        for entry in other.entries() {
            self.add(entry.clone());
        }
    }

    /// `set.copy()`: a new set merged with this one.
    fn copy(&self) -> PySet<T> {
        let mut copy = PySet::new();
        copy.merge(self);
        copy
    }
}

/// The items as set entries, when every one is a number with a reproducible hash.
fn entries<T: Clone>(items: &[T], number: impl Fn(&T) -> Option<Number>) -> Option<Vec<Entry<T>>> {
    items
        .iter()
        .map(|value| {
            let number = number(value)?;
            Some(Entry {
                hash: number.hash(),
                number,
                value: value.clone(),
            })
        })
        .collect()
}

/// Which set operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Op {
    /// `set(a) | set(b)`
    Union,
    /// `set(a) & set(b)`
    Intersection,
    /// `set(a) - set(b)`
    Difference,
    /// `set(a) ^ set(b)`
    SymmetricDifference,
}

/// `list(set(a) OP set(b))` as CPython orders it, when every item of both lists is a number (see the module's
/// comment); `None` when the order would not be reproducible.
pub(super) fn apply(op: Op, a: &[JValue], b: &[JValue]) -> Option<Vec<JValue>> {
    apply_with(op, a, b, Number::of)
}

fn apply_with<T: Clone>(
    op: Op,
    a: &[T],
    b: &[T],
    number: impl Fn(&T) -> Option<Number>,
) -> Option<Vec<T>> {
    let a = PySet::from_items(entries(a, &number)?);
    let b = PySet::from_items(entries(b, &number)?);
    let result = match op {
        Op::Union => {
            let mut result = a.copy();
            result.merge(&b);
            result
        }
        Op::Intersection => {
            // Iterates the smaller set (`b` when they are as large), looking its entries up in the other.
            let (large, small) = if b.used > a.used { (&b, &a) } else { (&a, &b) };
            let mut result = PySet::new();
            for entry in small.entries().filter(|e| large.contains(e)) {
                result.add(entry.clone());
            }
            result
        }
        Op::Difference if (a.used >> 2) > b.used => {
            let mut result = a.copy();
            for entry in b.entries() {
                result.discard(entry);
            }
            result
        }
        Op::Difference => {
            let mut result = PySet::new();
            for entry in a.entries().filter(|e| !b.contains(e)) {
                result.add(entry.clone());
            }
            result
        }
        Op::SymmetricDifference => {
            let mut result = b.copy();
            for entry in a.entries() {
                if !result.discard(entry) {
                    result.add(entry.clone());
                }
            }
            result
        }
    };
    Some(result.into_values())
}

#[cfg(test)]
mod unit {
    use super::*;

    fn ints(op: Op, a: &[i128], b: &[i128]) -> Vec<i128> {
        apply_with(op, a, b, |n| Some(Number::Int(*n))).unwrap_or_default()
    }

    #[test]
    fn hashes_are_pythons() {
        // python3: hash(x) for each x.
        assert_eq!(hash_int(-1), -2);
        assert_eq!(hash_int(-2), -2);
        assert_eq!(hash_int(1 << 62), 2);
        assert_eq!(hash_int(-(1 << 62)), -2);
        assert_eq!(hash_int((1 << 61) - 1), 0);
        assert_eq!(hash_int(1 << 100), 549_755_813_888);
        assert_eq!(hash_float(1.5), 1_152_921_504_606_846_977);
        assert_eq!(hash_float(-0.5), -1_152_921_504_606_846_976);
        assert_eq!(hash_float(0.1), 230_584_300_921_369_408);
        assert_eq!(hash_float(3.0), 3);
        assert_eq!(hash_float(-1.0), -2);
        assert_eq!(hash_float(1e300), 1_224_995_262_755_759_164);
        assert_eq!(hash_float(5e-324), 16_777_216);
        assert_eq!(hash_float(f64::INFINITY), 314_159);
        assert_eq!(hash_float(-2.5e-10), -699_647_011_998_930_896);
        assert_eq!(hash_float(123_456.789), 1_819_310_134_279_660_096);
    }

    #[test]
    fn operations_order_as_python() {
        // Each expected list is python3's `list(set(a) OP set(b))`.
        use Op::*;
        // `a`, `b`, and the results of `|`, `&`, `-` and `^`.
        type Case = (&'static [i128], &'static [i128], [&'static [i128]; 4]);
        let cases: [Case; 6] = [
            (&[3, 1, 2, 2], &[2], [&[1, 2, 3], &[2], &[1, 3], &[1, 3]]),
            (
                &[1, 2, 5],
                &[2, 3, 3],
                [&[1, 2, 3, 5], &[2], &[1, 5], &[1, 3, 5]],
            ),
            (&[5, 3, 1], &[1, 3], [&[1, 3, 5], &[1, 3], &[5], &[5]]),
            (
                &[5, 3, 1],
                &[0],
                [&[0, 1, 3, 5], &[], &[1, 3, 5], &[0, 1, 3, 5]],
            ),
            (
                &[8, 16, 100, -1, 1 << 62, 0, 1],
                &[16, 3, -2],
                [
                    &[0, 1, 1 << 62, 3, 100, 8, 16, -2, -1],
                    &[16],
                    &[0, 1, 1 << 62, 100, 8, -1],
                    &[0, 1, 1 << 62, 3, 100, 8, -1, -2],
                ],
            ),
            // Deletions leave dummies that later insertions take.
            (
                &[2, 3, 4, 5, 6, 40],
                &[2, 3, 34],
                [
                    &[2, 3, 4, 5, 6, 34, 40],
                    &[2, 3],
                    &[40, 4, 5, 6],
                    &[34, 4, 5, 6, 40],
                ],
            ),
        ];
        for (a, b, [union, intersection, difference, symmetric]) in cases {
            assert_eq!(ints(Union, a, b), union, "{a:?} | {b:?}");
            assert_eq!(ints(Intersection, a, b), intersection, "{a:?} & {b:?}");
            assert_eq!(ints(Difference, a, b), difference, "{a:?} - {b:?}");
            assert_eq!(ints(SymmetricDifference, a, b), symmetric, "{a:?} ^ {b:?}");
        }
    }

    #[test]
    fn twenty_mixed_ints() {
        let a = [
            17,
            -3,
            42,
            8,
            0,
            99,
            -1,
            1 << 62,
            5,
            33,
            16,
            64,
            7,
            -8,
            1000,
            12,
            2,
            31,
            100,
            -100,
        ];
        let b = [42, 7, 64, -100, 3, (1 << 61) - 1, 9];
        let m = (1 << 61) - 1;
        assert_eq!(
            ints(Op::Union, &a, &b),
            [
                0,
                64,
                1 << 62,
                2,
                m,
                5,
                3,
                7,
                8,
                9,
                12,
                16,
                17,
                -100,
                31,
                33,
                99,
                100,
                1000,
                42,
                -8,
                -3,
                -1
            ]
        );
        assert_eq!(ints(Op::Intersection, &a, &b), [64, 42, -100, 7]);
        assert_eq!(
            ints(Op::Difference, &a, &b),
            [
                0,
                33,
                1 << 62,
                2,
                99,
                5,
                100,
                8,
                1000,
                12,
                16,
                17,
                -8,
                -3,
                -1,
                31
            ]
        );
        assert_eq!(
            ints(Op::SymmetricDifference, &a, &b),
            [
                m,
                0,
                3,
                1 << 62,
                2,
                5,
                8,
                9,
                12,
                16,
                17,
                31,
                33,
                99,
                100,
                1000,
                -8,
                -3,
                -1
            ]
        );
    }

    #[test]
    fn jinja_values() {
        let list = |v: serde_json::Value| -> Vec<JValue> {
            v.as_array()
                .map(|items| items.iter().map(crate::template::to_jinja).collect())
                .unwrap_or_default()
        };
        let json = |items: Option<Vec<JValue>>| -> Option<serde_json::Value> {
            items.map(|items| {
                serde_json::Value::Array(
                    items
                        .iter()
                        .map(|item| crate::template::from_jinja(item).unwrap_or_default())
                        .collect(),
                )
            })
        };
        // python3: list(set([1, True, 2]) | set([1.0])) is [1, 2]; list(set([2, 1.0]) & set([True])) is
        // [True]; list(set([0.5, 2.5, 1.0, -1.0]) ^ set([2.0])) is [0.5, 1.0, 2.0, 2.5, -1.0].
        let union = apply(
            Op::Union,
            &list(serde_json::json!([1, true, 2])),
            &list(serde_json::json!([1.0])),
        );
        assert_eq!(json(union), Some(serde_json::json!([1, 2])));
        let both = apply(
            Op::Intersection,
            &list(serde_json::json!([2, 1.0])),
            &list(serde_json::json!([true])),
        );
        assert_eq!(json(both), Some(serde_json::json!([true])));
        let either = apply(
            Op::SymmetricDifference,
            &list(serde_json::json!([0.5, 2.5, 1.0, -1.0])),
            &list(serde_json::json!([2.0])),
        );
        assert_eq!(
            json(either),
            Some(serde_json::json!([0.5, 1.0, 2.0, 2.5, -1.0]))
        );
        // Text hashes differently in every Python process: no order to reproduce.
        let text = apply(
            Op::Union,
            &list(serde_json::json!([1, "a"])),
            &list(serde_json::json!([2])),
        );
        assert_eq!(text, None);
    }
}
