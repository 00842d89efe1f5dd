//! `--state-dir`: the state in SQLite (`DIR/state.sqlite3`, WAL, `synchronous=FULL`).
//!
//! Rows: `header` (version, storage layout, clock, ids), `partition/<account>/<region>` (one per
//! partition, without its message logs), `sns`, `eventlog` (next seq); the event log one row per
//! event in `events`; every message of the partitions' logs one row in `messages`
//! (`<account>/<region>/out/<messageId>` or `…/in/<wamid>`, ordered by the message's place in its
//! partition); and every pending timer one row in `timers`. A dedicated writer coalesces concurrent requests (group commit):
//! every `sync` waits for a write that started after it was called, and a write only serializes
//! the partitions handed out since the previous one, and of their logs only the messages that
//! changed (the logs record them), rewriting the rows whose text changed, in one transaction, on a
//! blocking thread: a send costs its message and its effects, not the partition.
//!
//! Storage layout 2 (this one) added the `messages` and `timers` tables; a directory of layout 1
//! (messages inside the partition rows, timers in one `scheduler` row) loads and is rewritten in
//! layout 2; a newer layout is refused.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::Parts;
use crate::state::PartitionKey;

type Waiter = oneshot::Sender<Result<(), String>>;

/// The handle requests wait on.
#[derive(Debug)]
pub struct Persister {
    queue: mpsc::UnboundedSender<Waiter>,
    /// The next write rewrites everything (start, import, reset, after a failed write).
    full: Arc<AtomicBool>,
}

/// Opens (or creates) the database in `dir`; returns it with the document it holds, if any.
pub fn open(dir: &Path) -> Result<(Connection, Option<Value>), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("state.sqlite3");
    let conn =
        Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|_| conn.pragma_update(None, "synchronous", "FULL"))
        .and_then(|_| {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS messages (key TEXT PRIMARY KEY, part TEXT NOT NULL,
                     ord INTEGER NOT NULL, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS timers (id INTEGER PRIMARY KEY, due INTEGER NOT NULL,
                     value TEXT NOT NULL);",
            )
        })
        .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
    let doc = load(&conn).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((conn, doc))
}

/// The stored document, assembled from its rows (None: nothing stored yet).
fn load(conn: &Connection) -> Result<Option<Value>, String> {
    let row = |key: &str| -> Result<Option<Value>, String> {
        let text: Option<String> = conn
            .query_row("SELECT value FROM rows WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| format!("row {key}: {e}"))).transpose()
    };
    let Some(mut doc) = row("header")? else { return Ok(None) };
    let storage = doc.get("storage").and_then(Value::as_u64).unwrap_or(1);
    if storage > STORAGE {
        return Err(format!(
            "the state directory has storage layout {storage}, written by a newer version of the \
             emulator (this one reads layouts 1 to {STORAGE})"
        ));
    }
    if let Some(o) = doc.as_object_mut() {
        o.remove("storage");
    }
    let values = |sql: &str| -> Result<Vec<Value>, String> {
        let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
        let texts = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
            .map_err(|e| e.to_string())?;
        texts.iter().map(|t| serde_json::from_str(t).map_err(|e| e.to_string())).collect()
    };
    let mut partitions =
        values("SELECT value FROM rows WHERE key LIKE 'partition/%' ORDER BY key")?;
    // Each partition's messages, in their order.
    let mut stmt = conn
        .prepare("SELECT key, part, value FROM messages ORDER BY ord, key")
        .map_err(|e| e.to_string())?;
    let messages = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())?;
    for (key, part, text) in messages {
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("message {key}: {e}"))?;
        let Some((log, id)) = key.strip_prefix(&format!("{part}/")).and_then(|r| r.split_once('/'))
        else {
            return Err(format!("message row {key}: not <account>/<region>/<out|in>/<id>"));
        };
        let field = if log == "out" { "outbound" } else { "inbound" };
        let found = partitions.iter_mut().find(|p| {
            format!(
                "{}/{}",
                p["account"].as_str().unwrap_or_default(),
                p["region"].as_str().unwrap_or_default()
            ) == part
        });
        let Some(p) = found else {
            return Err(format!("message row {key}: no partition {part}"));
        };
        match p["meta"][field].as_array_mut() {
            Some(list) => list.push(json!([id, value])),
            None => p["meta"][field] = json!([[id, value]]),
        }
    }
    doc["partitions"] = Value::Array(partitions);
    // Timers one row each (layout 2), or the one `scheduler` row of layout 1.
    let timers = values("SELECT value FROM timers ORDER BY due, id")?;
    doc["scheduler"] = if timers.is_empty() {
        row("scheduler")?.unwrap_or(json!([]))
    } else {
        Value::Array(timers)
    };
    doc["sns"] = row("sns")?.unwrap_or(json!({"nextId": 0, "subscriptions": [], "deliveries": []}));
    let next_seq = row("eventlog")?.and_then(|v| v["nextSeq"].as_u64()).unwrap_or(0);
    doc["events"] = json!({
        "nextSeq": next_seq,
        "events": values("SELECT value FROM events ORDER BY seq")?,
    });
    Ok(Some(doc))
}

