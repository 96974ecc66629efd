//! `h2kit load [URL]`: a load generator on h2kit's client that reports not only how fast, but
//! why requests failed: timeouts by phase, RST_STREAM by code and direction, GOAWAY by code,
//! refused and unprocessed streams, retries.
//!
//! Two models:
//! - **closed** (default): `-c × -m` workers, each sending its next request when the last one
//!   ends. Latency is measured from the moment a request is handed to the client.
//! - **open** (`--rate R`): requests are scheduled at a constant rate whatever the responses
//!   do, and latency is measured from the *scheduled* time. A stall then shows up as latency of
//!   every request scheduled during it, instead of as fewer requests sent (no coordinated
//!   omission).
//!
//! Without a URL it starts h2kit's server in-process on a free 127.0.0.1 port and loads it.

mod busy_poll;
pub mod html;
mod mix;
mod progress;
pub mod record;
pub mod report;
pub mod result_file;
mod schedule;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use h2kit::ErrorKind;
use h2kit::{Client, ClientConfig, Server, ServerConfig};
use http_body_util::BodyExt;

use crate::client_opts::ClientOpts;
use crate::Exit;
use crate::{duration, routes};
use record::Failure;
use record::Shards;

#[derive(Parser, Debug)]
pub struct Args {
    /// The URL to load (http:// h2c or https://). Without one, an embedded h2kit server is
    /// started on 127.0.0.1 and loaded for `-D` (default 3s).
    url: Option<String>,
    /// Connections.
    #[arg(short = 'c', long = "clients", default_value_t = 1)]
    connections: usize,
    /// Concurrent streams per connection.
    #[arg(short = 'm', long = "max-concurrent-streams", default_value_t = 100)]
    streams: usize,
    /// Total requests (warm-up not included).
    #[arg(short = 'n', long = "requests", conflicts_with = "duration")]
    requests: Option<u64>,
    /// Duration of the measured run (e.g. 10s).
    #[arg(short = 'D', long = "duration", value_parser = duration::parse)]
    duration: Option<Duration>,
    /// Open model: schedule this many requests per second, whatever the responses do, and
    /// measure latency from each request's scheduled time.
    #[arg(long, value_name = "REQ/S")]
    rate: Option<f64>,
    /// Open model with a changing rate: DURATION:RATE,... each stage ramping linearly from the
    /// previous stage's rate (0 at first) to its own, e.g. 30s:1000,1m:5000,30s:0. The run
    /// lasts as long as the stages; latency is measured from each request's scheduled time.
    #[arg(long, value_name = "STAGES", value_parser = schedule::parse_flag,
          conflicts_with_all = ["rate", "duration", "requests"])]
    stages: Option<schedule::Stages>,
    /// Load for this long before measuring (connections open, caches warm); results of the
    /// warm-up are discarded.
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    warm_up: Option<Duration>,
    /// A mix of requests, one per line: `[WEIGHT] METHOD URL [@BODY_FILE] [Name: value]...`
    /// (docs/load-results.md); the report gives statuses and latency per line too.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "method", "headers", "data"])]
    requests_file: Option<std::path::PathBuf>,
    /// Request method.
    #[arg(short = 'X', long = "method", default_value = "GET")]
    method: String,
    /// A request header, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Request body from a file.
    #[arg(short = 'd', long = "data")]
    data: Option<std::path::PathBuf>,
    #[command(flatten)]
    client: ClientOpts,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write a self-contained HTML report (latency over time, latency histogram).
    #[arg(long, value_name = "FILE.html")]
    report: Option<std::path::PathBuf>,
    /// Start the measured run at this wall-clock time (RFC 3339: YYYY-MM-DDTHH:MM:SSZ):
    /// instances on several machines start together (connections are opened before).
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    start_at: Option<time::OffsetDateTime>,
    /// This instance's share of the load, `I/N` (1 ≤ I ≤ N): `--rate` and `-n` are totals
    /// for all N instances, and this one takes its part.
    #[arg(long, value_name = "I/N", value_parser = parse_instance)]
    instance: Option<(u64, u64)>,
    /// Also write the run's result file (schema h2kit-load/1, docs/load-results.md), which
    /// `h2kit report` reads and merges with others.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    /// Serve Prometheus metrics on this address (GET /metrics) while the run lasts: the
    /// client's, and the embedded server's when no URL is given (docs/metrics.md).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Exit 1 if the run breaches this threshold, `METRIC OP VALUE` (repeatable): metrics p50
    /// p90 p99 p99.9 max mean (us, ms, s), rps, failures, failure_rate (%); e.g.
    /// 'p99<=50ms', 'failure_rate<0.1%'.
    #[arg(long = "fail-on", value_name = "EXPR", value_parser = crate::threshold::Threshold::parse)]
    fail_on: Vec<crate::threshold::Threshold>,
    /// Worker threads (default: one per core; 1 runs everything on one thread).
    #[arg(long)]
    threads: Option<usize>,
    /// Poll the sockets instead of sleeping while responses keep coming (sleep after 200µs
    /// without any). For a generator on CPUs of its own: it keeps them busy, and in return
    /// the server does not pay for waking it and its own wake-up stays out of the latencies.
    #[arg(long)]
    busy_poll: bool,
}

