//! Sizes in bytes as people write them: `record --max-size 500M` and the
//! way `info` and the recorder's warning show the limit back.
//!
//! A size is a number of bytes, optionally with a fraction and a unit:
//!
//! | unit | bytes |
//! |---|---|
//! | none, `B` | 1 |
//! | `k`, `kB` | 1000 |
//! | `M`, `MB` | 1000² |
//! | `G`, `GB` | 1000³ |
//! | `T`, `TB` | 1000⁴ |
//! | `Ki`, `KiB` | 1024 |
//! | `Mi`, `MiB` | 1024² |
//! | `Gi`, `GiB` | 1024³ |
//! | `Ti`, `TiB` | 1024⁴ |
//!
//! Units are not case-sensitive (`100k`, `100K` and `100kb` are the same),
//! a space may separate the number from the unit, and a fraction is
//! rounded down to whole bytes (`1.5GB` is 1,500,000,000 bytes). A size is
//! at least one byte and at most `u64::MAX`.

/// The units, largest first; at the same power the decimal one comes first,
/// which [`size_text`] prefers when both read as short.
const UNITS: [(&str, u64); 8] = [
    ("TB", 1_000_000_000_000),
    ("TiB", 1 << 40),
    ("GB", 1_000_000_000),
    ("GiB", 1 << 30),
    ("MB", 1_000_000),
    ("MiB", 1 << 20),
    ("kB", 1_000),
    ("KiB", 1 << 10),
];

fn unit_bytes(unit: &str) -> Option<u64> {
    let unit = unit.to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    Some(match unit {
        "" => 1,
        "k" => 1_000,
        "m" => 1_000_000,
        "g" => 1_000_000_000,
        "t" => 1_000_000_000_000,
        "ki" => 1 << 10,
        "mi" => 1 << 20,
        "gi" => 1 << 30,
        "ti" => 1 << 40,
        _ => return None,
    })
}

/// Parses a size such as `500M`, `2G`, `100k`, `1.5GB`, `64KiB` or
/// `1048576` into bytes (see the module documentation). The error is a
/// sentence naming the text and what is expected.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "invalid size '{text}': expected a number of bytes with an optional unit: \
             k, M, G, T (powers of 1000, with or without B) or KiB, MiB, GiB, TiB \
             (powers of 1024), e.g. 500M, 1.5GB, 64KiB"
        )
    };
    let trimmed = text.trim();
    let number_end = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || fraction.contains('.') || (number.contains('.') && fraction.is_empty()) {
        return Err(invalid());
    }
    let unit = unit_bytes(unit.trim_start()).ok_or_else(invalid)?;
    let too_large = || format!("size '{text}' is too large (at most {} bytes)", u64::MAX);
    // Digits beyond 1/10^19 cannot change the whole bytes of any size that
    // fits in a u64 (the largest unit is below 2^41).
    let fraction = &fraction[..fraction.len().min(19)];
    let mut mantissa: u128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(digit - b'0')))
            .ok_or_else(too_large)?;
    }
    let scale = 10u128.pow(fraction.len() as u32);
    let bytes = mantissa
        .checked_mul(u128::from(unit))
        .ok_or_else(too_large)?
        / scale;
    let bytes = u64::try_from(bytes).map_err(|_| too_large())?;
    if bytes == 0 {
        return Err(format!("size '{text}' is less than one byte"));
    }
    Ok(bytes)
}

