//! Settings shared by commands: where the Store lives, and the duration and size syntax of flags.

use std::path::PathBuf;
use std::time::Duration;

/// Where the Store lives when `--db` and `$HOOKTAP_DB` are not given:
/// `$XDG_DATA_HOME/hooktap/events.db`, else `~/.local/share/hooktap/events.db`.
pub fn default_db_path() -> PathBuf {
    data_dir().join("events.db")
}

/// hooktap's data folder (the default Store): `$XDG_DATA_HOME/hooktap` or
/// `~/.local/share/hooktap`.
pub fn data_dir() -> PathBuf {
    xdg_dir("XDG_DATA_HOME", &[".local", "share"])
}

/// hooktap's state folder (the UI's log file): `$XDG_STATE_HOME/hooktap` or
/// `~/.local/state/hooktap`.
pub fn state_dir() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", &[".local", "state"])
}

fn xdg_dir(variable: &str, under_home: &[&str]) -> PathBuf {
    let base = match std::env::var_os(variable).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
            under_home
                .iter()
                .fold(PathBuf::from(home), |p, part| p.join(part))
        }
    };
    base.join("hooktap")
}

/// Parses a duration such as `250ms`, `9s`, `5m`, `1h`, `7d` (a bare number means seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (try 500ms, 9s, 5m, 1h or 7d)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86400.0,
        other => {
            return Err(format!(
                "unknown duration unit '{other}' in '{text}' (use ms, s, m, h or d)"
            ));
        }
    };
    if !seconds.is_finite() || seconds > 1e10 {
        return Err(format!("duration '{text}' is too large"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Parses a size such as `25MiB`, `64KiB`, `1GiB` or plain bytes (`1000`, `1000B`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (try 512KiB, 25MiB or 1GiB)"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" | "kB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{text}' (use B, KiB, MiB or GiB)"
            ));
        }
    };
    value
        .checked_mul(factor)
        .ok_or_else(|| format!("size '{text}' is too large"))
}

/// [`parse_duration`] for a flag that zero would make useless (a timeout, an interval).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("must be more than zero".into()),
        d => Ok(d),
    }
}

/// [`parse_size`] for a limit that zero would make useless (a body size, a Store size).
pub fn parse_positive_size(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err("must be more than zero".into()),
        n => Ok(n),
    }
}

/// A count such as `--keep 10000`: a whole number, zero allowed.
pub fn parse_count<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a count; give a whole number such as 1000"))
}

/// [`parse_count`] for a limit that zero would make useless (`listen --keep`,
/// `--max-connections`).
pub fn parse_positive_count<T: std::str::FromStr + Default + PartialEq>(
    text: &str,
) -> Result<T, String> {
    let n: T = parse_count(text)?;
    if n == T::default() {
        return Err("must be more than zero".into());
    }
    Ok(n)
}

/// Formats a byte count for people: `812 B`, `2.0 KiB`, `25.0 MiB`.
pub fn format_size(bytes: u64) -> String {
    match bytes {
        b if b < 1 << 10 => format!("{b} B"),
        b if b < 1 << 20 => format!("{:.1} KiB", b as f64 / 1024.0),
        b if b < 1 << 30 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b => format!("{:.1} GiB", b as f64 / (1 << 30) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("9s"), Ok(Duration::from_secs(9)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(
            parse_duration("9x")
                .unwrap_err()
                .contains("unknown duration unit")
        );
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("25MiB"), Ok(25 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("1000B"), Ok(1000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("1TiB").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn zero_is_refused_where_it_would_make_a_flag_useless() {
        for zero in ["0", "0s", "0ms", "0.0000000001s"] {
            let err = parse_positive_duration(zero).unwrap_err();
            assert!(err.contains("must be more than zero"), "{zero}: {err}");
        }
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
        assert!(
            parse_positive_duration("x")
                .unwrap_err()
                .contains("not a duration")
        );
        for zero in ["0", "0B", "0MiB"] {
            assert!(
                parse_positive_size(zero)
                    .unwrap_err()
                    .contains("more than zero")
            );
        }
        assert_eq!(parse_positive_size("1KiB"), Ok(1024));
        assert!(
            parse_positive_count::<u64>("0")
                .unwrap_err()
                .contains("more than zero")
        );
        assert_eq!(parse_positive_count::<usize>("1024"), Ok(1024));
        assert_eq!(parse_count::<u64>("0"), Ok(0));
        let err = parse_count::<u64>("abc").unwrap_err();
        assert!(err.contains("'abc' is not a count"), "{err}");
        assert!(parse_count::<u64>("-1").is_err());
    }

    #[test]
    fn size_display() {
        assert_eq!(format_size(812), "812 B");
        assert_eq!(format_size(2048), "2.0 KiB");
        assert_eq!(format_size(25 << 20), "25.0 MiB");
    }
}