fn parse_start_at(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("'{s}' is not an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ): {e}"))
}

fn parse_instance(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("'{s}' is not I/N with 1 <= I <= N (e.g. 2/3)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// An instance's share of a total: `total / n`, the remainder going to the first instances.
fn share(total: u64, (i, n): (u64, u64)) -> u64 {
    total / n + u64::from(i <= total % n)
}

/// What every request needs; shared, never copied per request except by `Bytes`/`Arc` clones.
struct Template {
    uri: http::Uri,
    method: http::Method,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Template {
    /// The request head, built once: every request shares it (`Client::send_shared`)
    /// instead of building its own and having the client copy and free it.
    fn shared(self) -> SharedRequest {
        let mut req = http::Request::new(());
        *req.method_mut() = self.method;
        *req.uri_mut() = self.uri;
        *req.headers_mut() = self.headers;
        SharedRequest {
            parts: Arc::new(req.into_parts().0),
            body: self.body,
        }
    }
}

/// What each request sends.
struct SharedRequest {
    parts: Arc<http::request::Parts>,
    body: Bytes,
}

/// Set by the first Ctrl-C: no new request starts, those in flight finish, and the run
/// reports what it measured (a second Ctrl-C ends the process at once).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Listens for Ctrl-C for the rest of the run.
fn on_interrupt() {
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            if INTERRUPTED.swap(true, Relaxed) {
                std::process::exit(130);
            }
            eprintln!("h2kit: interrupted: finishing the requests in flight, then the report (Ctrl-C again to quit now)");
        }
    });
}

fn interrupted() -> bool {
    INTERRUPTED.load(Relaxed)
}

/// When the run measures and when it stops.
#[derive(Clone, Copy)]
struct Plan {
    start: Instant,
    /// The end of the warm-up: requests due before it are not recorded.
    measure: Instant,
    /// The end of a `-D` run.
    end: Option<Instant>,
    /// Measured requests of a `-n` run.
    requests: Option<u64>,
}

