//! TLS failures in words: what went wrong, with the certificate's names and dates, and a
//! hint. rustls' own `Display` shows `Debug` forms of its enums; none of it reaches a user.

use rustls::{AlertDescription, CertificateError, Error, PeerIncompatible};

use super::verify::CertProblem;

/// One sentence saying why a TLS handshake failed, and what to try (after "; hint: ").
pub fn describe(e: &Error) -> String {
    match e {
        Error::InvalidCertificate(c) => certificate(c),
        Error::AlertReceived(a) => alert(*a),
        Error::NoApplicationProtocol => {
            "the server does not offer HTTP/2 over TLS (no ALPN protocol in common with h2)".into()
        }
        Error::PeerIncompatible(p) => incompatible(p),
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. } => {
            "the server's answer is not a TLS handshake; hint: if it serves cleartext HTTP/2, \
             use an http:// URL"
                .into()
        }
        Error::PeerMisbehaved(_) => "the server broke the TLS protocol during the handshake".into(),
        Error::NoCertificatesPresented => "the server presented no certificate".into(),
        Error::DecryptError => "a TLS record from the server could not be decrypted".into(),
        Error::PeerSentOversizedRecord => "the server sent a TLS record too large".into(),
        Error::UnsupportedNameType => {
            "the server name cannot be sent in TLS (SNI takes DNS names)".into()
        }
        Error::InconsistentKeys(_) => "the private key does not belong to the certificate".into(),
        Error::General(s) => s.clone(),
        Error::FailedToGetCurrentTime => "the system clock could not be read".into(),
        Error::FailedToGetRandomBytes => "the system gave no random bytes".into(),
        _ => "the TLS handshake failed".into(),
    }
}

fn certificate(c: &CertificateError) -> String {
    const TRUST: &str = "hint: pass the issuer's certificate (or the server's own) with \
                         --cacert FILE, or use -k to skip verification";
    match c {
        CertificateError::Other(o) => match o.0.downcast_ref::<CertProblem>() {
            Some(p @ CertProblem::UnknownIssuer { .. }) => format!("{p}; {TRUST}"),
            Some(p @ CertProblem::CaAsServer { .. }) => format!(
                "{p}; hint: trust this very certificate with --cacert FILE, or reissue it \
                 without CA:TRUE"
            ),
            None => "the server's certificate was rejected by the verifier".into(),
        },
        CertificateError::UnknownIssuer => {
            format!(
                "the server's certificate was issued by an authority that is not trusted; {TRUST}"
            )
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "the server's certificate is for {}, not for {}; hint: use one of its names in the \
             URL, or reissue it with this name in its subjectAltName",
            names(presented),
            expected.to_str()
        ),
        CertificateError::NotValidForName => {
            "the server's certificate is not for the name asked for".into()
        }
        CertificateError::ExpiredContext { time, not_after } => format!(
            "the server's certificate expired on {} (it is now {}); hint: renew it, or check \
             this machine's clock",
            date(not_after.as_secs()),
            date(time.as_secs())
        ),
        CertificateError::Expired => "the server's certificate has expired".into(),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "the server's certificate is not valid before {} (it is now {}); hint: check the \
             clocks of this machine and of whoever issued it",
            date(not_before.as_secs()),
            date(time.as_secs())
        ),
        CertificateError::NotValidYet => "the server's certificate is not valid yet".into(),
        CertificateError::BadSignature => {
            "the server's certificate is not signed by the key of its issuer".into()
        }
        CertificateError::BadEncoding => "the server's certificate is malformed".into(),
        CertificateError::Revoked => "the server's certificate has been revoked".into(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the server's certificate is not for TLS servers (extended key usage)".into()
        }
        _ => "the server's certificate was rejected".into(),
    }
}

/// The names webpki lists (`DnsName("a.test")`, `IpAddress(127.0.0.1)`) as a user writes
/// them.
fn names(presented: &[String]) -> String {
    let clean: Vec<&str> = presented
        .iter()
        .filter_map(|p| {
            p.strip_prefix("DnsName(\"")
                .and_then(|n| n.strip_suffix("\")"))
                .or_else(|| {
                    p.strip_prefix("IpAddress(")
                        .and_then(|n| n.strip_suffix(')'))
                })
        })
        .collect();
    if clean.is_empty() {
        "no DNS name or IP address".to_string()
    } else {
        clean.join(", ")
    }
}

fn alert(a: AlertDescription) -> String {
    let name = alert_name(a.to_array()[0]);
    let hint = match a {
        AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => {
            "; hint: the server and h2kit share no cipher suite or key exchange"
        }
        AlertDescription::ProtocolVersion => "; hint: the server speaks neither TLS 1.2 nor 1.3",
        AlertDescription::NoApplicationProtocol => {
            "; hint: the server does not offer HTTP/2 (ALPN h2) on this port"
        }
        AlertDescription::UnrecognisedName => {
            "; hint: the server does not know the host name of the URL (SNI)"
        }
        AlertDescription::CertificateRequired | AlertDescription::BadCertificate => {
            "; hint: the server may require a client certificate"
        }
        _ => "",
    };
    format!("the server ended the handshake with the alert {name}{hint}")
}

fn incompatible(p: &PeerIncompatible) -> String {
    match p {
        PeerIncompatible::NoCipherSuitesInCommon => {
            "the server and h2kit share no cipher suite".into()
        }
        PeerIncompatible::NoKxGroupsInCommon => "the server and h2kit share no key exchange".into(),
        PeerIncompatible::NoSignatureSchemesInCommon => {
            "the server and h2kit share no signature scheme".into()
        }
        PeerIncompatible::ServerDoesNotSupportTls12Or13
        | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig => {
            "the server speaks neither TLS 1.2 nor TLS 1.3".into()
        }
        _ => "the server's TLS is incompatible with h2kit's".into(),
    }
}

/// The name of a TLS alert (RFC 8446 §6, RFC 5246 §7.2), as `openssl` and Wireshark print
/// it.
pub fn alert_name(code: u8) -> String {
    let name = match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        n => return format!("{n} (unknown alert)"),
    };
    format!("{name} ({code})")
}

/// `2000-02-29 00:00:00 UTC` for seconds since the Unix epoch.
pub(crate) fn date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm), proleptic Gregorian.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01 00:00:00 UTC");
        // `date -u -d @2147483647`
        assert_eq!(date(2_147_483_647), "2038-01-19 03:14:07 UTC");
        assert_eq!(date(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn names_as_users_write_them() {
        let presented = [
            "DnsName(\"a.test\")".to_string(),
            "IpAddress(127.0.0.1)".into(),
            "DirectoryName".into(),
        ];
        assert_eq!(names(&presented), "a.test, 127.0.0.1");
        assert_eq!(names(&[]), "no DNS name or IP address");
    }

    #[test]
    fn alerts_by_their_registry_names() {
        assert_eq!(alert_name(40), "handshake_failure (40)");
        assert_eq!(alert_name(120), "no_application_protocol (120)");
        let s = describe(&Error::AlertReceived(AlertDescription::UnknownCA));
        assert!(s.contains("unknown_ca (48)"), "{s}");
        assert!(!s.contains("UnknownCA"), "{s}");
    }
}
