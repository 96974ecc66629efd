//! The `h2kit` command.
#![forbid(unsafe_code)]

mod check;
mod client_opts;
mod duration;
mod files;
mod frame_log;
mod get;
mod headers;
mod load;
mod metrics_listen;
mod proxy;
mod response;
mod results;
mod routes;
mod runtime;
mod serve;
mod threshold;
mod tls_opts;
mod websocket;

/// The binary's allocator, chosen by measurement (docs/benchmarks.md). Received DATA stays in
/// the read buffers it arrived in until the last `Bytes` of a buffer is dropped; glibc's
/// malloc hands such freed buffers back to the kernel (`brk` trim) and faults fresh pages in
/// for the next ones, one page fault per 4 KiB of a download. mimalloc keeps and reuses them:
/// a 1 GiB TLS download takes half the CPU, and `serve` 20% fewer instructions per request.
/// The library leaves the choice to its users.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "h2kit",
    version,
    about = "HTTP/2 toolkit: server, client, load generator, proxy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an HTTP/2 server with built-in test routes.
    Serve(serve::Args),
    /// Send one request and print the response (-v: every frame, like nghttp -v).
    Get(get::Args),
    /// Load a URL (or, without one, an embedded h2kit server) and explain every failure.
    // Boxed: its flags outweigh every other command's.
    Load(Box<load::Args>),
    /// A TCP proxy that injects faults (unplug, delay, bandwidth, reset, close) and traces and
    /// watches the HTTP/2 frames passing through.
    Proxy(proxy::Args),
    /// Merge `load --out` result files: exact percentiles, summed counts, thresholds.
    Report(results::Args),
    /// Check a server's conformance (RFC 9113, RFC 7541) and citizenship, case by case.
    Check(check::Args),
}

/// How a command failed: bad input (exit 2) or a run that did not do its job (exit 1).
pub enum Exit {
    Usage(String),
    Failed(String),
    /// Ctrl-C ended the run; what it measured was reported (exit 130, as shells do).
    Interrupted,
}

impl From<String> for Exit {
    fn from(s: String) -> Exit {
        Exit::Usage(s)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go out as clap writes them; a usage error is one line naming the
        // flag or value, and exit code 2.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let mut lines = text.lines();
            let first = lines.next().unwrap_or_default();
            // "the following required arguments were not provided:" names them on the next
            // line.
            let line = match first.ends_with(':') {
                true => format!("{first} {}", lines.next().unwrap_or_default().trim()),
                false => first.to_string(),
            };
            eprintln!("h2kit: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).map_err(Exit::Usage),
        Command::Get(args) => get::run(args),
        Command::Load(args) => load::run(*args),
        Command::Proxy(args) => proxy::run(args).map_err(Exit::Usage),
        Command::Check(args) => check::run(args),
        Command::Report(args) => results::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit::Usage(msg)) => {
            eprintln!("h2kit: {msg}");
            ExitCode::from(2)
        }
        Err(Exit::Failed(msg)) => {
            eprintln!("h2kit: {msg}");
            ExitCode::from(1)
        }
        Err(Exit::Interrupted) => ExitCode::from(130),
    }
}
