//! The runtime of faas's lean guests (the decorator, the adapters, the credentials provider): they
//! are `no_std`, so that a layer carries no standard library and no wasi-libc, and imports from
//! WASI only what it uses (stderr for its log lines, the trigger's own interfaces). Without std a
//! layer needs no deny layer for `wasi:cli/environment`, `exit`, `stdin` and the terminals, is a
//! fraction of the size, and instantiates faster: the per-request cost of the decorator
//! (docs/benchmarks.md).
//!
//! A guest links this crate (`use faas_guest_runtime as _;`) for:
//! - the global allocator: dlmalloc (the allocator std uses on wasm) over a static arena first,
//!   then over grown memory. Growing a memory costs the host an `mprotect` now and another when
//!   the instance is recycled, each a TLB shootdown across the host's threads: a request that fits
//!   in the arena grows nothing, which is most of what a lean layer saves per request;
//! - the panic handler: one log line on stderr, then a trap (what `panic = "abort"` does with std),
//!   which the host answers with a 500: a layer that panics fails closed.

#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// The arena's size: room for a request and its response with headers and a modest body (larger
/// ones grow the memory). Untouched pages of it cost nothing: they are zero pages of the image.
const ARENA_BYTES: usize = 256 * 1024;
const WASM_PAGE: usize = 64 * 1024;

#[repr(C, align(16))]
struct Arena(UnsafeCell<[u8; ARENA_BYTES]>);

// SAFETY: wasm32 guests are single-threaded; dlmalloc is the arena's only user.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_BYTES]));
static ARENA_GIVEN: AtomicBool = AtomicBool::new(false);

/// Where dlmalloc gets memory from: the arena once, then `memory.grow`. Nothing is returned to
/// the host: an instance lives for one call.
struct Source;

// SAFETY: every region handed out is memory of this instance that nothing else uses: the arena
// (given once) or pages just grown.
unsafe impl dlmalloc::Allocator for Source {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        if size <= ARENA_BYTES && !ARENA_GIVEN.swap(true, Ordering::Relaxed) {
            return (ARENA.0.get().cast(), ARENA_BYTES, 0);
        }
        grow(size)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        core::ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        // The arena is zero until first given out, and grown pages are zero.
        true
    }

    fn page_size(&self) -> usize {
        WASM_PAGE
    }
}

#[cfg(target_family = "wasm")]
fn grow(size: usize) -> (*mut u8, usize, u32) {
    let pages = size.div_ceil(WASM_PAGE);
    match core::arch::wasm32::memory_grow(0, pages) {
        usize::MAX => (core::ptr::null_mut(), 0, 0),
        previous => ((previous * WASM_PAGE) as *mut u8, pages * WASM_PAGE, 0),
    }
}

#[cfg(not(target_family = "wasm"))]
fn grow(_size: usize) -> (*mut u8, usize, u32) {
    (core::ptr::null_mut(), 0, 0)
}

struct Heap(UnsafeCell<dlmalloc::Dlmalloc<Source>>);

// SAFETY: as for the arena: one thread.
unsafe impl Sync for Heap {}