pub fn run(mut args: Args) -> Result<(), Exit> {
    if let Some(inst) = args.instance {
        args.rate = args.rate.map(|r| r / inst.1 as f64);
        if let Some(stages) = &mut args.stages {
            for st in &mut stages.0 {
                st.to /= inst.1 as f64;
            }
        }
        if let Some(n) = args.requests {
            args.requests = Some(share(n, inst));
            if share(n, inst) == 0 {
                return Err(Exit::Usage(format!(
                    "-n {n} is fewer requests than --instance's {} instances",
                    inst.1
                )));
            }
        }
    }
    let template = validate(&args)?;
    let mut mix = match &args.requests_file {
        Some(path) => {
            let ua = template
                .headers
                .get(http::header::USER_AGENT)
                .cloned()
                .unwrap_or(http::HeaderValue::from_static("h2kit"));
            Some(mix::Mix::read(path, &|u| args.client.check_url(u), &ua)?)
        }
        None => None,
    };
    let schedule = match (&args.stages, args.rate) {
        (Some(st), _) => Some(schedule::Schedule::Stages(st.0.clone())),
        (None, Some(r)) => Some(schedule::Schedule::Constant(r)),
        (None, None) => None,
    };
    let rt = crate::runtime::build_for_load(args.threads, schedule.is_none())?;
    rt.block_on(async move {
        // Before any connection: a metric's handle taken earlier would record nothing.
        if let Some(addr) = args.metrics_listen {
            crate::metrics_listen::serve(addr).map_err(Exit::Usage)?;
        }
        let (url, template) = match (&args.url, &mix) {
            (_, Some(m)) => {
                // Each origin once.
                let mut seen = std::collections::HashSet::new();
                for r in &m.requests {
                    let u = &r.parts.uri;
                    if seen.insert((u.scheme_str().map(str::to_owned), u.authority().cloned())) {
                        preflight(u).await?;
                    }
                }
                let path = args
                    .requests_file
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""));
                (
                    format!("{} ({} requests)", path.display(), m.requests.len()),
                    template,
                )
            }
            (Some(u), None) => {
                preflight(&template.uri).await?;
                (u.clone(), template)
            }
            (None, None) => {
                let url = start_embedded().await?;
                let uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
                (url, Template { uri, ..template })
            }
        };
        let mut config = ClientConfig::default();
        config.max_connections_per_origin = args.connections;
        config.max_streams_per_connection = Some(args.streams as u32);
        // The report uses a response's status and body, never its other fields: they are
        // still decoded and checked, but not kept (a response's header map was the largest
        // part of its memory, and with a thousand requests in flight that is what misses the
        // cache).
        config.proto.keep_response_headers = false;
        let client = args.client.client(config)?;
        on_interrupt();
        if let Some(at) = args.start_at {
            // The measured run (after the warm-up) begins at `at`, on every instance.
            let wait = at - time::OffsetDateTime::now_utc() - args.warm_up.unwrap_or_default();
            if let Ok(wait) = Duration::try_from(wait) {
                tokio::time::sleep(wait).await;
            }
        }
        let start = Instant::now();
        let measure = start + args.warm_up.unwrap_or_default();
        let plan = Plan {
            start,
            measure,
            end: match (
                args.requests,
                args.duration,
                schedule.as_ref().and_then(|s| s.length()),
            ) {
                (_, _, Some(length)) => Some(start + length),
                (None, None, None) => Some(measure + Duration::from_secs(3)),
                (_, d, None) => d.map(|d| measure + d),
            },
            requests: args.requests,
        };
        // Shards only keep threads from contending for one lock, and each holds a histogram
        // of a few hundred KiB that the hot path touches: one per thread (two for luck with
        // work stealing), not more, so that they stay in the cache.
        let threads = match args.threads {
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let shards = Arc::new(Shards::new(if threads == 1 { 1 } else { 2 * threads }));
        let progress = progress::start(plan.measure, plan.end, plan.requests, &shards, !args.json);
        let template = Arc::new(match mix.take() {
            Some(m) => m,
            None => mix::Mix::one(template),
        });
        let pollers = args.busy_poll.then(|| busy_poll::start(threads));
        match schedule.clone() {
            Some(sched) => open_loop(&client, &template, plan, sched, &shards).await,
            None => {
                let workers = args.connections * args.streams;
                closed_loop(&client, &template, plan, workers, &shards).await
            }
        }
        let elapsed = Instant::now().saturating_duration_since(plan.measure);
        let started_wall = std::time::SystemTime::now() - elapsed;
        drop(pollers);
        progress.finish();
        let rec = shards.merged();
        // Requests given up (timed out) leave their cancels to the connection tasks: the
        // report counts the resets they send, so it waits (briefly) for the tasks to settle.
        let settle = Instant::now() + Duration::from_secs(1);
        while client.stats().streams_tracked > 0 && Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let stats = client.stats();
        let r = report::Report {
            url: &url,
            connections: args.connections,
            streams: args.streams,
            rate: schedule.as_ref().map(|s| s.mean_rate()),
            stages: args.stages.is_some(),
            warm_up: args.warm_up,
            busy_poll: args.busy_poll,
            elapsed,
            rec: &rec,
            stats: &stats,
            lines: &template.lines,
        };
        let json = r.json();
        if args.json {
            println!("{json}");
        } else {
            print!("{}", r.text());
        }
        if let Some(path) = &args.out {
            let mut doc = result_file::document(json.clone(), &rec, started_wall)?;
            if let Some((i, n)) = args.instance {
                doc["instance"] = format!("{i}/{n}").into();
            }
            std::fs::write(path, doc.to_string())
                .map_err(|e| Exit::Failed(format!("--out {}: {e}", path.display())))?;
        }
        if let Some(path) = &args.report {
            std::fs::write(path, html::render(&r))
                .map_err(|e| format!("--report {}: {e}", path.display()))?;
            if !args.json {
                println!("report: {}", path.display());
            }
        }
        // Breached thresholds are said first; the exit code says the worst of what follows.
        let thresholds = crate::threshold::gate(&args.fail_on, &json);
        if rec.succeeded == 0 {
            let why = rec
                .messages
                .values()
                .find_map(|m| m.first.first())
                .map_or(String::new(), |(m, _)| format!(": {m}"));
            return Err(Exit::Failed(format!(
                "no request succeeded ({} failed){why}",
                rec.failed()
            )));
        }
        if interrupted() {
            return Err(Exit::Interrupted);
        }
        thresholds
    })
}

