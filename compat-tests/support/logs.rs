//! Log lines from two proxies compared: what legitimately differs between
//! two runs is masked.

use regex::Regex;

fn re(p: &str) -> Regex {
    Regex::new(p).expect("regex")
}

/// Masks the program tag's pid, client ports and accept/request dates of a
/// traffic log line (the syslog header is each caller's: it differs by
/// sink).
pub fn mask_traffic(line: &str) -> String {
    let l = re(r"(haproxy|rproxy)\[\d+\]").replace_all(line, "TAG[PID]");
    let l = re(r"127\.0\.0\.1:\d{4,5}").replace_all(&l, "127.0.0.1:PORT");
    re(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]")
        .replace_all(&l, "[DATE]")
        .into_owned()
}
