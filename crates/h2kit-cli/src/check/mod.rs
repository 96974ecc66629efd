//! `h2kit check`: a conformance and good-citizen checker. `check server URL` plays a client
//! that sends each case's frames (valid or not) to a live server and judges the answer
//! against the RFC section the case cites; see docs/check.md.

mod block;
mod case;
mod citizen;
mod client_cases;
mod client_citizen;
mod command;
mod judge;
mod play;
mod report;
mod server_cases;
mod wire;

use std::io::Write as _;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args as ClapArgs, Subcommand};

use case::{Group, Outcome, Verdict};
use wire::Target;

#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Print every case (group, identifier, RFC section, what it checks) and exit.
    #[arg(long)]
    list: bool,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Check a live server: h2c (http://) or TLS (https://).
    Server(ServerArgs),
    /// Check a client: h2kit plays a scripted server per case and runs the command after
    /// `--` with `{url}` replaced by that server's URL.
    Client(ClientArgs),
}

#[derive(ClapArgs, Debug)]
struct ClientArgs {
    /// The scripted servers speak TLS, with a certificate made for localhost and 127.0.0.1;
    /// `{cacert}` in the command is replaced by its file (or give the client -k).
    #[arg(long)]
    tls: bool,
    /// Only these groups (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Group>,
    /// Only the cases whose identifier starts with this (repeatable).
    #[arg(long = "case", value_name = "PREFIX")]
    cases: Vec<String>,
    /// How long a case waits for the client (to start, connect and answer).
    #[arg(long, value_parser = crate::duration::parse, default_value = "3s", value_name = "DURATION")]
    timeout: Duration,
    /// How long a citizen case lets the command run (it answers every request the command
    /// makes, on every connection it opens).
    #[arg(long, value_parser = crate::duration::parse, default_value = "20s", value_name = "DURATION")]
    citizen_timeout: Duration,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// The client command and its arguments, after `--`; `{url}` is the URL to fetch.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(ClapArgs, Debug)]
struct ServerArgs {
    /// The server: http://HOST:PORT/PATH (h2c with prior knowledge) or https://…; requests
    /// go to PATH, which should answer GET and POST.
    url: String,
    /// Only these groups (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Group>,
    /// Only the cases whose identifier starts with this (repeatable), e.g. `6.5` or `citizen/churn`.
    #[arg(long = "case", value_name = "PREFIX")]
    cases: Vec<String>,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long)]
    insecure: bool,
    /// Extra trusted certificates (PEM).
    #[arg(long, value_name = "PEM")]
    cacert: Option<PathBuf>,
    /// How long a case waits for the server's answer.
    #[arg(long, value_parser = crate::duration::parse, default_value = "2s", value_name = "DURATION")]
    timeout: Duration,
    /// Streams the concurrency-limit churn runs through.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    churn_streams: u64,
    /// Requests the reset-closed-and-ping case makes.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    reset_streams: u64,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// The citizen cases (code, not data: they run thousands of streams).
const CITIZEN: &[(&str, &str, &str)] = &[
    (
        "churn",
        "RFC 9113 §5.1.2",
        "streams kept at exactly MAX_CONCURRENT_STREAMS, each replaced the moment its END_STREAM \
         arrives, are never refused",
    ),
    (
        "reset-closed-and-ping",
        "RFC 9113 §5.1, §6.7",
        "a client that resets each closed stream and sends a PING after it is not punished",
    ),
    (
        "graceful-goaway",
        "RFC 9113 §6.8",
        "after a GOAWAY (NO_ERROR) during the churn, the streams at or below its last stream \
         identifier are answered",
    ),
];

pub fn run(args: Args) -> Result<(), crate::Exit> {
    if args.list {
        list();
        return Ok(());
    }
    match args.mode {
        Some(Mode::Server(a)) => server(a),
        Some(Mode::Client(a)) => client(a),
        None => Err(crate::Exit::Usage(
            "check needs a mode: `h2kit check server URL`, `h2kit check client -- COMMAND \
             {url}` (or --list)"
                .into(),
        )),
    }
}

