//! The HTTP/1 parser and framing on arbitrary bytes: request and response
//! heads (whole and fed in two parts), chunked bodies, and the heads
//! rproxy writes back out. Whatever the input, no panic, and what rproxy
//! writes, it reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rproxy::engine::http::body::chunked_prefix_ok;
use rproxy::engine::http::head::{Limits, Parsed, parse_request, parse_response};
use rproxy::engine::http::out;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let lim = Limits::new(16384, 1024, 101);
    let split = usize::from(selector).min(input.len());
    match selector % 4 {
        0 | 1 => {
            let whole = parse_request(input, &lim);
            // Fed in two parts, the first part never claims more bytes.
            if let Ok(Parsed::Done(_, n)) = parse_request(&input[..split], &lim) {
                assert!(n <= split);
                assert!(matches!(whole, Ok(Parsed::Done(_, m)) if m == n));
            }
            if let Ok(Parsed::Done(h, n)) = whole {
                assert!(n <= input.len());
                let _ = chunked_prefix_ok(&input[n..]);
                let bytes = out::request(&h, selector & 1 == 1);
                assert!(
                    matches!(parse_request(&bytes, &Limits::new(65536, 0, 1000)), Ok(Parsed::Done(..))),
                    "rproxy reads back the request it writes"
                );
            }
        }
        2 => {
            for method in ["GET", "HEAD", "CONNECT"] {
                if let Ok(Parsed::Done(h, n)) = parse_response(input, &lim, method) {
                    assert!(n <= input.len());
                    let _ = out::response(&h, out::ClientConn::KeepAlive, true);
                    let _ = out::response(&h, out::ClientConn::Close, false);
                }
            }
        }
        _ => {
            let _ = chunked_prefix_ok(input);
        }
    }
});
