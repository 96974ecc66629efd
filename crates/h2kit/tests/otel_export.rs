//! With nothing but `tracing-opentelemetry` installed, h2kit's requests come out of the
//! OpenTelemetry SDK as HTTP spans: the conventions' names, kinds, attributes and status.

use std::convert::Infallible;

use bytes::Bytes;
use h2kit::{Client, RecvBody, ServerConfig};
use h2kit_test_support::client::get;
use h2kit_test_support::server;
use http_body_util::Full;
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[test]
fn the_sdk_exports_server_and_client_requests_as_http_spans() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let port = rt.block_on(async {
        let svc = tower::service_fn(|req: http::Request<RecvBody>| async move {
            let mut res = http::Response::new(Full::new(Bytes::from_static(b"items")));
            if req.uri().path() != "/items" {
                *res.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
            }
            Ok::<_, Infallible>(res)
        });
        let s = server::spawn(ServerConfig::default(), svc).await;
        let client = Client::builder().max_connections_per_origin(1).build();
        let res = client.send(get(s.url("/items?page=2"))).await.unwrap();
        assert_eq!(res.status(), 200);
        let res = client.send(get(s.url("/down"))).await.unwrap();
        assert_eq!(res.status(), 503);
        s.addr.port()
    });
    drop(rt);
    drop(guard);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let named = |kind: SpanKind, name: &str| {
        spans
            .iter()
            .find(|s| s.span_kind == kind && s.name == name)
            .unwrap_or_else(|| {
                let seen: Vec<_> = spans.iter().map(|s| (&s.name, &s.span_kind)).collect();
                panic!("no {kind:?} span named {name}: {seen:?}")
            })
    };
    let server = named(SpanKind::Server, "GET /items");
    assert_eq!(
        attribute(server, "http.request.method"),
        Some(&Value::from("GET"))
    );
    assert_eq!(attribute(server, "url.path"), Some(&Value::from("/items")));
    assert_eq!(attribute(server, "url.query"), Some(&Value::from("page=2")));
    assert_eq!(
        attribute(server, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(
        attribute(server, "network.protocol.version"),
        Some(&Value::from("2"))
    );
    assert_eq!(server.status, Status::Unset);
    let failed = named(SpanKind::Server, "GET /down");
    assert_eq!(attribute(failed, "error.type"), Some(&Value::from("503")));
    assert!(
        matches!(failed.status, Status::Error { .. }),
        "{:?}",
        failed.status
    );

    let clients: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 2);
    for c in &clients {
        assert_eq!(c.name, "GET");
        assert_eq!(
            attribute(c, "server.address"),
            Some(&Value::from("127.0.0.1"))
        );
        assert_eq!(
            attribute(c, "server.port"),
            Some(&Value::I64(i64::from(port)))
        );
    }
    let ok = clients
        .iter()
        .find(|c| attribute(c, "http.response.status_code") == Some(&Value::I64(200)))
        .expect("the 200's client span");
    assert_eq!(
        attribute(ok, "url.full"),
        Some(&Value::from(format!(
            "http://127.0.0.1:{port}/items?page=2"
        )))
    );
    assert_eq!(ok.status, Status::Unset);
    let down = clients
        .iter()
        .find(|c| attribute(c, "http.response.status_code") == Some(&Value::I64(503)))
        .expect("the 503's client span");
    assert_eq!(attribute(down, "error.type"), Some(&Value::from("503")));
    assert!(
        matches!(down.status, Status::Error { .. }),
        "{:?}",
        down.status
    );
}
