//! The emulator's clock: wall time plus an offset, optionally frozen, so that time-based
//! behaviour (link dates now; windows, statuses and reviews later) can be driven by tests.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Clock {
    // A plain mutex: reads are a few instructions and never held across an await.
    inner: Mutex<ClockState>,
    /// Bumped whenever virtual time jumps (advance, freeze, reset), so timers re-check.
    changed: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct ClockState {
    offset_ms: i64,
    frozen_at_ms: Option<i64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch on the virtual clock.
    pub fn now_ms(&self) -> i64 {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.frozen_at_ms.unwrap_or_else(|| wall_ms() + s.offset_ms)
    }

    /// Seconds since the epoch, as the API's epoch-seconds timestamps carry them.
    pub fn now_secs(&self) -> f64 {
        self.now_ms() as f64 / 1000.0
    }

    pub fn advance(&self, by: Duration) {
        {
            let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let ms = by.as_millis() as i64;
            s.offset_ms += ms;
            if let Some(f) = s.frozen_at_ms.as_mut() {
                *f += ms;
            }
        }
        self.changed.send_modify(|g| *g += 1);
    }

    pub fn is_frozen(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).frozen_at_ms.is_some()
    }

    /// A receiver that sees every jump of virtual time.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Sets virtual time to `ms` (epoch milliseconds), keeping the frozen state.
    pub fn set_ms(&self, ms: i64) {
        {
            let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            match s.frozen_at_ms.as_mut() {
                Some(f) => *f = ms,
                None => s.offset_ms = ms - wall_ms(),
            }
        }
        self.changed.send_modify(|g| *g += 1);
    }

    pub fn freeze(&self, frozen: bool) {
        {
            let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            match (frozen, s.frozen_at_ms) {
                (true, None) => s.frozen_at_ms = Some(wall_ms() + s.offset_ms),
                (false, Some(at)) => {
                    s.offset_ms = at - wall_ms();
                    s.frozen_at_ms = None;
                }
                _ => {}
            }
        }
        self.changed.send_modify(|g| *g += 1);
    }

    pub fn reset(&self) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = ClockState::default();
        self.changed.send_modify(|g| *g += 1);
    }
}

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as i64
}
