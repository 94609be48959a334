#!/usr/bin/env python3
"""Writes a large haproxy.cfg: one frontend routing by Host to N backends of
M servers each (addresses only, no names), for `rproxy -c` vs `haproxy -c`."""
import sys

backends = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
servers = int(sys.argv[2]) if len(sys.argv) > 2 else 10
out = sys.stdout
out.write("""global
    maxconn 100000
    log 127.0.0.1:514 local0

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option forwardfor
    retries 3
    option redispatch
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe_main
    bind 127.0.0.1:8080
""")
for b in range(backends):
    out.write(f"    use_backend be_{b} if {{ hdr(host) -i app{b}.example.invalid }}\n")
out.write("    default_backend be_0\n\n")
for b in range(backends):
    out.write(f"backend be_{b}\n    balance roundrobin\n    cookie SRV insert indirect nocache\n")
    for s in range(servers):
        n = b * servers + s
        ip = f"198.18.{(n >> 8) & 255}.{n & 255}"
        out.write(f"    server s{s} {ip}:80 cookie s{s} check inter 2000 rise 2 fall 3\n")
    out.write("\n")
