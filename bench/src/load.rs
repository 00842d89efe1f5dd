//! The load generator: `--concurrency` workers, each with one keep-alive HTTP/1.1 connection,
//! send the same request back to back until `--duration-ms` or `--count` is reached. Latencies go
//! to an HDR histogram; every response's status is checked (non-2xx and transport failures are
//! counted, the first one is kept as a sample).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

/// A request that takes longer than this counts as a transport failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Latencies are recorded in microseconds, up to a minute.
const MAX_US: u64 = 60_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// SendWhatsAppMessage: a text message, round-robin over `--phone`.
    Send,
    /// SendWhatsAppMessage: a campaign, the `hello_world` template to a new customer each time,
    /// round-robin over `--phone` (every send accepted, with its three statuses).
    Campaign,
    /// ListLinkedWhatsAppBusinessAccounts.
    List,
    /// GetLinkedWhatsAppBusinessAccount of `--waba`.
    Get,
}

impl RequestKind {
    pub fn operation(self) -> &'static str {
        match self {
            RequestKind::Send => "SendWhatsAppMessage",
            RequestKind::Campaign => "SendWhatsAppMessage (campaign)",
            RequestKind::List => "ListLinkedWhatsAppBusinessAccounts",
            RequestKind::Get => "GetLinkedWhatsAppBusinessAccount",
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Server URL, `http://127.0.0.1:PORT`.
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Stop after this many milliseconds (0: no time limit, then `--count` is required).
    #[arg(long, default_value_t = 3_000)]
    pub duration_ms: u64,
    /// Stop after this many requests (0: no count limit).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    #[arg(long, value_enum)]
    pub request: RequestKind,
    /// Origination phone number ids for `send` (comma-separated; used round-robin).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54"
    )]
    pub phone: Vec<String>,
    /// Recipient of `send`.
    #[arg(long, default_value = "+14255550123")]
    pub recipient: String,
    /// WABA of `get`.
    #[arg(long, default_value = "waba-0aae9cf04cf24c66960f291c793359b4")]
    pub waba: String,
    /// Account and Region of `send`, as the SigV4 credential scope of an `Authorization` header
    /// carries them (the signature is not checked by default); none: the emulator's defaults.
    #[arg(long)]
    pub send_scope: Option<String>,
}

/// What one load run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadResult {
    pub concurrency: usize,
    /// Responses with a 2xx status.
    pub ok: u64,
    /// Responses with another status.
    pub non_2xx: u64,
    /// Connection failures, broken connections and timeouts.
    pub transport_errors: u64,
    /// The first failure: status and body, or the transport error.
    pub first_error: Option<String>,
    pub elapsed_s: f64,
    /// Completed requests (2xx or not) per second.
    pub requests_per_s: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// CPU time (user + system, all threads) the server under test spent per completed request,
    /// in µs, measured by the runner from `/proc` (not by the load generator). Steadier than
    /// requests/s on a busy machine: it does not depend on how the CPUs were shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpu_us: Option<f64>,
    /// The emulator's lock waits during the load (`GET /_emulator/locks` before and after), by
    /// lock; none for the bare server.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub lock_waits: std::collections::BTreeMap<String, LockWaits>,
}

/// Waits on one of the emulator's shared locks during a load.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LockWaits {
    /// Times a thread found the lock held.
    pub waits: u64,
    /// Their total time, nanoseconds.
    pub waited_nanos: u64,
}

impl LoadResult {
    pub fn errors(&self) -> u64 {
        self.non_2xx + self.transport_errors
    }
}

/// The requests of a run, built once: method, path and query, headers, body.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    method: hyper::Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    /// One body per phone number for `send` (round-robin); one empty body otherwise.
    bodies: Vec<Bytes>,
    /// For `campaign`: the phone numbers, a body made per request (a new customer each).
    campaign: Vec<String>,
}

impl RequestSpec {
    pub fn new(args: &LoadArgs, host: &str) -> RequestSpec {
        let mut headers = vec![("host", host.to_string())];
        match args.request {
            RequestKind::Send => {
                headers.push(("content-type", "application/json".into()));
                if let Some(scope) = &args.send_scope {
                    headers.push(("authorization", authorization(scope)));
                }
                let bodies = args.phone.iter().map(|p| send_body(p, &args.recipient)).collect();
                RequestSpec {
                    method: hyper::Method::POST,
                    path: "/v1/whatsapp/send".into(),
                    headers,
                    bodies,
                    campaign: Vec::new(),
                }
            }
            RequestKind::Campaign => {
                headers.push(("content-type", "application/json".into()));
                if let Some(scope) = &args.send_scope {
                    headers.push(("authorization", authorization(scope)));
                }
                RequestSpec {
                    method: hyper::Method::POST,
                    path: "/v1/whatsapp/send".into(),
                    headers,
                    bodies: vec![Bytes::new()],
                    campaign: args.phone.clone(),
                }
            }
            RequestKind::List => RequestSpec {
                method: hyper::Method::GET,
                path: "/v1/whatsapp/waba/list".into(),
                headers,
                bodies: vec![Bytes::new()],
                campaign: Vec::new(),
            },
            RequestKind::Get => RequestSpec {
                method: hyper::Method::GET,
                path: format!("/v1/whatsapp/waba/details?id={}", args.waba),
                headers,
                bodies: vec![Bytes::new()],
                campaign: Vec::new(),
            },
        }
    }

