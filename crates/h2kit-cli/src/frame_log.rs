//! How `get -v`, `serve --log frames` and `proxy --trace` print the frame trace (events of
//! target `h2kit::frame`): as `nghttp -v` does (`text`), or one JSON object per frame in the
//! qlog HTTP/2 dialect that qvis reads (`json`, see docs/trace.md). Other log events go
//! through the usual formatter.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    /// As `nghttp -v` prints frames.
    Text,
    /// JSON Lines: `http2:frame_created` / `http2:frame_parsed` events (qlog).
    Json,
}

/// The frame trace's flags, shared by `get`, `serve` and `proxy`.
#[derive(Args, Debug, Clone)]
pub struct TraceOpts {
    /// How the frame trace is printed.
    #[arg(long, value_enum, default_value = "text")]
    pub trace_format: TraceFormat,
    /// Show the values of authorization, proxy-authorization, cookie and set-cookie fields in
    /// the frame trace (redacted otherwise).
    #[arg(long)]
    pub trace_secrets: bool,
}

/// Installs the global subscriber: `filter` for everything, frames formatted as asked, the
/// rest by the usual formatter on stderr; `target` and `level` shown on those or not.
pub fn init(filter: EnvFilter, opts: &TraceOpts, plain: bool) {
    use std::io::IsTerminal;
    h2kit::proto::trace::reveal_secrets(opts.trace_secrets);
    // The filter's most verbose level, given to both layers: a layer without a hint would
    // let every `trace!` and `debug!` in the process pass the static level check and pay for
    // a dynamic one (measured: 500 instructions more per request in `h2kit serve`).
    let hint = <EnvFilter as Layer<tracing_subscriber::Registry>>::max_level_hint(&filter)
        .unwrap_or(tracing::level_filters::LevelFilter::TRACE);
    let not_frames =
        tracing_subscriber::filter::filter_fn(|m| m.target() != h2kit::proto::trace::TARGET)
            .with_max_level_hint(hint);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_target(!plain)
        .with_level(!plain)
        .with_filter(not_frames);
    let frames = FrameLog {
        format: opts.trace_format,
        start: Instant::now(),
        hint,
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(frames)
        .init();
    debug_assert!(tracing::level_filters::LevelFilter::current() <= hint);
}

struct FrameLog {
    format: TraceFormat,
    start: Instant,
    hint: tracing::level_filters::LevelFilter,
}

/// Frame trace lines kept in memory (`check` shows the frames of a failed case).
pub type Captured = std::sync::Arc<std::sync::Mutex<String>>;

/// A subscriber that formats frame events as text into the returned buffer and drops every
/// other event; to be used with `tracing::dispatcher::with_default` around what is traced.
pub fn capture() -> (tracing::Dispatch, Captured) {
    let buf = Captured::default();
    let layer = Capture {
        start: Instant::now(),
        buf: buf.clone(),
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target(h2kit::proto::trace::TARGET, tracing::Level::TRACE);
    let dispatch =
        tracing::Dispatch::new(tracing_subscriber::registry().with(layer.with_filter(filter)));
    (dispatch, buf)
}

struct Capture {
    start: Instant,
    buf: Captured,
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = FrameEvent::default();
        event.record(&mut f);
        let line = f.text(self.start.elapsed().as_secs_f64());
        if let Ok(mut b) = self.buf.lock() {
            b.push_str(&line);
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for FrameLog {
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(self.hint)
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != h2kit::proto::trace::TARGET {
            return;
        }
        let mut f = FrameEvent::default();
        event.record(&mut f);
        let secs = self.start.elapsed().as_secs_f64();
        let line = match self.format {
            TraceFormat::Text => f.text(secs),
            TraceFormat::Json => f.json(secs).to_string() + "\n",
        };
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// One frame event's fields.
#[derive(Default)]
struct FrameEvent {
    fields: Vec<(&'static str, Value)>,
}

impl FrameEvent {
    fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn str(&self, name: &str) -> &str {
        self.get(name).and_then(Value::as_str).unwrap_or_default()
    }

    fn num(&self, name: &str) -> u64 {
        self.get(name).and_then(Value::as_u64).unwrap_or_default()
    }

    /// A field that holds JSON text (settings, headers), parsed.
    fn parsed(&self, name: &str) -> Option<Vec<(String, Value)>> {
        let text = self.get(name)?.as_str()?;
        let Value::Array(items) = serde_json::from_str(text).ok()? else {
            return None;
        };
        Some(
            items
                .into_iter()
                .map(|i| {
                    (
                        i["name"].as_str().unwrap_or_default().to_string(),
                        i["value"].clone(),
                    )
                })
                .collect(),
        )
    }

    /// `nghttp -v`'s layout: a line per frame, then its details indented.
    fn text(&self, secs: f64) -> String {
        let mut o = String::new();
        let who = match self.get("conn") {
            Some(c) => format!("conn {c} {}", arrow(self.str("from"))),
            None => self.str("direction").to_string(),
        };
        let kind = self.str("frame_type");
        let _ = writeln!(
            o,
            "[{secs:>8.3}] {who} {kind} frame <length={}, flags=0x{:02x}, stream_id={}>",
            self.num("length"),
            self.num("flags"),
            self.num("stream_id")
        );
        let pad = "           ";
        if let Some(names) = self.get("flag_names").and_then(Value::as_str) {
            let _ = writeln!(o, "{pad}; {}", names.replace('|', " | "));
        }
        let mut paren = Vec::new();
        for key in [
            "pad_length",
            "dependency",
            "weight",
            "exclusive",
            "promised_stream_id",
            "last_stream_id",
            "error_code",
            "window_size_increment",
            "opaque_data",
            "unknown_type",
        ] {
            if let Some(v) = self.get(key) {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                paren.push(format!("{key}={v}"));
            }
        }
        if let Some(d) = self.get("debug_data").and_then(Value::as_str) {
            paren.push(format!("debug_data({})={d:?}", d.len()));
        }
        if !paren.is_empty() {
            let _ = writeln!(o, "{pad}({})", paren.join(", "));
        }
        if let Some(settings) = self.parsed("settings") {
            let _ = writeln!(o, "{pad}(niv={})", settings.len());
            for (name, value) in settings {
                let _ = writeln!(o, "{pad}[{name}:{value}]");
            }
        }
        if let Some(headers) = self.parsed("headers") {
            for (name, value) in headers {
                let _ = writeln!(o, "{pad}{name}: {}", value.as_str().unwrap_or_default());
            }
        }
        o
    }

    /// A qlog event: `http2:frame_created` for a frame sent, `http2:frame_parsed` for one
    /// received or seen passing (the proxy, which adds `group_id` and `from`).
    fn json(&self, secs: f64) -> Value {
        let kind = self.str("frame_type");
        let mut frame = Map::new();
        frame.insert("frame_type".into(), json!(qlog_type(kind)));
        frame.insert("byte_length".into(), json!(self.num("length")));
        let names = self.str("flag_names");
        let flags: Vec<&str> = names.split('|').filter(|s| !s.is_empty()).collect();
        frame.insert("flags".into(), json!(flags));
        if kind == "DATA" || kind == "HEADERS" {
            frame.insert("stream_end".into(), json!(flags.contains(&"END_STREAM")));
        }
        for (key, value) in &self.fields {
            match *key {
                "direction" | "conn" | "from" | "frame_type" | "flags" | "flag_names"
                | "stream_id" | "length" => {}
                "settings" | "headers" => {
                    let list = self.parsed(key).unwrap_or_default();
                    let list: Vec<Value> = list
                        .into_iter()
                        .map(|(n, v)| json!({"name": n, "value": v}))
                        .collect();
                    frame.insert((*key).into(), json!(list));
                }
                _ => {
                    frame.insert((*key).into(), value.clone());
                }
            }
        }
        let mut data = Map::new();
        data.insert("stream_id".into(), json!(self.num("stream_id")));
        data.insert("payload_length".into(), json!(self.num("length")));
        data.insert("header_length".into(), json!(9));
        let mut event = Map::new();
        event.insert("time".into(), json!((secs * 1e6).round() / 1e3));
        let name = match self.get("conn") {
            Some(conn) => {
                event.insert("group_id".into(), conn.clone());
                data.insert("from".into(), json!(self.str("from")));
                "http2:frame_parsed"
            }
            None if self.str("direction") == "send" => "http2:frame_created",
            None => "http2:frame_parsed",
        };
        event.insert("name".into(), json!(name));
        data.insert("frame".into(), Value::Object(frame));
        event.insert("data".into(), Value::Object(data));
        Value::Object(event)
    }
}

fn arrow(from: &str) -> &'static str {
    match from {
        "client" => "c→s",
        _ => "s→c",
    }
}

/// qlog's names of the frame types.
fn qlog_type(kind: &str) -> String {
    match kind {
        "RST_STREAM" => "reset_stream".into(),
        "GOAWAY" => "go_away".into(),
        k => k.to_ascii_lowercase(),
    }
}

impl Visit for FrameEvent {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.fields
            .push((field.name(), json!(format!("{value:?}"))));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields.push((field.name(), json!(value)));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name(), json!(value)));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), json!(value)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), json!(value)));
    }
}
