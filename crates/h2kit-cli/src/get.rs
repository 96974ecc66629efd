//! `h2kit get URL`: one request, the response printed; `-v` prints every frame with a
//! timestamp, like `nghttp -v`.

use bytes::Bytes;
use clap::Parser;
use h2kit::ClientConfig;
use http_body_util::{BodyExt, Full};

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
    #[command(flatten)]
    client: crate::client_opts::ClientOpts,
    /// Print every frame sent and received, with timestamps (on stderr).
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    trace: crate::frame_log::TraceOpts,
}

pub fn run(args: Args) -> Result<(), crate::Exit> {
    if args.verbose {
        let filter = tracing_subscriber::EnvFilter::new("h2kit::frame=trace");
        crate::frame_log::init(filter, &args.trace, true);
    }
    let uri = args.client.check_url(&args.url)?;
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
    let client = args.client.client(ClientConfig::default())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        // The request failed: a run that did not do its job (exit 1), not bad input.
        let res = client
            .send(req)
            .await
            .map_err(|e| crate::Exit::Failed(e.to_string()))?;
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
            let frame = frame.map_err(|e| crate::Exit::Failed(format!("response body: {e}")))?;
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
