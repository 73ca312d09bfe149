//! The store's encryption key: where it comes from (the OS keyring, a
//! passphrase, raw bytes), and the one place core opens a SQLite connection,
//! so that every connection is keyed before anything else is said to it.
//!
//! A data folder's store is encrypted with SQLCipher under a 32-byte key.
//! With a keyring (Secret Service, Credential Manager, Keychain) the key is
//! random and kept there, one entry per data folder (service `Circles`, user
//! the folder's canonical path). Without one, the person sets a passphrase;
//! the key is derived with Argon2id, whose salt and parameters are kept in
//! `circles-key.json` beside the store (never the passphrase). There is never
//! a fallback to a plain store (docs/privacy.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

/// The keyring's service name for store keys.
pub const KEYRING_SERVICE: &str = "Circles";
/// The environment variable the command line reads a passphrase from.
pub const PASSPHRASE_ENV_VAR: &str = "CIRCLES_PASSPHRASE";
/// The file beside the store that says how a passphrase becomes the key.
pub const KEY_FILE: &str = "circles-key.json";
/// A passphrase that protects a new store is at least this long.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Argon2id's cost when a new passphrase is set: OWASP's first choice
/// (19 MiB, 2 passes, 1 lane); the values used are kept in the key file,
/// so raising them later never locks out an existing store.
const ARGON2_M_KIB: u32 = 19 * 1024;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;

/// Why the store's key could not be had. Each has a stable code (`code`).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No keyring answered, and no passphrase was given. Code `store_key_no_keyring`.
    #[error(
        "no keyring answered ({detail}), so Circles has nowhere safe to keep the key that encrypts your data. \
         Set a passphrase instead: in the app, on its passphrase screen; on the command line, in the \
         CIRCLES_PASSPHRASE environment variable (at least {MIN_PASSPHRASE_CHARS} characters). Nothing was changed."
    )]
    NoKeyring { detail: String },

    /// The store is locked with a passphrase and none was given. Code `store_passphrase_needed`.
    #[error(
        "the data in {} is locked with a passphrase: give it (the app asks for it; on the command line set \
         CIRCLES_PASSPHRASE). Nothing was changed.",
        folder.display()
    )]
    PassphraseNeeded { folder: PathBuf },

    /// The passphrase does not open the store. Code `store_wrong_passphrase`.
    #[error("that passphrase does not open the data in {}; nothing was changed. Try again.", folder.display())]
    WrongPassphrase { folder: PathBuf },

    /// A new passphrase too short to protect anything. Code `store_passphrase_too_short`.
    #[error("a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters; nothing was changed")]
    PassphraseTooShort,

    /// The store is encrypted but this computer's keyring has no key (or
    /// another key) for it. Code `store_key_lost`.
    #[error(
        "{} cannot be read with the key this computer's keyring holds for its folder: either the keyring lost \
         the key of this encrypted Circles store, or the file is not a Circles store. The file was left \
         untouched. To recover, set the file aside, sign in again and sync: your circles come back from the \
         server (changes that were never synced cannot be read).",
        path.display()
    )]
    KeyLost { path: PathBuf },

    /// The store's key is kept in the keyring, but a passphrase was given.
    /// Code `store_key_in_keyring`.
    #[error(
        "the data in {} is encrypted with a key kept in this computer's keyring, not with a passphrase: unset \
         CIRCLES_PASSPHRASE. Nothing was changed.",
        folder.display()
    )]
    KeyInKeyring { folder: PathBuf },

    /// `circles-key.json` cannot be read or written. Code `store_key_file`.
    #[error("{}: {reason}. Nothing was changed.", path.display())]
    KeyFile { path: PathBuf, reason: String },

    /// Converting a plain store to an encrypted one failed; the plain store
    /// is left readable. Code `store_conversion_failed`.
    #[error("encrypting the store {} failed ({detail}); it was left as it was", path.display())]
    Conversion { path: PathBuf, detail: String },
}

impl KeyError {
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::NoKeyring { .. } => "store_key_no_keyring",
            KeyError::PassphraseNeeded { .. } => "store_passphrase_needed",
            KeyError::WrongPassphrase { .. } => "store_wrong_passphrase",
            KeyError::PassphraseTooShort => "store_passphrase_too_short",
            KeyError::KeyLost { .. } => "store_key_lost",
            KeyError::KeyInKeyring { .. } => "store_key_in_keyring",
            KeyError::KeyFile { .. } => "store_key_file",
            KeyError::Conversion { .. } => "store_conversion_failed",
        }
    }
}