// SAFETY: forwards to dlmalloc, which upholds GlobalAlloc's contract for the layouts given.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, and dlmalloc is not re-entered from inside itself.
        unsafe { (*self.0.get()).malloc(layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for alloc.
        unsafe { (*self.0.get()).calloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for alloc; `ptr` was allocated here with `layout`.
        unsafe { (*self.0.get()).free(ptr, layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for dealloc.
        unsafe { (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}

#[global_allocator]
static HEAP: Heap = Heap(UnsafeCell::new(dlmalloc::Dlmalloc::new_with_allocator(
    Source,
)));

#[cfg(target_family = "wasm")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    log("faas", &alloc::format!("panicked: {}", info.message()));
    core::arch::wasm32::unreachable()
}

/// One line on the host's stderr, prefixed with the layer's name. A log line that cannot be written
/// is dropped: logging never fails a request.
pub fn log(layer: &str, message: &str) {
    write_line(&alloc::format!("{layer}: {message}"));
}

/// `line` and a line break on the host's stderr, in one write where it fits, so that lines of
/// concurrent instances do not interleave.
pub fn write_line(line: &str) {
    let mut line = alloc::string::String::from(line);
    line.push('\n');
    let stderr = wasip2::cli::stderr::get_stderr();
    // blocking-write-and-flush takes at most 4096 bytes at a time.
    for chunk in line.as_bytes().chunks(4096) {
        if stderr.blocking_write_and_flush(chunk).is_err() {
            return;
        }
    }
}

/// `memcmp`, which the standard library would have brought with wasi-libc: the compiler calls it for
/// slice and string comparisons. (`memcpy`, `memmove` and `memset` are single instructions with
/// bulk memory, which the target enables.)
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes, as for C's `memcmp`.
#[cfg(target_family = "wasm")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: the caller promises `n` readable bytes at both addresses.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// `bcmp`: equality only, which the compiler may call instead of `memcmp`.
///
/// # Safety
/// As for [`memcmp`].
#[cfg(target_family = "wasm")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// The canonical ABI's allocator export, which wasi-libc provides for std guests: the host and the
/// neighbouring layers call it to place arguments and results in this layer's memory.
///
/// # Safety
/// Called by the canonical ABI only, with a previous allocation's pointer, size and alignment (or
/// a zero size for a new one), as the component model specifies.
#[cfg(target_family = "wasm")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    use core::alloc::Layout;
    if new_len == 0 {
        return align as *mut u8;
    }
    // SAFETY: the canonical ABI passes a power-of-two alignment and sizes that fit it, and for a
    // reallocation the pointer and layout of an allocation made here.
    let ptr = unsafe {
        if old_len == 0 {
            alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            let old = Layout::from_size_align_unchecked(old_len, align);
            alloc::alloc::realloc(old_ptr, old, new_len)
        }
    };
    if ptr.is_null() {
        // Out of memory (or past the host's cap): the call cannot go on.
        core::arch::wasm32::unreachable();
    }
    ptr
}

/// Why [`read_to_end`] stopped.
pub enum ReadError {
    /// More than the limit.
    TooLarge,
    /// The stream failed; the host's description.
    Failed(alloc::string::String),
}

/// Everything `stream` holds, stopping as soon as it passes `limit` bytes: a request is never
/// buffered past what the policy allows.
pub fn read_to_end(
    stream: &wasip2::io::streams::InputStream,
    limit: u64,
) -> Result<alloc::vec::Vec<u8>, ReadError> {
    use wasip2::io::streams::StreamError;
    let mut bytes = alloc::vec::Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > limit {
                    return Err(ReadError::TooLarge);
                }
            }
            Err(StreamError::Closed) => return Ok(bytes),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(ReadError::Failed(e.to_debug_string()));
            }
        }
    }
}

/// A value made on first use and kept for the instance's life: what a warm instance (a host's
/// pool, wasmCloud's `poolSize`) reads once rather than on every call, such as the compiled
/// policy. Only for values that never change within an artifact: nothing of one call may reach
/// the next through it.
pub struct Once<T>(UnsafeCell<Option<T>>);

// SAFETY: wasm32 guests are single-threaded, and a component instance is never re-entered while
// it runs `init`: no other access to the cell can happen meanwhile.
unsafe impl<T> Sync for Once<T> {}

impl<T> Once<T> {
    /// Empty until the first [`Once::get_or_init`].
    pub const fn new() -> Self {
        Self(UnsafeCell::new(None))
    }

    /// The value, made by `init` the first time.
    pub fn get_or_init(&'static self, init: impl FnOnce() -> T) -> &'static T {
        // SAFETY: see the `Sync` impl: nothing else touches the cell during this call, and once
        // set it is never written again, so the reference handed out stays valid.
        unsafe {
            if (*self.0.get()).is_none() {
                let value = init();
                *self.0.get() = Some(value);
            }
            (*self.0.get()).as_ref().expect("set above")
        }
    }
}

impl<T> Default for Once<T> {
    fn default() -> Self {
        Self::new()
    }
}
