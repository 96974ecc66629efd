//! `h2kit get URL`: one request, the response printed; `-v` prints every frame with a
//! timestamp, like `nghttp -v`.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use h2kit::{Client, ClientConfig};
use http_body_util::{BodyExt, Full};

use crate::duration;

#[derive(Parser, Debug)]
pub struct Args {
    /// The URL: http:// (h2c with prior knowledge) or https:// (TLS, ALPN h2).
    url: String,
    /// Request method.
    #[arg(short = 'X', long = "request", default_value = "GET")]
    method: String,
    /// A request header, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Request body: a string, or @FILE to read it from a file.
    #[arg(short = 'd', long = "data")]
    data: Option<String>,
    /// Require cleartext HTTP/2 with prior knowledge (rejects https:// URLs).
    #[arg(long)]
    h2c: bool,
    /// Accept any TLS certificate (for self-signed test servers).
    #[arg(short = 'k', long)]
    insecure: bool,
    /// Extra trusted CA certificates (PEM).
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// Connect timeout (e.g. 5s).
    #[arg(long, value_parser = duration::parse)]
    connect_timeout: Option<Duration>,
    /// Time from the request sent to the response headers.
    #[arg(long, value_parser = duration::parse)]
    response_timeout: Option<Duration>,
    /// Deadline for the whole request.
    #[arg(long, value_parser = duration::parse)]
    timeout: Option<Duration>,
    /// Print every frame sent and received, with timestamps.
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(args: Args) -> Result<(), String> {
    if args.verbose {
        use std::io::IsTerminal;
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("h2kit::frame=trace"))
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .with_target(false)
            .with_level(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
    }
    let uri: http::Uri = args
        .url
        .parse()
        .map_err(|e| format!("URL '{}': {e}", args.url))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") if args.h2c => {
            return Err(format!("--h2c needs an http:// URL, not '{}'", args.url))
        }
        Some("https") => {}
        _ => {
            return Err(format!(
                "URL '{}' must start with http:// or https://",
                args.url
            ))
        }
    }
    let method: http::Method = args
        .method
        .parse()
        .map_err(|_| format!("-X '{}' is not an HTTP method", args.method))?;
    let mut req = http::Request::builder().method(method).uri(uri);
    if let Some(h) = req.headers_mut() {
        h.extend(crate::headers::parse(&args.headers)?);
    }
    let body = match &args.data {
        None => Bytes::new(),
        Some(d) => match d.strip_prefix('@') {
            Some(path) => Bytes::from(std::fs::read(path).map_err(|e| format!("-d @{path}: {e}"))?),
            None => Bytes::from(d.clone()),
        },
    };
    let req = req
        .body(Full::new(body))
        .map_err(|e| format!("request: {e}"))?;
    let tls = if args.insecure {
        h2kit::tls::insecure_client_config()
    } else {
        h2kit::tls::client_config(args.cacert.as_deref())?
    };
    let mut config = ClientConfig::default();
    if let Some(t) = args.connect_timeout {
        config.timeouts.connect = Some(t);
    }
    config.timeouts.response_headers = args.response_timeout;
    config.timeouts.total = args.timeout;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let client = Client::builder().config(config).tls(tls).build();
        let res = client.send(req).await.map_err(|e| e.to_string())?;
        let mut out = format!(":status: {}\n", res.status().as_u16());
        for (n, v) in res.headers() {
            out.push_str(&format!(
                "{}: {}\n",
                n,
                String::from_utf8_lossy(v.as_bytes())
            ));
        }
        out.push('\n');
        print!("{out}");
        let mut body = res.into_body();
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("response body: {e}"))?;
            match frame.into_data() {
                Ok(data) => stdout.write_all(&data).map_err(|e| e.to_string())?,
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        for (n, v) in &trailers {
                            eprintln!("trailer {}: {}", n, String::from_utf8_lossy(v.as_bytes()));
                        }
                    }
                }
            }
        }
        stdout.flush().map_err(|e| e.to_string())?;
        Ok(())
    })
}
