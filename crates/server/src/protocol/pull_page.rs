//! How a pull page is gathered from the log, the same on every backend:
//! each backend only says how to read the next visible changes.

use circles_core::sync::wire::ServerChange;

use crate::storage::LogSlice;

/// How far a pull page may look, in multiples of its limit, while it passes
/// over the caller's own changes (which it leaves out): right after a large
/// push, one page instead of one round trip per `limit` of them.
const OWN_CHANGES_LOOKAHEAD: usize = 4;

/// The changes of a pull page and where it ends: `Some(seq)` when it
/// stopped at its limit at `seq`, None when it saw everything after the
/// cursor. `look(cursor, n)` reads the next `n` visible changes after
/// `cursor`; it is called again from where it stopped while it found mostly
/// the caller's own changes, at most up to `OWN_CHANGES_LOOKAHEAD` times the
/// limit, and never for more than the page still has room for.
pub(crate) fn gather_page<E>(
    cursor: i64,
    limit: usize,
    mut look: impl FnMut(i64, usize) -> Result<LogSlice, E>,
) -> Result<(Vec<ServerChange>, Option<i64>), E> {
    let mut changes = Vec::new();
    let (mut at, mut looked_at) = (cursor, 0);
    loop {
        let room = limit - changes.len();
        let slice = look(at, room)?;
        changes.extend(slice.changes);
        looked_at += slice.looked_at;
        if slice.looked_at < room {
            return Ok((changes, None));
        }
        at = slice.last_seq.expect("a full slice has a last seq");
        if changes.len() == limit || looked_at >= limit * OWN_CHANGES_LOOKAHEAD {
            return Ok((changes, Some(at)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::title_change;

    fn change(seq: i64) -> ServerChange {
        ServerChange { seq, change: title_change(&format!("c{seq}")) }
    }

    /// A log of `own` of the caller's changes then others', looked at the
    /// way a backend does: the next `n` after a cursor.
    fn look_at(own: i64, total: i64) -> impl FnMut(i64, usize) -> Result<LogSlice, ()> {
        let mut looks = 0;
        move |after, n| {
            looks += 1;
            assert!(looks <= 10, "looked again and again");
            let seqs: Vec<i64> = (after + 1..=total).take(n).collect();
            let changes = seqs.iter().filter(|&&seq| seq > own).map(|&seq| change(seq)).collect();
            Ok(LogSlice { changes, looked_at: seqs.len(), last_seq: seqs.last().copied() })
        }
    }

    fn seqs(page: &(Vec<ServerChange>, Option<i64>)) -> (Vec<i64>, Option<i64>) {
        (page.0.iter().map(|c| c.seq).collect(), page.1)
    }

    #[test]
    fn a_pull_page_passes_over_own_changes_up_to_its_lookahead() {
        // Others' changes right after the caller's: one page brings them.
        assert_eq!(seqs(&gather_page(0, 3, look_at(5, 20)).unwrap()), (vec![6, 7, 8], Some(8)));
        // Only own changes within four limits: an empty page past them.
        assert_eq!(seqs(&gather_page(0, 3, look_at(15, 20)).unwrap()), (vec![], Some(12)));
        // Never more than the limit, nor past the end.
        assert_eq!(seqs(&gather_page(10, 3, look_at(11, 13)).unwrap()), (vec![12, 13], None));
        assert_eq!(seqs(&gather_page(13, 3, look_at(0, 13)).unwrap()), (vec![], None));
        assert_eq!(seqs(&gather_page(0, 3, look_at(0, 3)).unwrap()), (vec![1, 2, 3], Some(3)));
    }
}
