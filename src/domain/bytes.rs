//! A byte count as people read it. One formatter for every place bytes are printed (the command summaries, the
//! run table, the benchmarks), in IEC units, so "MiB" always means 1024 × 1024 bytes.

use std::fmt;

/// A byte count that displays as `812 B`, `15.6 KiB`, `814.1 MiB` or `1.2 GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        // Rounding to one decimal could print "1024.0 KiB"; step up before that happens.
        while value >= 1023.95 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_print_in_iec_units_of_1024() {
        let shown = |n: u64| Bytes(n).to_string();
        assert_eq!(shown(0), "0 B");
        assert_eq!(shown(1023), "1023 B");
        assert_eq!(shown(1024), "1.0 KiB");
        assert_eq!(shown(15_933), "15.6 KiB");
        assert_eq!(shown(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(shown(853_660_000), "814.1 MiB");
        assert_eq!(shown(3 << 30), "3.0 GiB");
        assert_eq!(shown(u64::MAX), "16777216.0 TiB");
    }
}
