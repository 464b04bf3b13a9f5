//! Ansible Vault: files and `!vault` values encrypted byte for byte as `ansible-vault` does (format 1.1, and
//! 1.2 when a vault id other than `default` labels the secret), so each tool opens what the other wrote.
//!
//! The format (ansible-core's `VaultAES256`): PBKDF2-HMAC-SHA256 over the password and a 32-byte salt, 10,000
//! rounds, gives 80 bytes: an AES-256 key, an HMAC-SHA256 key and the initial CTR counter. The plaintext is
//! PKCS#7-padded, encrypted with AES-256-CTR, and authenticated with HMAC-SHA256 over the ciphertext. The body
//! is `hex(hex(salt) "\n" hex(hmac) "\n" hex(ciphertext))` under a `$ANSIBLE_VAULT;1.1;AES256` header, cut into
//! lines of 80 characters.
//!
//! Secrets come in as a [`Keyring`] (labelled passwords, see `secrets.rs`); the CLI installs one for the whole
//! process ([`install`]) before anything is read, so every reader of YAML and files decrypts the same way.

pub mod command;
pub mod secrets;

use crate::secret::Secret;
use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// What every vault text starts with.
pub const HEADER: &str = "$ANSIBLE_VAULT";
/// The label of a secret given without one (`--ask-vault-pass`, `--vault-password-file`).
pub const DEFAULT_ID: &str = "default";
const CIPHER: &str = "AES256";
const PBKDF2_ROUNDS: u32 = 10_000;
const SALT_LEN: usize = 32;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = Hmac<Sha256>;

/// Why vault text could not be opened or made. The messages are ansible-core's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The header or the hex body is malformed.
    #[error("Vault format error: {0}")]
    Format(String),
    /// A cipher other than AES256.
    #[error("Cipher '{0}' could not be found.")]
    UnknownCipher(String),
    /// Nothing to decrypt with.
    #[error("Attempting to decrypt but no vault secrets found.")]
    NoSecrets,
    /// No secret given opens it (a wrong password, or the wrong vault id with `vault_id_match`).
    #[error("Decryption failed (no vault secrets were found that could decrypt).")]
    NoMatch,
    /// `encrypt` of text that is vault text already.
    #[error("input is already encrypted")]
    AlreadyEncrypted,
    /// The system's random source failed (no salt).
    #[error("no random salt: {0}")]
    Random(String),
}

/// A vault text's header and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `1.1` or `1.2`.
    pub version: String,
    /// `AES256`.
    pub cipher: String,
    /// The vault id of a 1.2 header.
    pub vault_id: Option<String>,
    /// The hex body with the line breaks taken out.
    body: String,
}

/// Whether `text` is vault text (it starts with the vault header, as ansible-core tests it).
pub fn is_encrypted(text: &[u8]) -> bool {
    text.starts_with(HEADER.as_bytes())
}

impl Envelope {
    /// Reads the header line and the body.
    pub fn parse(text: &str) -> Result<Envelope, VaultError> {
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().trim();
        let fields: Vec<&str> = header.split(';').map(str::trim).collect();
        if fields.len() < 3 || fields[0] != HEADER {
            return Err(VaultError::Format(
                "the first line must be `$ANSIBLE_VAULT;VERSION;CIPHER[;VAULT_ID]`".into(),
            ));
        }
        Ok(Envelope {
            version: fields[1].to_string(),
            cipher: fields[2].to_string(),
            vault_id: fields.get(3).map(|id| id.to_string()),
            body: lines.map(str::trim).collect(),
        })
    }
}

/// Encrypts `plaintext` with `password`, labelled `vault_id` (a 1.2 header when the label is not `default`).
pub fn encrypt(
    plaintext: &[u8],
    password: &Secret,
    vault_id: Option<&str>,
) -> Result<String, VaultError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| VaultError::Random(e.to_string()))?;
    encrypt_with_salt(plaintext, password, vault_id, &salt)
}

