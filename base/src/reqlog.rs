//! The request log: the most recent requests to the AWS API (bounded), with what they were
//! answered, for `GET /_emulator/requests`; and the `--log-requests` line per request.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// One request to the AWS API.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub seq: u64,
    /// When it arrived, on the emulator's (virtual) clock (RFC 3339, formatted when listed).
    pub time: Rfc3339,
    pub time_ms: i64,
    pub method: std::borrow::Cow<'static, str>,
    pub path: String,
    /// None for a path or method no operation has.
    pub operation: Option<&'static str>,
    pub account: String,
    pub region: String,
    /// The HTTP status; None when the connection was dropped by a fault rule.
    pub status: Option<u16>,
    /// The error type (`x-amzn-ErrorType`), if any.
    pub error: Option<&'static str>,
    /// Real time from arrival to the answer, in milliseconds.
    pub latency_ms: f64,
    pub request_id: String,
    /// The fault rule that fired, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<u64>,
}

/// Epoch milliseconds written as RFC 3339 (formatting is left to whoever reads the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub i64);

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::clock::rfc3339_millis(self.0))
    }
}

impl RequestRecord {
    /// The `--log-requests` line.
    pub fn line(&self) -> String {
        let status = self.status.map_or("dropped".to_string(), |s| s.to_string());
        format!(
            "request {} {} {} {} {} {} {} {} {:.1}ms {}",
            crate::clock::rfc3339_millis(self.time_ms),
            self.method,
            self.path,
            self.operation.unwrap_or("-"),
            self.account,
            self.region,
            status,
            self.error.unwrap_or("-"),
            self.latency_ms,
            self.request_id,
        )
    }
}

/// Filters of `GET /_emulator/requests` (all optional, combined with AND).
#[derive(Debug, Default, Clone)]
pub struct RequestFilter {
    pub operation: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// An exact status (`429`) or a class (`4xx`); `dropped` for dropped connections.
    pub status: Option<String>,
    /// An error type, or `none` for requests answered without one.
    pub error: Option<String>,
}

impl RequestFilter {
    /// Checks the status filter's form.
    pub fn check(&self) -> Result<(), String> {
        if let Some(s) = &self.status {
            let ok = s == "dropped"
                || s.parse::<u16>().is_ok()
                || (s.len() == 3 && s.ends_with("xx") && s.as_bytes()[0].is_ascii_digit());
            if !ok {
                return Err(format!(
                    "status must be a status code (429), a class (4xx) or dropped, got {s:?}"
                ));
            }
        }
        Ok(())
    }

    fn matches(&self, r: &RequestRecord) -> bool {
        let status_ok = match self.status.as_deref() {
            None => true,
            Some("dropped") => r.status.is_none(),
            Some(s) if s.ends_with("xx") => {
                r.status.is_some_and(|st| st.to_string().starts_with(&s[..1]))
            }
            Some(s) => r.status.is_some_and(|st| st.to_string() == s),
        };
        let error_ok = match self.error.as_deref() {
            None => true,
            Some("none") => r.error.is_none(),
            Some(e) => r.error == Some(e),
        };
        status_ok
            && error_ok
            && self.operation.as_deref().is_none_or(|o| r.operation == Some(o))
            && self.account.as_ref().is_none_or(|a| *a == r.account)
            && self.region.as_ref().is_none_or(|g| *g == r.region)
    }
}

/// The most recent `capacity` requests.
pub struct RequestLog {
    inner: Mutex<Inner>,
    capacity: usize,
    print: bool,
}

struct Inner {
    records: VecDeque<RequestRecord>,
    next_seq: u64,
}

impl RequestLog {
    /// `print`: also write each request as one line on stdout (`--log-requests`).
    pub fn new(capacity: usize, print: bool) -> Self {
        RequestLog {
            inner: Mutex::new(Inner { records: VecDeque::new(), next_seq: 1 }),
            capacity,
            print,
        }
    }

    /// Keeps `record` (its `seq` is assigned here), forgetting the oldest beyond the capacity.
    pub fn record(&self, mut record: RequestRecord) {
        let (line, _evicted) = {
            let mut inner = crate::locks::lock(&self.inner, &crate::locks::REQUEST_LOG);
            record.seq = inner.next_seq;
            inner.next_seq += 1;
            let line = self.print.then(|| record.line());
            let mut evicted = None;
            if self.capacity > 0 {
                if inner.records.len() >= self.capacity {
                    evicted = inner.records.pop_front();
                }
                inner.records.push_back(record);
            }
            // The record the log let go is freed after the lock.
            (line, evicted)
        };
        if let Some(line) = line {
            // Not `println!`: a closed stdout (piped into `head`) must not fail the request.
            use std::io::Write;
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }

    /// The last `limit` records that match, oldest first.
    pub fn query(&self, filter: &RequestFilter, limit: usize) -> Vec<RequestRecord> {
        let inner = crate::locks::lock(&self.inner, &crate::locks::REQUEST_LOG);
        let mut found: Vec<RequestRecord> =
            inner.records.iter().rev().filter(|r| filter.matches(r)).take(limit).cloned().collect();
        found.reverse();
        found
    }

    /// Forgets every record; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut inner = crate::locks::lock(&self.inner, &crate::locks::REQUEST_LOG);
        let n = inner.records.len();
        inner.records.clear();
        n
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(op: &'static str, status: Option<u16>, error: Option<&'static str>) -> RequestRecord {
        RequestRecord {
            seq: 0,
            time: Rfc3339(0),
            time_ms: 0,
            method: "POST".into(),
            path: "/v1/whatsapp/send".into(),
            operation: Some(op),
            account: "809904170947".into(),
            region: "us-east-1".into(),
            status,
            error,
            latency_ms: 0.5,
            request_id: "r".into(),
            fault: None,
        }
    }

    #[test]
    fn bounded_and_filtered() {
        let log = RequestLog::new(3, false);
        log.record(record("A", Some(200), None));
        log.record(record("B", Some(429), Some("ThrottledRequestException")));
        log.record(record("A", Some(404), Some("ResourceNotFoundException")));
        log.record(record("A", None, None));
        let all = log.query(&RequestFilter::default(), 10);
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3, 4]);
        let f = |status: &str| RequestFilter { status: Some(status.into()), ..Default::default() };
        assert_eq!(log.query(&f("4xx"), 10).len(), 2);
        assert_eq!(log.query(&f("429"), 10)[0].operation, Some("B"));
        assert_eq!(log.query(&f("dropped"), 10)[0].seq, 4);
        assert!(f("4x").check().is_err() && f("abc").check().is_err() && f("5xx").check().is_ok());
        let none = RequestFilter { error: Some("none".into()), ..Default::default() };
        assert_eq!(log.query(&none, 10).len(), 1);
        let a = RequestFilter { operation: Some("A".into()), ..Default::default() };
        assert_eq!(log.query(&a, 1)[0].seq, 4, "the most recent");
        assert_eq!(log.clear(), 3);
        assert!(log.query(&RequestFilter::default(), 10).is_empty());
    }
}
