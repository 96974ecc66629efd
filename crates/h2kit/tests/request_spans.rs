//! Each request has a `tracing` span on both sides, named and attributed by the
//! OpenTelemetry HTTP conventions (what `tracing-opentelemetry` exports), and the frame
//! trace events of its stream are its children. Recorded by a subscriber of the test's own.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use h2kit::{Client, RecvBody, ServerConfig};
use h2kit_test_support::client::get;
use h2kit_test_support::server;
use http_body_util::Full;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

type Fields = BTreeMap<String, String>;
/// An event: its target, fields, and the index of its parent span in `Seen::spans`.
type EventSeen = (String, Fields, Option<usize>);

#[derive(Clone, Default)]
struct Seen {
    /// Every span: its name and fields (as last recorded).
    spans: Arc<Mutex<Vec<(String, Fields)>>>,
    events: Arc<Mutex<Vec<EventSeen>>>,
}

struct Index(usize);

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Seen {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Collect(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        spans.push((attrs.metadata().name().to_string(), fields));
        ctx.span(id)
            .unwrap()
            .extensions_mut()
            .insert(Index(spans.len() - 1));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let ext = span.extensions();
        let i = ext.get::<Index>().unwrap().0;
        values.record(&mut Collect(&mut self.spans.lock().unwrap()[i].1));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        let parent = ctx
            .event_span(event)
            .and_then(|s| s.extensions().get::<Index>().map(|i| i.0));
        let target = event.metadata().target().to_string();
        self.events.lock().unwrap().push((target, fields, parent));
    }
}

/// Runs `work` on one thread (so every task runs under the test's subscriber); returns its
/// output and the spans and events recorded meanwhile.
fn recorded<T>(
    work: impl std::future::Future<Output = T>,
) -> (T, Vec<(String, Fields)>, Vec<EventSeen>) {
    let seen = Seen::default();
    let subscriber = tracing_subscriber::registry().with(seen.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(work);
    drop(rt);
    drop(guard);
    let spans = seen.spans.lock().unwrap().clone();
    let events = seen.events.lock().unwrap().clone();
    (out, spans, events)
}

#[test]
fn requests_have_conventions_spans_and_their_frames_nest_in_them() {
    let (port, spans, events) = recorded(async {
        let svc = tower::service_fn(|req: http::Request<RecvBody>| async move {
            tracing::info!(target: "handler", "handling");
            let status = if req.uri().path() == "/missing" {
                404
            } else {
                200
            };
            let mut res = http::Response::new(Full::new(Bytes::from_static(b"hello")));
            *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok::<_, Infallible>(res)
        });
        let s = server::spawn(ServerConfig::default(), svc).await;
        let client = Client::builder().max_connections_per_origin(1).build();
        let res = client.send(get(s.url("/hello?x=1"))).await.unwrap();
        assert_eq!(res.status(), 200);
        let res = client.send(get(s.url("/missing"))).await.unwrap();
        assert_eq!(res.status(), 404);
        s.addr.port()
    });
    let find = |kind: &str, name: &str| {
        spans
            .iter()
            .position(|(n, f)| {
                n == "HTTP request"
                    && f.get("otel.kind").map(String::as_str) == Some(kind)
                    && f.get("otel.name").map(String::as_str) == Some(name)
            })
            .unwrap_or_else(|| panic!("no {kind} span {name}: {spans:#?}"))
    };
    // The server's: `{method} {path}`, the conventions' attributes, the status.
    let server = find("server", "GET /hello");
    let f = &spans[server].1;
    assert_eq!(f["http.request.method"], "GET");
    assert_eq!(f["url.path"], "/hello");
    assert_eq!(f["url.query"], "x=1");
    assert_eq!(f["url.scheme"], "http");
    assert_eq!(f["network.protocol.version"], "2");
    assert_eq!(f["http.response.status_code"], "200");
    assert!(!f.contains_key("error.type"), "{f:?}");
    // A 404 is not a server error, but it is a client's.
    let missing = &spans[find("server", "GET /missing")].1;
    assert!(!missing.contains_key("error.type"), "{missing:?}");
    let client_spans: Vec<usize> = (0..spans.len())
        .filter(|i| spans[*i].1.get("otel.kind").map(String::as_str) == Some("client"))
        .collect();
    assert_eq!(client_spans.len(), 2, "{spans:#?}");
    let (hello, missing) = (&spans[client_spans[0]].1, &spans[client_spans[1]].1);
    assert_eq!(hello["otel.name"], "GET");
    assert_eq!(hello["server.address"], "127.0.0.1");
    assert_eq!(hello["server.port"], port.to_string());
    assert_eq!(
        hello["url.full"],
        format!("http://127.0.0.1:{port}/hello?x=1")
    );
    assert_eq!(hello["http.response.status_code"], "200");
    assert!(!hello.contains_key("http.request.resend_count"));
    assert_eq!(missing["error.type"], "404");
    assert_eq!(missing["otel.status_code"], "ERROR");
    // The handler runs in its request's span.
    let handled = events
        .iter()
        .find(|(t, _, _)| t == "handler")
        .expect("the handler's event");
    assert_eq!(handled.2, Some(server));
    // The frames of each stream are children of its request's span: the request's HEADERS
    // as the client sends it, the response as the server sends it and the client receives
    // it. (The request's HEADERS as the server receives it comes before its span exists.)
    let frames = |parent: usize| -> Vec<String> {
        events
            .iter()
            .filter(|(t, _, p)| t == "h2kit::frame" && *p == Some(parent))
            .map(|(_, f, _)| format!("{} {}", f["direction"], f["frame_type"]))
            .collect()
    };
    let c = frames(client_spans[0]);
    assert!(c.contains(&"send HEADERS".to_string()), "{c:?}");
    assert!(c.contains(&"recv HEADERS".to_string()), "{c:?}");
    assert!(c.contains(&"recv DATA".to_string()), "{c:?}");
    let s = frames(server);
    assert!(s.contains(&"send HEADERS".to_string()), "{s:?}");
    assert!(s.contains(&"send DATA".to_string()), "{s:?}");
    assert!(s.iter().all(|f| f.starts_with("send")), "{s:?}");
    // Connection frames belong to no request.
    for (t, f, p) in &events {
        if t == "h2kit::frame" && f["stream_id"] == "0" {
            assert_eq!(*p, None, "{f:?}");
        }
    }
}

#[test]
fn a_retried_request_has_a_span_per_attempt_with_its_resend_count() {
    // Python's h2 refusing every third stream.
    let refusing = h2kit_test_support::peers::Scripted::start("refuse-third");
    let ((), spans, _) = recorded(async {
        let client = Client::builder().max_connections_per_origin(1).build();
        for _ in 0..3 {
            let res = client.send(get(refusing.url("/"))).await.unwrap();
            assert_eq!(res.status(), 200);
        }
    });
    let attempts: Vec<&Fields> = spans
        .iter()
        .filter(|(_, f)| f.get("otel.kind").map(String::as_str) == Some("client"))
        .map(|(_, f)| f)
        .collect();
    assert_eq!(attempts.len(), 4, "{attempts:#?}");
    assert_eq!(attempts[2]["error.type"], "REFUSED_STREAM");
    assert!(!attempts[2].contains_key("http.request.resend_count"));
    assert_eq!(attempts[3]["http.request.resend_count"], "1");
    assert_eq!(attempts[3]["http.response.status_code"], "200");
}
