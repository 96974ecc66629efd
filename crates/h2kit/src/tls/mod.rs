//! TLS as deployments use it: certificates and keys from PEM files, trust as curl gives it
//! (`--cacert` trusts a server's own certificate), `SSLKEYLOGFILE`, and every handshake
//! failure said in words with a hint ([`describe`]).

mod describe;
mod verify;

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use describe::{alert_name, describe};

/// The certificates of a PEM file; an error names the file and what is wrong with it
/// (unreadable, not PEM, no certificate in it).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read certificate file {shown}: {}", pem_cause(&e)))?
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "certificate file {shown} is not valid PEM: {}",
                pem_cause(&e)
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "certificate file {shown} holds no certificate (no BEGIN CERTIFICATE block)"
        ));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let shown = path.display();
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("key file {shown} holds no private key (no BEGIN ... PRIVATE KEY block)")
        }
        e => format!("cannot read private key file {shown}: {}", pem_cause(&e)),
    })
}

fn pem_cause(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        e => e.to_string(),
    }
}

/// A rustls server configuration from a PEM certificate chain and a PEM private key, with
/// `SSLKEYLOGFILE` honoured. Errors name the file and what was wrong with it.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    let certs = read_certificates(cert)?;
    let key_der = read_private_key(key)?;
    server_config_from(certs, key_der).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "the private key in {} does not belong to the certificate in {}",
            key.display(),
            cert.display()
        ),
        e => format!(
            "certificate {} and key {} cannot be used: {}",
            cert.display(),
            key.display(),
            describe(&e)
        ),
    })
}

/// A server configuration from a chain and its key (already parsed).
pub fn server_config_from(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(config)
}

/// A rustls client configuration trusting the built-in roots (webpki-roots, when that
/// feature is on), plus the PEM certificates in `extra_roots` if given. As with curl's
/// `--cacert`, a certificate in that file that is itself the server's certificate is
/// trusted for that server whether or not it is marked as a CA; its names and dates are
/// still checked.
pub fn client_config(extra_roots: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let extra = match extra_roots {
        Some(path) => read_certificates(path)?,
        None => Vec::new(),
    };
    let builder = client_builder()?;
    let mut config = trusting(builder, true, extra)?.with_no_client_auth();
    log_keys(&mut config);
    Ok(config)
}

/// A client configuration that accepts any certificate: for tests against self-signed
/// servers only. Signatures are still checked; the certificate chain and name are not.
pub fn insecure_client_config() -> rustls::ClientConfig {
    let builder = client_builder().expect("ring supports the default protocol versions");
    let mut config = accept_any_cert(builder).with_no_client_auth();
    log_keys(&mut config);
    config
}

type WantsVerifier = rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>;
type WantsClientCert = rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>;

/// The ring provider, its TLS 1.3 suites first and AES-128-GCM first among them: with AES-NI
/// it costs less per byte than AES-256-GCM and ChaCha20 (rustls lists AES-256 first), and it is
/// what nghttp2, h2o and browsers prefer too.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites.sort_by_key(|s| {
        let tls12 = s.tls13().is_none();
        let aes128 = matches!(
            s.suite(),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
                | rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        );
        (tls12, !aes128)
    });
    Arc::new(p)
}

/// The first step of every client configuration: the ring provider, safe protocol versions.
pub(crate) fn client_builder() -> Result<WantsVerifier, String> {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {}", describe(&e)))
}

/// Any certificate is accepted (see [`insecure_client_config`]).
pub(crate) fn accept_any_cert(builder: WantsVerifier) -> WantsClientCert {
    let provider = builder.crypto_provider().clone();
    let verifier = Arc::new(verify::AcceptAnyCert(provider));
    builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
}

/// Trusts the built-in roots (if `built_in`) and `extra`: as roots, and each as the server
/// certificate it may itself be (see [`client_config`]). Failures are worded by
/// [`describe`], the issuer named.
pub(crate) fn trusting(
    builder: WantsVerifier,
    built_in: bool,
    extra: Vec<CertificateDer<'static>>,
) -> Result<WantsClientCert, String> {
    let mut roots = rustls::RootCertStore::empty();
    if built_in {
        add_built_in_roots(&mut roots);
    }
    for cert in &extra {
        // A certificate that cannot anchor a chain may still be the server's own.
        let _ = roots.add(cert.clone());
    }
    let provider = builder.crypto_provider().clone();
    let verifier = verify::Trust::new(roots, extra, provider)?;
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier)))
}

/// Sets `SSLKEYLOGFILE` logging on a client configuration.
pub(crate) fn log_keys(config: &mut rustls::ClientConfig) {
    config.key_log = Arc::new(rustls::KeyLogFile::new());
}

/// The Mozilla roots, when the `webpki-roots` feature is on.
pub(crate) fn add_built_in_roots(roots: &mut rustls::RootCertStore) {
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(not(feature = "webpki-roots"))]
    let _ = roots;
}