/// [`encrypt`] with a given salt (ansible-core's `VAULT_ENCRYPT_SALT`; tests use it for fixed output).
pub fn encrypt_with_salt(
    plaintext: &[u8],
    password: &Secret,
    vault_id: Option<&str>,
    salt: &[u8],
) -> Result<String, VaultError> {
    if is_encrypted(plaintext) {
        return Err(VaultError::AlreadyEncrypted);
    }
    let keys = derive(password.expose().as_bytes(), salt);
    let pad = 16 - plaintext.len() % 16;
    let mut data = plaintext.to_vec();
    data.extend(std::iter::repeat_n(pad as u8, pad));
    Aes256Ctr::new(&keys.aes.into(), &keys.iv.into()).apply_keystream(&mut data);
    let mut mac = keys.mac();
    mac.update(&data);
    let tag = mac.finalize().into_bytes();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(tag),
        hex::encode(&data)
    );
    let body = hex::encode(inner.as_bytes());

    let label = vault_id.filter(|id| *id != DEFAULT_ID);
    let mut out = match label {
        Some(id) => format!("{HEADER};1.2;{CIPHER};{id}"),
        None => format!("{HEADER};1.1;{CIPHER}"),
    };
    for chunk in body.as_bytes().chunks(80) {
        out.push('\n');
        // Hex digits are ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out.push('\n');
    Ok(out)
}

/// The three secrets PBKDF2 derives from a password and a salt.
#[derive(Clone)]
struct Keys {
    aes: [u8; 32],
    hmac: [u8; 32],
    iv: [u8; 16],
}

impl Keys {
    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.hmac).expect("HMAC accepts any key length")
    }
}

/// 10,000 rounds of PBKDF2 per value add up when a file holds many `!vault` values with the same password and
/// salt (or the same value is read twice), so derived keys are kept, as ansible-core caches them.
fn derive(password: &[u8], salt: &[u8]) -> Keys {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Keys>>> = OnceLock::new();
    // The cache is keyed by a hash of both, so no password is kept in it.
    let mut id = Sha256::new_with_prefix((password.len() as u64).to_be_bytes());
    Digest::update(&mut id, password);
    Digest::update(&mut id, salt);
    let id: [u8; 32] = id.finalize().into();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(keys) = cache.lock().ok().and_then(|c| c.get(&id).cloned()) {
        return keys;
    }
    let mut derived = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, PBKDF2_ROUNDS, &mut derived);
    let mut keys = Keys {
        aes: [0; 32],
        hmac: [0; 32],
        iv: [0; 16],
    };
    keys.aes.copy_from_slice(&derived[..32]);
    keys.hmac.copy_from_slice(&derived[32..64]);
    keys.iv.copy_from_slice(&derived[64..]);
    if let Ok(mut c) = cache.lock() {
        c.insert(id, keys.clone());
    }
    keys
}

/// The three parts of an envelope's body.
struct Body {
    salt: Vec<u8>,
    hmac: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// The salt, HMAC and ciphertext of an envelope's body.
fn split_body(body: &str) -> Result<Body, VaultError> {
    let unhex = |text: &[u8]| {
        hex::decode(text).map_err(|_| VaultError::Format("the body is not hexadecimal".into()))
    };
    let inner = unhex(body.as_bytes())?;
    let mut parts = inner.splitn(3, |b| *b == b'\n');
    let (Some(salt), Some(tag), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(VaultError::Format(
            "the body must hold a salt, an HMAC and the ciphertext".into(),
        ));
    };
    Ok(Body {
        salt: unhex(salt)?,
        hmac: unhex(tag)?,
        ciphertext: unhex(data)?,
    })
}

/// Opens an envelope with one password; `None` when the HMAC says it is the wrong one.
fn open(envelope: &Envelope, password: &Secret) -> Result<Option<Vec<u8>>, VaultError> {
    let Body {
        salt,
        hmac: tag,
        ciphertext: mut data,
    } = split_body(&envelope.body)?;
    let keys = derive(password.expose().as_bytes(), &salt);
    let mut mac = keys.mac();
    mac.update(&data);
    if mac.verify_slice(&tag).is_err() {
        return Ok(None);
    }
    Aes256Ctr::new(&keys.aes.into(), &keys.iv.into()).apply_keystream(&mut data);
    // PKCS#7: the last byte says how many bytes of padding there are, each of that value.
    let pad = data.last().copied().unwrap_or(0) as usize;
    let valid = (1..=16).contains(&pad)
        && pad <= data.len()
        && data[data.len() - pad..].iter().all(|b| *b as usize == pad);
    if !valid {
        return Err(VaultError::Format("invalid padding".into()));
    }
    data.truncate(data.len() - pad);
    Ok(Some(data))
}

/// The vault secrets of a run: passwords, each under a vault id, tried in order.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    secrets: Vec<(String, Secret)>,
    /// `vault_id_match`: only a secret whose label is the vault text's id may open it.
    pub id_match: bool,
}

