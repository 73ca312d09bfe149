//! `circles backup --out FILE` and `circles restore FILE`: thin calls into
//! core's store backups (a restored laptop takes a new device identity by
//! itself at its next sync, so nothing is lost or sent twice).

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use crate::output::print_json;
use crate::Ctx;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist yet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `circles backup` (or one of the data folder's backups/).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub fn backup(ctx: &Ctx, args: BackupArgs) -> Result<()> {
    ctx.store.backup_to(&args.out)?;
    if ctx.json {
        return print_json(&serde_json::json!({ "backup": args.out }));
    }
    say!("backed up to {}", args.out.display())
}

pub fn restore(data_dir: &Path, json: bool, args: &RestoreArgs) -> Result<()> {
    let aside = circles_core::restore_backup(data_dir, &args.file)?;
    if json {
        return print_json(&serde_json::json!({ "restored": args.file, "previous": aside }));
    }
    say!("restored {} into {}", args.file.display(), data_dir.display())?;
    if let Some(aside) = aside {
        say!("the data it replaced is kept in {}", aside.display())?;
    }
    Ok(())
}