/// 32 bytes that SQLCipher uses as the raw key. Never printed; zeroed when
/// dropped. (The flag: no key at all, only in benchmark builds, see
/// `benchmark_key_source`.)
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32], bool);

impl StoreKey {
    pub fn from_bytes(bytes: [u8; 32]) -> StoreKey {
        StoreKey(bytes, false)
    }

    fn random() -> StoreKey {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        StoreKey(bytes, false)
    }

    /// True only for `benchmark_key_source`'s plain store.
    pub(crate) fn is_plain(&self) -> bool {
        self.1
    }

    fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The statement that keys a connection: a raw key, so SQLCipher skips
    /// its own key derivation (ours already happened, or the key is random).
    /// SQLCipher's own log (to stderr by default) is silenced: a failed page
    /// check reaches the person as core's error, not as lines on a terminal.
    pub(crate) fn pragma(&self) -> String {
        if self.is_plain() {
            return String::new();
        }
        format!("PRAGMA key = \"x'{}'\"; PRAGMA cipher_log_level = NONE;", self.hex())
    }

    /// The same key for a database attached as `schema`.
    pub(crate) fn attach_clause(&self) -> String {
        if self.is_plain() {
            return "KEY ''".into();
        }
        format!("KEY \"x'{}'\"", self.hex())
    }

    /// A fixed key for core's own unit tests (no keyring needed).
    #[cfg(test)]
    pub(crate) fn for_tests() -> StoreKey {
        StoreKey([7; 32], false)
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// Where the key of a data folder's store comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// The OS keyring (made there at the first open); the default.
    Keyring,
    /// A passphrase the person gave (Argon2id with the folder's key file).
    Passphrase(String),
    /// The key itself (tests, benchmarks).
    Raw(StoreKey),
}

impl KeySource {
    /// What a front end uses when the person named nothing: a passphrase in
    /// `CIRCLES_PASSPHRASE`, else the keyring. (Core's unit tests: a fixed raw key.)
    pub fn from_env() -> KeySource {
        #[cfg(test)]
        {
            KeySource::Raw(StoreKey::for_tests())
        }
        #[cfg(not(test))]
        match std::env::var(PASSPHRASE_ENV_VAR) {
            Ok(p) if !p.is_empty() => KeySource::Passphrase(p),
            _ => KeySource::Keyring,
        }
    }
}

/// The key source of the benchmarks (crates/core/examples, the server's
/// sync_bench): a fixed raw key, or with `CIRCLES_BENCH_STORE=plain` no key
/// at all, a plain store, to measure what encryption costs. The plain store
/// needs the cargo feature `bench-plain`, which no shipped build enables.
#[doc(hidden)]
pub fn benchmark_key_source() -> KeySource {
    let plain = std::env::var("CIRCLES_BENCH_STORE").is_ok_and(|v| v == "plain");
    #[cfg(feature = "bench-plain")]
    if plain {
        return KeySource::Raw(StoreKey([0; 32], true));
    }
    assert!(!plain, "CIRCLES_BENCH_STORE=plain needs the feature bench-plain (see BENCHMARKS.md)");
    KeySource::Raw(StoreKey([1; 32], false))
}

/// How the key was had: it decides what a key that does not open the store means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Keyring,
    Passphrase,
    Raw,
}

/// What the store file at a path is: new, plain SQLite, or anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileState {
    /// No file, or an empty one: a new store.
    New,
    /// A plain SQLite database (to convert, or refuse if it is not ours).
    Plain,
    /// Anything else: an encrypted store, or garbage.
    Other,
}

/// Asked of SQLite, never by opening the file directly: closing any other
/// descriptor of a database file drops the POSIX locks this process's
/// connections hold on it (SQLite's documented caveat), and another process
/// (the CLI beside the app) would then take itself for the last reader and
/// delete the WAL the app is still writing to.
pub(crate) fn file_state(path: &Path) -> FileState {
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => {}
        _ => return FileState::New,
    }
    let plain = open_plain(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .and_then(|conn| conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)));
    match plain {
        Ok(_) => FileState::Plain,
        Err(_) => FileState::Other,
    }
}

