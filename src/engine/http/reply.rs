//! Responses rproxy writes itself: HAProxy's built-in error pages (byte
//! for byte), `errorfile` / `errorloc` / `http-error` replacements,
//! redirects, `return`, and the 401 of `auth`. Parser-level errors (400,
//! 408, 413, 422 before any request exists) go out raw, as HAProxy's
//! multiplexer sends them; the others go through the normal response
//! writer (lower-case names, computed `connection` header).

use super::head::{Head, Header, Limits, Line, Parsed, parse_response};
use crate::config::Config;
use crate::config::model::{ErrorPage, Proxy, ReturnBody, ReturnCfg};

/// HAProxy 2.6's `http_err_msgs[]`.
const MESSAGES: &[(u16, &[u8])] = &[
    (200, b"HTTP/1.1 200 OK\r\nContent-length: 58\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n"),
    (400, b"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"),
    (401, b"HTTP/1.1 401 Unauthorized\r\nContent-length: 112\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"),
    (403, b"HTTP/1.1 403 Forbidden\r\nContent-length: 93\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"),
    (404, b"HTTP/1.1 404 Not Found\r\nContent-length: 83\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>404 Not Found</h1>\nThe resource could not be found.\n</body></html>\n"),
    (405, b"HTTP/1.1 405 Method Not Allowed\r\nContent-length: 146\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method not supported by that resource\n</body></html>\n"),
    (407, b"HTTP/1.1 407 Unauthorized\r\nContent-length: 112\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>407 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"),
    (408, b"HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n"),
    (410, b"HTTP/1.1 410 Gone\r\nContent-length: 114\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n</body></html>\n"),
    (413, b"HTTP/1.1 413 Payload Too Large\r\nContent-length: 106\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n</body></html>\n"),
    (421, b"HTTP/1.1 421 Misdirected Request\r\nContent-length: 104\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>421 Misdirected Request</h1>\nRequest sent to a non-authoritative server.\n</body></html>\n"),
    (422, b"HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n"),
    (425, b"HTTP/1.1 425 Too Early\r\nContent-length: 80\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>425 Too Early</h1>\nYour browser sent early data.\n</body></html>\n"),
    (429, b"HTTP/1.1 429 Too Many Requests\r\nContent-length: 117\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n"),
    (500, b"HTTP/1.1 500 Internal Server Error\r\nContent-length: 97\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"),
    (501, b"HTTP/1.1 501 Not Implemented\r\nContent-length: 136\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to fulfill the request.\n</body></html>\n"),
    (502, b"HTTP/1.1 502 Bad Gateway\r\nContent-length: 107\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"),
    (503, b"HTTP/1.1 503 Service Unavailable\r\nContent-length: 107\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"),
    (504, b"HTTP/1.1 504 Gateway Time-out\r\nContent-length: 92\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"),
];

/// The built-in message of `status` as HAProxy sends it raw; unknown
/// statuses use the 500 one, as HAProxy's `http_get_status_idx`.
pub fn raw(status: u16) -> &'static [u8] {
    MESSAGES
        .iter()
        .find(|(s, _)| *s == status)
        .or_else(|| MESSAGES.iter().find(|(s, _)| *s == 500))
        .map_or(b"", |(_, m)| m)
}

/// A response rproxy generates.
#[derive(Clone, Debug)]
pub struct Reply {
    pub head: Head,
    pub body: Vec<u8>,
    /// The status the log shows (an errorfile may say otherwise).
    pub log_status: u16,
    /// An empty errorfile: close without sending anything.
    pub silent: bool,
}

/// The reason phrase HAProxy uses for a status (`http_get_reason`).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        210 => "Content Different",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        310 => "Too many Redirects",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Time-out",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested range unsatisfiable",
        417 => "Expectation failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Method failure",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        449 => "Retry With",
        450 => "Blocked by Windows Parental Controls",
        451 => "Unavailable For Legal Reasons",
        456 => "Unrecoverable Error",
        499 => "client has closed connection",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway or Proxy Error",
        503 => "Service Unavailable",
        504 => "Gateway Time-out",
        505 => "HTTP Version not supported",
        506 => "Variant also negociate",
        507 => "Insufficient storage",
        508 => "Loop detected",
        509 => "Bandwidth Limit Exceeded",
        510 => "Not extended",
        511 => "Network authentication required",
        520 => "Web server is returning an unknown error",
        _ => match status / 100 {
            1 => "Informational",
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Other",
        },
    }
}

/// A reply from raw HTTP response bytes (built-in page or errorfile).
pub fn from_raw(bytes: &[u8], log_status: u16) -> Reply {
    if bytes.is_empty() {
        return Reply {
            head: head(log_status, Vec::new()),
            body: Vec::new(),
            log_status,
            silent: true,
        };
    }
    let lim = Limits::new(65536, 0, 1000);
    match parse_response(bytes, &lim, "GET") {
        Ok(Parsed::Done(h, n)) => Reply {
            body: bytes[n..].to_vec(),
            head: h,
            log_status,
            silent: false,
        },
        _ => builtin(500),
    }
}

