//! Value grammars shared by many keywords: times, sizes and integers, with
//! HAProxy's exact acceptance rules and messages (nom parsers).

use nom::IResult;
use nom::Parser;
use nom::character::complete::digit1;
use std::time::Duration;

/// The unit a time keyword assumes when its value has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Millis,
    Seconds,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// `1.5s`, `10S`, `-1`, `abc`: the character HAProxy names.
    UnexpectedChar(char),
    /// Empty value.
    Missing,
    /// At or above 2^31 in the keyword's unit.
    Overflow,
}

/// A parsed time value; `trailing` is set for `5sec`-style values that
/// HAProxy accepts with a warning naming the first extra character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    pub value: Duration,
    pub trailing: Option<char>,
}

fn number(s: &str) -> IResult<&str, &str> {
    digit1(s)
}

/// Multiplier of each unit, in microseconds.
fn unit(s: &str) -> (u128, &str) {
    for (suffix, mult) in [
        ("us", 1u128),
        ("ms", 1_000),
        ("s", 1_000_000),
        ("m", 60_000_000),
        ("h", 3_600_000_000),
        ("d", 86_400_000_000),
    ] {
        if let Some(rest) = s.strip_prefix(suffix) {
            return (mult, rest);
        }
    }
    (0, s)
}

/// HAProxy's `parse_time_err()`: integer digits, an optional case-sensitive
/// unit, conversion to `target` rounding up, overflow at 2^31 of the target.
pub fn parse_time(s: &str, target: TimeUnit) -> Result<Time, TimeError> {
    if s.is_empty() {
        return Err(TimeError::Missing);
    }
    let (rest, digits) = number
        .parse(s)
        .map_err(|_| TimeError::UnexpectedChar(s.chars().next().unwrap_or(' ')))?;
    let n: u128 = digits.parse().map_err(|_| TimeError::Overflow)?;
    let target_us: u128 = match target {
        TimeUnit::Millis => 1_000,
        TimeUnit::Seconds => 1_000_000,
    };
    let (mult, after) = if rest.is_empty() {
        (target_us, rest)
    } else {
        let (m, after) = unit(rest);
        if m == 0 {
            return Err(TimeError::UnexpectedChar(
                rest.chars().next().unwrap_or(' '),
            ));
        }
        (m, after)
    };
    let us = n.saturating_mul(mult);
    let in_target = us.div_ceil(target_us);
    if in_target >= 1u128 << 31 {
        return Err(TimeError::Overflow);
    }
    let value = Duration::from_micros(
        u64::try_from(in_target * target_us).map_err(|_| TimeError::Overflow)?,
    );
    Ok(Time {
        value,
        trailing: after.chars().next(),
    })
}

/// The alert text HAProxy prints for a bad time value of `keyword`.
pub fn time_error_message(err: &TimeError, keyword: &str, value: &str, target: TimeUnit) -> String {
    let unit = match target {
        TimeUnit::Millis => ("ms", "2147483647 ms or ~24.8 days", "milliseconds"),
        TimeUnit::Seconds => ("s", "2147483647 s or ~68 years", "seconds"),
    };
    match err {
        TimeError::UnexpectedChar(c) => format!("unexpected character '{c}' in '{keyword}'"),
        TimeError::Missing => format!("'{keyword}' expects an integer value (in {})", unit.2),
        TimeError::Overflow => format!(
            "timer overflow in argument '{value}' to '{keyword}' (maximum value is {})",
            unit.1
        ),
    }
}

/// The warning HAProxy prints (without a location) for `5sec`.
pub fn time_trailing_warning(c: char, value: &str) -> String {
    format!(
        "unexpected character '{c}' after the timer value '{value}', only (us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. This will be reported as an error in next versions."
    )
}

