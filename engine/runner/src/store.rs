//! Precompiled modules on the host, one file per SHA-256 in a directory only the user can read.

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The module cache directory.
#[derive(Debug, Clone)]
pub struct ModuleStore {
    dir: PathBuf,
}

impl ModuleStore {
    /// Opens (creating with mode 0700) the store at `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<ModuleStore> {
        let dir = dir.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        Ok(ModuleStore { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.cwasm"))
    }

    /// Hashes of the modules held.
    pub fn hashes(&self) -> BTreeSet<String> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return BTreeSet::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let hash = name.strip_suffix(".cwasm")?;
                (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| hash.to_string())
            })
            .collect()
    }

    /// The bytes stored under `hash`, if present and still matching it.
    pub fn get(&self, hash: &str) -> Option<Vec<u8>> {
        let bytes = fs::read(self.path(hash)).ok()?;
        (sha256_hex(&bytes) == hash).then_some(bytes)
    }

    /// Stores bytes under their hash: written to a private temporary file, then renamed into place.
    pub fn put(&self, hash: &str, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = self.dir.join(format!(".{hash}.{}.tmp", std::process::id()));
        let mut file = fs::File::create(&tmp)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, self.path(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_bytes_come_back_only_while_they_match_their_hash() {
        let dir = std::env::temp_dir().join(format!("pb-store-test-{}", std::process::id()));
        let store = ModuleStore::open(&dir).expect("temp dir");
        let hash = sha256_hex(b"abc");
        store.put(&hash, b"abc").expect("write");
        assert_eq!(store.get(&hash).as_deref(), Some(&b"abc"[..]));
        assert!(store.hashes().contains(&hash));
        fs::write(dir.join(format!("{hash}.cwasm")), b"tampered").expect("write");
        assert_eq!(store.get(&hash), None);
        let mode = fs::metadata(&dir).expect("dir").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
