#!/usr/bin/env python3
"""
HTTP/1 golden-corpus recorder for reverse proxies (request-smuggling defences).

Usage:
    python3 corpus.py PROXY_BINARY OUT.json [options]

    python3 corpus.py /usr/sbin/haproxy /tmp/h1corpus/haproxy-2.6.json

By default a HAProxy configuration is generated (mode http, timeouts
connect 1s / client 2s / server 2s / http-request 1s, frontend on
127.0.0.1:19300, one server 127.0.0.1:19301).  To replay the same corpus
against another proxy supply a config template and a command template:

    python3 corpus.py /usr/sbin/nginx out-nginx.json \
        --config-template nginx.conf.tmpl \
        --cmd '{bin} -c {conf} -p {run} -g "daemon off; pid {run}/nginx.pid;"'

Placeholders available in both templates: {FRONT_PORT} {BACK_PORT} {RUN_DIR}
(and in --cmd: {bin} {conf} {run}).

Everything happens on 127.0.0.1, ports 19300-19399 only.  Every process
started by this script is terminated by pid before it exits.

Output: JSON list, one object per case, with keys
  name, request_b64, client_status, client_raw_b64, client_closed,
  backend_raw_b64 (list, one entry per backend connection)
plus extra diagnostic keys (see README.md).
"""
import argparse
import base64
import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
FRONT_PORT = 19300
BACK_PORT = 19301
CASE_DEADLINE = 2.6        # seconds of client observation per case (after connect)
SETTLE = 0.15              # extra time to let backend connections finish
CLOSE_PROMPT_MS = 500      # a close within this many ms of the last byte = "proxy closed"
CLIENT_RAW_MAX = 4096

OK_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
OK_RESPONSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"

HAPROXY_CFG = """\
global
    maxconn 200
    stats socket {RUN_DIR}/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
    timeout http-request 1s

frontend fe
    bind 127.0.0.1:{FRONT_PORT}
    default_backend be

backend be
    # never share a server connection between two client sessions, so that
    # every backend connection can be attributed to exactly one case
    http-reuse never
    server s1 127.0.0.1:{BACK_PORT}
"""

# --------------------------------------------------------------------------
# Test cases
# --------------------------------------------------------------------------

SMUG = b"GET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n"
H = b"Host: example.com\r\n"


def req(line, headers=(), body=b"", host=True):
    """Build a request with CRLF line endings."""
    out = line + b"\r\n"
    if host:
        out += H
    for h in headers:
        out += h + b"\r\n"
    return out + b"\r\n" + body


def chunked(*chunks):
    out = b""
    for c in chunks:
        out += b"%x\r\n" % len(c) + c + b"\r\n"
    return out + b"0\r\n\r\n"


CASES = []


def case(name, data, note="", kind="malformed", parts=None):
    """data: bytes sent at once; parts: list of (bytes, pause_after_seconds)."""
    if parts is None:
        parts = [(data, 0.0)]
    CASES.append({"name": name, "parts": parts, "note": note, "kind": kind})


