//! Removing this computer's Circles data, for a shared library laptop: the
//! store's file with its WAL and journal, the automatic backups, and the
//! demo folder inside it. Each file is overwritten with zeros and flushed
//! before it is deleted, so its bytes do not stay readable in the free space
//! of an ordinary disk (an SSD's wear levelling may still keep old blocks;
//! docs/privacy.md says so). The store's key goes too (the keyring entry,
//! or the passphrase's salt file), so old bytes left anywhere cannot be
//! decrypted. Files the person put in the folder are left.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{CoreError, Result};
use crate::store::backup::BACKUPS_DIR;
use crate::store::data_dir::{DB_FILE, DEMO_SUBFOLDER};
use crate::store::key::{forget_folder_key, KEY_FILE};
use crate::store::Store;

/// What a removal overwrote and deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wiped {
    pub files: usize,
    pub bytes: u64,
}

/// The store's own files beside `DB_FILE` (`.plain`: a conversion to an
/// encrypted store that was interrupted, `.encrypting` its copy being made:
/// `store/encrypt.rs`).
const STORE_SUFFIXES: [&str; 10] = [
    "",
    "-wal",
    "-shm",
    "-journal",
    ".plain",
    ".plain-wal",
    ".plain-shm",
    ".encrypting",
    ".encrypting-wal",
    ".encrypting-shm",
];

impl Store {
    /// Close the store, then overwrite and delete every file Circles made in
    /// its folder (and the folder itself when nothing else is left in it).
    /// The caller decides whether that is allowed (`sync::account`).
    pub fn wipe(self) -> Result<Wiped> {
        let dir = self.path().parent().map(Path::to_path_buf);
        let db = self.path().to_path_buf();
        // Closing the last connection folds the WAL in and deletes it.
        drop(self);
        let mut wiped = Wiped::default();
        for suffix in STORE_SUFFIXES {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            wipe_file(Path::new(&name), &mut wiped)?;
        }
        if let Some(dir) = dir {
            if db.file_name().is_some_and(|n| n == DB_FILE) {
                wipe_tree(&dir.join(BACKUPS_DIR), &mut wiped)?;
                wipe_tree(&dir.join(DEMO_SUBFOLDER), &mut wiped)?;
                wipe_file(&dir.join(KEY_FILE), &mut wiped)?;
            }
            // Last, while the folder still resolves to the name it is kept under.
            forget_folder_key(&dir);
            // Only an empty folder goes: the person's own files stay.
            let _ = fs::remove_dir(&dir);
        }
        Ok(wiped)
    }
}

fn failed(path: &Path) -> impl FnOnce(std::io::Error) -> CoreError + '_ {
    move |source| CoreError::Wipe { path: path.to_path_buf(), source }
}

/// Overwrite a file with zeros, flush it to disk, delete it. A missing file
/// is not an error.
fn wipe_file(path: &Path, wiped: &mut Wiped) -> Result<()> {
    let existed = fs::symlink_metadata(path).is_ok();
    let len = shred(path).map_err(failed(path))?;
    if existed {
        wiped.files += 1;
        wiped.bytes += len;
    }
    Ok(())
}

/// Overwrite a file with zeros, flush it, then delete it, so its bytes do
/// not stay readable in the file's old blocks (as far as the file system
/// allows); its length (0: there was none). A link is removed, never
/// followed. Also what a plain store's conversion leaves behind goes by
/// (`store/encrypt.rs`).
pub(crate) fn shred(path: &Path) -> std::io::Result<u64> {
    let len = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => meta.len(),
        Ok(_) => {
            fs::remove_file(path)?;
            return Ok(0);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    {
        let mut file = OpenOptions::new().write(true).open(path)?;
        file.seek(SeekFrom::Start(0))?;
        let zeros = vec![0u8; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        file.sync_all()?;
    }
    fs::remove_file(path)?;
    Ok(len)
}

/// Wipe every file under `dir`, then remove the folders.
fn wipe_tree(dir: &Path, wiped: &mut Wiped) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(failed(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(failed(dir))?;
        let path = entry.path();
        if entry.file_type().map_err(failed(&path))?.is_dir() {
            wipe_tree(&path, wiped)?;
        } else {
            wipe_file(&path, wiped)?;
        }
    }
    fs::remove_dir(dir).map_err(failed(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::erase::files_holding;
    use crate::{LearnerInput, WeeklyRule};

    #[test]
    fn wipe_leaves_no_learner_bytes_and_keeps_the_person_s_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir_all(data.join(BACKUPS_DIR)).unwrap();
        let mut store = Store::open_in(&data).unwrap();
        let circle = store
            .create_circle(
                &crate::CircleInput::new("Python Tuesdays", "America/Chicago", "18:00", 90),
                Some(&WeeklyRule { first_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(), count: 2 }),
            )
            .unwrap();
        let mut ana = LearnerInput::new("Ana Souza");
        ana.email = "ana.wipe@example.org".into();
        store.add_learner(&circle, &ana).unwrap();
        fs::write(data.join(BACKUPS_DIR).join("circles-2026-12-01.sqlite"), "ana.wipe@example.org").unwrap();
        fs::create_dir_all(data.join(DEMO_SUBFOLDER)).unwrap();
        fs::write(data.join(DEMO_SUBFOLDER).join(DB_FILE), "demo").unwrap();
        fs::write(data.join("my notes.txt"), "mine").unwrap();
        assert!(!files_holding(&data, "ana.wipe@example.org").unwrap().is_empty());

        let wiped = store.wipe().unwrap();
        assert!(wiped.files >= 3 && wiped.bytes > 0, "{wiped:?}");
        let left: Vec<String> =
            fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["my notes.txt"], "only the person's own file stays");

        // With nothing of the person's, the folder goes too.
        fs::remove_file(data.join("my notes.txt")).unwrap();
        let store = Store::open_in(&data).unwrap();
        store.wipe().unwrap();
        assert!(!data.exists());
    }
}
