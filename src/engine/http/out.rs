//! Writing heads the way HAProxy 2.6's H1 multiplexer writes them: header
//! names in lower case, values as parsed, the version as `HTTP/1.1` for
//! 1.1 and above, and a `connection` header of its own, last, when the
//! two peers' defaults differ from what this side will do.

use super::head::{Head, Line};

fn push_headers(out: &mut Vec<u8>, h: &Head, skip: impl Fn(&str) -> bool) {
    for hd in &h.headers {
        if skip(&hd.name) {
            continue;
        }
        if hd.name.eq_ignore_ascii_case("te") {
            // TE is hop-by-hop: only "trailers" goes on.
            let has_trailers = super::head::list_items(&hd.value)
                .iter()
                .any(|t| t.eq_ignore_ascii_case(b"trailers"));
            if has_trailers {
                out.extend_from_slice(b"te: trailers\r\n");
            }
            continue;
        }
        out.extend(hd.name.bytes().map(|b| b.to_ascii_lowercase()));
        out.extend_from_slice(b": ");
        out.extend_from_slice(&hd.value);
        out.extend_from_slice(b"\r\n");
    }
}

fn version(v: &[u8], ver11: bool) -> &[u8] {
    if ver11 { b"HTTP/1.1" } else { v }
}

/// The request as sent to the server; `close` says the server connection
/// will not be kept after this request.
pub fn request(h: &Head, close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    if let Line::Request {
        method,
        uri,
        version: v,
    } = &h.line
    {
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(uri);
        out.push(b' ');
        out.extend_from_slice(version(v, h.flags.ver11));
        out.extend_from_slice(b"\r\n");
    }
    push_headers(&mut out, h, |_| false);
    if !h.flags.conn_upg {
        if !close && !h.flags.ver11 {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        } else if close && h.flags.ver11 {
            out.extend_from_slice(b"connection: close\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// How the client connection goes on after a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientConn {
    KeepAlive,
    Close,
    /// 101 or CONNECT 2xx: raw bytes from now on.
    Tunnel,
}

/// The response as sent to the client. `req_ver11`: the request's
/// version; interim (1xx) responses get no connection header.
pub fn response(h: &Head, mode: ClientConn, req_ver11: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let status = h.status();
    if let Line::Response {
        version: v,
        code,
        reason,
        ..
    } = &h.line
    {
        out.extend_from_slice(version(v, h.flags.ver11));
        out.push(b' ');
        out.extend_from_slice(code);
        out.push(b' ');
        out.extend_from_slice(reason);
        out.extend_from_slice(b"\r\n");
    }
    let interim = (100..200).contains(&status) && status != 101;
    let strip_len = interim || status == 204;
    push_headers(&mut out, h, |n| {
        strip_len
            && (n.eq_ignore_ascii_case("content-length")
                || n.eq_ignore_ascii_case("transfer-encoding"))
    });
    if !interim && mode != ClientConn::Tunnel && !h.flags.conn_upg {
        match mode {
            ClientConn::KeepAlive if !h.flags.ver11 || !req_ver11 => {
                out.extend_from_slice(b"connection: keep-alive\r\n");
            }
            ClientConn::Close if h.flags.ver11 => {
                out.extend_from_slice(b"connection: close\r\n");
            }
            _ => {}
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::head::{Limits, Parsed, parse_request, parse_response};
    use super::*;

    fn req(b: &[u8]) -> Head {
        match parse_request(b, &Limits::new(16384, 1024, 101)) {
            Ok(Parsed::Done(h, _)) => h,
            other => panic!("{other:?}"),
        }
    }

    fn res(b: &[u8]) -> Head {
        match parse_response(b, &Limits::new(16384, 1024, 101), "GET") {
            Ok(Parsed::Done(h, _)) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_as_haproxy_sends_them() {
        let h = req(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: Curl\r\nX-Foo:  bar \r\nConnection: close\r\n\r\n");
        assert_eq!(
            request(&h, false),
            b"GET /a?b=1 HTTP/1.1\r\nhost: x\r\nuser-agent: Curl\r\nx-foo: bar\r\n\r\n"
        );
        let h = req(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(
            request(&h, false),
            b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"
        );
        let h = req(b"GET / HTTP/1.2\r\nTE: gzip\r\n\r\n");
        assert_eq!(
            request(&h, true),
            b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn responses_as_haproxy_sends_them() {
        let h = res(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(
            response(&h, ClientConn::KeepAlive, true),
            b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n"
        );
        let h = res(b"HTTP/1.1 200 OK\r\nServer: s\r\n\r\n");
        assert_eq!(
            response(&h, ClientConn::Close, true),
            b"HTTP/1.1 200 OK\r\nserver: s\r\nconnection: close\r\n\r\n"
        );
        let h = res(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            response(&h, ClientConn::KeepAlive, true),
            b"HTTP/1.1 204 No Content\r\n\r\n"
        );
        let h = res(b"HTTP/1.1 200\r\n\r\n");
        assert_eq!(
            response(&h, ClientConn::KeepAlive, true),
            b"HTTP/1.1 200 \r\n\r\n"
        );
    }
}
