//! Server-side TLS flags shared by `serve` and `proxy`: a certificate and key from files, or a
//! self-signed certificate made on the spot and written where clients can trust it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct ServerTls {
    /// PEM certificate chain for TLS (ALPN h2); needs --tls-key.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS; needs --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Serve TLS with a certificate made now for the listen address, localhost, 127.0.0.1
    /// and ::1 (valid 30 days); clients trust it with --cacert (see --tls-cert-out).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_self_signed: bool,
    /// Where --tls-self-signed writes its certificate (default: a file in the temporary
    /// directory, printed at start).
    #[arg(long, requires = "tls_self_signed", value_name = "FILE")]
    pub tls_cert_out: Option<PathBuf>,
}

impl ServerTls {
    /// The server configuration the flags ask for (None: cleartext). A self-signed
    /// certificate is written out first, and its path said on stdout.
    pub fn config(&self, listen: IpAddr) -> Result<Option<rustls::ServerConfig>, String> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return h2kit::tls::server_config(cert, key).map(Some);
        }
        if !self.tls_self_signed {
            return Ok(None);
        }
        let out = self.tls_cert_out.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("h2kit-self-signed-{}.pem", std::process::id()))
        });
        let (certs, key) = self_signed(listen, &out)?;
        println!(
            "certificate: {} (clients trust it with --cacert {})",
            out.display(),
            out.display()
        );
        h2kit::tls::server_config_from(certs, key)
            .map(Some)
            .map_err(|e| format!("self-signed certificate: {}", h2kit::tls::describe(&e)))
    }
}

pub(crate) type Identity = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

/// A fresh ECDSA P-256 key and a certificate for `listen`, localhost, 127.0.0.1 and ::1,
/// valid from a day ago for 30 days; the certificate is written to `out` as PEM.
pub(crate) fn self_signed(listen: IpAddr, out: &Path) -> Result<Identity, String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !listen.is_unspecified() && !names.contains(&listen.to_string()) {
        names.push(listen.to_string());
    }
    let fail = |e: rcgen::Error| format!("cannot make a self-signed certificate: {e}");
    let mut params = rcgen::CertificateParams::new(names).map_err(fail)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "h2kit self-signed");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(30);
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let cert = params.self_signed(&key).map_err(fail)?;
    std::fs::write(out, cert.pem())
        .map_err(|e| format!("--tls-cert-out {}: cannot write: {e}", out.display()))?;
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    Ok((vec![cert.der().clone()], key_der))
}
