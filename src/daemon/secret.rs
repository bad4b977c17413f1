//! The hall's secret key for person hashes (see `queue::person`), kept in the
//! data directory, created on first start, readable by the daemon's user only.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

pub const SECRET_FILE: &str = "person.key";
const SECRET_BYTES: usize = 32;

pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(SECRET_FILE);
    if path.exists() {
        let key = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if key.len() != SECRET_BYTES {
            bail!(
                "{} holds {} bytes; a person key is {SECRET_BYTES} bytes",
                path.display(),
                key.len()
            );
        }
        return Ok(key);
    }
    let mut key = vec![0u8; SECRET_BYTES];
    rand::fill(&mut key[..]);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(&key)?;
    file.sync_all()?;
    Ok(key)
}
