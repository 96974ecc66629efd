//! Prometheus scrapes read by an independent parser: Python's `prometheus_client`
//! (`tests/python/prom_parse.py`), never by h2kit's own code.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// One sample of a scrape.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The sample's name (`x_bucket`, `x_count`, `x_total`, ...).
    pub name: String,
    /// The metric family's type as the parser read it (`counter`, `gauge`, `histogram`).
    pub kind: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of one scrape.
#[derive(Clone, Debug)]
pub struct Scrape(pub Vec<Sample>);

impl Scrape {
    /// Parses an exposition with `prometheus_client`; panics if it cannot (a malformed
    /// exposition is a failure of the exporter).
    pub fn parse(text: &str) -> Scrape {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/prom_parse.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 with prometheus_client is required (scripts/test installs it)");
        let mut stdin = child.stdin.take().unwrap();
        let text = text.to_string();
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(
            out.status.success(),
            "prometheus_client could not parse the exposition: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let samples = json
            .as_array()
            .unwrap()
            .iter()
            .map(|s| Sample {
                name: s["name"].as_str().unwrap().to_string(),
                kind: s["type"].as_str().unwrap().to_string(),
                labels: s["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect(),
                value: s["value"].as_f64().unwrap(),
            })
            .collect();
        Scrape(samples)
    }

    /// Fetches `http://ADDR/metrics` (HTTP/1.1, as Prometheus does) and parses it.
    pub fn fetch(addr: &str) -> Scrape {
        Scrape::parse(&get_metrics(addr))
    }

    /// The samples named `name` whose labels include every pair of `with`.
    pub fn select<'a>(
        &'a self,
        name: &'a str,
        with: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.0.iter().filter(move |s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The sum of the values of [`select`](Self::select).
    pub fn sum(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        self.select(name, with).map(|s| s.value).sum()
    }

    /// Whether any sample belongs to the family `family` (a histogram's `_bucket`, `_sum` and
    /// `_count`, a counter's `_total`, or the name itself).
    pub fn has_family(&self, family: &str) -> bool {
        self.0.iter().any(|s| {
            s.name == family
                || ["_bucket", "_sum", "_count", "_total", "_created"]
                    .iter()
                    .any(|suffix| s.name.strip_suffix(suffix) == Some(family))
        })
    }
}

/// The raw text of `http://ADDR/metrics`.
pub fn get_metrics(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").expect("a chunk size");
        let n = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
}
