//! The floor: a bare reverse proxy built from the same parts as MetaClaw's request path (tokio's
//! multi-threaded runtime, hyper's HTTP/1 server, hyper_util's pooled client) and nothing else. It
//! reads the body, forwards it and relays the answer: no routing, checks, JSON, skills or record.
//! Measured beside nginx and MetaClaw, it separates what the parts cost on this machine from what
//! MetaClaw's own work on a turn adds.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Serves the bare proxy on 127.0.0.1:`port` in front of `upstream` (e.g. `http://127.0.0.1:9/`),
/// printing `listening` once it accepts; runs until killed.
pub async fn serve(port: u16, upstream: String) {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(http);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the floor's port is free");
    println!("listening");
    let upstream = upstream.trim_end_matches('/').to_string();
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let _ = tcp.set_nodelay(true);
        let (client, upstream) = (client.clone(), upstream.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                forward(client.clone(), format!("{upstream}{}", req.uri().path()), req)
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

/// One request, forwarded whole and answered whole (a 502 with the reason when the hop fails).
async fn forward(
    client: Client<HttpConnector, Full<Bytes>>,
    url: String,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let failed = |e: String| {
        let mut r = hyper::Response::new(Full::new(Bytes::from(e)));
        *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
        r
    };
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(failed(format!("reading the body: {e}"))),
    };
    let mut out = hyper::Request::builder().method(parts.method).uri(url);
    if let Some(ct) = parts.headers.get(hyper::header::CONTENT_TYPE) {
        out = out.header(hyper::header::CONTENT_TYPE, ct);
    }
    let out = match out.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => return Ok(failed(format!("building the request: {e}"))),
    };
    let (head, body) = match client.request(out).await {
        Ok(r) => r.into_parts(),
        Err(e) => return Ok(failed(format!("sending: {e}"))),
    };
    match body.collect().await {
        Ok(b) => Ok(hyper::Response::from_parts(head, Full::new(b.to_bytes()))),
        Err(e) => Ok(failed(format!("reading the answer: {e}"))),
    }
}
