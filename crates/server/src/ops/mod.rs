//! The operator's commands on a server database: `backup`, `restore` and
//! `check`. What may be overwritten, what is refused and what is reported
//! is decided here; the SQL and SQLite's file handling are in `storage/`.

pub mod audit;
pub mod backup;
pub mod check;
pub mod restore;

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::storage::sqlite_file::Inspection;
use crate::storage::StorageError;

/// How to back up and restore a PostgreSQL database (also in docs/deploy.md).
pub const PG_DUMP_HOWTO: &str = "back it up with PostgreSQL's own tools, while the server runs:\n  \
     pg_dump --format=custom --file=circles.dump 'postgres://USER@HOST:5432/DB'\n\
     and restore into a new, empty database (then point the server at it):\n  \
     pg_restore --no-owner --dbname='postgres://USER@HOST:5432/NEWDB' circles.dump";

/// Why an operator's command refused or failed; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("the database is PostgreSQL: `circles-server {command}` works on SQLite files only; {PG_DUMP_HOWTO}")]
    Postgres { command: &'static str },
    #[error("there is no server database at {}", .0.display())]
    NoDatabase(PathBuf),
    #[error("there is no file at {}", .0.display())]
    NoFile(PathBuf),
    #[error("{} already exists: choose another file, or add --force to replace it", .0.display())]
    BackupExists(PathBuf),
    #[error("{} is a folder: give the backup's file name, e.g. {}", .0.display(), .0.join("circles-server.sqlite").display())]
    IsFolder(PathBuf),
    #[error("cannot write in the folder {}: {reason}", folder.display())]
    FolderNotWritable { folder: PathBuf, reason: String },
    #[error("{} is not a Circles server backup: {why}; nothing was restored", file.display())]
    NotABackup { file: PathBuf, why: String },
    #[error("{} is not a Circles server database: {why}", file.display())]
    NotServerDatabase { file: PathBuf, why: String },
    #[error(
        "restore onto a non-empty database: {} holds {users} users and {changes} changes. \
         Restore never replaces data: stop the server, move that file away (e.g. `mv {0} {0}.old`, \
         with its -wal and -shm files if any) and run restore again",
        target.display()
    )]
    NonEmpty { target: PathBuf, users: i64, changes: i64 },
    #[error("{} is in use (is the server running on it? stop it first): {reason}", file.display())]
    InUse { file: PathBuf, reason: String },
    #[error("{} exists without its database {}: move it away first", wal.display(), target.display())]
    StrayWal { wal: PathBuf, target: PathBuf },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl OpsError {
    /// A stable code per kind of refusal, for scripts and tests.
    pub fn code(&self) -> &'static str {
        match self {
            OpsError::Postgres { .. } => "postgres",
            OpsError::NoDatabase(_) => "no_database",
            OpsError::NoFile(_) => "no_file",
            OpsError::BackupExists(_) => "exists",
            OpsError::IsFolder(_) => "is_folder",
            OpsError::FolderNotWritable { .. } => "not_writable",
            OpsError::NotABackup { .. } => "not_a_backup",
            OpsError::NotServerDatabase { .. } => "not_server_database",
            OpsError::NonEmpty { .. } => "not_empty",
            OpsError::InUse { .. } => "in_use",
            OpsError::StrayWal { .. } => "stray_wal",
            OpsError::Io { .. } => "io",
            OpsError::Storage(_) => "storage",
        }
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> OpsError {
    move |source| OpsError::Io { context, source }
}

/// Why a file that should be a Circles server database is not one, in words.
fn not_circles(inspection: &Inspection) -> String {
    match inspection {
        Inspection::NotSqlite(why) => format!("it is not a SQLite database ({why})"),
        Inspection::Damaged(faults) => {
            format!(
                "SQLite's integrity check finds it damaged: {}",
                faults.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            )
        }
        Inspection::Blank => "it is an empty SQLite database".into(),
        Inspection::Foreign(missing) => {
            format!("it is a SQLite database without the server's tables ({})", missing.join(", "))
        }
        Inspection::UnknownVersion(v) => format!(
            "its schema version {v} is not one this server knows (1 to {}): made by a newer circles-server?",
            crate::storage::sqlite::SCHEMA_VERSION
        ),
        Inspection::Circles(_) => "it is one".into(),
    }
}

/// A file being written beside its final path, renamed into place when
/// complete and removed if anything fails before.
struct Partial {
    path: PathBuf,
    folder: PathBuf,
    kept: bool,
}

impl Partial {
    /// Create `.NAME.partial-PID` in `target`'s folder; a folder that cannot
    /// be written says so.
    fn beside(target: &Path) -> Result<Partial, OpsError> {
        let folder = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = folder.join(format!(".{name}.partial-{}", std::process::id()));
        let reason = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(Partial { path, folder, kept: false }),
            Err(e) => match e.kind() {
                ErrorKind::NotFound if folder.is_dir() => "no file can be created there".into(),
                ErrorKind::NotFound => "it does not exist".into(),
                ErrorKind::PermissionDenied => format!("permission denied ({e})"),
                ErrorKind::NotADirectory => "it is not a folder".into(),
                ErrorKind::ReadOnlyFilesystem => "it is on a read-only file system".into(),
                ErrorKind::AlreadyExists => format!("{} is left from another run: remove it", path.display()),
                _ => e.to_string(),
            },
        };
        Err(OpsError::FolderNotWritable { folder, reason })
    }

    /// Flush it to disk and rename it to `target` (replacing it), durably.
    fn finish(mut self, target: &Path) -> Result<(), OpsError> {
        File::open(&self.path)
            .and_then(|f| f.sync_all())
            .map_err(io(format!("cannot flush {}", self.path.display())))?;
        std::fs::rename(&self.path, target).map_err(io(format!(
            "cannot rename {} to {}",
            self.path.display(),
            target.display()
        )))?;
        self.kept = true;
        // The rename itself survives a power loss once the folder is flushed.
        if let Ok(dir) = File::open(&self.folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
            for suffix in ["-journal", "-wal", "-shm"] {
                let mut side = self.path.clone().into_os_string();
                side.push(suffix);
                let _ = std::fs::remove_file(side);
            }
        }
    }
}