/// Bad input is one clear line naming the flag, before anything starts.
fn validate(args: &Args) -> Result<Template, String> {
    if args.connections == 0 {
        return Err("-c must be at least 1".into());
    }
    if args.streams == 0 {
        return Err("-m must be at least 1".into());
    }
    if args.requests == Some(0) {
        return Err("-n must be at least 1".into());
    }
    if args.duration == Some(Duration::ZERO) {
        return Err("-D must be longer than 0".into());
    }
    if let Some(at) = args.start_at {
        if at < time::OffsetDateTime::now_utc() - Duration::from_secs(1) {
            return Err(format!(
                "--start-at {}: that time has passed",
                at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ));
        }
    }
    if let Some(p) = &args.out {
        // Said before the run, not after it.
        std::fs::write(p, b"").map_err(|e| format!("--out {}: cannot write: {e}", p.display()))?;
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(format!(
                "--rate {r}: must be a positive number of requests per second"
            ));
        }
    }
    let method: http::Method = args
        .method
        .parse()
        .map_err(|_| format!("-X '{}' is not an HTTP method", args.method))?;
    let body = match &args.data {
        Some(p) => Bytes::from(std::fs::read(p).map_err(|e| format!("-d {}: {e}", p.display()))?),
        None => Bytes::new(),
    };
    let mut headers = crate::headers::parse(&args.headers)?;
    // Like h2load and curl, say who is asking (servers log it); `-H user-agent:…` replaces it.
    if !headers.contains_key(http::header::USER_AGENT) {
        headers.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static(concat!("h2kit/", env!("CARGO_PKG_VERSION"))),
        );
    }
    let uri = match &args.url {
        Some(url) => args.client.check_url(url)?,
        None => http::Uri::from_static("http://127.0.0.1/"),
    };
    Ok(Template {
        uri,
        method,
        headers,
        body,
    })
}

