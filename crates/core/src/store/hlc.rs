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
    /// The largest clock value; arithmetic saturates here instead of
    /// overflowing (only a clock refused by `is_plausible_remote` gets near it).
    pub const MAX: Hlc = Hlc { millis: u64::MAX, counter: u32::MAX };

    /// The next clock value after this one: the counter goes up, and when it
    /// is full the clock moves to the next millisecond with counter 0 (a
    /// millisecond early, which is harmless: the order is what counts).
    /// `MAX` stays `MAX`.
    pub fn successor(self) -> Hlc {
        match self.counter.checked_add(1) {
            Some(counter) => Hlc { millis: self.millis, counter },
            None => match self.millis.checked_add(1) {
                Some(millis) => Hlc { millis, counter: 0 },
                None => Hlc::MAX,
            },
        }
    }

    /// The next timestamp for a local event: after `last` and not before the
    /// wall clock `now_millis`. Never panics; strictly after `last` unless
    /// `last` is `MAX`.
    pub fn tick(last: Hlc, now_millis: u64) -> Hlc {
        Hlc { millis: now_millis, counter: 0 }.max(last.successor())
    }

    /// The clock after seeing a remote timestamp: after both, so local edits
    /// made later are ordered after what this device has already applied.
    /// Never panics; strictly after both unless one of them is `MAX`.
    /// A remote clock that is not `is_plausible_remote` must not be observed:
    /// it would drag every later local edit far into the future.
    pub fn observe(last: Hlc, remote: Hlc, now_millis: u64) -> Hlc {
        Hlc { millis: now_millis, counter: 0 }.max(last.max(remote).successor())
    }

    /// Whether a remote change's clock is believable at `now_millis` (the
    /// later of the server's time and this computer's corrected clock). The
    /// server refuses pushes stamped more than `MAX_CLOCK_SKEW_MS` ahead of
    /// its clock, so an honest change is never far ahead; one beyond
    /// `MAX_REMOTE_LEAD_MS` comes from a broken or hostile peer. Applying it
    /// would either win every later edit of its field (if the local clock
    /// stayed) or stamp every later local edit in the future, where the
    /// server refuses them (if the clock followed it). So it is kept aside
    /// instead, and applied once the time has come.
    pub fn is_plausible_remote(self, now_millis: u64) -> bool {
        self.millis <= now_millis.saturating_add(MAX_REMOTE_LEAD_MS)
    }
}

/// How far ahead of now a remote change's clock may be and still be applied
/// (and observed): five times the server's own skew limit
/// (`sync::wire::MAX_CLOCK_SKEW_MS`, one minute), so the clocks of several
/// server processes may differ a little.
pub const MAX_REMOTE_LEAD_MS: u64 = 5 * 60_000;

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

    #[test]
    fn a_full_counter_moves_to_the_next_millisecond() {
        let full = Hlc { millis: 1_000, counter: u32::MAX };
        assert_eq!(Hlc::tick(full, 5), Hlc { millis: 1_001, counter: 0 });
        assert_eq!(Hlc::observe(Hlc::ZERO, full, 5), Hlc { millis: 1_001, counter: 0 });
        assert_eq!(Hlc::tick(Hlc::MAX, 5), Hlc::MAX, "saturates instead of overflowing");
    }

    #[test]
    fn a_remote_clock_far_ahead_is_not_plausible() {
        let now = 1_000_000;
        assert!(Hlc { millis: now + MAX_REMOTE_LEAD_MS, counter: u32::MAX }.is_plausible_remote(now));
        assert!(!Hlc { millis: now + MAX_REMOTE_LEAD_MS + 1, counter: 0 }.is_plausible_remote(now));
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

        /// Any inputs at all, extremes included: no panic, never backwards,
        /// and strictly forward whenever there is room.
        #[test]
        fn tick_and_observe_never_panic_and_stay_monotonic(
            l in any::<u64>(), lc in any::<u32>(), r in any::<u64>(), rc in any::<u32>(), now in any::<u64>(),
            near_max in any::<bool>(),
        ) {
            let last = if near_max { Hlc { millis: u64::MAX - (l % 3), counter: u32::MAX - (lc % 3) } } else { Hlc { millis: l, counter: lc } };
            let remote = Hlc { millis: r, counter: rc };
            let ticked = Hlc::tick(last, now);
            prop_assert!(ticked >= last && ticked.millis >= now);
            prop_assert!(last == Hlc::MAX || ticked > last);
            let seen = Hlc::observe(last, remote, now);
            prop_assert!(seen >= last && seen >= remote && seen.millis >= now);
            prop_assert!(last.max(remote) == Hlc::MAX || (seen > last && seen > remote));
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
