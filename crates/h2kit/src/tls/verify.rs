//! Certificate verifiers: trust as curl gives it, with failures that name the certificate;
//! and the accept-anything verifier of `-k`.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};

/// What a server certificate says about itself, for the checks webpki leaves to us and for
/// error messages.
pub(crate) struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub is_ca: bool,
    pub not_before: i64,
    pub not_after: i64,
}

impl CertInfo {
    pub(crate) fn parse(der: &[u8]) -> Option<CertInfo> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let v = cert.validity();
        Some(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            is_ca: cert.is_ca(),
            not_before: v.not_before.timestamp(),
            not_after: v.not_after.timestamp(),
        })
    }
}

/// A certificate failure with the certificate's own words in it (carried as a rustls
/// `CertificateError::Other`, read back by `describe`).
#[derive(Debug, Clone)]
pub(crate) enum CertProblem {
    /// No trusted root issued it.
    UnknownIssuer { subject: String, issuer: String },
    /// It is a CA certificate (basic constraints CA:TRUE) that no trusted file names.
    CaAsServer { subject: String },
}

impl fmt::Display for CertProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertProblem::UnknownIssuer { subject, issuer } if subject == issuer => write!(
                f,
                "the server's certificate ({subject}) is self-signed and not trusted"
            ),
            CertProblem::UnknownIssuer { subject, issuer } => write!(
                f,
                "the server's certificate ({subject}) was issued by {issuer}, which is not trusted"
            ),
            CertProblem::CaAsServer { subject } => write!(
                f,
                "the server's certificate ({subject}) is a CA certificate (CA:TRUE), which \
                 is not accepted as a server certificate"
            ),
        }
    }
}

impl std::error::Error for CertProblem {}

/// The web PKI's verdict, except that a certificate given in the trusted file is trusted as
/// the server's own certificate (as OpenSSL, hence curl, does): its name and dates are still
/// checked, not its CA flag or chain.
#[derive(Debug)]
pub(crate) struct Trust {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    own: Vec<CertificateDer<'static>>,
    /// The handshake's signatures are checked as for any certificate.
    signatures: AcceptAnyCert,
}

impl Trust {
    pub(crate) fn new(
        roots: rustls::RootCertStore,
        own: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Trust, String> {
        let webpki = if roots.is_empty() {
            None
        } else {
            let v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("cannot use the trusted certificates: {e}"))?;
            Some(v)
        };
        Ok(Trust {
            webpki,
            own,
            signatures: AcceptAnyCert(provider),
        })
    }

    /// Whether `end_entity` is one of the certificates trusted as they are, for this name at
    /// this time.
    fn trusted_as_is(
        &self,
        end_entity: &CertificateDer<'_>,
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<bool, Error> {
        if !self.own.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return Ok(false);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, name)?;
        let info = CertInfo::parse(end_entity)
            .ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let now_s = now.as_secs() as i64;
        if now_s < info.not_before {
            return Err(Error::InvalidCertificate(
                CertificateError::NotValidYetContext {
                    time: now,
                    not_before: UnixTime::since_unix_epoch(secs(info.not_before)),
                },
            ));
        }
        if now_s > info.not_after {
            return Err(Error::InvalidCertificate(
                CertificateError::ExpiredContext {
                    time: now,
                    not_after: UnixTime::since_unix_epoch(secs(info.not_after)),
                },
            ));
        }
        Ok(true)
    }
}

fn secs(t: i64) -> std::time::Duration {
    std::time::Duration::from_secs(t.max(0) as u64)
}

/// The web PKI's error, with the certificate's names added where it says too little.
fn worded(e: Error, end_entity: &CertificateDer<'_>) -> Error {
    let chain_problem = matches!(
        &e,
        Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::Other(_))
    );
    let Some(info) = chain_problem.then(|| CertInfo::parse(end_entity)).flatten() else {
        return e;
    };
    let problem = match &e {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => CertProblem::UnknownIssuer {
            subject: info.subject,
            issuer: info.issuer,
        },
        // Self-signed: trusting it (as --cacert does) is the fix, whatever its CA flag.
        _ if info.is_ca && info.subject == info.issuer => CertProblem::UnknownIssuer {
            subject: info.subject,
            issuer: info.issuer,
        },
        _ if info.is_ca => CertProblem::CaAsServer {
            subject: info.subject,
        },
        _ => return e,
    };
    Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(problem))))
}

impl ServerCertVerifier for Trust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict = match &self.webpki {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Err(Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        };
        match verdict {
            Ok(v) => Ok(v),
            Err(e) => match self.trusted_as_is(end_entity, server_name, now)? {
                true => Ok(ServerCertVerified::assertion()),
                false => Err(worded(e, end_entity)),
            },
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.signatures.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.signatures.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.supported_verify_schemes()
    }
}

/// Accepts any certificate; the handshake's signatures are still checked.
#[derive(Debug)]
pub(super) struct AcceptAnyCert(pub(super) Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