fn list() {
    let line = |id: &str, title: &str, section: &str| format!("  {id:<34} {title} ({section})\n");
    let cases = |title: &str,
                 cases: &mut dyn Iterator<Item = &'static case::Case>,
                 citizen: &[(&str, &str, &str)]| {
        let mut out = format!("{title}\n");
        let mut last = None;
        for c in cases {
            if last != Some(c.group) {
                out.push_str(&report::heading(c.group));
                last = Some(c.group);
            }
            out.push_str(&line(c.id, c.title, c.section));
        }
        out.push_str(&report::heading(Group::Citizen));
        for (id, section, title) in citizen {
            out.push_str(&line(&format!("citizen/{id}"), title, section));
        }
        out
    };
    print!(
        "{}\n{}",
        cases("check server", &mut server_cases::all(), CITIZEN),
        cases(
            "check client",
            &mut client_cases::CASES.iter(),
            client_citizen::CASES
        )
    );
}

fn target(a: &ServerArgs) -> Result<Target, String> {
    let uri: http::Uri = a.url.parse().map_err(|e| format!("URL '{}': {e}", a.url))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(format!(
                "URL '{}' must start with http:// or https:// and name a host",
                a.url
            ))
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| format!("URL '{}' names no host", a.url))?;
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("URL '{}': cannot resolve {host}: {e}", a.url))?
        .next()
        .ok_or_else(|| format!("URL '{}': {host} has no address", a.url))?;
    let tls = if tls {
        let mut config = if a.insecure {
            h2kit::tls::insecure_client_config()
        } else {
            h2kit::tls::client_config(a.cacert.as_deref())?
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let name = rustls::pki_types::ServerName::try_from(bare.to_string())
            .map_err(|_| format!("URL '{}': '{host}' is not a name TLS can verify", a.url))?;
        Some((Arc::new(config), name))
    } else {
        None
    };
    Ok(Target {
        addr,
        tls,
        authority: uri.authority().map_or(host.to_string(), |x| x.to_string()),
        path: uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string()),
    })
}

/// Whether `--only` and `--case` select the case `group`/`id`.
fn wanted(only: &[Group], cases: &[String], group: Group, id: &str) -> bool {
    let full = format!("{}/{id}", group.name());
    (only.is_empty() || only.contains(&group))
        && (cases.is_empty()
            || cases
                .iter()
                .any(|p| id.starts_with(p.as_str()) || full.starts_with(p.as_str())))
}