/// One request to its end: Ok((status, body bytes)) or how it failed.
async fn exchange(client: &Client, req: &SharedRequest) -> Result<(u16, u64), Failure> {
    // In a block, so that the response head is gone before the body is awaited: the future
    // keeps no room for it (see `closed_loop` on why its size counts).
    let (status, mut body) = {
        let res = client
            .send_shared(&req.parts, req.body.clone())
            .await
            .map_err(|e| Failure::new(failure_kind(e.kind()), &e))?;
        (res.status().as_u16(), res.into_body())
    };
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| Failure::new(format!("response body: {}", failure_kind(e.kind())), &e))?;
        if let Some(d) = frame.data_ref() {
            bytes += d.len() as u64;
        }
    }
    Ok((status, bytes))
}

/// Records one request's outcome and returns the time it did so; `due` is when it was
/// scheduled (open) or started (closed). `started` also records its start, for a caller that
/// has not (one lock per request instead of two).
fn record(
    shards: &Shards,
    shard: usize,
    plan: &Plan,
    due: Instant,
    started: Option<Instant>,
    outcome: Result<(u16, u64), Failure>,
    line: Option<usize>,
) -> Instant {
    let now = Instant::now();
    let at = now.saturating_duration_since(plan.measure);
    shards.with(shard, |r| {
        if let Some(t) = started {
            r.started(t.saturating_duration_since(plan.measure));
        }
        let latency = now.saturating_duration_since(due);
        if let Some(line) = line {
            r.line(line, outcome.as_ref().ok().map(|(s, _)| (*s, latency)));
        }
        match outcome {
            Ok((status, bytes)) => r.success(at, latency, status, bytes),
            Err(f) => r.failure(at, f),
        }
    });
    now
}

