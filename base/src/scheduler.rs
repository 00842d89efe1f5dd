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

/// The queue. Adding a timer takes no lock: jobs go into an inbox (a lock-free channel), which
/// the queue's own lock drains into the heap whenever it is taken — so senders never wait for
/// the timer loop, nor the timer loop for senders.
#[derive(Debug)]
pub struct Scheduler {
    inner: Mutex<Inner>,
    inbox: std::sync::mpsc::Sender<(i64, Job)>,
    /// At most the earliest due time known (heap or inbox); i64::MAX when none: a job added
    /// before it wakes the timer loop.
    earliest: std::sync::atomic::AtomicI64,
    pub wake: tokio::sync::Notify,
}

impl Default for Scheduler {
    fn default() -> Self {
        let (inbox, arrivals) = std::sync::mpsc::channel();
        Scheduler {
            inner: Mutex::new(Inner { arrivals: Some(arrivals), ..Default::default() }),
            inbox,
            earliest: std::sync::atomic::AtomicI64::new(i64::MAX),
            wake: tokio::sync::Notify::new(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// The inbox's receiving end (always Some; an Option only so that `Inner` has a default).
    arrivals: Option<std::sync::mpsc::Receiver<(i64, Job)>>,
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

    /// Runs each job once the virtual clock reaches its due time (no lock: into the inbox).
    pub fn at_all(&self, jobs: impl IntoIterator<Item = (i64, Job)>) {
        use std::sync::atomic::Ordering;
        let mut earliest = false;
        for (due_ms, job) in jobs {
            // The receiver lives as long as the scheduler: a send cannot fail.
            let _ = self.inbox.send((due_ms, job));
            earliest |= self.earliest.fetch_min(due_ms, Ordering::AcqRel) > due_ms;
        }
        if earliest {
            self.wake.notify_one();
        }
    }

    /// The queue, locked, with the inbox's jobs moved into the heap (in the order they came:
    /// ids, and so the order of jobs due at one instant, are those of the calls).
    fn queue(&self) -> std::sync::MutexGuard<'_, Inner> {
        let mut inner = crate::locks::lock(&self.inner, &crate::locks::SCHEDULER);
        let inner_ref = &mut *inner;
        if let Some(arrivals) = &inner_ref.arrivals {
            for (due_ms, job) in arrivals.try_iter() {
                inner_ref.next += 1;
                let id = inner_ref.next;
                inner_ref.heap.push(Reverse((due_ms, id)));
                if persisted(&job)
                    && let Some(c) = &mut inner_ref.changes
                {
                    c.added.insert(id, due_ms);
                }
                inner_ref.jobs.insert(id, job);
            }
        }
        inner
    }

    /// Resets the earliest-due hint to the heap's (under the queue's lock, after a drain: a
    /// job added since lowers it again).
    fn note_earliest(&self, inner: &Inner) {
        let due = inner.heap.peek().map_or(i64::MAX, |Reverse((due, _))| *due);
        self.earliest.store(due, std::sync::atomic::Ordering::Release);
    }

    /// Removes and returns, in due order, up to `max` jobs due at or before `now`.
    pub fn pop_due(&self, now: i64, max: usize) -> Vec<(i64, Job)> {
        let mut inner = self.queue();
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
        self.note_earliest(&inner);
        due
    }

    pub fn finished(&self, count: usize) {
        let mut inner = self.queue();
        inner.running = inner.running.saturating_sub(count);
    }

    /// When the earliest waiting job falls due.
    pub fn next_due(&self) -> Option<i64> {
        let inner = self.queue();
        self.note_earliest(&inner);
        inner.heap.peek().map(|Reverse((due, _))| *due)
    }

    /// Jobs popped and still running.
    pub fn running(&self) -> usize {
        self.queue().running
    }

    /// Jobs waiting or running.
    pub fn pending(&self) -> usize {
        let inner = self.queue();
        inner.jobs.len() + inner.running
    }

    /// The waiting jobs in due order, without SNS delivery attempts (the deliveries themselves
    /// are exported, and their attempts are scheduled again on import).
    pub fn snapshot(&self) -> Vec<ScheduledJob> {
        let inner = self.queue();
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
        let mut inner = self.queue();
        inner.heap.clear();
        inner.jobs.clear();
        self.note_earliest(&inner);
        if let Some(c) = &mut inner.changes {
            // A clear comes with a full rewrite (reset, import).
            *c = TimerChanges::default();
        }
    }

    /// Starts recording which timers are added and gone (persistence).
    pub fn track(&self) {
        let mut inner = self.queue();
        inner.changes.get_or_insert_with(TimerChanges::default);
    }

    /// Every stored timer with its id (a full write), forgetting the changes recorded so far.
    pub fn rows(&self) -> Vec<TimerRow> {
        let mut inner = self.queue();
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
        let mut inner = self.queue();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::Arc;
    use std::task::{Context, Waker};

    fn job(step: usize) -> Job {
        Job::MessageStatus { account: "a".into(), region: "r".into(), message_id: "m".into(), step }
    }

    /// Whether the timer loop would wake now (a stored permit), consuming it.
    fn woken(s: &Scheduler) -> bool {
        let notified = std::pin::pin!(s.wake.notified());
        notified.poll(&mut Context::from_waker(Waker::noop())).is_ready()
    }

    #[test]
    fn jobs_added_from_many_threads_come_out_in_due_order() {
        let s = Arc::new(Scheduler::default());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        s.at_all([((t * 100 + i) as i64 % 50, job(t * 100 + i))]);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.pending(), 400);
        let due = s.pop_due(24, 1_000);
        assert_eq!(due.len(), 200, "due times 0..=24, 8 jobs each");
        assert!(due.windows(2).all(|w| w[0].0 <= w[1].0), "in due order");
        assert_eq!(s.pending(), 400, "popped jobs are pending until finished");
        s.finished(due.len());
        assert_eq!(s.pending(), 200);
        assert_eq!(s.next_due(), Some(25));
    }

    #[test]
    fn an_earlier_job_wakes_the_timer_loop_and_a_later_one_does_not() {
        let s = Scheduler::default();
        s.at(1_000, job(0));
        assert!(woken(&s), "the first job");
        assert_eq!(s.next_due(), Some(1_000));
        s.at(2_000, job(1));
        assert!(!woken(&s), "due after the earliest");
        s.at(500, job(2));
        assert!(woken(&s), "due before the earliest");
        // Jobs of one instant keep the order they were added in.
        s.at(500, job(3));
        let order: Vec<usize> = s
            .pop_due(500, 10)
            .into_iter()
            .map(|(_, j)| match j {
                Job::MessageStatus { step, .. } => step,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, [2, 3]);
        s.clear();
        assert_eq!(s.pending(), 2, "the two popped jobs are still running");
        assert_eq!(s.next_due(), None);
    }
}