    /// The `i`-th request of the run.
    pub fn request(&self, i: u64) -> Request<Full<Bytes>> {
        let body = if self.campaign.is_empty() {
            self.bodies[(i % self.bodies.len() as u64) as usize].clone()
        } else {
            let phone = &self.campaign[(i % self.campaign.len() as u64) as usize];
            campaign_body(phone, &format!("1425{:07}", i % 10_000_000))
        };
        let mut builder = Request::builder().method(self.method.clone()).uri(&self.path);
        for (name, value) in &self.headers {
            builder = builder.header(*name, value);
        }
        builder.body(Full::new(body)).expect("a well-formed request")
    }
}

/// SendWhatsAppMessage's JSON body as the SDK sends it: the Meta message object base64-encoded.
pub fn send_body(phone: &str, recipient: &str) -> Bytes {
    let message = serde_json::json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
        "type": "text",
        "text": { "body": "Your order #4711 has shipped and arrives tomorrow." },
    });
    let body = serde_json::json!({
        "originationPhoneNumberId": phone,
        "metaApiVersion": "v20.0",
        "message": base64::engine::general_purpose::STANDARD.encode(message.to_string()),
    });
    Bytes::from(body.to_string())
}

/// A campaign's SendWhatsAppMessage: Meta's sample template `hello_world` to `recipient`.
pub fn campaign_body(phone: &str, recipient: &str) -> Bytes {
    let message = serde_json::json!({
        "messaging_product": "whatsapp",
        "to": recipient,
        "type": "template",
        "template": { "name": "hello_world", "language": { "code": "en_US" } },
    });
    let body = serde_json::json!({
        "originationPhoneNumberId": phone,
        "metaApiVersion": "v20.0",
        "message": base64::engine::general_purpose::STANDARD.encode(message.to_string()),
    });
    Bytes::from(body.to_string())
}

/// An `Authorization` header of SigV4's shape for `ACCOUNT/REGION` (zero signature).
pub fn authorization(scope: &str) -> String {
    let (account, region) = scope.split_once('/').unwrap_or((scope, "us-east-1"));
    format!(
        "AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/social-messaging/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date, Signature={}",
        "0".repeat(64)
    )
}

/// p50, p99 and max of a histogram, in microseconds.
pub fn percentiles(h: &Histogram<u64>) -> (u64, u64, u64) {
    if h.is_empty() {
        return (0, 0, 0);
    }
    (h.value_at_quantile(0.50), h.value_at_quantile(0.99), h.max())
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds")
}

#[derive(Debug, Default)]
struct WorkerResult {
    ok: u64,
    non_2xx: u64,
    transport_errors: u64,
    first_error: Option<String>,
}

pub async fn run(args: LoadArgs) -> Result<LoadResult, String> {
    if args.duration_ms == 0 && args.count == 0 {
        return Err("give --duration-ms or --count".into());
    }
    let host = host_of(&args.url)?;
    let spec = Arc::new(RequestSpec::new(&args, &host));
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline =
        (args.duration_ms > 0).then(|| started + Duration::from_millis(args.duration_ms));
    let workers: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| {
            let (spec, counter, host) = (spec.clone(), counter.clone(), host.clone());
            tokio::spawn(worker(spec, counter, host, deadline, args.count))
        })
        .collect();
    let mut total = WorkerResult::default();
    let mut histogram = new_histogram();
    for w in workers {
        let (result, h) = w.await.map_err(|e| e.to_string())?;
        total.ok += result.ok;
        total.non_2xx += result.non_2xx;
        total.transport_errors += result.transport_errors;
        total.first_error = total.first_error.or(result.first_error);
        histogram.add(&h).map_err(|e| e.to_string())?;
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let (p50_us, p99_us, max_us) = percentiles(&histogram);
    Ok(LoadResult {
        concurrency: args.concurrency,
        ok: total.ok,
        non_2xx: total.non_2xx,
        transport_errors: total.transport_errors,
        first_error: total.first_error,
        elapsed_s,
        requests_per_s: (total.ok + total.non_2xx) as f64 / elapsed_s.max(1e-9),
        p50_us,
        p99_us,
        max_us,
        server_cpu_us: None,
        lock_waits: Default::default(),
    })
}

