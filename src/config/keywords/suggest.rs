//! "did you mean 'X' maybe ?" — HAProxy compares words by the transitions
//! between character classes (letters a..z, digits, others, begin, end)
//! and proposes the closest candidate when it is close enough.

const CLASSES: usize = 32;

fn class(c: u8) -> usize {
    match c.to_ascii_lowercase() {
        b @ b'a'..=b'z' => usize::from(b - b'a'),
        b'0'..=b'9' => 26,
        _ => 27,
    }
}

fn fingerprint(word: &str) -> [u8; CLASSES * CLASSES] {
    let mut fp = [0u8; CLASSES * CLASSES];
    let mut from = 28; // begin
    for &c in word.as_bytes() {
        let to = class(c);
        fp[from * CLASSES + to] = fp[from * CLASSES + to].saturating_add(1);
        from = to;
    }
    fp[from * CLASSES + 29] = fp[from * CLASSES + 29].saturating_add(1); // end
    fp
}

fn distance(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .map(|(x, y)| usize::from(x.abs_diff(*y)))
        .sum()
}

/// The candidate closest to `word`, if it is close enough (HAProxy's
/// threshold: at most twice the length of either word).
pub fn best_match<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let fw = fingerprint(word);
    let mut best: Option<(&str, usize)> = None;
    for cand in candidates {
        let d = distance(&fw, &fingerprint(cand));
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((cand, d));
        }
    }
    let (cand, d) = best?;
    if d > 2 * word.len() || d > 2 * cand.len() {
        return None;
    }
    Some(cand)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        let kws = ["maxconn", "user", "group", "daemon", "nbthread"];
        assert_eq!(best_match("maxconnn", kws), Some("maxconn"));
        assert_eq!(best_match("usr", kws), Some("user"));
        assert_eq!(best_match("foo", ["maxconn", "daemon", "nbthread"]), None);
        assert_eq!(
            best_match("chek", ["check", "backup", "weight"]),
            Some("check")
        );
    }
}
