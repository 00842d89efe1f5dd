//! The app layer's timer loop: where due timers of the [`Scheduler`](crate::scheduler::Scheduler)
//! (a queue that knows nothing of what its jobs do) meet the domain's transitions — message
//! statuses, SNS deliveries, template reviews and unpauses.

use std::time::Duration;

use crate::AppState;
use crate::meta::effects::WabaOf;
use crate::meta::outbound::StatusStep;
use crate::meta::template_lifecycle;
use crate::scheduler::Job;

/// The timer loop; runs for the life of the server.
pub async fn run(state: AppState) {
    let mut clock_changed = state.clock.subscribe();
    loop {
        let now = state.clock.now_ms();
        let mut ran = false;
        loop {
            let due = state.scheduler.pop_due(now, BATCH);
            if due.is_empty() {
                break;
            }
            let count = due.len();
            execute_all(&state, due);
            state.scheduler.finished(count);
            ran = true;
        }
        if ran && let Some(persist) = &state.persist {
            // What the jobs changed (statuses, reviews, deliveries) is on disk before the next.
            if let Err(e) = persist.sync().await {
                tracing::error!(%e, "persisting after timers failed");
            }
        }
        // Sleep until the next job is due in real time (virtual time runs at real speed unless
        // frozen), or until a job is added or the clock jumps.
        let wait = match state.scheduler.next_due() {
            Some(due) if !state.clock.is_frozen() => {
                Duration::from_millis((due - state.clock.now_ms()).clamp(0, 3_600_000) as u64)
            }
            _ => Duration::from_secs(3600),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.scheduler.wake.notified() => {}
            changed = clock_changed.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Jobs taken from the queue at once (one lock of the queue, and one of a partition for a run
/// of status jobs of that partition).
const BATCH: usize = 256;

/// Runs jobs in due order; consecutive status jobs of one partition go together.
fn execute_all(state: &AppState, due: Vec<(i64, Job)>) {
    let mut jobs = due.into_iter().peekable();
    while let Some((at, job)) = jobs.next() {
        let Job::MessageStatus { account, region, message_id, step } = job else {
            execute(state, at, job);
            continue;
        };
        let mut steps = vec![(message_id, step, at)];
        while let Some((_, Job::MessageStatus { account: a, region: r, .. })) = jobs.peek()
            && *a == account
            && *r == region
        {
            if let Some((at, Job::MessageStatus { message_id, step, .. })) = jobs.next() {
                steps.push((message_id, step, at));
            }
        }
        advance_statuses(state, &account, &region, &steps);
    }
}

/// Status steps of one partition: applied under the partition's shared lock, their events
/// published after it.
fn advance_statuses(state: &AppState, account: &str, region: &str, steps: &[StatusStep]) {
    let partition = state.store.partition(account, region);
    let drafts = {
        let p = crate::locks::read(&partition, &crate::locks::PARTITION);
        crate::meta::outbound::apply_statuses(&p, account, region, steps)
    };
    for draft in drafts {
        state.bus.publish(draft);
    }
}

fn execute(state: &AppState, due: i64, job: Job) {
    match job {
        Job::MessageStatus { account, region, message_id, step } => {
            let steps = [(message_id, step, due)];
            advance_statuses(state, &account, &region, &steps);
        }
        Job::SnsDelivery { delivery_id } => {
            let state = state.clone();
            tokio::spawn(async move {
                crate::events::sns::attempt(&state.bus, delivery_id).await;
                if let Some(persist) = &state.persist
                    && let Err(e) = persist.sync().await
                {
                    tracing::error!(%e, "persisting an SNS delivery attempt failed");
                }
            });
        }
        // Meta's review of a PENDING template.
        Job::TemplateReview { account, region, waba_hex, meta_template_id } => {
            let at = (account.as_str(), region.as_str(), waba_hex.as_str());
            template_transition(state, at, &meta_template_id, |t, _| template_lifecycle::review(t));
        }
        // A PAUSED template's pause is over.
        Job::TemplateUnpause { account, region, waba_hex, meta_template_id } => {
            let at = (account.as_str(), region.as_str(), waba_hex.as_str());
            template_transition(state, at, &meta_template_id, |t, _| {
                template_lifecycle::unpause(t).ok()
            });
        }
    }
}

/// A template transition due on a timer, applied under its partition's lock; its status event
/// (when the transition took place) published after it.
fn template_transition(
    state: &AppState,
    (account, region, waba_hex): (&str, &str, &str),
    template_id: &str,
    transition: impl FnOnce(&mut crate::state::Template, i64) -> Option<serde_json::Value>,
) {
    let now = state.clock.now_ms();
    let partition = state.store.partition(account, region);
    let draft = {
        let mut p = crate::locks::write(&partition, &crate::locks::PARTITION);
        let Some(waba) = p.wabas.get_mut(waba_hex) else { return };
        let of = WabaOf::of(waba);
        let Some(t) = waba.templates.iter_mut().find(|t| t.meta_template_id == template_id) else {
            return;
        };
        let Some(extra) = transition(t, now) else { return };
        template_lifecycle::status_event(account, region, &of, t, extra, now)
    };
    state.bus.publish(draft);
}
