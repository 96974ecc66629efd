//! Client options shared by `get` and `load`: transport (h2c/TLS) and every per-phase timeout
//! of h2kit's client.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use h2kit::{Client, ClientConfig};

use crate::duration;

#[derive(Args, Debug, Clone)]
pub struct ClientOpts {
    /// Require cleartext HTTP/2 with prior knowledge (rejects https:// URLs).
    #[arg(long)]
    pub h2c: bool,
    /// Accept any TLS certificate (for self-signed test servers).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Extra trusted CA certificates (PEM).
    #[arg(long, value_name = "PEM")]
    pub cacert: Option<PathBuf>,
    /// Longest wait for a stream slot when every connection is full (e.g. 1s).
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub queue_timeout: Option<Duration>,
    /// TCP connect timeout (default 10s).
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub connect_timeout: Option<Duration>,
    /// TLS handshake timeout.
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub tls_timeout: Option<Duration>,
    /// Time to write the request (headers and body).
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub write_timeout: Option<Duration>,
    /// Time from the request sent to the response headers.
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub response_timeout: Option<Duration>,
    /// Longest gap between frames of the response body.
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub body_timeout: Option<Duration>,
    /// Deadline for the whole request, queueing included.
    #[arg(long, value_parser = duration::parse, value_name = "DURATION")]
    pub timeout: Option<Duration>,
}

impl ClientOpts {
    /// Checks the URL against the transport flags.
    pub fn check_url(&self, url: &str) -> Result<http::Uri, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("URL '{url}': {e}"))?;
        match uri.scheme_str() {
            Some("http") if uri.host().is_some() => Ok(uri),
            Some("https") if self.h2c => Err(format!("--h2c needs an http:// URL, not '{url}'")),
            Some("https") if uri.host().is_some() => Ok(uri),
            _ => Err(format!(
                "URL '{url}' must start with http:// or https:// and name a host"
            )),
        }
    }

    /// Applies the timeouts to a client configuration.
    fn apply(&self, config: &mut ClientConfig) {
        let t = &mut config.timeouts;
        t.queue = self.queue_timeout.or(t.queue);
        t.connect = self.connect_timeout.or(t.connect);
        t.tls = self.tls_timeout.or(t.tls);
        t.write = self.write_timeout.or(t.write);
        t.response_headers = self.response_timeout.or(t.response_headers);
        t.body_idle = self.body_timeout.or(t.body_idle);
        t.total = self.timeout.or(t.total);
    }

    /// A client with `config`, these timeouts and the TLS trust the flags ask for.
    pub fn client(&self, mut config: ClientConfig) -> Result<Client, String> {
        self.apply(&mut config);
        let tls = if self.insecure {
            h2kit::tls::insecure_client_config()
        } else {
            h2kit::tls::client_config(self.cacert.as_deref())?
        };
        Ok(Client::builder().config(config).tls(tls).build())
    }
}