/// `HOST:PORT` of an `http://HOST:PORT` URL.
pub fn host_of(url: &str) -> Result<String, String> {
    let host = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// URLs"))?;
    Ok(host.trim_end_matches('/').to_string())
}

pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// A keep-alive HTTP/1.1 connection to `host`; its connection task runs on its own.
pub async fn connect(host: &str) -> Result<Sender, String> {
    let stream = TcpStream::connect(host).await.map_err(|e| format!("connect {host}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn worker(
    spec: Arc<RequestSpec>,
    counter: Arc<AtomicU64>,
    host: String,
    deadline: Option<Instant>,
    count: u64,
) -> (WorkerResult, Histogram<u64>) {
    let mut result = WorkerResult::default();
    let mut histogram = new_histogram();
    let mut sender: Option<Sender> = None;
    let mut failures_in_a_row = 0;
    let fail = |result: &mut WorkerResult, e: String| {
        result.transport_errors += 1;
        result.first_error.get_or_insert(e);
    };
    while deadline.is_none_or(|d| Instant::now() < d) && failures_in_a_row < 10 {
        let i = counter.fetch_add(1, Ordering::Relaxed);
        if count > 0 && i >= count {
            break;
        }
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(&host).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    fail(&mut result, e);
                    failures_in_a_row += 1;
                    continue;
                }
            },
        };
        let start = Instant::now();
        let exchange = async {
            s.ready().await?;
            let response = s.send_request(spec.request(i)).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok((status, body))) => {
                let us = start.elapsed().as_micros() as u64;
                let _ = histogram.record(us.clamp(1, MAX_US));
                failures_in_a_row = 0;
                if status.is_success() {
                    result.ok += 1;
                } else {
                    result.non_2xx += 1;
                    result.first_error.get_or_insert_with(|| {
                        format!(
                            "{status} {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        )
                    });
                }
            }
            Ok(Err(e)) => {
                fail(&mut result, format!("request: {e}"));
                failures_in_a_row += 1;
                sender = None;
            }
            Err(_) => {
                fail(&mut result, format!("no answer within {REQUEST_TIMEOUT:?}"));
                failures_in_a_row += 1;
                sender = None;
            }
        }
    }
    (result, histogram)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = new_histogram();
        for us in 1..=1000 {
            h.record(us).unwrap();
        }
        let (p50, p99, max) = percentiles(&h);
        assert!((499..=501).contains(&p50), "{p50}");
        assert!((989..=991).contains(&p99), "{p99}");
        assert_eq!(max, 1000);
        assert_eq!(percentiles(&new_histogram()), (0, 0, 0));
    }

    #[test]
    fn send_body_is_what_the_sdk_sends() {
        let body: serde_json::Value =
            serde_json::from_slice(&send_body("phone-number-id-ab", "+1425")).unwrap();
        assert_eq!(body["originationPhoneNumberId"], "phone-number-id-ab");
        assert_eq!(body["metaApiVersion"], "v20.0");
        let message = base64::engine::general_purpose::STANDARD
            .decode(body["message"].as_str().unwrap())
            .unwrap();
        let message: serde_json::Value = serde_json::from_slice(&message).unwrap();
        assert_eq!(message["to"], "+1425");
        assert_eq!(message["type"], "text");
    }

    #[test]
    fn authorization_carries_the_scope() {
        let header = authorization("809904170947/us-west-2");
        assert!(header.starts_with("AWS4-HMAC-SHA256 Credential=809904170947/20260101/us-west-2/"));
    }

    #[test]
    fn send_requests_go_round_robin_over_the_phones() {
        let args = LoadArgs {
            url: "http://127.0.0.1:1".into(),
            concurrency: 1,
            duration_ms: 1,
            count: 0,
            request: RequestKind::Send,
            phone: vec!["phone-number-id-a".into(), "phone-number-id-b".into()],
            recipient: "+14255550123".into(),
            waba: String::new(),
            send_scope: None,
        };
        let spec = RequestSpec::new(&args, "127.0.0.1:1");
        let body = |i| {
            let r = spec.request(i);
            assert_eq!(r.uri(), "/v1/whatsapp/send");
            assert_eq!(r.headers()["host"], "127.0.0.1:1");
            r.into_body()
        };
        assert_eq!(format!("{:?}", body(0)), format!("{:?}", body(2)));
        assert_ne!(format!("{:?}", body(0)), format!("{:?}", body(1)));
    }
}