/// The key of the store in the data folder `dir` (which exists), from
/// `source`, made and kept where it belongs when the store is new or plain.
pub(crate) fn folder_key(dir: &Path, db: &Path, source: &KeySource) -> Result<(StoreKey, Origin), KeyError> {
    let state = file_state(db);
    match source {
        KeySource::Raw(key) => Ok((key.clone(), Origin::Raw)),
        KeySource::Passphrase(passphrase) => {
            Ok((passphrase_key(dir, passphrase, state, || keyring_has_entry(dir))?, Origin::Passphrase))
        }
        KeySource::Keyring => {
            if let Some(key) = remembered(dir) {
                return Ok((key, Origin::Keyring));
            }
            if dir.join(KEY_FILE).exists() {
                return Err(KeyError::PassphraseNeeded { folder: dir.to_path_buf() });
            }
            Ok((keyring_key(dir, db, state)?, Origin::Keyring))
        }
    }
}

fn keyring_user(dir: &Path) -> String {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()).to_string_lossy().into_owned()
}

fn keyring_entry(dir: &Path) -> Result<keyring::Entry, KeyError> {
    keyring::Entry::new(KEYRING_SERVICE, &keyring_user(dir)).map_err(|e| KeyError::NoKeyring { detail: e.to_string() })
}

/// A keyring call, tried again twice when the keyring service did not
/// answer: a Secret Service daemon that quit or crashed is started again by
/// D-Bus at the next call, so one lost answer is not "no keyring".
fn with_keyring_retry<T>(call: impl Fn() -> keyring::Result<T>) -> keyring::Result<T> {
    let mut tries = 0;
    loop {
        match call() {
            Err(keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_)) if tries < 2 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

fn keyring_has_entry(dir: &Path) -> bool {
    keyring_entry(dir)
        .and_then(|entry| {
            with_keyring_retry(|| entry.get_password()).map_err(|e| KeyError::NoKeyring { detail: e.to_string() })
        })
        .is_ok()
}

fn keyring_key(dir: &Path, db: &Path, state: FileState) -> Result<StoreKey, KeyError> {
    let entry = keyring_entry(dir)?;
    match with_keyring_retry(|| entry.get_password()) {
        Ok(hex_key) => {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(hex_key.trim(), &mut bytes)
                .map_err(|_| KeyError::KeyLost { path: db.to_path_buf() })?;
            Ok(StoreKey(bytes, false))
        }
        Err(keyring::Error::NoEntry) => {
            // An existing encrypted file with no key: never replace its key.
            if state == FileState::Other {
                return Err(KeyError::KeyLost { path: db.to_path_buf() });
            }
            let key = StoreKey::random();
            with_keyring_retry(|| entry.set_password(&key.hex()))
                .map_err(|e| KeyError::NoKeyring { detail: e.to_string() })?;
            Ok(key)
        }
        Err(e) => Err(KeyError::NoKeyring { detail: e.to_string() }),
    }
}

/// How a passphrase becomes the key: kept in `circles-key.json`.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    kdf: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

fn passphrase_key(
    dir: &Path,
    passphrase: &str,
    state: FileState,
    in_keyring: impl FnOnce() -> bool,
) -> Result<StoreKey, KeyError> {
    let path = dir.join(KEY_FILE);
    let bad = |reason: String| KeyError::KeyFile { path: path.clone(), reason };
    let params: KeyFile = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a Circles key file ({e})")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // An encrypted store with no key file was keyed from the keyring.
            if state == FileState::Other {
                return Err(match in_keyring() {
                    true => KeyError::KeyInKeyring { folder: dir.to_path_buf() },
                    false => KeyError::KeyLost { path: dir.join(crate::store::data_dir::DB_FILE) },
                });
            }
            if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
                return Err(KeyError::PassphraseTooShort);
            }
            use rand::RngCore;
            let mut salt = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut salt);
            let params = KeyFile {
                kdf: "argon2id".into(),
                m_kib: ARGON2_M_KIB,
                t: ARGON2_T,
                p: ARGON2_P,
                salt: hex::encode(salt),
            };
            let text = serde_json::to_vec_pretty(&params).map_err(|e| bad(e.to_string()))?;
            // Written before the store is keyed with it: a store is never
            // encrypted under a key whose recipe was not kept.
            let temp = dir.join(format!("{KEY_FILE}.new"));
            std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, &path)).map_err(|e| bad(e.to_string()))?;
            params
        }
        Err(e) => return Err(bad(e.to_string())),
    };
    if params.kdf != "argon2id" {
        return Err(bad(format!("unknown key derivation {:?}", params.kdf)));
    }
    let salt = hex::decode(&params.salt).map_err(|_| bad("its salt is not hexadecimal".into()))?;
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(params.m_kib, params.t, params.p, Some(32)).map_err(|e| bad(e.to_string()))?,
    );
    let mut bytes = [0u8; 32];
    argon.hash_password_into(passphrase.as_bytes(), &salt, &mut bytes).map_err(|e| bad(e.to_string()))?;
    Ok(StoreKey(bytes, false))
}

