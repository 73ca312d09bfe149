// Local backups, as the core names them: circles-<UTC time>-<why>.sqlite in
// the data folder's backups/ (e.g. circles-20261202T091500123Z-daily.sqlite).

/** When a backup was made, read from its file name (RFC 3339), or null. */
export function backupMadeAt(fileName: string): string | null {
  const m = /^circles-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-/.exec(fileName);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`;
}