/// A size for people, exact and in the fewest digits: `200 kB`, `1.5 GB`,
/// `64 KiB`, `123.457 kB`, `512 B`. [`parse_size`] reads it back to the
/// same number.
pub fn size_text(bytes: u64) -> String {
    let mut best: Option<(usize, String)> = None;
    for (name, unit) in UNITS {
        // Exact with at most three decimals.
        if bytes < unit || !(u128::from(bytes) * 1000).is_multiple_of(u128::from(unit)) {
            continue;
        }
        let whole = bytes / unit;
        let thousandths = (bytes % unit) * 1000 / unit;
        let number = if thousandths == 0 {
            whole.to_string()
        } else {
            let decimals = format!("{thousandths:03}");
            format!("{whole}.{}", decimals.trim_end_matches('0'))
        };
        let digits = number.len() - usize::from(number.contains('.'));
        if best.as_ref().is_none_or(|(fewest, _)| digits < *fewest) {
            best = Some((digits, format!("{number} {name}")));
        }
    }
    best.map_or_else(|| format!("{bytes} B"), |(_, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_bytes_and_units() {
        let cases: &[(&str, u64)] = &[
            ("1", 1),
            ("1048576", 1_048_576),
            ("100B", 100),
            ("100k", 100_000),
            ("100K", 100_000),
            ("100kB", 100_000),
            ("100 KB", 100_000),
            ("500M", 500_000_000),
            ("500mb", 500_000_000),
            ("2G", 2_000_000_000),
            ("1.5GB", 1_500_000_000),
            ("2T", 2_000_000_000_000),
            ("64KiB", 65_536),
            ("64ki", 65_536),
            ("1MiB", 1_048_576),
            ("1.5GiB", 1_610_612_736),
            ("1TiB", 1 << 40),
            (" 7 ", 7),
            ("0.5k", 500),
            ("1.0001k", 1_000),
            ("1.9", 1),
            ("18446744073709551615", u64::MAX),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_size(text), Ok(*bytes), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_size() {
        for text in [
            "",
            " ",
            "M",
            "k100",
            "-5",
            "+5",
            "1e9",
            "1.",
            ".5",
            "1.2.3",
            "10X",
            "10 MBs",
            "10iB",
            "0",
            "0k",
            "0.4",
            "1 0",
            "١٢",
            "0.000000000000000000001T",
        ] {
            let error = parse_size(text).expect_err(text);
            assert!(error.contains(&format!("'{text}'")), "{text}: {error}");
        }
        assert!(parse_size("10X").unwrap_err().contains("e.g. 500M"));
        for text in ["0", "0.4", "0.000000000000000000001T"] {
            assert!(
                parse_size(text).unwrap_err().contains("less than one byte"),
                "{text}"
            );
        }
        for text in [
            "18446744073709551616",
            "20000000T",
            "99999999999999999999999999999999999999999",
        ] {
            assert!(
                parse_size(text).unwrap_err().contains("too large"),
                "{text}"
            );
        }
    }

    #[test]
    fn shows_sizes_exactly_in_few_digits() {
        let cases: &[(u64, &str)] = &[
            (1, "1 B"),
            (999, "999 B"),
            (1_000, "1 kB"),
            (1_023, "1.023 kB"),
            (1_024, "1 KiB"),
            (65_536, "64 KiB"),
            (200_000, "200 kB"),
            (123_457, "123.457 kB"),
            (1_024_000, "1.024 MB"),
            (1_048_576, "1 MiB"),
            (100_000_000, "100 MB"),
            (1_500_000_000, "1.5 GB"),
            (1_610_612_736, "1.5 GiB"),
            (2_000_000_000_000, "2 TB"),
        ];
        for (bytes, text) in cases {
            assert_eq!(size_text(*bytes), *text, "{bytes}");
        }
    }

    #[test]
    fn size_text_reads_back() {
        let mut n: u64 = 1;
        while n < u64::MAX / 3 {
            for bytes in [
                n,
                n + 1,
                n.saturating_mul(1000),
                n.saturating_mul(1024),
                n.saturating_mul(999_983),
            ] {
                assert_eq!(parse_size(&size_text(bytes)), Ok(bytes), "{bytes}");
            }
            n = n * 3 + 1;
        }
        assert_eq!(parse_size(&size_text(u64::MAX)), Ok(u64::MAX));
    }
}
