//! tonic uses `h2kit::Client` as its gRPC transport (through `tower::Service`) against a tonic
//! server: unary and server-streaming calls. Messages are `prost` derives, so no protoc.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tonic::codegen::BoxFuture;
use tonic::{Request, Response, Status};

#[derive(Clone, PartialEq, prost::Message)]
struct Msg {
    #[prost(string, tag = "1")]
    text: String,
    #[prost(uint32, tag = "2")]
    n: u32,
}

type Codec = tonic_prost::ProstCodec<Msg, Msg>;

struct Upper;

impl tonic::server::UnaryService<Msg> for Upper {
    type Response = Msg;
    type Future = BoxFuture<Response<Msg>, Status>;
    fn call(&mut self, req: Request<Msg>) -> Self::Future {
        Box::pin(async move {
            let m = req.into_inner();
            Ok(Response::new(Msg {
                text: m.text.to_uppercase(),
                n: m.n + 1,
            }))
        })
    }
}

struct Count;

type MsgStream =
    Pin<Box<dyn tonic::codegen::tokio_stream::Stream<Item = Result<Msg, Status>> + Send>>;

impl tonic::server::ServerStreamingService<Msg> for Count {
    type Response = Msg;
    type ResponseStream = MsgStream;
    type Future = BoxFuture<Response<MsgStream>, Status>;
    fn call(&mut self, req: Request<Msg>) -> Self::Future {
        Box::pin(async move {
            let m = req.into_inner();
            let items: Vec<Result<Msg, Status>> = (1..=m.n)
                .map(|i| {
                    Ok(Msg {
                        text: format!("{} {i}", m.text),
                        n: i,
                    })
                })
                .collect();
            let s: MsgStream = Box::pin(tonic::codegen::tokio_stream::iter(items));
            Ok(Response::new(s))
        })
    }
}

#[derive(Clone)]
struct EchoServer;

impl tonic::server::NamedService for EchoServer {
    const NAME: &'static str = "test.Echo";
}

impl<B> tower::Service<http::Request<B>> for EchoServer
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(Codec::default());
            Ok(match req.uri().path() {
                "/test.Echo/Upper" => grpc.unary(Upper, req).await,
                "/test.Echo/Count" => grpc.server_streaming(Count, req).await,
                _ => Status::unimplemented("no such method").into_http(),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_client_over_h2kit() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EchoServer)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let client = h2kit::Client::builder().build();
    let origin: http::Uri = format!("http://{addr}").parse().unwrap();
    let mut grpc = tonic::client::Grpc::with_origin(client.clone(), origin);

    // Unary, a few times over the same pooled connection.
    for i in 0..20 {
        grpc.ready().await.unwrap();
        let res: Response<Msg> = grpc
            .unary(
                Request::new(Msg {
                    text: format!("hello {i}"),
                    n: i,
                }),
                http::uri::PathAndQuery::from_static("/test.Echo/Upper"),
                Codec::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            res.into_inner(),
            Msg {
                text: format!("HELLO {i}"),
                n: i + 1
            }
        );
    }

    // Server streaming.
    grpc.ready().await.unwrap();
    let res = grpc
        .server_streaming(
            Request::new(Msg {
                text: "tick".into(),
                n: 5,
            }),
            http::uri::PathAndQuery::from_static("/test.Echo/Count"),
            Codec::default(),
        )
        .await
        .unwrap();
    let mut stream = res.into_inner();
    let mut got = Vec::new();
    while let Some(m) = stream.message().await.unwrap() {
        got.push(m.text);
    }
    assert_eq!(got, vec!["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"]);

    // gRPC status from the server comes through (trailers-only response).
    grpc.ready().await.unwrap();
    let err = grpc
        .unary::<Msg, Msg, Codec>(
            Request::new(Msg::default()),
            http::uri::PathAndQuery::from_static("/test.Echo/Nope"),
            Codec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    assert_eq!(
        client.stats().connections.connections_accepted,
        1,
        "one pooled connection"
    );
}