/// The storage layout this version writes (see the module's documentation).
const STORAGE: u64 = 2;

impl Persister {
    /// Starts the writer task (needs a Tokio runtime).
    pub fn start(conn: Connection, state: Parts) -> Persister {
        let (queue, rx) = mpsc::unbounded_channel();
        let full = Arc::new(AtomicBool::new(true));
        let writer = Writer {
            conn,
            state: state.clone(),
            written: HashMap::new(),
            carried: HashSet::new(),
            events_written: None,
        };
        state.scheduler.track();
        tokio::spawn(run(writer, rx, full.clone()));
        Persister { queue, full }
    }

    /// Returns once everything changed before the call is committed.
    pub async fn sync(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.queue.send(tx).map_err(|_| "the state writer has stopped".to_string())?;
        rx.await.map_err(|_| "the state writer has stopped".to_string())?
    }

    /// The next write rewrites every row (after an import or a reset).
    pub fn rewrite_all(&self) {
        self.full.store(true, Ordering::SeqCst);
    }
}

async fn run(mut writer: Writer, mut rx: mpsc::UnboundedReceiver<Waiter>, full: Arc<AtomicBool>) {
    while let Some(first) = rx.recv().await {
        // Everyone waiting now changed the state before this write starts: one commit for all.
        let mut waiters = vec![first];
        while let Ok(w) = rx.try_recv() {
            waiters.push(w);
        }
        let all = full.swap(false, Ordering::SeqCst);
        let joined = tokio::task::spawn_blocking(move || {
            let result = writer.write(all);
            (writer, result)
        })
        .await;
        let result = match joined {
            Ok((w, result)) => {
                writer = w;
                result
            }
            Err(e) => {
                for w in waiters {
                    let _ = w.send(Err(format!("the state writer failed: {e}")));
                }
                return;
            }
        };
        if result.is_err() {
            full.store(true, Ordering::SeqCst);
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
}

struct Writer {
    conn: Connection,
    state: Parts,
    /// Each row's text as last committed (unchanged rows are not written again).
    written: HashMap<String, String>,
    /// Partitions still held by someone at the last write: written again next time, since a
    /// holder may change them after that write serialized them.
    carried: HashSet<PartitionKey>,
    /// The last event seq committed (None: rewrite the events table).
    events_written: Option<u64>,
}

impl Writer {
    fn write(&mut self, all: bool) -> Result<(), String> {
        let s = &self.state;
        // Partitions first, then events, SNS, timers and the header: a timer or an event is
        // never on disk without the partition change that came before it.
        let keys: Vec<PartitionKey> = if all {
            s.store.keys()
        } else {
            let mut keys: HashSet<PartitionKey> = s.store.take_touched().into_iter().collect();
            keys.extend(self.carried.iter().cloned());
            keys.into_iter().collect()
        };
        let mut carried = HashSet::new();
        let mut rows: Vec<(String, String)> = Vec::new();
        // Messages to store (key, partition, order, text) and message rows to delete.
        let mut messages: Vec<(String, String, u64, String)> = Vec::new();
        let mut gone: Vec<String> = Vec::new();
        for key in keys {
            let Some(partition) = s.store.existing(&key) else { continue };
            // The store's reference and ours: any other is a handler still at work.
            if Arc::strong_count(&partition) > 2 {
                carried.insert(key.clone());
            }
            let part = format!("{}/{}", key.0, key.1);
            let text = {
                let mut guard = partition.write().unwrap_or_else(PoisonError::into_inner);
                let p = &mut *guard;
                let out_changes = p.meta.outbound.get_mut().take_changes();
                let in_changes = p.meta.inbound.get_mut().take_changes();
                collect(
                    p.meta.outbound.get_mut(),
                    out_changes,
                    all,
                    &part,
                    "out",
                    |m| m.order,
                    &mut messages,
                    &mut gone,
                )?;
                collect(
                    p.meta.inbound.get_mut(),
                    in_changes,
                    all,
                    &part,
                    "in",
                    |m| m.order,
                    &mut messages,
                    &mut gone,
                )?;
                // The partition without its logs (their messages are rows of their own).
                let outbound = std::mem::take(&mut p.meta.outbound);
                let inbound = std::mem::take(&mut p.meta.inbound);
                let text = serde_json::to_string(&*p);
                p.meta.outbound = outbound;
                p.meta.inbound = inbound;
                text.map_err(|e| e.to_string())?
            };
            rows.push((format!("partition/{part}"), text));
        }
        let after = if all { None } else { self.events_written };
        let (first_seq, next_seq, new_events) = s.events.since(after.unwrap_or(0));
        let sns = serde_json::to_string(&s.sns.snapshot()).map_err(|e| e.to_string())?;
        // Timers after the partitions: none is stored without the change that set it.
        let (timers, timers_gone) =
            if all { (s.scheduler.rows(), Vec::new()) } else { s.scheduler.take_changes() };
        let header = json!({
            "version": super::VERSION,
            "storage": STORAGE,
            "clock": s.clock.snapshot(),
            "ids": super::IdsState { counter: s.ids.counter() },
        });
        rows.push(("sns".into(), sns));
        rows.push(("eventlog".into(), json!({ "nextSeq": next_seq }).to_string()));
        rows.push(("header".into(), header.to_string()));

        if all {
            self.written.clear();
        }
        let changed: Vec<&(String, String)> =
            rows.iter().filter(|(k, v)| self.written.get(k) != Some(v)).collect();
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        {
            if all {
                tx.execute("DELETE FROM rows", []).map_err(|e| e.to_string())?;
                tx.execute("DELETE FROM messages", []).map_err(|e| e.to_string())?;
            }
            let mut put_message = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO messages (key, part, ord, value) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| e.to_string())?;
            for (k, part, ord, v) in &messages {
                put_message.execute(params![k, part, *ord as i64, v]).map_err(|e| e.to_string())?;
            }
            if all {
                tx.execute("DELETE FROM timers", []).map_err(|e| e.to_string())?;
            }
            let mut put_timer = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO timers (id, due, value) VALUES (?1, ?2, ?3)",
                )
                .map_err(|e| e.to_string())?;
            for (id, due, job) in &timers {
                let text = serde_json::to_string(job).map_err(|e| e.to_string())?;
                put_timer.execute(params![*id as i64, due, text]).map_err(|e| e.to_string())?;
            }
            let mut drop_timer =
                tx.prepare_cached("DELETE FROM timers WHERE id = ?1").map_err(|e| e.to_string())?;
            for id in &timers_gone {
                drop_timer.execute([*id as i64]).map_err(|e| e.to_string())?;
            }
            let mut drop_message = tx
                .prepare_cached("DELETE FROM messages WHERE key = ?1")
                .map_err(|e| e.to_string())?;
            for k in &gone {
                drop_message.execute([k]).map_err(|e| e.to_string())?;
            }
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO rows (key, value) VALUES (?1, ?2)")
                .map_err(|e| e.to_string())?;
            for (k, v) in &changed {
                put.execute(params![k, v]).map_err(|e| e.to_string())?;
            }
            match (after, first_seq) {
                (None, _) => {
                    tx.execute("DELETE FROM events", []).map_err(|e| e.to_string())?;
                }
                (Some(_), Some(first)) => {
                    tx.execute("DELETE FROM events WHERE seq < ?1", [first as i64])
                        .map_err(|e| e.to_string())?;
                }
                (Some(_), None) => {
                    tx.execute("DELETE FROM events", []).map_err(|e| e.to_string())?;
                }
            }
            let mut add = tx
                .prepare_cached("INSERT OR REPLACE INTO events (seq, value) VALUES (?1, ?2)")
                .map_err(|e| e.to_string())?;
            for e in &new_events {
                let text = serde_json::to_string(e).map_err(|e| e.to_string())?;
                add.execute(params![e.seq as i64, text]).map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        for (k, v) in rows {
            self.written.insert(k, v);
        }
        self.carried = carried;
        self.events_written = Some(new_events.last().map_or(after.unwrap_or(0), |e| e.seq));
        Ok(())
    }
}

/// The rows of a log's messages a write stores: every one (`all`), else those that changed; and
/// the rows of those it evicted.
#[allow(clippy::too_many_arguments)]
fn collect<V: serde::Serialize>(
    log: &crate::meta::BoundedLog<V>,
    changes: Option<crate::meta::LogChanges>,
    all: bool,
    part: &str,
    kind: &str,
    order: impl Fn(&V) -> u64,
    messages: &mut Vec<(String, String, u64, String)>,
    gone: &mut Vec<String>,
) -> Result<(), String> {
    let mut put = |id: &str, m: &V| -> Result<(), String> {
        let text = serde_json::to_string(m).map_err(|e| e.to_string())?;
        messages.push((format!("{part}/{kind}/{id}"), part.to_string(), order(m), text));
        Ok(())
    };
    if all {
        for (id, m) in log.entries() {
            put(id, m)?;
        }
        return Ok(());
    }
    let Some(changes) = changes else { return Ok(()) };
    for id in &changes.changed {
        if let Some(m) = log.get(id) {
            put(id, m)?;
        }
    }
    gone.extend(changes.removed.iter().map(|id| format!("{part}/{kind}/{id}")));
    Ok(())
}
