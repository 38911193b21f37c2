//! The runtime's memory allocator: mimalloc, in place of glibc's.
//!
//! A request allocates and frees a few hundred small blocks in the runtime (wasmtime's tasks,
//! streams and resource tables, header maps, the database's rows); glibc spends about 200
//! instructions on each allocation with its free, mimalloc a fraction of that. Measured with
//! callgrind, per request: tracking 644k instructions against 576k, the gateway hop 332k against
//! 301k (ARCHITECTURE.md, "Limits", has the paired runs).
//!
//! Two of mimalloc's defaults would hold memory that glibc gives back: it asks the kernel for
//! transparent huge pages (the crate's `no_thp` feature leaves that out), and it keeps freed
//! pages for a second before returning them, so a burst of requests stays resident for that
//! second. [`configure`] makes it return them at once.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in `mimalloc.h` (the same in mimalloc 2 and 3; the `-sys` crate names
/// no constant for it): milliseconds before freed pages go back to the kernel.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets mimalloc's options; called first thing in `main`, before any thread starts.
#[allow(unsafe_code)]
pub fn configure() {
    // SAFETY: `mi_option_set` stores one option's value in mimalloc's option table; it touches
    // no memory of ours and may be called at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(unsafe_code)]
    fn the_option_set_is_the_purge_delay() {
        // SAFETY: as in `configure`; `mi_option_get` only reads the option table.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        // mimalloc 3's purge delay is a second; no other option of it defaults to 1000.
        assert_eq!(
            default,
            1000,
            "option {} is not the purge delay",
            super::PURGE_DELAY
        );
        super::configure();
        // SAFETY: as above.
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) },
            0
        );
    }
}
