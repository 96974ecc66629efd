//! The `tracing` span of each request, named and attributed as the OpenTelemetry HTTP
//! conventions say, so that `tracing-opentelemetry` exports h2kit's requests as HTTP spans
//! without glue: the span's name (`otel.name`) is `{method} {path}` on a server and
//! `{method}` on a client, `otel.kind` its kind, and the attributes the conventions'.
//!
//! Spans are at INFO level under the target `h2kit::request`. Where nothing listens to that
//! target, a request pays one check of the callsite's interest and nothing else: the span
//! is boxed and kept, and the handler wrapped, only when it is enabled. The frames of a
//! request's stream are traced as the span's children (`Connection::set_stream_span`).

use tracing::field::Empty;
use tracing::Span;

use crate::metrics::semconv::{error_type, method_index, method_label, Failure};

/// The target of request spans.
pub(crate) const TARGET: &str = "h2kit::request";

/// A server request's span, if anything listens.
#[inline]
pub(crate) fn server<B>(req: &http::Request<B>, stream: u32) -> Option<Box<Span>> {
    // The callsite's interest, inline: nothing more is paid when nobody listens.
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return None;
    }
    server_span(req, stream)
}

#[inline(never)]
fn server_span<B>(req: &http::Request<B>, stream: u32) -> Option<Box<Span>> {
    let span = tracing::info_span!(
        target: TARGET,
        "HTTP request",
        otel.name = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = Empty,
        http.request.method_original = Empty,
        url.scheme = Empty,
        url.path = Empty,
        url.query = Empty,
        server.address = Empty,
        user_agent.original = Empty,
        network.protocol.name = "http",
        network.protocol.version = "2",
        http.response.status_code = Empty,
        error.type = Empty,
        // Integers as i64: tracing-opentelemetry exports other integer types as strings.
        h2.stream_id = i64::from(stream),
    );
    if span.is_disabled() {
        return None;
    }
    let uri = req.uri();
    let method = method_label(method_index(req.method()));
    span.record("otel.name", format_args!("{} {}", req.method(), uri.path()));
    span.record("http.request.method", method);
    if method == "_OTHER" {
        span.record("http.request.method_original", req.method().as_str());
    }
    span.record("url.scheme", uri.scheme_str().unwrap_or("http"));
    span.record("url.path", uri.path());
    if let Some(q) = uri.query() {
        span.record("url.query", q);
    }
    if let Some(a) = uri.authority() {
        span.record("server.address", a.host());
    }
    if let Some(ua) = req.headers().get(http::header::USER_AGENT) {
        if let Ok(ua) = ua.to_str() {
            span.record("user_agent.original", ua);
        }
    }
    Some(Box::new(span))
}

/// A client request's span (one per attempt: `resend` counts the attempts before it), if
/// anything listens. Its parent is the caller's current span.
#[inline]
pub(crate) fn client(parts: &http::request::Parts, resend: u32) -> Option<Box<Span>> {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return None;
    }
    client_span(parts, resend)
}

#[inline(never)]
fn client_span(parts: &http::request::Parts, resend: u32) -> Option<Box<Span>> {
    let span = tracing::info_span!(
        target: TARGET,
        "HTTP request",
        otel.name = Empty,
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = Empty,
        http.request.method_original = Empty,
        server.address = Empty,
        server.port = Empty,
        url.full = Empty,
        network.protocol.name = "http",
        network.protocol.version = "2",
        http.request.resend_count = Empty,
        http.response.status_code = Empty,
        error.type = Empty,
        h2.stream_id = Empty,
    );
    if span.is_disabled() {
        return None;
    }
    let method = method_label(method_index(&parts.method));
    span.record("otel.name", method);
    span.record("http.request.method", method);
    if method == "_OTHER" {
        span.record("otel.name", "HTTP");
        span.record("http.request.method_original", parts.method.as_str());
    }
    let uri = &parts.uri;
    if let Some(a) = uri.authority() {
        span.record("server.address", a.host());
        let https = uri.scheme_str() == Some("https");
        let port = a.port_u16().unwrap_or(if https { 443 } else { 80 });
        span.record("server.port", i64::from(port));
    }
    span.record("url.full", tracing::field::display(uri));
    if resend > 0 {
        span.record("http.request.resend_count", i64::from(resend));
    }
    Some(Box::new(span))
}

/// Records how the request ended: its status (0: none), and why it failed, if it did (a
/// server's request is an error for a failure or a 5xx, a client's also for a 4xx).
pub(crate) fn finish(span: &Span, status: u16, failure: Option<Failure>, server: bool) {
    if status != 0 {
        span.record("http.response.status_code", i64::from(status));
    }
    if let Some(e) = error_type(failure, status, server) {
        span.record("error.type", &*e);
        span.record("otel.status_code", "ERROR");
    }
}
