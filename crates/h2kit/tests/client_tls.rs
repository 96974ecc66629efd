//! The client's TLS trust through its builder: a self-signed CA:TRUE certificate added as a
//! root is trusted as the server's own (as curl's `--cacert`), its name still checked; a
//! rejected certificate's error is in words, with the rustls error as its source.

#![cfg(feature = "tls")]

use h2kit::{Client, Server, ServerConfig};
use h2kit_test_support::client::get;

/// A CA:TRUE self-signed certificate for `names`, and a TLS server using it.
async fn serve(
    names: &[&str],
) -> (
    std::net::SocketAddr,
    rustls::pki_types::CertificateDer<'static>,
) {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let tls = h2kit::tls::server_config_from(vec![der.clone()], key_der).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(ServerConfig::default()).tls(tls);
    let svc = tower::service_fn(|_req: http::Request<h2kit::RecvBody>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
            bytes::Bytes::from_static(b"ok"),
        )))
    });
    tokio::spawn(server.serve(listener, svc, std::future::pending::<()>()));
    (addr, der)
}

#[tokio::test]
async fn a_root_that_is_the_servers_own_certificate_is_trusted_with_its_name_checked() {
    let (addr, cert) = serve(&["localhost"]).await;
    let url = format!("https://localhost:{}/", addr.port());
    let client = Client::builder()
        .tls_built_in_roots(false)
        .add_root_certificate(cert.clone())
        .build();
    let res = client
        .send(get(&url))
        .await
        .expect("trusted as the server's own");
    assert_eq!(res.status(), 200);
    // The name is still checked: 127.0.0.1 is not among its names.
    let e = client
        .send(get(format!("https://127.0.0.1:{}/", addr.port())))
        .await
        .unwrap_err();
    assert!(e.is_tls(), "{e}");
    assert!(
        e.to_string()
            .contains("is for localhost, not for 127.0.0.1"),
        "{e}"
    );
    // Without it: in words, the rustls error underneath.
    let e = Client::builder()
        .tls_built_in_roots(false)
        .build()
        .send(get(&url))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("self-signed and not trusted"), "{e}");
    let source = std::error::Error::source(&e).expect("a source");
    assert!(
        source.downcast_ref::<rustls::Error>().is_some(),
        "{source:?}"
    );
    assert!(!e.to_string().contains("Other("), "{e}");
}