impl Keyring {
    /// A keyring with no secrets.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds a secret under a label (`default` when none was given).
    pub fn add(&mut self, label: impl Into<String>, secret: Secret) {
        self.secrets.push((label.into(), secret));
    }

    /// Whether no secret was given.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|(label, _)| label.as_str())
    }

    /// The secret under `label`, or the first one when no label is asked for.
    pub fn for_encryption(&self, label: Option<&str>) -> Option<(&str, &Secret)> {
        self.secrets
            .iter()
            .find(|(l, _)| label.is_none_or(|want| want == l))
            .map(|(l, s)| (l.as_str(), s))
    }

    /// Decrypts vault text, trying the secret labelled as the text is first, then (unless `id_match`) the
    /// others in order, as ansible-core does. Gives the plaintext and the label of the secret that opened it.
    pub fn decrypt(&self, text: &[u8]) -> Result<(Vec<u8>, String), VaultError> {
        let text = std::str::from_utf8(text)
            .map_err(|_| VaultError::Format("vault text is ASCII".into()))?;
        let envelope = Envelope::parse(text)?;
        if envelope.cipher != CIPHER {
            return Err(VaultError::UnknownCipher(envelope.cipher));
        }
        if self.secrets.is_empty() {
            return Err(VaultError::NoSecrets);
        }
        let wanted = envelope.vault_id.as_deref().unwrap_or(DEFAULT_ID);
        let first = self.secrets.iter().filter(|(l, _)| l == wanted);
        let rest = self
            .secrets
            .iter()
            .filter(|(l, _)| !self.id_match && l != wanted);
        for (label, secret) in first.chain(rest) {
            if let Some(plain) = open(&envelope, secret)? {
                return Ok((plain, label.clone()));
            }
        }
        Err(VaultError::NoMatch)
    }

    /// Decrypts vault text to UTF-8 text.
    pub fn decrypt_text(&self, text: &[u8]) -> Result<String, VaultError> {
        let (plain, _) = self.decrypt(text)?;
        String::from_utf8(plain)
            .map_err(|_| VaultError::Format("the decrypted content is not UTF-8 text".into()))
    }
}

static INSTALLED: OnceLock<Keyring> = OnceLock::new();

/// Makes `keyring` the one every reader of this process decrypts with. Only the first call counts.
pub fn install(keyring: Keyring) {
    let _ = INSTALLED.set(keyring);
}

/// The keyring [`install`] set, or an empty one.
pub fn keyring() -> &'static Keyring {
    static EMPTY: Keyring = Keyring {
        secrets: Vec::new(),
        id_match: false,
    };
    INSTALLED.get().unwrap_or(&EMPTY)
}

/// Reads a file as text, decrypting it with the installed keyring when it is vault text (as ansible-core's
/// loader does for every vars file, inventory, playbook and `file` lookup). A vault error comes back as an
/// `InvalidData` I/O error carrying the vault's message, so every reader reports it where it reports the file.
pub fn read_to_string(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    if is_encrypted(&bytes) {
        return keyring()
            .decrypt_text(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e));
    }
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Whether an error of [`read_to_string`] is the vault's (the file was there but could not be decrypted).
pub fn is_vault_error(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<VaultError>())
}

#[cfg(test)]
mod tests;