/// Keys that opened a folder's store in this process, so a second
/// connection (the app's sync worker) needs no second keyring call or
/// passphrase prompt. Only keys proven by an open are kept.
fn remembered_keys() -> &'static Mutex<HashMap<PathBuf, StoreKey>> {
    static KEYS: OnceLock<Mutex<HashMap<PathBuf, StoreKey>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

fn remembered(dir: &Path) -> Option<StoreKey> {
    let canonical = dir.canonicalize().ok()?;
    remembered_keys().lock().ok()?.get(&canonical).cloned()
}

pub(crate) fn remember(dir: &Path, key: &StoreKey) {
    if let (Ok(canonical), Ok(mut keys)) = (dir.canonicalize(), remembered_keys().lock()) {
        keys.insert(canonical, key.clone());
    }
}

/// Forget the key of data folder `dir` once its files are wiped: removed
/// from this process and from the keyring, so a copy of the old bytes left
/// anywhere (an SSD's spare blocks, a snapshot) can no longer be decrypted.
/// Best effort: where no keyring answers there was no key kept in one.
pub(crate) fn forget_folder_key(dir: &Path) {
    if let (Ok(canonical), Ok(mut keys)) = (dir.canonicalize(), remembered_keys().lock()) {
        keys.remove(&canonical);
    }
    if let Ok(entry) = keyring_entry(dir) {
        let _ = entry.delete_credential();
    }
}

/// The key of the store in data folder `dir`, for the connections core opens
/// beside a `Store` (checks, backups being restored): the remembered key, or
/// the one `KeySource::from_env` gives.
pub(crate) fn key_for_folder(dir: &Path) -> crate::error::Result<StoreKey> {
    let db = dir.join(crate::store::data_dir::DB_FILE);
    Ok(folder_key(dir, &db, &KeySource::from_env())?.0)
}

/// Open a connection to the SQLite file `path`, keyed with `key` before
/// anything else: the only way core opens a database (crates/tidy checks).
pub(crate) fn open_keyed(path: &Path, flags: OpenFlags, key: &StoreKey) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.execute_batch(&key.pragma())?;
    Ok(conn)
}

/// A plain (unkeyed) connection: only for telling a plain file from an
/// encrypted one (`file_state`) and reading a plain store being converted
/// (store/encrypt.rs).
pub(crate) fn open_plain(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(path, flags)
}

/// For tests outside core (CLI, app): a connection to the store in `dir`
/// keyed as the front ends key it, to look at or damage the file directly.
#[doc(hidden)]
pub fn open_store_file_for_tests(dir: &Path) -> crate::error::Result<Connection> {
    let key = key_for_folder(dir)?;
    Ok(open_keyed(
        &dir.join(crate::store::data_dir::DB_FILE),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        &key,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passphrase_gives_the_same_key_with_the_kept_salt_and_another_with_another_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let first = passphrase_key(dir.path(), "correct horse", FileState::New, || false).unwrap();
        let again = passphrase_key(dir.path(), "correct horse", FileState::New, || false).unwrap();
        let other = passphrase_key(dir.path(), "wrong horse!", FileState::New, || false).unwrap();
        assert!(first == again);
        assert!(first != other);
        let kept = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
        assert!(!kept.contains("horse"), "the passphrase is never kept: {kept}");
    }

    #[test]
    fn a_short_new_passphrase_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = passphrase_key(dir.path(), "short", FileState::New, || false).err().unwrap();
        assert_eq!(err.code(), "store_passphrase_too_short");
        assert!(!dir.path().join(KEY_FILE).exists());
    }

    #[test]
    fn sqlite_tells_plain_from_new_and_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        assert_eq!(file_state(&path), FileState::New);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(file_state(&path), FileState::New);
        std::fs::write(&path, [9u8; 64]).unwrap();
        assert_eq!(file_state(&path), FileState::Other);
        std::fs::remove_file(&path).unwrap();
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        assert_eq!(file_state(&path), FileState::Plain);
        let encrypted = dir.path().join("y");
        open_keyed(
            &encrypted,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            &StoreKey::for_tests(),
        )
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
        assert_eq!(file_state(&encrypted), FileState::Other);
    }
}
