//! The components' memory allocator: the system allocator (wasi-libc's dlmalloc) behind lists of
//! freed small blocks, one list per size.
//!
//! A request allocates and frees a few dozen small things in each component it passes through:
//! header names and values, strings, the lists `wasi:http` hands over. dlmalloc spends about 300
//! instructions on each allocation and its free together (it splits and merges chunks and keeps
//! its bins in order); a block taken from, or put back on, a list of freed blocks of its size costs
//! about 20. Blocks up to [`LARGEST`] bytes are rounded up to a multiple of [`GRAIN`] and, once
//! freed, kept on their size's list for the next allocation of that size rather than given back;
//! larger or more strictly aligned allocations go to the system allocator as they are.
//!
//! What this costs in memory: a list holds at most as many blocks as were ever live at once at its
//! size, and an instance serves a bounded number of requests before it is dropped whole. Measured
//! in ARCHITECTURE.md (`crates/api-plumbing`).
//!
//! Sound only where a single thread allocates: components on `wasm32-wasip2` (without the
//! `atomics` feature) are. The allocator is installed only there, and only there is it `Sync`.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Block sizes are multiples of this, and blocks are aligned to it.
pub const GRAIN: usize = 8;
/// How many sizes are kept: blocks of `GRAIN`, `2 * GRAIN`, … `SIZES * GRAIN` bytes.
const SIZES: usize = 64;
/// The largest block kept on a list (512 bytes).
pub const LARGEST: usize = GRAIN * SIZES;

/// The allocator: for each block size, the freed blocks of that size, linked through their first
/// word.
pub struct SmallBlocks {
    free: UnsafeCell<[*mut u8; SIZES]>,
}

// SAFETY: the allocator is installed only in single-threaded WebAssembly (see the module's
// documentation), where nothing can reach it from a second thread.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
unsafe impl Sync for SmallBlocks {}

impl SmallBlocks {
    pub const fn new() -> SmallBlocks {
        SmallBlocks {
            free: UnsafeCell::new([ptr::null_mut(); SIZES]),
        }
    }
}

impl Default for SmallBlocks {
    fn default() -> SmallBlocks {
        SmallBlocks::new()
    }
}

/// The list an allocation of `layout` is kept on, if it is small enough to be kept at all.
fn size_class(layout: Layout) -> Option<usize> {
    (layout.size() <= LARGEST && layout.align() <= GRAIN)
        .then(|| layout.size().saturating_sub(1) / GRAIN)
}

/// The layout of a block on list `class`, as it is asked of the system allocator.
fn block(class: usize) -> Layout {
    // SAFETY: `(class + 1) * GRAIN` is at most `LARGEST`, far from overflowing when rounded up
    // to `GRAIN`, a power of two.
    unsafe { Layout::from_size_align_unchecked((class + 1) * GRAIN, GRAIN) }
}

