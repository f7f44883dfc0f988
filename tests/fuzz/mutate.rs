//! Randomness and mutation: a reproducible generator and the mutations applied to seeds.

use super::MAX_INPUT;

/// xorshift64*: small, fast, and reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// FNV-1a: names crash files and seeds a target's own choices from its input, so an input alone
/// reproduces a run.
pub fn hash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| (h ^ x as u64).wrapping_mul(0x100_0000_01b3))
}

/// Bytes every parser should survive, whatever the format.
pub const GENERIC: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xf0\x9f\xa6\x80",
    b"\xef\xbb\xbf",
    b"\0",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\t",
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"0",
    b"-1",
    b"4294967296",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775808",
    b"99999999999999999999999999999999",
    b"1e999",
    b"-0.0",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"\xe2\x80\xae",
];

/// Whole numbers to put where a number was.
pub const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"1",
    b"255",
    b"65536",
    b"2147483647",
    b"2147483648",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551615",
    b"999999999999999999999999",
    b"-9223372036854775809",
];

pub const BYTES: &[u8] = b"\0\xff\x7f\x80\xc3\xe2\n\r\"\\{}[]:;,= -0";

/// One format's knowledge: its keywords and how it nests.
pub struct Dict {
    pub tokens: &'static [&'static [u8]],
    pub open: &'static [u8],
    pub close: &'static [u8],
}

pub fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>], dict: &Dict) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(6) {
        let len = v.len();
        let at = rng.below(len + 1);
        match rng.below(11) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = *rng.pick(BYTES);
            }
            2 if len > 0 => {
                let n = 1 + rng.below((len - at.min(len - 1)).min(64));
                let s = at.min(len - 1);
                v.drain(s..(s + n).min(len));
            }
            3 if len > 0 => {
                // Repetition: one span many times (long lines, many events, many blocks).
                let s = at.min(len - 1);
                let n = 1 + rng.below((len - s).min(512));
                let span = v[s..s + n].to_vec();
                let most = if rng.below(8) == 0 { 2000 } else { 16 };
                let times = 1 + rng.below(most);
                let mut rep = Vec::with_capacity(span.len() * times);
                for _ in 0..times {
                    rep.extend_from_slice(&span);
                    if rep.len() > MAX_INPUT {
                        break;
                    }
                }
                v.splice(s..s, rep);
            }
            4 | 5 => {
                let t = if rng.below(3) == 0 { *rng.pick(GENERIC) } else { *rng.pick(dict.tokens) };
                v.splice(at..at, t.iter().copied());
            }
            6 => {
                // Splice: this input's head, another seed's tail.
                let other = rng.pick(seeds);
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            7 => v.truncate(at),
            8 => {
                // A number (the first digit run at or after `at`) becomes an extreme one.
                if let Some(start) = v[at..].iter().position(u8::is_ascii_digit).map(|p| p + at) {
                    let end = v[start..].iter().position(|c| !c.is_ascii_digit()).map_or(v.len(), |p| p + start);
                    v.splice(start..end, rng.pick(NUMBERS).iter().copied());
                }
            }
            9 => {
                // Deep nesting.
                let most = if rng.below(4) == 0 { 100_000 } else { 300 };
                let depth = 1 + rng.below(most);
                let mut nest = dict.open.repeat(depth);
                if rng.below(2) == 0 {
                    nest.extend(dict.close.repeat(depth));
                }
                v.splice(at..at, nest);
            }
            _ => {
                // Swap two spans' order (reordered events, lines, blocks).
                if len > 2 {
                    let a = rng.below(len / 2);
                    let b = len / 2 + rng.below(len - len / 2);
                    v[a..b].rotate_left((b - a) / 2);
                }
            }
        }
        if v.len() > MAX_INPUT {
            v.truncate(MAX_INPUT);
        }
    }
    v
}

/// Splits a byte stream where a network might: everywhere from single bytes to whole streams,
/// decided by the input itself.
pub fn chunks(b: &[u8]) -> Vec<&[u8]> {
    let mut rng = Rng::new(hash(b));
    let mut out = Vec::new();
    let mut rest = b;
    let max = [1, 3, 17, 256, 4096, usize::MAX][rng.below(6)];
    while !rest.is_empty() {
        let n = (1 + rng.below(max.min(rest.len()))).min(rest.len());
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
    }
    out
}
