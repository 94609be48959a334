//! `haproxy -c` and `rproxy -c` on every fixture in fixtures/configs: the
//! same verdict (exit code) and, for invalid files, the same lines flagged.
//! Fixtures listed in fixtures/configs/LEGACY use syntax HAProxy 2.x
//! removed; rproxy deliberately accepts them, with a warning.

mod support;

use std::collections::BTreeSet;
use support::*;

const ENV: &[(&str, &str)] = &[
    ("RPX_ADDR", "127.0.0.1"),
    ("RPX_PORT", "8080"),
    ("RPX_LIST", "127.0.0.1:8001 127.0.0.1:8002"),
    ("RPX_EMPTY", ""),
];

fn fixtures() -> Vec<String> {
    let dir = root().join("fixtures/configs");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/configs")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cfg"))
        .collect();
    v.sort();
    v
}

fn legacy() -> BTreeSet<String> {
    std::fs::read_to_string(root().join("fixtures/configs/LEGACY"))
        .expect("fixtures/configs/LEGACY")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn same_verdict_as_haproxy_on_every_fixture() {
    let Some(haproxy) = haproxy_bin() else { return };
    let rproxy = rproxy_bin();
    let dir = root().join("fixtures/configs");
    let legacy = legacy();
    let all = fixtures();
    assert!(all.len() >= 80, "the corpus has {} fixtures", all.len());
    let mut failures = Vec::new();
    for f in &all {
        let h = check(&haproxy, &dir, f, ENV, &[]);
        let r = check(&rproxy, &dir, f, ENV, &[]);
        if legacy.contains(f) {
            // HAProxy 2.6 refuses these for removed syntax only; rproxy
            // accepts them and says what it mapped.
            let warned = r.stderr.contains("removed in HAProxy 2.x")
                || r.stderr.contains("Missing LF on last line")
                || r.stderr.contains("accepted but not enforced");
            if h.code != 1 || r.code == 1 || !warned {
                failures.push(format!(
                    "{f} (legacy): haproxy exit {} (want 1), rproxy exit {} (want 0/2) warned={warned}\n{}",
                    h.code, r.code, r.stderr
                ));
            }
            continue;
        }
        if h.code != r.code {
            failures.push(format!(
                "{f}: haproxy exit {}, rproxy exit {}\n--- haproxy\n{}--- rproxy\n{}",
                h.code, r.code, h.stderr, r.stderr
            ));
            continue;
        }
        if h.code == 1 && h.alert_lines() != r.alert_lines() {
            failures.push(format!(
                "{f}: lines flagged differ: haproxy {:?}, rproxy {:?}\n--- haproxy\n{}--- rproxy\n{}",
                h.alert_lines(),
                r.alert_lines(),
                h.stderr,
                r.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// `rproxy -c --modernize` turns each legacy fixture into a configuration
/// HAProxy 2.6 itself accepts.
#[test]
fn modernized_legacy_fixtures_pass_haproxy() {
    let Some(haproxy) = haproxy_bin() else { return };
    let dir = root().join("fixtures/configs");
    let tmp = std::env::temp_dir().join(format!("rproxy-modernize-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let mut failures = Vec::new();
    for f in legacy() {
        let out = std::process::Command::new(rproxy_bin())
            .current_dir(&dir)
            .args(["-c", "-q", "--modernize", "-f", &f])
            .output()
            .expect("run rproxy");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!text.is_empty(), "{f}: no output");
        let target = tmp.join(&f);
        std::fs::write(&target, &text).expect("write");
        // relative paths in the fixture are resolved from fixtures/configs
        let h = check(
            &haproxy,
            &dir,
            target.to_str().unwrap_or_default(),
            ENV,
            &[],
        );
        if h.code != 0 {
            failures.push(format!(
                "{f}: haproxy -c exit {}\n{}\n--- modernized:\n{text}",
                h.code, h.stderr
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
