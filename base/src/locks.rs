//! Lock waits, counted: the shared locks of the request path take their guards through these
//! helpers, which try the lock first and, only when another thread holds it, time the wait. An
//! uncontended lock costs what it did (one attempt); a contended one adds a clock read on each
//! side of the wait. The figures are process-wide (every emulator in the process adds to them):
//! `GET /_emulator/locks` shows them and the benchmark reports them per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

/// The waits on one lock (or one family of locks, e.g. every partition's).
#[derive(Debug)]
pub struct Contention {
    pub name: &'static str,
    waits: AtomicU64,
    waited_ns: AtomicU64,
}

impl Contention {
    pub const fn new(name: &'static str) -> Self {
        Contention { name, waits: AtomicU64::new(0), waited_ns: AtomicU64::new(0) }
    }

    fn waited(&self, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.waited_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// (waits, nanoseconds waited) so far.
    pub fn totals(&self) -> (u64, u64) {
        (self.waits.load(Ordering::Relaxed), self.waited_ns.load(Ordering::Relaxed))
    }
}

/// A partition's lock (the resources and Meta-side state of one account and Region).
pub static PARTITION: Contention = Contention::new("partition");
/// The lock of a partition's message logs, traffic or portfolios (taken under a partition's
/// shared lock).
pub static PARTITION_PARTS: Contention = Contention::new("partitionParts");
/// The timer queue.
pub static SCHEDULER: Contention = Contention::new("scheduler");
/// The event log.
pub static EVENT_LOG: Contention = Contention::new("eventLog");
/// The request log.
pub static REQUEST_LOG: Contention = Contention::new("requestLog");

/// Every counted lock, in a stable order.
pub fn all() -> [&'static Contention; 5] {
    [&PARTITION, &PARTITION_PARTS, &SCHEDULER, &EVENT_LOG, &REQUEST_LOG]
}

/// `m` locked (a poisoned lock is taken as it is: no handler leaves state half-changed).
pub fn lock<'a, T>(m: &'a Mutex<T>, c: &Contention) -> MutexGuard<'a, T> {
    match m.try_lock() {
        Ok(guard) => guard,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            let since = Instant::now();
            let guard = m.lock().unwrap_or_else(PoisonError::into_inner);
            c.waited(since);
            guard
        }
    }
}

/// `l` locked for writing.
pub fn write<'a, T>(l: &'a RwLock<T>, c: &Contention) -> RwLockWriteGuard<'a, T> {
    match l.try_write() {
        Ok(guard) => guard,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            let since = Instant::now();
            let guard = l.write().unwrap_or_else(PoisonError::into_inner);
            c.waited(since);
            guard
        }
    }
}

/// `l` locked for reading.
pub fn read<'a, T>(l: &'a RwLock<T>, c: &Contention) -> RwLockReadGuard<'a, T> {
    match l.try_read() {
        Ok(guard) => guard,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            let since = Instant::now();
            let guard = l.read().unwrap_or_else(PoisonError::into_inner);
            c.waited(since);
            guard
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_counted_and_a_free_lock_is_not() {
        static C: Contention = Contention::new("test");
        let m = std::sync::Arc::new(Mutex::new(0));
        drop(lock(&m, &C));
        assert_eq!(C.totals().0, 0, "a free lock is no wait");
        // Another thread locks while this one holds the lock. Whether it reaches its attempt
        // before the release is up to the OS: try again until it did (bounded).
        let mut attempts = 0;
        while C.totals().0 == 0 {
            attempts += 1;
            assert!(attempts <= 100, "the other thread never found the lock held");
            let held = m.lock().unwrap();
            let (ready, trying) = std::sync::mpsc::channel();
            let other = std::thread::spawn({
                let m = m.clone();
                move || {
                    ready.send(()).unwrap();
                    *lock(&m, &C) += 1;
                }
            });
            trying.recv().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(10));
            drop(held);
            other.join().unwrap();
        }
        let (waits, ns) = C.totals();
        assert_eq!(waits, 1);
        assert!(ns > 0);
        assert_eq!(*m.lock().unwrap(), attempts);
    }
}
