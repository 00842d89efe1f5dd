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
    /// Where a reset puts the clock (deterministic mode: frozen at a fixed instant).
    start: ClockState,
}

/// The clock's state as exported: an offset from wall time, or a frozen instant.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockState {
    pub offset_ms: i64,
    pub frozen_at_ms: Option<i64>,
}

impl Clock {
    /// A clock that starts (and resets) at `start_ms`, frozen there when `frozen`.
    pub fn starting_at(start_ms: i64, frozen: bool) -> Self {
        // While frozen the offset is unused (unfreezing sets it), and kept at 0 so that the
        // exported state does not depend on wall time.
        let start = if frozen {
            ClockState { offset_ms: 0, frozen_at_ms: Some(start_ms) }
        } else {
            ClockState { offset_ms: start_ms - wall_ms(), frozen_at_ms: None }
        };
        Clock { inner: Mutex::new(start), changed: Default::default(), start }
    }

    /// The state to export.
    pub fn snapshot(&self) -> ClockState {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes an imported state.
    pub fn restore(&self, state: ClockState) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = state;
        self.changed.send_modify(|g| *g += 1);
    }

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
            match s.frozen_at_ms.as_mut() {
                Some(f) => *f += ms,
                None => s.offset_ms += ms,
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
                (true, None) => {
                    s.frozen_at_ms = Some(wall_ms() + s.offset_ms);
                    s.offset_ms = 0;
                }
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
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = self.start;
        self.changed.send_modify(|g| *g += 1);
    }
}

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as i64
}

/// `2012-05-02T00:54:06.655Z` — SNS's `Timestamp`.
pub fn rfc3339_millis(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format).unwrap_or_default()
}