def build_cases():
    # ---------------- normal requests ----------------
    N = "normal"
    case("get_simple", req(b"GET / HTTP/1.1"), "plain GET", N)
    case("get_query", req(b"GET /path/a?b=c&d=e%20f HTTP/1.1"), "GET with query string", N)
    case("post_cl", req(b"POST /p HTTP/1.1", [b"Content-Length: 5"], b"hello"), "POST with CL", N)
    case("post_cl_zero", req(b"POST /p HTTP/1.1", [b"Content-Length: 0"]), "POST CL: 0", N)
    case("post_chunked", req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: chunked"], chunked(b"hello")),
         "chunked POST", N)
    case("post_chunked_multi", req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: chunked"],
                                   chunked(b"hello", b" ", b"world" * 20)), "chunked POST, 3 chunks", N)
    case("put_cl", req(b"PUT /r HTTP/1.1", [b"Content-Length: 3"], b"abc"), "PUT with CL", N)
    case("delete", req(b"DELETE /r HTTP/1.1"), "DELETE", N)
    case("head", req(b"HEAD / HTTP/1.1"), "HEAD (backend answers headers only)", N)
    case("options_star", req(b"OPTIONS * HTTP/1.1"), "OPTIONS asterisk-form", N)
    case("absolute_uri", req(b"GET http://example.com/x?y=1 HTTP/1.1"), "absolute-form, same Host", N)
    case("http10_close", b"GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 without Host, no keep-alive", N)
    case("http10_keepalive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
         "HTTP/1.0 with Connection: keep-alive", N)
    case("http11_connection_close", req(b"GET / HTTP/1.1", [b"Connection: close"]), "1.1 + Connection: close", N)
    case("pipelined_two_gets", req(b"GET /1 HTTP/1.1") + req(b"GET /2 HTTP/1.1"), "two pipelined GETs", N)
    case("pipelined_post_then_get",
         req(b"POST /1 HTTP/1.1", [b"Content-Length: 5"], b"hello") + req(b"GET /2 HTTP/1.1"),
         "pipelined POST(CL) + GET", N)
    case("expect_100_continue",
         req(b"POST /e HTTP/1.1", [b"Content-Length: 5", b"Expect: 100-continue"], b"hello"),
         "Expect: 100-continue, body sent immediately", N)
    case("expect_100_continue_wait", None, "Expect: 100-continue, body sent 0.5 s later", N,
         parts=[(req(b"POST /e HTTP/1.1", [b"Content-Length: 5", b"Expect: 100-continue"]), 0.5),
                (b"hello", 0.0)])
    case("large_headers_10k", req(b"GET / HTTP/1.1", [b"X-Big-%02d: %s" % (i, b"v" * 480) for i in range(20)]),
         "20 headers x ~500 bytes (~10 KB head)", N)
    case("long_uri_8k", req(b"GET /" + b"a" * 8000 + b" HTTP/1.1"), "8000-byte URI", N)

    # ---------------- CL / TE ambiguity ----------------
    body = b"0\r\n\r\n" + SMUG
    case("cl_te_both_cl_first",
         req(b"POST /p HTTP/1.1", [b"Content-Length: %d" % len(body), b"Transfer-Encoding: chunked"], body),
         "CL.TE: CL covers smuggled GET, chunked ends before it")
    case("cl_te_both_te_first",
         req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: chunked", b"Content-Length: %d" % len(body)], body),
         "TE.CL order swapped, same body")
    te_body = chunked(SMUG)
    case("te_cl_short_cl",
         req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: chunked", b"Content-Length: 4"], te_body),
         "TE.CL: chunk data is a GET; CL=4 would expose it")
    case("cl_dup_same", req(b"POST /p HTTP/1.1", [b"Content-Length: 5", b"Content-Length: 5"], b"hello"),
         "two identical CL headers")
    case("cl_dup_diff", req(b"POST /p HTTP/1.1", [b"Content-Length: 5", b"Content-Length: 6"], b"hello!"),
         "two different CL headers")
    case("cl_comma_same", req(b"POST /p HTTP/1.1", [b"Content-Length: 5, 5"], b"hello"), "CL: 5, 5")
    case("cl_comma_diff", req(b"POST /p HTTP/1.1", [b"Content-Length: 5, 6"], b"hello!"), "CL: 5, 6")
    case("cl_plus", req(b"POST /p HTTP/1.1", [b"Content-Length: +5"], b"hello"), "CL: +5")
    case("cl_negative", req(b"POST /p HTTP/1.1", [b"Content-Length: -1"], b"hello"), "CL: -1")
    case("cl_huge_overflow", req(b"POST /p HTTP/1.1", [b"Content-Length: 99999999999999999999999"], b"hello"),
         "CL overflows 64 bits")
    case("cl_large_incomplete", req(b"POST /p HTTP/1.1", [b"Content-Length: 1000000000"], b"hello"),
         "CL 1e9, only 5 bytes sent (timeout behaviour)")
    case("cl_non_numeric", req(b"POST /p HTTP/1.1", [b"Content-Length: abc"], b"hello"), "CL: abc")
    case("cl_hex", req(b"POST /p HTTP/1.1", [b"Content-Length: 0x5"], b"hello"), "CL: 0x5")
    case("cl_inner_space", req(b"POST /p HTTP/1.1", [b"Content-Length: 1 0"], b"0123456789"), "CL: 1 0")
    case("cl_leading_zeros", req(b"POST /p HTTP/1.1", [b"Content-Length: 0005"], b"hello"), "CL: 0005")
    case("cl_empty", req(b"POST /p HTTP/1.1", [b"Content-Length: "], b""), "CL with empty value")
    case("cl_trailing_tab_ws", req(b"POST /p HTTP/1.1", [b"Content-Length:\t5\t "], b"hello"),
         "CL with tab/space OWS (valid)")
    case("cl_space_before_colon", req(b"POST /p HTTP/1.1", [b"Content-Length : 5"], b"hello"),
         "'Content-Length : 5' (space before colon)")
    case("cl_get_with_body", req(b"GET / HTTP/1.1", [b"Content-Length: 5"], b"hello"), "GET with CL body")
    case("cl_http10_post", b"POST /p HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", "HTTP/1.0 POST with CL", )
    case("cl_body_longer_than_cl", req(b"POST /p HTTP/1.1", [b"Content-Length: 5"], b"helloEXTRA"),
         "5 extra bytes after the CL body (become a bogus next request)")
    case("cl_connection_nominated", req(b"POST /p HTTP/1.1", [b"Connection: Content-Length", b"Content-Length: 5"],
                                        b"hello"), "Connection: Content-Length (hop-by-hop abuse)")

    # ---------------- Transfer-Encoding variants ----------------
    cb = chunked(b"hello")
    for name, te, note in [
        ("te_gzip_chunked", b"gzip, chunked", "TE: gzip, chunked"),
        ("te_chunked_gzip", b"chunked, gzip", "TE: chunked, gzip (chunked not last)"),
        ("te_chunked_trailing_space", b"chunked ", "TE: 'chunked ' (trailing OWS)"),
        ("te_chunked_leading_tab", b"\tchunked", "TE: '\\tchunked'"),
        ("te_Chunked_case", b"Chunked", "TE: Chunked (case)"),
        ("te_xchunked", b"xchunked", "TE: xchunked"),
        ("te_identity", b"identity", "TE: identity (obsolete coding)"),
        ("te_chunked_chunked", b"chunked, chunked", "TE: chunked, chunked"),
        ("te_chunked_vtab", b"chunked\x0b", "TE: 'chunked\\v'"),
        ("te_empty", b"", "TE with empty value"),
    ]:
        case(name, req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: " + te], cb), note + " (no CL)")
    case("te_xchunked_with_cl",
         req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: xchunked", b"Content-Length: %d" % len(body)], body),
         "TE: xchunked + CL covering '0\\r\\n\\r\\n'+GET")
    case("te_chunked_gzip_with_cl",
         req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: chunked, gzip", b"Content-Length: %d" % len(body)], body),
         "TE: chunked, gzip + CL")
    case("te_two_headers", req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"], cb),
         "two TE headers: gzip then chunked")
    case("te_two_headers_chunked_first",
         req(b"POST /p HTTP/1.1", [b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity"], cb),
         "two TE headers: chunked then identity")
    case("te_space_before_colon_with_cl",
         req(b"POST /p HTTP/1.1", [b"Transfer-Encoding : chunked", b"Content-Length: %d" % len(body)], body),
         "'Transfer-Encoding : chunked' + CL")
    case("te_obs_fold",
         req(b"POST /p HTTP/1.1", [b"Transfer-Encoding:", b" chunked", b"Content-Length: %d" % len(body)], body),
         "TE value on obs-fold continuation line + CL")
    case("te_http10", b"POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + cb, "TE chunked in HTTP/1.0")
    case("te_http10_with_cl",
         b"POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
         "TE chunked + CL in HTTP/1.0")
    case("te_get_chunked", req(b"GET / HTTP/1.1", [b"Transfer-Encoding: chunked"], cb), "GET with chunked body")

    # ---------------- chunked body syntax ----------------
    P = b"POST /p HTTP/1.1"
    TE = [b"Transfer-Encoding: chunked"]
    for name, b, note in [
        ("chunk_size_non_hex", b"zz\r\nhello\r\n0\r\n\r\n", "chunk size 'zz'"),
        ("chunk_size_overflow", b"fffffffffffffffff5\r\nhello\r\n0\r\n\r\n", "chunk size 18 hex digits"),
        ("chunk_size_trailing_space", b"5 \r\nhello\r\n0\r\n\r\n", "chunk size '5 '"),
        ("chunk_size_leading_space", b" 5\r\nhello\r\n0\r\n\r\n", "chunk size ' 5'"),
        ("chunk_size_0x", b"0x5\r\nhello\r\n0\r\n\r\n", "chunk size '0x5'"),
        ("chunk_size_negative", b"-5\r\nhello\r\n0\r\n\r\n", "chunk size '-5'"),
        ("chunk_size_empty", b"\r\nhello\r\n0\r\n\r\n", "empty chunk-size line"),
        ("chunk_missing_crlf_after_data", b"5\r\nhelloXX0\r\n\r\n", "no CRLF after chunk data"),
        ("chunk_data_longer_than_size", b"3\r\nhello\r\n0\r\n\r\n", "size 3 but 5 data bytes"),
        ("chunk_bare_lf", b"5\nhello\n0\n\n", "bare LF everywhere in chunked body"),
        ("chunk_bare_lf_after_size", b"5\nhello\r\n0\r\n\r\n", "bare LF only after chunk size"),
        ("chunk_bare_lf_after_data", b"5\r\nhello\n0\r\n\r\n", "bare LF only after chunk data"),
        ("chunk_extension", b"5;foo=bar\r\nhello\r\n0;x=y\r\n\r\n", "chunk extensions"),
        ("chunk_extension_quoted_crlf", b"5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n", "chunk ext with bare LF inside quotes"),
        ("chunk_ext_bare_lf_smuggle", b"2;\nxx\r\n0\r\n\r\n" + SMUG,
         "chunk ext terminated by bare LF, then last-chunk + GET (funky-chunk style)"),
        ("chunk_trailers", b"5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n", "valid trailer"),
        ("chunk_trailer_invalid", b"5\r\nhello\r\n0\r\nbad trailer line\r\n\r\n", "trailer without colon"),
        ("chunk_trailer_cl", b"5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n", "Content-Length in trailer"),
        ("chunk_last_missing", b"5\r\nhello\r\n", "no last-chunk (incomplete body)"),
        ("chunk_leading_zeros", b"00000005\r\nhello\r\n0\r\n\r\n", "chunk size with leading zeros"),
    ]:
        case(name, req(P, TE, b), note)

    # ---------------- header syntax ----------------
    G = b"GET / HTTP/1.1"
    case("obs_fold", req(G, [b"X-Foo: a", b" b"]), "obs-fold continuation line")
    case("obs_fold_tab", req(G, [b"X-Foo: a", b"\tb"]), "obs-fold with tab")
    case("obs_fold_first_line", b"GET / HTTP/1.1\r\n X-Foo: a\r\nHost: example.com\r\n\r\n",
         "whitespace-led line right after request line")
    case("space_before_colon", b"GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", "'Host : x'")
    case("header_name_space_inside", req(G, [b"X Foo: a"]), "space inside header name")
    case("header_name_at", req(G, [b"X@Foo: a"]), "'@' in header name")
    case("header_name_bracket", req(G, [b"X[Foo]: a"]), "'[' in header name")
    case("header_name_nonascii", req(G, [b"X-F\xf6o: a"]), "byte 0xF6 in header name")
    case("header_empty_name", req(G, [b": value"]), "empty header name")
    case("header_no_colon", req(G, [b"NoColonHere"]), "header line without colon")
    case("header_nul_value", req(G, [b"X-Foo: a\x00b"]), "NUL in header value")
    case("header_ctl_value", req(G, [b"X-Foo: a\x01b"]), "0x01 in header value")
    case("header_del_value", req(G, [b"X-Foo: a\x7fb"]), "DEL in header value")
    case("header_bare_cr_value", req(G, [b"X-Foo: a\rb"]), "bare CR inside header value")
    case("header_bare_cr_line_end", b"GET / HTTP/1.1\rHost: example.com\r\n\r\n", "bare CR ending request line")
    case("header_obs_text_value", req(G, [b"X-Foo: caf\xe9 \xff"]), "obs-text (0x80-0xFF) in value")
    case("header_tab_value", req(G, [b"X-Foo: a\tb"]), "HTAB inside value (valid)")
    case("bare_lf_all", b"GET / HTTP/1.1\nHost: example.com\nX-A: b\n\n", "bare LF line endings")
    case("bare_lf_mixed", b"GET / HTTP/1.1\r\nHost: example.com\nX-A: b\r\n\r\n", "one bare LF header end")
    case("bare_lf_final", b"GET / HTTP/1.1\r\nHost: example.com\r\n\n", "end of headers = CRLF LF")
    case("header_long_value_20k", req(G, [b"X-Long: " + b"a" * 20000]), "20000-byte header value")
    case("headers_99_plus_host", req(G, [b"X-H%03d: v" % i for i in range(99)]), "100 header lines total")
    case("headers_100_plus_host", req(G, [b"X-H%03d: v" % i for i in range(100)]), "101 header lines total")
    case("headers_101_plus_host", req(G, [b"X-H%03d: v" % i for i in range(101)]), "102 header lines total")

    # ---------------- request line ----------------
    case("uri_nul", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", "NUL in URI")
    case("uri_ctl", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", "0x01 in URI")
    case("uri_del", b"GET /a\x7fb HTTP/1.1\r\n" + H + b"\r\n", "DEL in URI")
    case("uri_high_byte", b"GET /caf\xe9 HTTP/1.1\r\n" + H + b"\r\n", "0xE9 in URI")
    case("uri_space", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", "space inside URI")
    case("uri_tab", b"GET /a\tb HTTP/1.1\r\n" + H + b"\r\n", "tab inside URI")
    case("uri_fragment", b"GET /a#frag HTTP/1.1\r\n" + H + b"\r\n", "fragment in URI")
    case("uri_double_quote_angle", b"GET /a\"<>{}|\\^` HTTP/1.1\r\n" + H + b"\r\n", "unsafe printable chars in URI")
    case("uri_no_leading_slash", b"GET a/b HTTP/1.1\r\n" + H + b"\r\n", "relative URI without '/'")
    case("uri_dot_segments", b"GET /a/../../etc/passwd HTTP/1.1\r\n" + H + b"\r\n", "dot segments")
    case("request_line_double_space", b"GET  / HTTP/1.1\r\n" + H + b"\r\n", "two spaces after method")
    case("request_line_trailing_space", b"GET / HTTP/1.1 \r\n" + H + b"\r\n", "space after version")
    case("request_line_tab_sep", b"GET\t/\tHTTP/1.1\r\n" + H + b"\r\n", "tabs as separators")
    case("http09_no_version", b"GET /\r\n\r\n", "HTTP/0.9 style, no version")
    case("version_1_2", b"GET / HTTP/1.2\r\n" + H + b"\r\n", "HTTP/1.2")
    case("version_2_0", b"GET / HTTP/2.0\r\n" + H + b"\r\n", "HTTP/2.0 in HTTP/1 syntax")
    case("version_http1", b"GET / HTTP/1\r\n" + H + b"\r\n", "HTTP/1 (no minor)")
    case("version_lowercase", b"GET / http/1.1\r\n" + H + b"\r\n", "lowercase http/1.1")
    case("version_9_9", b"GET / HTTP/9.9\r\n" + H + b"\r\n", "HTTP/9.9")
    case("version_1_10", b"GET / HTTP/1.10\r\n" + H + b"\r\n", "HTTP/1.10")
    case("version_garbage", b"GET / FOO/1.1\r\n" + H + b"\r\n", "FOO/1.1")
    case("method_lowercase", b"get / HTTP/1.1\r\n" + H + b"\r\n", "lowercase method (valid token)")
    case("method_unknown_token", b"FOO / HTTP/1.1\r\n" + H + b"\r\n", "unknown but valid token method")
    case("method_invalid_paren", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", "'(' in method")
    case("method_invalid_ctl", b"GE\x01T / HTTP/1.1\r\n" + H + b"\r\n", "0x01 in method")
    case("method_invalid_at", b"GET@ / HTTP/1.1\r\n" + H + b"\r\n", "'@' in method")
    case("request_line_17k", b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\n" + H + b"\r\n", "17000-byte URI (>16k)")
    case("leading_crlf_lines", b"\r\n\r\n" + req(G), "two empty CRLF lines before request line")
    case("leading_lf_lines", b"\n\n" + req(G), "two bare LF lines before request line")
    case("pri_h2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/2 prior-knowledge preface on h1 port")
    case("h2c_upgrade", req(G, [b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c",
                                b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"]), "h2c upgrade request")
    case("websocket_upgrade", req(G, [b"Connection: Upgrade", b"Upgrade: websocket",
                                      b"Sec-WebSocket-Version: 13",
                                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]),
         "websocket upgrade (backend answers 200, not 101)")
    case("truncated_headers", b"GET / HTTP/1.1\r\nHost: example.com\r\n", "head never terminated")
    case("garbage_binary", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 20,
         "TLS ClientHello-like bytes")

    # ---------------- Host / authority ----------------
    case("absolute_uri_diff_host", b"GET http://other.example/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
         "absolute-form authority differs from Host")
    case("absolute_uri_no_host", b"GET http://example.com/x HTTP/1.1\r\n\r\n", "absolute-form, no Host header")
    case("absolute_uri_userinfo", b"GET http://user:pw@example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
         "absolute-form with userinfo")
    case("absolute_uri_https", b"GET https://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
         "https absolute-form on cleartext")
    case("host_multiple_same", b"GET / HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\n\r\n",
         "two identical Host headers")
    case("host_multiple_diff", b"GET / HTTP/1.1\r\nHost: example.com\r\nHost: evil.example\r\n\r\n",
         "two different Host headers")
    case("host_with_port", b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", "Host with port")
    case("host_empty_http11", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", "empty Host in 1.1")
    case("host_missing_http11", b"GET / HTTP/1.1\r\n\r\n", "no Host in 1.1")
    case("host_comma_list", b"GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n", "Host: a, b")
    case("host_with_space", b"GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n", "space inside Host value")
    case("host_with_at", b"GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n", "userinfo-like Host value")

    # ---------------- pipelining / smuggling-shaped ----------------
    case("pipelined_garbage_after", req(G) + b"GARBAGE\r\n\r\n", "valid GET then garbage line")
    case("pipelined_partial_second", req(G) + b"GET /2 HTTP/1.1\r\nHost: ex", "second request truncated")
    case("get_cl0_then_smuggle", req(G, [b"Content-Length: 0"]) + SMUG, "GET CL:0 followed by a second GET")
    case("expect_100_no_body", req(b"POST /e HTTP/1.1", [b"Content-Length: 5", b"Expect: 100-continue"]),
         "Expect: 100-continue and body never sent")
    case("expect_unknown", req(b"POST /e HTTP/1.1", [b"Content-Length: 5", b"Expect: 100-continuex"], b"hello"),
         "unknown Expect value")


# --------------------------------------------------------------------------
# Fake backend
# --------------------------------------------------------------------------

HEAD_END = re.compile(rb"\r?\n\r?\n")


def frame_one(buf, pos):
    """Try to frame one request starting at buf[pos].
    Returns ("ok", end, method) | ("incomplete", None, None) | ("error", msg, None)."""
    m = HEAD_END.search(buf, pos)
    if not m:
        return "incomplete", None, None
    head = bytes(buf[pos:m.start()])
    body_start = m.end()
    lines = [l.rstrip(b"\r") for l in head.split(b"\n")]
    # skip leading empty lines
    while lines and lines[0] == b"":
        lines.pop(0)
    if not lines:
        return "ok", body_start, b""
    method = lines[0].split(b" ", 1)[0]
    te_tokens, cls = [], []
    for l in lines[1:]:
        if b":" not in l:
            continue
        n, _, v = l.partition(b":")
        n = n.strip().lower()
        if n == b"transfer-encoding":
            te_tokens += [t.strip().lower() for t in v.split(b",") if t.strip()]
        elif n == b"content-length":
            cls += [t.strip() for t in v.split(b",")]
    if te_tokens and te_tokens[-1] == b"chunked":
        p = body_start
        while True:
            nl = buf.find(b"\n", p)
            if nl < 0:
                return "incomplete", None, None
            size_s = bytes(buf[p:nl]).rstrip(b"\r").split(b";")[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                return "error", "bad chunk size %r" % size_s[:40], None
            p = nl + 1
            if size == 0:
                # trailers until empty line
                while True:
                    nl = buf.find(b"\n", p)
                    if nl < 0:
                        return "incomplete", None, None
                    line = bytes(buf[p:nl]).rstrip(b"\r")
                    p = nl + 1
                    if line == b"":
                        return "ok", p, method
            if len(buf) < p + size + 1:
                return "incomplete", None, None
            p += size
            if buf[p:p + 2] == b"\r\n":
                p += 2
            elif buf[p:p + 1] == b"\n":
                p += 1
            elif len(buf) < p + 2:
                return "incomplete", None, None
            else:
                return "error", "missing CRLF after chunk data", None
    if cls:
        if len(set(cls)) != 1 or not cls[0].isdigit():
            return "error", "bad content-length %r" % cls[:4], None
        end = body_start + int(cls[0])
        if len(buf) < end:
            return "incomplete", None, None
        return "ok", end, method
    return "ok", body_start, method


class BackendConn:
    def __init__(self, sock, case_id):
        self.sock = sock
        self.case_id = case_id
        self.raw = bytearray()
        self.requests = []       # list of bytes
        self.pos = 0
        self.error = None
        self.closed = False
        self.last_activity = time.monotonic()
        self.lock = threading.Lock()

    def run(self):
        s = self.sock
        s.settimeout(0.05)
        try:
            while not self.closed:
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not d:
                    break
                with self.lock:
                    self.raw += d
                    self.last_activity = time.monotonic()
                    while self.error is None and self.pos < len(self.raw):
                        st, end, method = frame_one(self.raw, self.pos)
                        if st == "incomplete":
                            break
                        if st == "error":
                            self.error = end
                            break
                        self.requests.append(bytes(self.raw[self.pos:end]))
                        self.pos = end
                        try:
                            s.sendall(OK_RESPONSE_HEAD if method == b"HEAD" else OK_RESPONSE)
                        except OSError:
                            pass
        finally:
            self.closed = True
            self.last_activity = time.monotonic()
            try:
                s.close()
            except OSError:
                pass

    def force_close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def snapshot(self):
        with self.lock:
            return {
                "raw": bytes(self.raw),
                "requests": list(self.requests),
                "leftover": bytes(self.raw[self.pos:]),
                "error": self.error,
            }


class Backend:
    def __init__(self, port):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((HOST, port))
        self.ls.listen(64)
        self.ls.settimeout(0.1)
        self.case_id = None
        self.conns = []
        self.stop = False
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                bc = BackendConn(c, self.case_id)
                self.conns.append(bc)
            threading.Thread(target=bc.run, daemon=True).start()

    def set_case(self, cid):
        with self.lock:
            self.case_id = cid

    def conns_for(self, cid):
        with self.lock:
            return [c for c in self.conns if c.case_id == cid]

    def close_all(self):
        with self.lock:
            cs = list(self.conns)
        for c in cs:
            if not c.closed:
                c.force_close()

    def shutdown(self):
        self.stop = True
        self.close_all()
        try:
            self.ls.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------

STATUS_RE = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})")


def parse_responses(data):
    """Split a raw response stream into status codes (best effort)."""
    statuses = []
    pos = 0
    while pos < len(data):
        m = STATUS_RE.match(data, pos)
        if not m:
            break
        code = int(m.group(3))
        statuses.append(code)
        he = HEAD_END.search(data, pos)
        if not he:
            break
        head = data[pos:he.start()]
        pos = he.end()
        if 100 <= code < 200 or code in (204, 304):
            continue
        cl = None
        te_chunked = False
        for l in head.split(b"\n")[1:]:
            n, _, v = l.rstrip(b"\r").partition(b":")
            n = n.strip().lower()
            if n == b"content-length":
                try:
                    cl = int(v.strip())
                except ValueError:
                    pass
            elif n == b"transfer-encoding" and b"chunked" in v.lower():
                te_chunked = True
        if data.startswith(b"HTTP/1.", pos):   # HEAD response / bodiless
            continue
        if te_chunked:
            while True:
                nl = data.find(b"\n", pos)
                if nl < 0:
                    return statuses
                try:
                    sz = int(data[pos:nl].strip().split(b";")[0], 16)
                except ValueError:
                    return statuses
                pos = nl + 1
                if sz == 0:
                    e = data.find(b"\r\n\r\n", pos - 2)
                    pos = len(data) if e < 0 else e + 4
                    break
                pos += sz + 2
        elif cl is not None:
            pos += cl
        else:
            break   # body until close
    return statuses


def run_client(parts, deadline=CASE_DEADLINE):
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.0)
    s.connect((HOST, FRONT_PORT))
    rx = bytearray()
    last_rx = None
    last_tx = None
    close_kind = None
    close_t = None
    send_error = None

    def pump(until):
        nonlocal last_rx, close_kind, close_t
        while close_kind is None:
            rem = until - time.monotonic()
            if rem <= 0:
                return
            r, _, _ = select.select([s], [], [], rem)
            if not r:
                return
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                close_kind, close_t = "rst", time.monotonic()
                return
            except OSError as e:
                close_kind, close_t = "error:%s" % e.__class__.__name__, time.monotonic()
                return
            if not d:
                close_kind, close_t = "fin", time.monotonic()
                return
            rx.extend(d)
            last_rx = time.monotonic()

    for data, pause in parts:
        if close_kind is not None:
            break
        try:
            s.sendall(data)
            last_tx = time.monotonic()
        except OSError as e:
            send_error = "%s: %s" % (e.__class__.__name__, e)
            break
        if pause:
            pump(min(time.monotonic() + pause, t0 + deadline))
    pump(t0 + deadline)
    try:
        s.close()
    except OSError:
        pass
    ms = lambda t: None if t is None else round((t - t0) * 1000)
    last_act = max(t for t in (last_rx, last_tx, t0) if t is not None)
    idle_before_close = None if close_t is None else round((close_t - last_act) * 1000)
    closed = close_kind is not None and idle_before_close is not None and idle_before_close < CLOSE_PROMPT_MS
    return {
        "raw": bytes(rx),
        "close_kind": close_kind,
        "close_ms": ms(close_t),
        "last_rx_ms": ms(last_rx),
        "idle_before_close_ms": idle_before_close,
        "closed": closed,
        "send_error": send_error,
        "duration_ms": ms(time.monotonic()),
    }


# --------------------------------------------------------------------------
# Proxy process
# --------------------------------------------------------------------------

def port_open(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class Proxy:
    def __init__(self, binary, run_dir, cfg_template=None, cmd_template=None):
        self.binary = binary
        self.run_dir = run_dir
        self.is_haproxy = cfg_template is None
        subs = {"FRONT_PORT": FRONT_PORT, "BACK_PORT": BACK_PORT, "RUN_DIR": run_dir}
        tmpl = HAPROXY_CFG if cfg_template is None else open(cfg_template).read()
        text = tmpl
        for k, v in subs.items():
            text = text.replace("{%s}" % k, str(v))
        self.conf = os.path.join(run_dir, "proxy.cfg")
        with open(self.conf, "w") as f:
            f.write(text)
        if cmd_template is None:
            cmd_template = "{bin} -f {conf} -db"
        cmd = cmd_template.replace("{bin}", binary).replace("{conf}", self.conf).replace("{run}", run_dir)
        for k, v in subs.items():
            cmd = cmd.replace("{%s}" % k, str(v))
        self.cmd = shlex.split(cmd)
        self.proc = None
        self.sock_path = os.path.join(run_dir, "haproxy.sock")
        self.last_err_count = 0

    def start(self):
        if port_open(FRONT_PORT):
            raise SystemExit("port %d already in use, refusing to start" % FRONT_PORT)
        self.log = open(os.path.join(self.run_dir, "proxy.log"), "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        for _ in range(100):
            if self.proc.poll() is not None:
                raise SystemExit("proxy exited early (rc=%s), see %s/proxy.log" % (self.proc.returncode, self.run_dir))
            if port_open(FRONT_PORT):
                return
            time.sleep(0.05)
        raise SystemExit("proxy did not start listening on %d" % FRONT_PORT)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # signal only the process (group) we started, by pid
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(3)
        self.proc = None

    def admin(self, cmd):
        if not self.is_haproxy or not os.path.exists(self.sock_path):
            return None
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(0.5)
            s.connect(self.sock_path)
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
            s.close()
            return out.decode("latin-1")
        except OSError:
            return None

    def new_error_capture(self):
        """HAProxy only: return the newest 'show errors' entry if it is new."""
        out = self.admin("show errors")
        if not out:
            return None
        m = re.search(r"Total events captured on .*?: (\d+)", out)
        if not m:
            return None
        n = int(m.group(1))
        if n == self.last_err_count:
            return None
        self.last_err_count = n
        # keep only the header line of each capture (position + reason)
        entries = re.findall(r"\n(\s*\[\d\d/\w+/\d+:[^\n]*\n(?:[^\n]*\n){0,3})", out)
        text = "".join(entries) if entries else out
        return text[:1200]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def b64(b):
    return base64.b64encode(b).decode("ascii")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("proxy_binary")
    ap.add_argument("out_json")
    ap.add_argument("--config-template", help="proxy config template (default: built-in HAProxy config)")
    ap.add_argument("--cmd", help="command template, default '{bin} -f {conf} -db'")
    ap.add_argument("--only", help="comma-separated case names to run")
    ap.add_argument("--list", action="store_true", help="list cases and exit")
    args = ap.parse_args()

    build_cases()
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    if args.list:
        for c in CASES:
            print("%-32s %-9s %s" % (c["name"], c["kind"], c["note"]))
        print(len(CASES), "cases")
        return
    cases = CASES
    if args.only:
        want = set(args.only.split(","))
        cases = [c for c in CASES if c["name"] in want]

    # One run directory per output file: haproxy and rproxy replay in parallel.
    run_dir = os.path.abspath(args.out_json) + ".run"
    os.makedirs(run_dir, exist_ok=True)
    if port_open(BACK_PORT):
        raise SystemExit("port %d already in use" % BACK_PORT)
    backend = Backend(BACK_PORT)
    proxy = Proxy(args.proxy_binary, run_dir, args.config_template, args.cmd)
    results = []
    try:
        proxy.start()
        proxy.new_error_capture()  # baseline
        version = None
        try:
            version = subprocess.run([args.proxy_binary, "-v"], capture_output=True, timeout=5).stdout.decode(
                "latin-1").splitlines()[0]
        except Exception:
            pass
        for i, c in enumerate(cases):
            if not proxy.alive():
                print("proxy died, restarting", file=sys.stderr)
                proxy.start()
            cid = i + 1
            backend.set_case(cid)
            t0 = time.monotonic()
            cl = run_client(c["parts"])
            # let backend connections of this case finish (bounded)
            end = time.monotonic() + SETTLE
            while time.monotonic() < end:
                if all(bc.closed for bc in backend.conns_for(cid)):
                    break
                time.sleep(0.01)
            backend.set_case(None)
            backend.close_all()
            bconns = [bc.snapshot() for bc in backend.conns_for(cid)]
            dur = time.monotonic() - t0
            sent = b"".join(p for p, _ in c["parts"])
            statuses = parse_responses(cl["raw"])
            final = [s for s in statuses if s >= 200]
            if not final:
                m = STATUS_RE.search(cl["raw"])
                final = [int(m.group(3))] if m else []
            r = {
                "name": c["name"],
                "kind": c["kind"],
                "note": c["note"],
                "request_b64": b64(sent),
                "client_status": final[0] if final else None,
                "client_statuses": statuses,
                "client_raw_b64": b64(cl["raw"][:CLIENT_RAW_MAX]),
                "client_raw_len": len(cl["raw"]),
                "client_closed": cl["closed"],
                "client_close_kind": cl["close_kind"],
                "client_close_ms": cl["close_ms"],
                "client_idle_before_close_ms": cl["idle_before_close_ms"],
                "client_send_error": cl["send_error"],
                "backend_raw_b64": [b64(b["raw"]) for b in bconns],
                "backend_requests_b64": [[b64(x) for x in b["requests"]] for b in bconns],
                "backend_leftover_b64": [b64(b["leftover"]) for b in bconns],
                "backend_parse_error": [b["error"] for b in bconns],
                "backend_request_count": sum(len(b["requests"]) for b in bconns),
                "case_duration_ms": round(dur * 1000),
            }
            if len(c["parts"]) > 1:
                r["send_parts"] = [{"b64": b64(p), "pause_s": s} for p, s in c["parts"]]
            cap = proxy.new_error_capture()
            if cap:
                r["proxy_error_capture"] = cap
            if version:
                r["proxy_version"] = version
            results.append(r)
            print("%3d %-34s status=%-5s statuses=%-14s closed=%-5s(%s,%sms) backend_conns=%d reqs=%d %.2fs" % (
                cid, c["name"], r["client_status"], statuses, cl["closed"], cl["close_kind"],
                cl["idle_before_close_ms"], len(bconns), r["backend_request_count"], dur), flush=True)
            if dur > 3.0:
                print("WARNING: case %s took %.2fs" % (c["name"], dur), file=sys.stderr)
    finally:
        proxy.stop()
        backend.shutdown()
    with open(args.out_json, "w") as f:
        json.dump(results, f, indent=1)
    print("wrote %d cases to %s" % (len(results), args.out_json))


if __name__ == "__main__":
    main()
