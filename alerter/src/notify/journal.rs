//! The file behind a durable outbox: append-only JSON Lines, one record per
//! line, each written and fsynced before the call returns.
//!
//! A new message is durable before anything tries to deliver it, and a
//! delivery is recorded only after the receiver accepted it, so a crash in
//! between re-sends the message (with the same id) after the restart: at
//! least once, and receivers deduplicate by id.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{NotifyError, Outgoing};

/// One line of the journal. `Add` is much larger than the others; boxing
/// it would buy nothing, since records live only while one line is read or
/// written.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Record {
    /// A message to deliver to `remaining`.
    Add {
        remaining: Vec<String>,
        entry: Outgoing,
    },
    /// `notifier` accepted message `id`.
    Delivered { id: String, notifier: String },
    /// `notifier` refused message `id` for good.
    Parked {
        id: String,
        notifier: String,
        error: String,
    },
}

pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    /// Lines written since the file was last rewritten; bounds its growth.
    lines: usize,
}

impl Journal {
    /// Opens (creating) the journal and reads back every complete record. A
    /// torn last line, from a crash in the middle of a write, is skipped:
    /// its record was never acknowledged to anyone.
    pub(crate) fn open(path: &Path) -> Result<(Journal, Vec<Record>), NotifyError> {
        let io = |error: std::io::Error| journal_error(path, error);
        let mut records = Vec::new();
        if path.exists() {
            let reader = BufReader::new(File::open(path).map_err(io)?);
            for (number, line) in reader.lines().enumerate() {
                let line = line.map_err(io)?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Record>(&line) {
                    Ok(record) => records.push(record),
                    Err(error) => tracing::warn!(
                        path = %path.display(),
                        line = number + 1,
                        %error,
                        "outbox journal line unreadable, skipped"
                    ),
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let lines = records.len();
        let journal = Journal {
            path: path.to_path_buf(),
            file,
            lines,
        };
        Ok((journal, records))
    }

    pub(crate) fn lines(&self) -> usize {
        self.lines
    }

    /// Appends one record and waits until it is on disk.
    pub(crate) fn append(&mut self, record: &Record) -> Result<(), NotifyError> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let io = |error| journal_error(&self.path, error);
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.lines += 1;
        Ok(())
    }

    /// Replaces the file with just `records` (what is still pending): write
    /// a new file, fsync it, rename it over the old one, fsync the folder,
    /// so a crash leaves either the old journal or the new one, whole.
    pub(crate) fn rewrite(&mut self, records: &[Record]) -> Result<(), NotifyError> {
        let io = |error| journal_error(&self.path, error);
        let temporary = self.path.with_extension("rewrite");
        {
            let mut file = File::create(&temporary).map_err(io)?;
            for record in records {
                let mut line = serde_json::to_vec(record)?;
                line.push(b'\n');
                file.write_all(&line).map_err(io)?;
            }
            file.sync_all().map_err(io)?;
        }
        fs::rename(&temporary, &self.path).map_err(io)?;
        if let Some(folder) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(folder)
                .and_then(|dir| dir.sync_all())
                .map_err(io)?;
        }
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        self.lines = records.len();
        Ok(())
    }
}

fn journal_error(path: &Path, error: std::io::Error) -> NotifyError {
    NotifyError::Journal {
        path: path.display().to_string(),
        problem: error.to_string(),
    }
}
