//! Timers on the virtual clock (a queue: what a job does is the app layer's, the emulator's
//! `timers`):
//! message statuses, SNS delivery attempts, template reviews. A job runs once the
//! virtual clock reaches its due time — after real time passes, or at once when the clock is
//! advanced past it (jobs then run in due order, each seeing its own due time). With a frozen
//! clock nothing runs until the clock moves.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

/// Work to do at a virtual time.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Job {
    /// The next status of an outbound message.
    MessageStatus { account: String, region: String, message_id: String, step: usize },
    /// One attempt of an SNS HTTP delivery.
    SnsDelivery { delivery_id: u64 },
    /// Meta's review of a PENDING template.
    TemplateReview { account: String, region: String, waba_hex: String, meta_template_id: String },
    /// The end of a template's quality pause.
    TemplateUnpause { account: String, region: String, waba_hex: String, meta_template_id: String },
}

/// A waiting job as exported.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduledJob {
    pub due_ms: i64,
    pub job: Job,
}

#[derive(Debug, Default)]
pub struct Scheduler {
    inner: Mutex<Inner>,
    pub wake: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Inner {
    heap: BinaryHeap<Reverse<(i64, u64)>>,
    jobs: hashbrown::HashMap<u64, Job>,
    next: u64,
    /// Popped but not yet finished (so `pending` never reports 0 while a job is running).
    running: usize,
    /// With persistence: timers added and gone since the last write (a write stores those, not
    /// every timer).
    changes: Option<TimerChanges>,
}

/// What changed among the timers since [`Scheduler::take_changes`].
#[derive(Debug, Default)]
struct TimerChanges {
    added: std::collections::HashMap<u64, i64>,
    gone: std::collections::HashSet<u64>,
}

/// A timer as persistence stores it: its id, due time and the [`ScheduledJob`] document.
pub type TimerRow = (u64, i64, ScheduledJob);

/// SNS deliveries are stored with the deliveries and scheduled again when they are restored.
fn persisted(job: &Job) -> bool {
    !matches!(job, Job::SnsDelivery { .. })
}

impl Scheduler {
    /// Runs `job` once the virtual clock reaches `due_ms`.
    pub fn at(&self, due_ms: i64, job: Job) {
        self.at_all([(due_ms, job)]);
    }

    /// Runs each job once the virtual clock reaches its due time (one lock of the queue).
    pub fn at_all(&self, jobs: impl IntoIterator<Item = (i64, Job)>) {
        let earliest = {
            let mut inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
            let mut earliest = false;
            for (due_ms, job) in jobs {
                earliest |= inner.heap.peek().is_none_or(|Reverse((due, _))| due_ms < *due);
                inner.next += 1;
                let id = inner.next;
                inner.heap.push(Reverse((due_ms, id)));
                if persisted(&job)
                    && let Some(c) = &mut inner.changes
                {
                    c.added.insert(id, due_ms);
                }
                inner.jobs.insert(id, job);
            }
            earliest
        };
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Removes and returns, in due order, up to `max` jobs due at or before `now`.
    pub fn pop_due(&self, now: i64, max: usize) -> Vec<(i64, Job)> {
        let mut inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        let mut due = Vec::new();
        while due.len() < max {
            let Some(&Reverse((at, id))) = inner.heap.peek() else { break };
            if at > now {
                break;
            }
            inner.heap.pop();
            if let Some(job) = inner.jobs.remove(&id) {
                if let Some(c) = &mut inner.changes
                    && c.added.remove(&id).is_none()
                {
                    c.gone.insert(id);
                }
                due.push((at, job));
            }
        }
        inner.running += due.len();
        due
    }

    pub fn finished(&self, count: usize) {
        let mut inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        inner.running = inner.running.saturating_sub(count);
    }

    /// When the earliest waiting job falls due.
    pub fn next_due(&self) -> Option<i64> {
        let inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        inner.heap.peek().map(|Reverse((due, _))| *due)
    }

    /// Jobs popped and still running.
    pub fn running(&self) -> usize {
        crate::locks::lock(&self.inner, &crate::locks::SCHEDULER).running
    }

    /// Jobs waiting or running.
    pub fn pending(&self) -> usize {
        let inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        inner.jobs.len() + inner.running
    }

    /// The waiting jobs in due order, without SNS delivery attempts (the deliveries themselves
    /// are exported, and their attempts are scheduled again on import).
    pub fn snapshot(&self) -> Vec<ScheduledJob> {
        let inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        let mut order: Vec<(i64, u64)> = inner.heap.iter().map(|Reverse(k)| *k).collect();
        order.sort_unstable();
        order
            .into_iter()
            .filter_map(|(due_ms, id)| {
                let job = inner.jobs.get(&id)?;
                (!matches!(job, Job::SnsDelivery { .. }))
                    .then(|| ScheduledJob { due_ms, job: job.clone() })
            })
            .collect()
    }

    /// Replaces every waiting job (import).
    pub fn restore(&self, jobs: Vec<ScheduledJob>) {
        self.clear();
        for j in jobs {
            self.at(j.due_ms, j.job);
        }
    }

    /// Drops every pending job (reset).
    pub fn clear(&self) {
        let mut inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        inner.heap.clear();
        inner.jobs.clear();
        if let Some(c) = &mut inner.changes {
            // A clear comes with a full rewrite (reset, import).
            *c = TimerChanges::default();
        }
    }

    /// Starts recording which timers are added and gone (persistence).
    pub fn track(&self) {
        let mut inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        inner.changes.get_or_insert_with(TimerChanges::default);
    }

    /// Every stored timer with its id (a full write), forgetting the changes recorded so far.
    pub fn rows(&self) -> Vec<TimerRow> {
        let mut inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        if let Some(c) = &mut inner.changes {
            *c = TimerChanges::default();
        }
        let mut rows: Vec<TimerRow> = inner
            .heap
            .iter()
            .filter_map(|Reverse((due_ms, id))| {
                let job = inner.jobs.get(id).filter(|j| persisted(j))?;
                Some((*id, *due_ms, ScheduledJob { due_ms: *due_ms, job: job.clone() }))
            })
            .collect();
        rows.sort_unstable_by_key(|(id, due, _)| (*due, *id));
        rows
    }

    /// The timers added since the last call (still pending) and the ids of those gone.
    pub fn take_changes(&self) -> (Vec<TimerRow>, Vec<u64>) {
        let mut inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        let Some(c) = inner.changes.as_mut().map(std::mem::take) else {
            return (Vec::new(), Vec::new());
        };
        let added = c
            .added
            .into_iter()
            .filter_map(|(id, due_ms)| {
                let job = inner.jobs.get(&id)?.clone();
                Some((id, due_ms, ScheduledJob { due_ms, job }))
            })
            .collect();
        (added, c.gone.into_iter().collect())
    }
}