/// `workers` tasks, each with one request in flight at a time.
async fn closed_loop(
    client: &Client,
    template: &Arc<mix::Mix>,
    plan: Plan,
    workers: usize,
    shards: &Arc<Shards>,
) {
    let left = Arc::new(AtomicU64::new(plan.requests.unwrap_or(u64::MAX)));
    // Shared rather than copied into each of the many tasks: every byte of a task's future is
    // touched per request, and 256 more bytes per task measured 9% more CPU per request at
    // `-c10 -m100` (1,000 tasks: their futures alone about fill the L2 cache).
    let plan = Arc::new(plan);
    let mut tasks = Vec::with_capacity(workers);
    for i in 0..workers {
        let (client, template, shards, left, plan) = (
            client.clone(),
            template.clone(),
            shards.clone(),
            left.clone(),
            plan.clone(),
        );
        tasks.push(tokio::spawn(async move {
            // Each request starts when the last one was recorded: one clock read per request.
            let mut t0 = Instant::now();
            // Requests of a `-n` run taken from the shared count but not yet sent.
            let mut mine = 0u64;
            // This worker's sends, for its place in a request mix.
            let mut sent = i as u64;
            loop {
                let measured = t0 >= plan.measure;
                if measured {
                    if mine == 0 {
                        mine = take(&left, workers);
                    }
                    if mine == 0 || plan.end.is_some_and(|e| t0 >= e) || interrupted() {
                        break;
                    }
                    mine -= 1;
                }
                let (line, req) = template.pick(sent);
                sent += workers as u64;
                let outcome = exchange(&client, req).await;
                let line = template.is_mix().then_some(line);
                t0 = if measured {
                    record(&shards, i, &plan, t0, Some(t0), outcome, line)
                } else {
                    Instant::now()
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Takes requests for one worker from the run's count: several at a time while plenty are
/// left (one atomic operation per request showed in profiles), one at a time near the end,
/// so that every worker stays busy to the last request. 0 when none are left.
fn take(left: &AtomicU64, workers: usize) -> u64 {
    let mut took = 0;
    let _ = left.fetch_update(Relaxed, Relaxed, |v| {
        took = (v / (4 * workers as u64)).clamp(1, 16).min(v);
        (took > 0).then(|| v - took)
    });
    took
}

/// Requests scheduled every `1/rate` seconds from the start, each in its own task. The
/// client's pool queues what does not fit into `-c × -m` streams; a bound on outstanding
/// requests keeps memory finite if the server stops answering, and even then each request's
/// latency counts from its scheduled time.
///
/// The schedule runs on its own thread with `thread::sleep` (tens of µs late at most) rather
/// than on tokio's timer, whose 1 ms wheel would add up to a millisecond of the generator's
/// own lateness to every latency.
async fn open_loop(
    client: &Client,
    template: &Arc<mix::Mix>,
    plan: Plan,
    schedule: schedule::Schedule,
    shards: &Arc<Shards>,
) {
    const MAX_OUTSTANDING: u32 = 100_000;
    let outstanding = Arc::new(tokio::sync::Semaphore::new(MAX_OUTSTANDING as usize));
    let rt = tokio::runtime::Handle::current();
    let (client, template, shards, sem) = (
        client.clone(),
        template.clone(),
        shards.clone(),
        outstanding.clone(),
    );
    let scheduler = std::thread::spawn(move || {
        let mut measured = 0u64;
        for i in 0u64.. {
            let Some(due) = schedule.due(i) else { break };
            if interrupted() {
                break;
            }
            let due = plan.start + due;
            let in_measure = due >= plan.measure;
            if in_measure {
                if plan.end.is_some_and(|e| due >= e)
                    || plan.requests.is_some_and(|n| measured >= n)
                {
                    break;
                }
                measured += 1;
            }
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let permit = match sem.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => match rt.block_on(sem.clone().acquire_owned()) {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let (client, template, shards) = (client.clone(), template.clone(), shards.clone());
            rt.spawn(async move {
                let shard = i as usize;
                if in_measure {
                    let at = Instant::now().saturating_duration_since(plan.measure);
                    shards.with(shard, |r| r.started(at));
                }
                let (line, req) = template.pick(i);
                let outcome = exchange(&client, req).await;
                if in_measure {
                    let line = template.is_mix().then_some(line);
                    record(&shards, shard, &plan, due, None, outcome, line);
                }
                drop(permit);
            });
        }
    });
    // The thread ends after its last spawn; wait for it without blocking the runtime.
    let _ = tokio::task::spawn_blocking(move || scheduler.join()).await;
    let _ = outstanding.acquire_many(MAX_OUTSTANDING).await;
}

/// The report's failure categories: the phase for timeouts, the code for resets.
fn failure_kind(k: ErrorKind) -> String {
    match k {
        ErrorKind::Timeout(p) => format!("timeout: {}", p.name()),
        ErrorKind::Reset(code) => format!("RST_STREAM received: {code}"),
        ErrorKind::Refused => "REFUSED_STREAM (after retries)".into(),
        ErrorKind::Unprocessed => "not processed: GOAWAY (after retries)".into(),
        ErrorKind::ConnectionLost { reset: true, .. } => "connection reset (TCP RST)".into(),
        ErrorKind::ConnectionLost { .. } => "connection lost".into(),
        ErrorKind::Connect => "connect failed".into(),
        ErrorKind::Tls => "TLS failed".into(),
        ErrorKind::InvalidRequest => "invalid request".into(),
        ErrorKind::Protocol(code) => format!("RST_STREAM sent: {code}"),
        ErrorKind::NotHttp2 => "not HTTP/2".into(),
        _ => "other".into(),
    }
}

/// An unreachable URL is one clear line, not a report of a hundred thousand failed requests.
async fn preflight(uri: &http::Uri) -> Result<(), String> {
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("cannot reach {uri}: {e}")),
        Err(_) => Err(format!("cannot reach {uri}: connect timed out after 5s")),
    }
}

async fn start_embedded() -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot start the embedded server: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let svc = tower::service_fn(routes::handle);
    tokio::spawn(Server::new(ServerConfig::default()).serve(listener, svc, std::future::pending()));
    Ok(format!("http://{addr}/"))
}
