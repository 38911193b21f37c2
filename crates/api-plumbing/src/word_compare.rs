//! The components' `memcmp` (and `bcmp`): eight bytes at a time, where wasi-libc's compares one.
//!
//! Rust compares byte strings (`==` on `str` and `[u8]`, `starts_with`, map keys) by calling C's
//! `memcmp`, and wasi-libc's is the plain loop, a byte per turn: about 20 instructions a byte once
//! compiled (callgrind). A component compares more than it seems to: the gateway finds a bearer
//! token of about 350 bytes among the tokens it has verified, each route's literal start against
//! the path, each variable's name; intake finds each column of a row by its name. Defining the two
//! symbols here means the linker never takes wasi-libc's: every comparison in the component comes
//! here.
//! Measured in ARCHITECTURE.md (`crates/api-plumbing`).
//!
//! [`compare`] is the safe comparison, tested natively; the C symbols exist only in wasm builds,
//! since a native test binary must keep its own C library's `memcmp`.

#![allow(unsafe_code)]

use std::cmp::Ordering;

/// Compares `a` and `b` as C's `memcmp` does: by the first byte that differs, as unsigned numbers.
/// Nothing here calls `memcmp` itself: whole words are compared as numbers.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let (a_words, a_rest) = a[..n].split_at(n - n % 8);
    let (b_words, b_rest) = b[..n].split_at(n - n % 8);
    for (x, y) in a_words.chunks_exact(8).zip(b_words.chunks_exact(8)) {
        let x = u64::from_le_bytes(x.try_into().expect("eight bytes"));
        let y = u64::from_le_bytes(y.try_into().expect("eight bytes"));
        if x != y {
            // Read little-endian, the first byte in memory is the lowest in the number.
            let shift = (x ^ y).trailing_zeros() / 8 * 8;
            return ((x >> shift) as u8).cmp(&((y >> shift) as u8));
        }
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// C's `memcmp`, for every comparison of bytes in a component.
///
/// # Safety
///
/// As C's: `a` and `b` each point to `n` readable bytes.
#[cfg(target_family = "wasm")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // C code may pass a null pointer with nothing to compare, which a slice may not hold.
    if n == 0 {
        return 0;
    }
    // SAFETY: the caller promises `n` readable bytes at each pointer, and nothing writes to them
    // while they are compared (a component has one thread).
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, n),
            std::slice::from_raw_parts(b, n),
        )
    };
    compare(a, b) as i32
}

/// C's `bcmp`: zero when the `n` bytes are equal. LLVM calls it for comparisons that only ask
/// whether bytes are equal.
///
/// # Safety
///
/// As [`memcmp`].
#[cfg(target_family = "wasm")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: as `memcmp`'s caller promises.
    unsafe { memcmp(a, b, n) }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn agrees_with_the_standard_comparison() {
        let samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"abcdefgh".to_vec(),
            b"abcdefghi".to_vec(),
            b"abcdefgi".to_vec(),
            b"abcdefgh\xff".to_vec(),
            b"abcdefgh\x00".to_vec(),
            "路灯不亮，解放大道".as_bytes().to_vec(),
            "路灯不亮，解放大路".as_bytes().to_vec(),
            vec![0xff; 17],
            vec![0x00; 17],
            vec![0x7f; 24],
            vec![0x80; 24],
        ];
        for a in &samples {
            for b in &samples {
                assert_eq!(compare(a, b), a.cmp(b), "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn finds_the_first_difference_at_every_position() {
        let base: Vec<u8> = (0..40).map(|i| (i * 37 % 251) as u8).collect();
        for at in 0..base.len() {
            for delta in [1u8, 0x80, 0xff] {
                let mut other = base.clone();
                other[at] = other[at].wrapping_add(delta);
                // A later difference the other way must not change the answer.
                if at + 1 < other.len() {
                    other[at + 1] = other[at + 1].wrapping_sub(delta);
                }
                assert_eq!(compare(&base, &other), base.cmp(&other), "at {at}");
                assert_eq!(compare(&other, &base), other.cmp(&base), "at {at}");
            }
        }
    }
}