// SAFETY: every block handed out is at least as large and as aligned as asked: a kept block is
// `(class + 1) * GRAIN` bytes aligned to `GRAIN`, for a layout of at most that size and alignment.
// A block is on a list only after it was freed, and is taken off before it is handed out again.
// Rust frees and reallocates with the layout a block was allocated or last reallocated with, so
// `size_class` finds the same list (or none) for a block at every step of its life.
unsafe impl GlobalAlloc for SmallBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = size_class(layout) else {
            // SAFETY: the caller's layout, as it came.
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: a single thread allocates (see `Sync`), and no reference to the lists outlives
        // this call.
        let free = unsafe { &mut *self.free.get() };
        let head = free[class];
        if head.is_null() {
            // SAFETY: `block` is a valid layout of non-zero size.
            return unsafe { System.alloc(block(class)) };
        }
        // SAFETY: `head` is a freed block of this list, and its first word (a block is at least
        // `GRAIN` bytes, aligned to `GRAIN`) holds the next one.
        free[class] = unsafe { head.cast::<*mut u8>().read() };
        head
    }

    unsafe fn dealloc(&self, block_ptr: *mut u8, layout: Layout) {
        let Some(class) = size_class(layout) else {
            // SAFETY: allocated by the system allocator with this layout (`alloc`, `realloc`).
            return unsafe { System.dealloc(block_ptr, layout) };
        };
        // SAFETY: as in `alloc`; the block is the caller's no longer, so its first word is ours.
        let free = unsafe { &mut *self.free.get() };
        unsafe { block_ptr.cast::<*mut u8>().write(free[class]) };
        free[class] = block_ptr;
    }

    unsafe fn realloc(&self, old: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller promises `new_size`, rounded up to the alignment, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (size_class(layout), size_class(new_layout)) {
            // SAFETY: a block of the system allocator, with the layout it has there.
            (None, None) => unsafe { System.realloc(old, layout, new_size) },
            // The block is already of the size the new layout asks for.
            (Some(from), Some(to)) if from == to => old,
            _ => {
                // SAFETY: `new_layout` is valid (above); `old` is valid for `layout.size()` bytes
                // and the new block for `new_size`, and they are distinct allocations.
                unsafe {
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        ptr::copy_nonoverlapping(old, new, layout.size().min(new_size));
                        self.dealloc(old, layout);
                    }
                    new
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).expect("a valid layout")
    }

    #[test]
    fn small_blocks_are_rounded_up_and_large_or_aligned_ones_are_not_kept() {
        assert_eq!(size_class(layout(1, 1)), Some(0));
        assert_eq!(size_class(layout(8, 8)), Some(0));
        assert_eq!(size_class(layout(9, 1)), Some(1));
        assert_eq!(size_class(layout(LARGEST, 4)), Some(SIZES - 1));
        assert_eq!(size_class(layout(LARGEST + 1, 1)), None);
        assert_eq!(size_class(layout(16, 16)), None);
    }

    #[test]
    fn a_freed_block_is_handed_out_again_for_its_size_and_only_for_it() {
        let blocks = SmallBlocks::new();
        unsafe {
            let a = blocks.alloc(layout(20, 4));
            assert!(!a.is_null());
            assert_eq!(a as usize % GRAIN, 0);
            blocks.dealloc(a, layout(20, 4));
            // 17 to 24 bytes share a list; 16 bytes do not.
            let other = blocks.alloc(layout(16, 8));
            assert_ne!(other, a);
            let again = blocks.alloc(layout(24, 1));
            assert_eq!(again, a);
            let fresh = blocks.alloc(layout(24, 1));
            assert_ne!(fresh, a);
            blocks.dealloc(other, layout(16, 8));
            blocks.dealloc(again, layout(24, 1));
            blocks.dealloc(fresh, layout(24, 1));
        }
    }

    #[test]
    fn blocks_keep_their_contents_across_every_kind_of_reallocation() {
        let blocks = SmallBlocks::new();
        unsafe {
            let mut block = blocks.alloc(layout(3, 1));
            let mut size = 3;
            block.copy_from_nonoverlapping(b"abc".as_ptr(), 3);
            // Within a size, to a larger one, past the largest kept, back to a kept one.
            for new_size in [5, 40, 4000, 9000, 100, 2] {
                block = blocks.realloc(block, layout(size, 1), new_size);
                assert!(!block.is_null());
                let kept = size.min(new_size).min(3);
                assert_eq!(std::slice::from_raw_parts(block, kept), &b"abc"[..kept]);
                size = new_size;
            }
            blocks.dealloc(block, layout(size, 1));
        }
    }

    #[test]
    fn many_live_blocks_of_many_sizes_stay_distinct() {
        let blocks = SmallBlocks::new();
        let mut live = Vec::new();
        unsafe {
            for round in 0..3 {
                for size in (1..=LARGEST + 64).step_by(7) {
                    let block = blocks.alloc(layout(size, 1));
                    assert!(!block.is_null());
                    block.write_bytes((size % 251) as u8, size);
                    live.push((block, size));
                }
                // Free every other one, so later rounds take blocks off the lists.
                let mut kept = Vec::new();
                for (i, (block, size)) in live.drain(..).enumerate() {
                    if (i + round) % 2 == 0 {
                        blocks.dealloc(block, layout(size, 1));
                    } else {
                        kept.push((block, size));
                    }
                }
                live = kept;
            }
            for &(block, size) in &live {
                let bytes = std::slice::from_raw_parts(block, size);
                assert!(bytes.iter().all(|&b| b == (size % 251) as u8));
            }
            for (block, size) in live {
                blocks.dealloc(block, layout(size, 1));
            }
        }
    }
}
