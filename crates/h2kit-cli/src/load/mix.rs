//! `--requests-file FILE`: a mix of requests, one per line:
//!
//! ```text
//! # weight (optional), method, URL, body file (optional, relative to FILE), headers
//! 8 GET https://host/api/items accept: application/json
//! 1 POST https://host/api/items @item.json content-type: application/json
//! GET https://host/health
//! 1 GET https://host/app.js priority: u=1
//! ```
//!
//! A `priority` header (RFC 9218) sets a line's response priority; one a server would ignore
//! is an error here.
//!
//! Requests follow the lines in proportion to their weights (1 when not given), interleaved
//! in a fixed order, so that every run sends the same mix.

use std::path::Path;

use bytes::Bytes;

use super::{SharedRequest, Template};

/// The requests and the order they are sent in.
pub struct Mix {
    pub requests: Vec<SharedRequest>,
    /// Each line as written (for the report).
    pub lines: Vec<String>,
    /// Indexes into `requests`, each repeated by its weight, interleaved.
    order: Vec<u16>,
}

const MAX_LINES: usize = 1000;
const MAX_TOTAL_WEIGHT: u64 = 100_000;

impl Mix {
    /// One request (no file): the run's only request.
    pub fn one(t: Template) -> Mix {
        Mix {
            requests: vec![t.shared()],
            lines: Vec::new(),
            order: vec![0],
        }
    }

    /// Whether there are several lines to tell apart in the report.
    pub fn is_mix(&self) -> bool {
        self.requests.len() > 1
    }

    /// The request for the `n`-th send, and its line.
    #[inline]
    pub fn pick(&self, n: u64) -> (usize, &SharedRequest) {
        let i = self.order[(n % self.order.len() as u64) as usize] as usize;
        (i, &self.requests[i])
    }

    /// Reads FILE; `check` vets each URL as the command line's would be. Errors name the
    /// file, the line and what is wrong.
    pub fn read(
        path: &Path,
        check: &dyn Fn(&str) -> Result<http::Uri, String>,
        user_agent: &http::HeaderValue,
    ) -> Result<Mix, String> {
        let name = format!("--requests-file {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let (mut requests, mut lines, mut weights) = (Vec::new(), Vec::new(), Vec::new());
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: String| format!("{name} line {}: {why}", n + 1);
            let mut words = line.split_whitespace().peekable();
            let mut weight = 1u64;
            if let Some(w) = words.peek().and_then(|w| w.parse::<u64>().ok()) {
                if w == 0 {
                    return Err(bad("a weight must be at least 1".into()));
                }
                weight = w;
                words.next();
            }
            let method = words.next().ok_or_else(|| bad("no method".into()))?;
            let method: http::Method = method
                .parse()
                .map_err(|_| bad(format!("'{method}' is not an HTTP method")))?;
            let url = words
                .next()
                .ok_or_else(|| bad("no URL after the method".into()))?;
            let uri = check(url).map_err(bad)?;
            let mut body = Bytes::new();
            let mut headers = http::HeaderMap::new();
            let mut current: Option<(String, Vec<&str>)> = None;
            for w in words {
                if let Some(file) = w
                    .strip_prefix('@')
                    .filter(|_| current.is_none() && body.is_empty())
                {
                    let p = dir.join(file);
                    body = Bytes::from(
                        std::fs::read(&p).map_err(|e| bad(format!("body {}: {e}", p.display())))?,
                    );
                } else if let Some(h) = w.strip_suffix(':') {
                    if let Some(done) = current.take() {
                        add_header(&mut headers, done).map_err(bad)?;
                    }
                    current = Some((h.to_string(), Vec::new()));
                } else if let Some((_, value)) = current.as_mut() {
                    value.push(w);
                } else {
                    return Err(bad(format!(
                        "'{w}' is neither @BODY_FILE nor a header (Name: value)"
                    )));
                }
            }
            if let Some(done) = current.take() {
                add_header(&mut headers, done).map_err(bad)?;
            }
            if !headers.contains_key(http::header::USER_AGENT) {
                headers.insert(http::header::USER_AGENT, user_agent.clone());
            }
            let t = Template {
                uri,
                method,
                headers,
                body,
            };
            requests.push(t.shared());
            lines.push(line.to_string());
            weights.push(weight);
            if requests.len() > MAX_LINES {
                return Err(format!("{name}: more than {MAX_LINES} requests"));
            }
        }
        if requests.is_empty() {
            return Err(format!("{name}: no request in it"));
        }
        let total: u64 = weights.iter().sum();
        if total > MAX_TOTAL_WEIGHT {
            return Err(format!(
                "{name}: the weights add up to {total}; at most {MAX_TOTAL_WEIGHT}"
            ));
        }
        Ok(Mix {
            requests,
            lines,
            order: interleave(&weights),
        })
    }
}

fn add_header(h: &mut http::HeaderMap, (name, value): (String, Vec<&str>)) -> Result<(), String> {
    let n: http::HeaderName = name
        .parse()
        .map_err(|_| format!("'{name}' is not a header name"))?;
    let v: http::HeaderValue = value
        .join(" ")
        .parse()
        .map_err(|_| format!("the value of {name} is not a header value"))?;
    crate::headers::check_value(&n, &v).map_err(|why| format!("{name}: {why}"))?;
    h.append(n, v);
    Ok(())
}

/// Each index repeated by its weight, spread evenly (smooth weighted round-robin), so that a
/// short run still sees the mix.
fn interleave(weights: &[u64]) -> Vec<u16> {
    let total: i64 = weights.iter().sum::<u64>() as i64;
    let mut current = vec![0i64; weights.len()];
    (0..total)
        .map(|_| {
            for (c, w) in current.iter_mut().zip(weights) {
                *c += *w as i64;
            }
            let (best, _) = current
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                .unwrap_or((0, &0));
            current[best] -= total;
            best as u16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_spread_through_the_order() {
        let order = interleave(&[3, 1]);
        assert_eq!(order, vec![0, 0, 1, 0]);
        let order = interleave(&[1, 1, 2]);
        assert_eq!(order.iter().filter(|i| **i == 2).count(), 2);
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn a_line_sets_its_priority_and_a_bad_one_names_the_line() {
        let dir = std::env::temp_dir().join(format!("h2kit-mix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("requests");
        let check = |u: &str| u.parse::<http::Uri>().map_err(|e| e.to_string());
        let agent = http::HeaderValue::from_static("t");
        std::fs::write(&file, "GET http://a/x priority: u=0, i\nGET http://a/y\n").unwrap();
        let mix = Mix::read(&file, &check, &agent).unwrap();
        assert_eq!(mix.requests[0].parts.headers["priority"], "u=0, i");
        std::fs::write(&file, "GET http://a/x\nGET http://a/y priority: u=0;\n").unwrap();
        let e = Mix::read(&file, &check, &agent).err().unwrap();
        assert_eq!(
            e,
            format!(
                "--requests-file {} line 2: priority: a server would ignore this priority: not \
                 a structured-field dictionary (RFC 8941 §3.2)",
                file.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