/// Runs `f` with the frame trace captured; the trace is kept for a failed case only.
fn traced(f: impl FnOnce() -> Verdict) -> (Verdict, String) {
    let (dispatch, buf) = crate::frame_log::capture();
    let v = tracing::dispatcher::with_default(&dispatch, f);
    let frames = match v {
        Verdict::Failed(_) => buf.lock().map(|b| b.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    (v, frames)
}

fn server(a: ServerArgs) -> Result<(), crate::Exit> {
    let t = target(&a)?;
    if let Some(path) = &a.junit {
        std::fs::File::create(path)
            .map_err(|e| format!("--junit {}: cannot create: {e}", path.display()))?;
    }
    let what = format!("h2kit check server {}", a.url);
    let mut progress = report::Progress::new(a.json, &what);
    for c in server_cases::all() {
        if !wanted(&a.only, &a.cases, c.group, c.id) {
            continue;
        }
        let begun = Instant::now();
        let (verdict, frames) = traced(|| judge::run(c, &t, a.timeout));
        progress.push(Outcome::of(c, verdict, frames, begun));
    }
    let citizen = |id: &str| wanted(&a.only, &a.cases, Group::Citizen, id);
    if citizen("churn") || citizen("graceful-goaway") {
        let begun = Instant::now();
        let churn = citizen::churn(&t, a.churn_streams, a.timeout);
        if citizen("churn") {
            progress.push(Outcome::citizen(CITIZEN[0], churn.verdict.clone(), begun));
        }
        if citizen("graceful-goaway") {
            let v = churn.goaway.unwrap_or_else(|| {
                Verdict::NotApplicable(
                    "the server sent no GOAWAY (NO_ERROR) during the churn: nothing to judge"
                        .into(),
                )
            });
            progress.push(Outcome::citizen(CITIZEN[2], v, begun));
        }
    }
    if citizen("reset-closed-and-ping") {
        let begun = Instant::now();
        let v = citizen::reset_closed_and_ping(&t, a.reset_streams, a.timeout);
        progress.push(Outcome::citizen(CITIZEN[1], v, begun));
    }
    finish(a.json, a.junit.as_deref(), &what, progress.outcomes)
}

fn client(a: ClientArgs) -> Result<(), crate::Exit> {
    if let Some(path) = &a.junit {
        std::fs::File::create(path)
            .map_err(|e| format!("--junit {}: cannot create: {e}", path.display()))?;
    }
    let scratch = std::env::temp_dir().join(format!("h2kit-check-{}", std::process::id()));
    let (tls, cacert) = if a.tls {
        std::fs::create_dir_all(&scratch)
            .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
        let cert = scratch.join("cert.pem");
        let (certs, key) = crate::tls_opts::self_signed([127, 0, 0, 1].into(), &cert)?;
        let mut config = h2kit::tls::server_config_from(certs, key)
            .map_err(|e| format!("TLS setup failed: {}", h2kit::tls::describe(&e)))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        (Some(Arc::new(config)), Some(cert.display().to_string()))
    } else {
        (None, None)
    };
    let setup = play::Setup {
        command: command::ClientCommand {
            argv: a.command.clone(),
            scheme: if a.tls { "https" } else { "http" },
            cacert,
        },
        tls,
        timeout: a.timeout,
    };
    let what = format!("h2kit check client -- {}", a.command.join(" "));
    let mut progress = report::Progress::new(a.json, &what);
    for c in client_cases::CASES {
        if !wanted(&a.only, &a.cases, c.group, c.id) {
            continue;
        }
        let begun = Instant::now();
        let (verdict, frames) = traced(|| play::run(c, &setup));
        progress.push(Outcome::of(c, verdict, frames, begun));
    }
    let mut one_ms = None;
    for &case in client_citizen::CASES {
        if !wanted(&a.only, &a.cases, Group::Citizen, case.0) {
            continue;
        }
        let begun = Instant::now();
        let verdict = client_citizen::run(case.0, &setup, a.citizen_timeout, &mut one_ms);
        progress.push(Outcome::citizen(case, verdict, begun));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    finish(a.json, a.junit.as_deref(), &what, progress.outcomes)
}

/// The summary, the JSON and JUnit reports, and the exit code.
fn finish(
    json: bool,
    junit: Option<&std::path::Path>,
    what: &str,
    outcomes: Vec<Outcome>,
) -> Result<(), crate::Exit> {
    if outcomes.is_empty() {
        return Err(crate::Exit::Usage(
            "no case matches --only and --case (see `h2kit check --list`)".into(),
        ));
    }
    let s = report::summary(&outcomes);
    let mut out = std::io::stdout();
    if json {
        let _ = writeln!(out, "{}", report::json(what, &outcomes));
    } else {
        let _ = writeln!(out, "\n{s}");
    }
    if let Some(path) = junit {
        std::fs::write(path, report::junit(what, &outcomes))
            .map_err(|e| crate::Exit::Failed(format!("--junit {}: {e}", path.display())))?;
    }
    if s.failed > 0 {
        return Err(crate::Exit::Failed(format!(
            "{} of {} cases failed: {what}",
            s.failed, s.cases
        )));
    }
    Ok(())
}
