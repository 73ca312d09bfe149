//! The SQL of `circles-server check`'s audits, written once in the SQL both
//! SQLite and PostgreSQL speak. Each query returns the problems it finds as
//! text (`problem`), ordered, with their total (`count(*) OVER ()`), the
//! first `$1` of them.

use super::Audit;

/// The query an audit runs (one parameter: how many problems to return).
pub(super) fn sql(audit: Audit) -> &'static str {
    match audit {
        Audit::SeqGaps => SEQ_GAPS,
        Audit::FieldStates => FIELD_STATES,
        Audit::RowCreators => ROW_CREATORS,
        Audit::References => REFERENCES,
    }
}

/// Holes in the log: each gap between two logged seqs (or before the first).
const SEQ_GAPS: &str = "SELECT problem, count(*) OVER () FROM (
    SELECT seq AS k, CASE WHEN seq = prev + 2 THEN 'seq ' || CAST(prev + 1 AS TEXT) || ' is missing'
        ELSE 'seqs ' || CAST(prev + 1 AS TEXT) || ' to ' || CAST(seq - 1 AS TEXT) || ' are missing' END AS problem
    FROM (SELECT seq, COALESCE(LAG(seq) OVER (ORDER BY seq), 0) AS prev FROM changes) g
    WHERE seq <> prev + 1
) p ORDER BY k LIMIT $1";

/// Fields whose stored state is not their last logged change, and states
/// with no change at all.
const FIELD_STATES: &str = "WITH latest AS (
    SELECT table_name, row_id, field, MAX(seq) AS seq FROM changes GROUP BY table_name, row_id, field
)
SELECT problem, count(*) OVER () FROM (
    SELECT l.seq AS k, l.table_name || ' ' || l.row_id || ' ' || l.field || ': ' || CASE
        WHEN f.seq IS NULL THEN 'no field state for the change at seq ' || CAST(l.seq AS TEXT)
        WHEN f.seq <> l.seq THEN 'the field state is seq ' || CAST(f.seq AS TEXT)
            || ', the last change is seq ' || CAST(l.seq AS TEXT)
        ELSE 'the field state differs from the change at seq ' || CAST(l.seq AS TEXT) END AS problem
    FROM latest l
    JOIN changes c ON c.seq = l.seq
    LEFT JOIN field_state f ON f.table_name = l.table_name AND f.row_id = l.row_id AND f.field = l.field
    WHERE f.seq IS NULL OR f.seq <> l.seq OR f.value <> c.value OR f.hlc <> c.hlc OR f.device_id <> c.device_id
    UNION ALL
    SELECT f.seq AS k, f.table_name || ' ' || f.row_id || ' ' || f.field
        || ': a field state (seq ' || CAST(f.seq AS TEXT) || ') with no change in the log' AS problem
    FROM field_state f
    LEFT JOIN latest l ON l.table_name = f.table_name AND l.row_id = f.row_id AND l.field = f.field
    WHERE l.seq IS NULL
) p ORDER BY k LIMIT $1";

/// Global rows (catalogue, teams, accounts) whose maker was never noted.
const ROW_CREATORS: &str = "SELECT problem, count(*) OVER () FROM (
    SELECT MIN(c.seq) AS k, c.table_name || ' ' || c.row_id || ': made at seq ' || CAST(MIN(c.seq) AS TEXT)
        || ', no row_creator' AS problem
    FROM changes c
    WHERE c.scope_circle IS NULL
      AND NOT EXISTS (SELECT 1 FROM row_creator r WHERE r.table_name = c.table_name AND r.row_id = c.row_id)
    GROUP BY c.table_name, c.row_id
) p ORDER BY k LIMIT $1";

/// Tokens, devices and team members naming what does not exist.
const REFERENCES: &str = "SELECT problem, count(*) OVER () FROM (
    SELECT 'token ' || t.id || ': its user ' || t.user_id || ' does not exist' AS problem
    FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id)
    UNION ALL
    SELECT 'token ' || t.id || ': its device ' || t.device_id || ' is bound to no account'
    FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.device_id = t.device_id)
    UNION ALL
    SELECT 'device ' || d.device_id || ': its user ' || d.user_id || ' does not exist'
    FROM devices d WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id)
    UNION ALL
    SELECT 'team ' || o.team_id || ': its member ' || o.user_id || ' does not exist'
    FROM team_members o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id)
    UNION ALL
    SELECT 'team ' || o.team_id || ' (with member ' || o.user_id || ') does not exist'
    FROM team_members o WHERE NOT EXISTS (SELECT 1 FROM teams m WHERE m.id = o.team_id)
) p ORDER BY problem LIMIT $1";