/// The built-in page of a status.
pub fn builtin(status: u16) -> Reply {
    from_raw(raw(status), status)
}

/// A bare head `HTTP/1.1 <status> <reason>` with these headers.
pub fn head(status: u16, headers: Vec<Header>) -> Head {
    Head {
        line: Line::Response {
            version: b"HTTP/1.1".to_vec().into(),
            status,
            code: status.to_string().into_bytes().into(),
            reason: reason(status).as_bytes().to_vec().into(),
        },
        headers,
        flags: super::head::Flags {
            ver11: true,
            clen: true,
            ..Default::default()
        },
        body_len: 0,
    }
}

fn hdr(name: &str, value: impl AsRef<[u8]>) -> Header {
    Header::new(name, value)
}

/// The page a proxy answers `status` with: the backend's replacement,
/// else the frontend's, else the built-in one (HAProxy's
/// `http_error_message`).
pub fn error(cfg: &Config, fe: &Proxy, be: Option<&Proxy>, status: u16) -> Reply {
    for p in be.into_iter().chain(std::iter::once(fe)) {
        if let Some(r) = proxy_page(cfg, p, status) {
            return r;
        }
    }
    builtin(status)
}

fn proxy_page(cfg: &Config, p: &Proxy, status: u16) -> Option<Reply> {
    let page = p.error_pages.iter().find(|e| e.status == status)?;
    Some(match &page.page {
        ErrorPage::File { content, .. } => from_raw(content, status),
        ErrorPage::Location { code, url } => {
            let mut h = head(
                *code,
                vec![
                    hdr("Cache-Control", "no-cache"),
                    hdr("Content-length", "0"),
                    hdr("Location", url.as_bytes()),
                ],
            );
            h.body_len = 0;
            Reply {
                head: h,
                body: Vec::new(),
                log_status: status,
                silent: false,
            }
        }
        ErrorPage::Return(r) => static_return(cfg, r, Some(p)),
        ErrorPage::Section { name } => {
            let sec = cfg.http_errors.iter().find(|s| &s.name == name)?;
            let e = sec.pages.iter().find(|e| e.status == status)?;
            match &e.page {
                ErrorPage::File { content, .. } => from_raw(content, status),
                _ => return None,
            }
        }
    })
}

/// A `return`-style reply whose parts need no log-format evaluation.
pub fn static_return(cfg: &Config, r: &ReturnCfg, p: Option<&Proxy>) -> Reply {
    let rendered = Rendered {
        headers: Vec::new(),
        body: match &r.body {
            ReturnBody::String(s) => Some(s.as_bytes().to_vec()),
            ReturnBody::File(_, c) => Some(c.to_vec()),
            _ => None,
        },
    };
    build_return(cfg, r, p, rendered)
}

/// The parts of a `return` that are log formats, evaluated by the caller.
pub struct Rendered {
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Option<Vec<u8>>,
}

/// HAProxy's `http_reply_to_htx`: the `hdr` lines, then content-length,
/// then content-type (with a body), then the body.
pub fn build_return(cfg: &Config, r: &ReturnCfg, _p: Option<&Proxy>, parts: Rendered) -> Reply {
    match &r.body {
        ReturnBody::RawFile(_, content) => return from_raw(content, r.status),
        ReturnBody::Errorfiles(name) => {
            if let Some(e) = cfg
                .http_errors
                .iter()
                .find(|s| &s.name == name)
                .and_then(|s| s.pages.iter().find(|e| e.status == r.status))
                && let ErrorPage::File { content, .. } = &e.page
            {
                return from_raw(content, r.status);
            }
            return builtin(r.status);
        }
        _ => {}
    }
    let mut headers: Vec<Header> = parts
        .headers
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| hdr(&n, v))
        .collect();
    let body = parts.body.unwrap_or_default();
    if !matches!(r.status, 204 | 304) {
        headers.push(hdr("content-length", body.len().to_string()));
    }
    if !body.is_empty()
        && let Some(ct) = &r.content_type
    {
        headers.push(hdr("content-type", ct.as_bytes()));
    }
    let mut h = head(r.status, headers);
    h.body_len = body.len() as u64;
    Reply {
        head: h,
        body,
        log_status: r.status,
        silent: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::http::out::{ClientConn, response};

    #[test]
    fn builtin_pages_as_haproxy_emits_them() {
        let r = builtin(503);
        let mut wire = response(&r.head, ClientConn::KeepAlive, true);
        wire.extend_from_slice(&r.body);
        assert_eq!(
            String::from_utf8(wire).unwrap(),
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
        );
        for (status, msg) in MESSAGES {
            let (head, body) =
                msg.split_at(msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4);
            let cl: usize = String::from_utf8_lossy(head)
                .lines()
                .find_map(|l| l.strip_prefix("Content-length: "))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert_eq!(cl, body.len(), "{status}");
        }
        assert_eq!(raw(418), raw(500));
    }
}
