//! `run --out`: the same JSON Lines as backtest, kept consistent with the
//! checkpoint. Each checkpoint records the file's length after a flush and
//! fsync; a restart truncates to it and the replayed input writes the same
//! records again, so the file ends up byte-identical to an uninterrupted run.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

pub struct OutputFile {
    path: PathBuf,
    writer: BufWriter<File>,
}

impl OutputFile {
    /// Opens `path` for appending after its first `keep` bytes (0 without a
    /// checkpoint: a fresh run starts a fresh file).
    pub fn open(path: &Path, keep: u64) -> anyhow::Result<OutputFile> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open --out file {}", path.display()))?;
        let length = file.metadata()?.len();
        if length < keep {
            bail!(
                "--out file {} has {length} bytes but the checkpoint covers {keep}: it was changed outside tripgate",
                path.display()
            );
        }
        file.set_len(keep)?;
        let mut writer = BufWriter::with_capacity(1 << 16, file);
        writer.seek(SeekFrom::Start(keep))?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            writer,
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// Hands buffered records to the OS, so readers see closed ticks promptly.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.writer
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Flushes and syncs; returns the length a checkpoint may record.
    pub fn sync(&mut self) -> anyhow::Result<u64> {
        self.flush()?;
        self.writer.get_ref().sync_data()?;
        Ok(self.writer.stream_position()?)
    }
}
