//! The request-smuggling suite: 156 HTTP/1 requests, 136 of them malformed
//! or ambiguous (conflicting lengths, odd transfer codings, bad chunks,
//! obs-fold, control bytes, bad versions …), replayed through haproxy and
//! rproxy by `compat-tests/http/corpus.py`, each proxy in its own network
//! namespace at the same time. For every request, what the client got and
//! what the server received must be byte-for-byte the same.

mod support;

use std::process::Command;
use support::netns::{Ns, unique};

/// Cases where rproxy differs on purpose (documented in the man page).
const KNOWN: &[(&str, &str)] = &[(
    "pri_h2_preface",
    "HAProxy answers an HTTP/2 preface in HTTP/2; rproxy has no HTTP/2 and answers 400",
)];

fn run(ns: &Ns, bin: &std::path::Path, out: &std::path::Path, rproxy: bool) {
    let dir = support::root().join("compat-tests/http");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name, "python3"])
        .arg(dir.join("corpus.py"))
        .arg(bin)
        .arg(out);
    if rproxy {
        cmd.arg("--config-template")
            .arg(dir.join("rproxy.cfg.tmpl"))
            .args(["--cmd", "{bin} -db -f {conf}"]);
    }
    let o = cmd.output().expect("python3");
    assert!(
        o.status.success(),
        "corpus run failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn smuggling_corpus_matches_haproxy() {
    if !support::require_root() {
        return;
    }
    let Some(haproxy) = support::haproxy_bin() else {
        return;
    };
    if Command::new("python3").arg("-V").output().is_err() {
        support::require("python3");
        return;
    }
    let tmp = std::env::temp_dir().join(unique("corpus"));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let (hout, rout) = (tmp.join("haproxy.json"), tmp.join("rproxy.json"));
    let (nh, nr) = (Ns::new(unique("cph")), Ns::new(unique("cpr")));
    let rbin = support::rproxy_bin();
    std::thread::scope(|s| {
        s.spawn(|| run(&nh, &haproxy, &hout, false));
        s.spawn(|| run(&nr, &rbin, &rout, true));
    });
    let load = |p: &std::path::Path| -> Vec<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(p).expect("json")).expect("parse")
    };
    let (h, r) = (load(&hout), load(&rout));
    assert_eq!(h.len(), r.len());
    let malformed = h.iter().filter(|c| c["kind"] == "malformed").count();
    assert!(
        malformed >= 40,
        "at least 40 malformed requests ({malformed})"
    );
    let mut diffs = Vec::new();
    for (a, b) in h.iter().zip(&r) {
        let name = a["name"].as_str().unwrap_or("?");
        if KNOWN.iter().any(|(k, _)| *k == name) {
            assert_eq!(b["client_status"], 400, "{name}");
            continue;
        }
        for key in ["client_raw_b64", "backend_raw_b64", "client_closed"] {
            if a[key] != b[key] {
                diffs.push(format!("{name}: {key} differs"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        diffs.is_empty(),
        "differences from haproxy:\n{}",
        diffs.join("\n")
    );
}