/// HAProxy's `parse_size_err()`: digits with an optional k/m/g suffix
/// (powers of 1024) and nothing after; the result fits in 32 bits.
pub fn parse_size(s: &str) -> Result<u64, char> {
    let (rest, digits) = number
        .parse(s)
        .map_err(|_| s.chars().next().unwrap_or(' '))?;
    let n: u64 = digits.parse().map_err(|_| '0')?;
    let (mult, rest) = match rest.as_bytes().first() {
        Some(b'k' | b'K') => (1u64 << 10, &rest[1..]),
        Some(b'm' | b'M') => (1 << 20, &rest[1..]),
        Some(b'g' | b'G') => (1 << 30, &rest[1..]),
        _ => (1, rest),
    };
    if let Some(c) = rest.chars().next() {
        return Err(c);
    }
    let v = n.checked_mul(mult).ok_or('0')?;
    if v > u64::from(u32::MAX) {
        return Err('0');
    }
    Ok(v)
}

/// C's `atol()`, which most of HAProxy's numeric keywords use: leading
/// blanks, an optional sign, digits, and the rest silently ignored. Returns
/// the value and whether anything was ignored, so rproxy can say so.
pub fn atol(s: &str) -> (i64, bool) {
    let t = s.trim_start();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: &str = &body[..body.bytes().take_while(u8::is_ascii_digit).count()];
    let mut v: i64 = 0;
    for b in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    let ignored = digits.len() != body.len() || digits.is_empty();
    (if neg { -v } else { v }, ignored)
}

/// A strictly decimal unsigned integer (HAProxy's `strl2ui`-based parsers).
pub fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Result<Time, TimeError> {
        parse_time(s, TimeUnit::Millis)
    }

    #[test]
    fn times_in_every_unit() {
        assert_eq!(ms("100").unwrap().value, Duration::from_millis(100));
        assert_eq!(ms("1500us").unwrap().value, Duration::from_millis(2));
        assert_eq!(ms("1us").unwrap().value, Duration::from_millis(1));
        assert_eq!(ms("5ms").unwrap().value, Duration::from_millis(5));
        assert_eq!(ms("5s").unwrap().value, Duration::from_secs(5));
        assert_eq!(ms("3m").unwrap().value, Duration::from_secs(180));
        assert_eq!(ms("1h").unwrap().value, Duration::from_secs(3600));
        assert_eq!(ms("2d").unwrap().value, Duration::from_secs(172_800));
        assert_eq!(ms("0").unwrap().value, Duration::ZERO);
        let secs = parse_time("30", TimeUnit::Seconds).unwrap();
        assert_eq!(secs.value, Duration::from_secs(30));
        assert_eq!(
            parse_time("1ms", TimeUnit::Seconds).unwrap().value,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn time_errors_as_haproxy() {
        assert_eq!(ms("1.5s"), Err(TimeError::UnexpectedChar('.')));
        assert_eq!(ms("10S"), Err(TimeError::UnexpectedChar('S')));
        assert_eq!(ms("-1"), Err(TimeError::UnexpectedChar('-')));
        assert_eq!(ms("abc"), Err(TimeError::UnexpectedChar('a')));
        assert_eq!(ms(""), Err(TimeError::Missing));
        assert_eq!(ms("25d"), Err(TimeError::Overflow));
        assert_eq!(ms("2147483648"), Err(TimeError::Overflow));
        assert!(ms("2147483647").is_ok());
        assert_eq!(ms("5sec").unwrap().trailing, Some('e'));
        assert_eq!(ms("5sec").unwrap().value, Duration::from_secs(5));
        assert_eq!(
            time_error_message(
                &TimeError::Overflow,
                "timeout connect",
                "25d",
                TimeUnit::Millis
            ),
            "timer overflow in argument '25d' to 'timeout connect' (maximum value is 2147483647 ms or ~24.8 days)"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16384"), Ok(16384));
        assert_eq!(parse_size("16k"), Ok(16384));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("16kB"), Err('B'));
        assert_eq!(parse_size("x"), Err('x'));
        assert!(parse_size("5g").is_err());
    }

    #[test]
    fn atol_quirks() {
        assert_eq!(atol("10k"), (10, true));
        assert_eq!(atol("abc"), (0, true));
        assert_eq!(atol("4096"), (4096, false));
        assert_eq!(atol("-3"), (-3, false));
        assert_eq!(parse_uint("12"), Some(12));
        assert_eq!(parse_uint("12x"), None);
    }
}
