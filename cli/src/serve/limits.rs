//! The limits `faas serve` and `faas invoke` put on a function, so that one buggy function cannot
//! take the host down: a deadline per request (wasmtime's epoch interruption: the instance is
//! interrupted, not left running), a memory cap per linear memory, a cap on requests in flight
//! and on open connections, timeouts for request heads, and a drain deadline at shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::{ResourceLimiter, UpdateDeadline};

/// How often the engine's epoch advances: the granularity of deadlines, and how often a running
/// function yields to the server's other work.
pub const TICK: Duration = Duration::from_millis(10);

/// The limits, with their defaults (docs/cli.md lists them).
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long one request may run.
    pub timeout: Duration,
    /// The largest a function's linear memory may grow, in bytes.
    pub max_memory: usize,
    /// Requests running at once; beyond it, 503 with `retry-after`.
    pub max_in_flight: usize,
    /// Open connections; beyond it, new ones wait to be accepted.
    pub max_connections: usize,
    /// How long a connection may take to send a request head (idle keep-alive connections too).
    pub header_timeout: Duration,
    /// At shutdown, how long requests in flight may take to finish before they are interrupted.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_memory: 128 * 1024 * 1024,
            max_in_flight: 64,
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(10),
        }
    }
}

/// Why a function was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    /// It ran past the request deadline.
    #[error("the function ran past its {}s deadline and was interrupted", .0.as_secs_f64())]
    Deadline(Duration),
    /// The server is shutting down and the drain deadline passed.
    #[error("the server shut down while the function was running")]
    Shutdown,
}

/// A linear memory grew past the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the function's memory grew past the cap of {} MiB", .0 / (1024 * 1024))]
pub struct MemoryCapExceeded(pub usize);

/// The store's resource limiter: a cap on each linear memory. Growing past it traps at once,
/// rather than returning failure to a function that would retry or limp on.
pub struct MemoryCap {
    max: usize,
}

impl MemoryCap {
    /// A cap of `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            return Err(MemoryCapExceeded(self.max).into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The per-store epoch callback: every tick, a running function yields (so a spinning function
/// never starves the others), and it is interrupted past `deadline` or when `shutdown` is set.
pub fn deadline_callback<T>(
    timeout: Duration,
    shutdown: Arc<AtomicBool>,
) -> impl FnMut(wasmtime::StoreContextMut<'_, T>) -> wasmtime::Result<UpdateDeadline>
+ Send
+ Sync
+ 'static {
    let deadline = Instant::now() + timeout;
    move |_| {
        if shutdown.load(Ordering::Relaxed) {
            return Err(Interrupted::Shutdown.into());
        }
        if Instant::now() >= deadline {
            return Err(Interrupted::Deadline(timeout).into());
        }
        Ok(UpdateDeadline::Yield(1))
    }
}

/// The epoch callback of a warm instance's store, which outlives any one call: every tick, a
/// running function yields, and it is interrupted when `shutdown` is set. Each call's deadline is
/// kept by the instance's driver, which retires the instance past it.
pub fn yield_callback<T>(
    shutdown: Arc<AtomicBool>,
) -> impl FnMut(wasmtime::StoreContextMut<'_, T>) -> wasmtime::Result<UpdateDeadline>
+ Send
+ Sync
+ 'static {
    move |_| {
        if shutdown.load(Ordering::Relaxed) {
            return Err(Interrupted::Shutdown.into());
        }
        Ok(UpdateDeadline::Yield(1))
    }
}

/// Advances `engine`'s epoch every [`TICK`] on a thread of its own, until the engine is dropped
/// (the thread holds only a weak reference, so a benchmark making many engines does not keep them).
pub fn start_ticker(engine: &wasmtime::Engine) {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("faas-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .expect("the epoch thread starts");
}

/// The soft limit on open files of this process (Linux `/proc/self/limits`), to keep the
/// connection cap below it: a server that runs out of descriptors cannot even accept to refuse.
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_cap_traps_past_its_size() {
        let mut cap = MemoryCap::new(1024);
        assert!(cap.memory_growing(0, 1024, None).unwrap());
        let error = cap.memory_growing(1024, 2048, None).unwrap_err();
        assert!(error.downcast_ref::<MemoryCapExceeded>().is_some());
    }
}
