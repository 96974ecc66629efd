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
    /// Write the response body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    /// Open a WebSocket over HTTP/2 (RFC 8441 extended CONNECT) to the URL (ws://, wss://,
    /// http:// or https://): each line of stdin is sent as a text message, and each message
    /// received is printed on a line.
    #[arg(long, conflicts_with_all = ["method", "data", "output"])]
    ws: bool,
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
    let url = match args.url.split_once("://") {
        Some(("ws", rest)) if args.ws => format!("http://{rest}"),
        Some(("wss", rest)) if args.ws => format!("https://{rest}"),
        _ => args.url.clone(),
    };
    let uri = args.client.check_url(&url)?;
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
    if args.ws {
        let (parts, _) = req.into_parts();
        return rt.block_on(crate::websocket::client(client, parts.uri, parts.headers));
    }
    rt.block_on(async move {
        // An unwritable -o is bad input, said before anything is sent.
        let mut sink = Sink::new(args.output.as_deref())?;
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
        // The body goes to stdout's descriptor directly (see `raw_stdout`): the head first.
        std::io::Write::flush(&mut std::io::stdout())
            .map_err(|e| crate::Exit::Failed(format!("writing to stdout: {e}")))?;
        let mut body = res.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| crate::Exit::Failed(format!("response body: {e}")))?;
            match frame.into_data() {
                Ok(data) => sink.push(data)?,
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        for (n, v) in &trailers {
                            eprintln!("trailer {}: {}", n, String::from_utf8_lossy(v.as_bytes()));
                        }
                    }
                }
            }
        }
        sink.finish()?;
        Ok(())
    })
}

/// Where the body goes: stdout or `-o FILE`. Chunks (16 KiB DATA frames) are kept until
/// `GATHER` bytes have gathered, then written with one vectored write: one syscall per
/// gather rather than one per frame, and the read buffers they share are freed together
/// rather than one by one (which had the allocator grow and trim the heap with `brk` every
/// 128 KiB).
struct Sink {
    out: Box<dyn std::io::Write>,
    what: String,
    pending: Vec<Bytes>,
    len: usize,
}

const GATHER: usize = 256 << 10;

/// Stdout as a plain file: `Stdout` is line-buffered, so each of its writes scans the whole
/// body for newlines (5% of a TLS download's CPU). The head printed before is flushed first so
/// the order on the descriptor stays the same.
fn raw_stdout() -> Result<std::fs::File, crate::Exit> {
    use std::io::Write as _;
    use std::os::fd::AsFd as _;
    let out = std::io::stdout();
    out.lock()
        .flush()
        .map_err(|e| crate::Exit::Failed(format!("writing to stdout: {e}")))?;
    let fd = out
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| crate::Exit::Failed(format!("cannot use stdout: {e}")))?;
    Ok(std::fs::File::from(fd))
}

impl Sink {
    fn new(path: Option<&std::path::Path>) -> Result<Sink, crate::Exit> {
        let (out, what): (Box<dyn std::io::Write>, String) = match path {
            Some(p) => (
                Box::new(
                    std::fs::File::create(p)
                        .map_err(|e| format!("-o {}: cannot create: {e}", p.display()))?,
                ),
                format!("-o {}", p.display()),
            ),
            None => (Box::new(raw_stdout()?), "stdout".to_string()),
        };
        Ok(Sink {
            out,
            what,
            pending: Vec::new(),
            len: 0,
        })
    }

    fn push(&mut self, data: Bytes) -> Result<(), crate::Exit> {
        self.len += data.len();
        self.pending.push(data);
        if self.len >= GATHER {
            self.write_pending()?;
        }
        Ok(())
    }

    fn write_pending(&mut self) -> Result<(), crate::Exit> {
        let mut slices: Vec<std::io::IoSlice<'_>> = self
            .pending
            .iter()
            .map(|b| std::io::IoSlice::new(b))
            .collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = self
                .out
                .write_vectored(rest)
                .map_err(|e| crate::Exit::Failed(format!("writing to {}: {e}", self.what)))?;
            if n == 0 {
                return Err(crate::Exit::Failed(format!(
                    "writing to {}: no room",
                    self.what
                )));
            }
            std::io::IoSlice::advance_slices(&mut rest, n);
        }
        self.pending.clear();
        self.len = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<(), crate::Exit> {
        self.write_pending()?;
        self.out
            .flush()
            .map_err(|e| crate::Exit::Failed(format!("writing to {}: {e}", self.what)))
    }
}
