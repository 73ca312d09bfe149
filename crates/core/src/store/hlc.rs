//! Hybrid logical clock: wall-clock milliseconds plus a counter, so that
//! every write a device makes is ordered after everything it has seen, even
//! when its wall clock stands still or goes backwards.
//!
//! Timestamps are encoded as fixed-width strings so that SQL and Rust compare
//! them the same way (lexicographic order == clock order). Ties between
//! devices are broken by device id, giving the total order merge relies on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
}

impl Hlc {
    pub const ZERO: Hlc = Hlc { millis: 0, counter: 0 };

    /// The next timestamp for a local event: after `last` and not before the
    /// wall clock `now_millis`.
    pub fn tick(last: Hlc, now_millis: u64) -> Hlc {
        if now_millis > last.millis {
            Hlc { millis: now_millis, counter: 0 }
        } else {
            Hlc { millis: last.millis, counter: last.counter + 1 }
        }
    }

    /// The clock after seeing a remote timestamp: after both, so local edits
    /// made later are ordered after what this device has already applied.
    pub fn observe(last: Hlc, remote: Hlc, now_millis: u64) -> Hlc {
        let millis = last.millis.max(remote.millis).max(now_millis);
        let counter = match (millis == last.millis, millis == remote.millis) {
            (true, true) => last.counter.max(remote.counter) + 1,
            (true, false) => last.counter + 1,
            (false, true) => remote.counter + 1,
            (false, false) => 0,
        };
        Hlc { millis, counter }
    }
}

/// Digits of the text form: `millis` in 15, '-', `counter` in 10.
const TEXT_LEN: usize = 26;

impl Hlc {
    /// The text form written digit by digit: with `write!` and padding it
    /// was a tenth of the time a client spends sending a batch. None for a
    /// clock past 15 digits of milliseconds (the year 33658), which
    /// `Display` writes longer.
    fn fixed_text(&self) -> Option<[u8; TEXT_LEN]> {
        if self.millis >= 1_000_000_000_000_000 {
            return None;
        }
        let mut out = [b'0'; TEXT_LEN];
        out[15] = b'-';
        let mut write_digits = |end: usize, mut n: u64| {
            let mut i = end;
            while n > 0 {
                i -= 1;
                out[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        write_digits(15, self.millis);
        write_digits(TEXT_LEN, u64::from(self.counter));
        Some(out)
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fixed_text() {
            Some(text) => f.write_str(std::str::from_utf8(&text).expect("ASCII digits")),
            None => write!(f, "{:015}-{:010}", self.millis, self.counter),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("\"{0}\" is not a clock value (expected 15 digits, '-', 10 digits)")]
pub struct BadHlc(String);

impl FromStr for Hlc {
    type Err = BadHlc;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadHlc(s.to_string());
        let (m, c) = s.split_once('-').ok_or_else(bad)?;
        if m.len() != 15 || c.len() != 10 {
            return Err(bad());
        }
        Ok(Hlc { millis: m.parse().map_err(|_| bad())?, counter: c.parse().map_err(|_| bad())? })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.fixed_text() {
            Some(text) => s.serialize_str(std::str::from_utf8(&text).expect("ASCII digits")),
            None => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Parses the text where it lies, without a `String` per clock.
        struct HlcText;
        impl serde::de::Visitor<'_> for HlcText {
            type Value = Hlc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a clock value (15 digits, '-', 10 digits)")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Hlc, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(HlcText)
    }
}

pub fn wall_clock_millis() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}

/// The wall clock corrected by the server offset.
pub(crate) fn corrected_now(offset_ms: i64) -> u64 {
    (wall_clock_millis() as i64 + offset_ms).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tick_is_monotonic_when_clock_goes_back() {
        let a = Hlc::tick(Hlc::ZERO, 1_000);
        let b = Hlc::tick(a, 900);
        assert!(b > a);
        assert_eq!(b, Hlc { millis: 1_000, counter: 1 });
    }

    proptest! {
        #[test]
        fn encoding_preserves_order(a in 0u64..10u64.pow(14), ac in 0u32..1000, b in 0u64..10u64.pow(14), bc in 0u32..1000) {
            let x = Hlc { millis: a, counter: ac };
            let y = Hlc { millis: b, counter: bc };
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
            prop_assert_eq!(x.to_string().parse::<Hlc>().unwrap(), x);
        }

        #[test]
        fn the_text_is_the_padded_decimal_form(millis in any::<u64>(), counter in any::<u32>()) {
            let hlc = Hlc { millis, counter };
            let padded = format!("{millis:015}-{counter:010}");
            prop_assert_eq!(hlc.to_string(), padded.clone());
            prop_assert_eq!(serde_json::to_string(&hlc).unwrap(), format!("\"{padded}\""));
            if millis < 10u64.pow(15) {
                prop_assert_eq!(serde_json::from_str::<Hlc>(&format!("\"{padded}\"")).unwrap(), hlc);
            }
        }

        #[test]
        fn observe_is_after_both(l in 0u64..10_000, lc in 0u32..100, r in 0u64..10_000, rc in 0u32..100, now in 0u64..10_000) {
            let last = Hlc { millis: l, counter: lc };
            let remote = Hlc { millis: r, counter: rc };
            let next = Hlc::observe(last, remote, now);
            prop_assert!(next > last && next > remote);
        }
    }
}
