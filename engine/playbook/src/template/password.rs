//! Passwords: the `password_hash` filter (SHA-crypt as passlib writes it for Ansible) and the `password` lookup
//! (generate once, keep it in a file next to the playbook, hand back the same password on later runs).

use super::filters::py_str;
use super::invalid;
use minijinja::Error;
use minijinja::value::{Kwargs, Value as JValue};
use std::io::Write as _;
use std::path::Path;

const SALT_CHARS: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// `password_hash(hashtype='sha512', salt=None, salt_size=None, rounds=None)`. Ansible hashes with passlib and
/// passes crypt's default rounds (656000 for SHA-512, 535000 for SHA-256) when none are given, so the result
/// carries `rounds=`; passlib leaves it out only for 5000, the implicit count.
pub(super) fn password_hash(
    password: JValue,
    hashtype: Option<String>,
    salt: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let hashtype = hashtype.unwrap_or_else(|| "sha512".into());
    let salt = match salt {
        Some(s) => Some(s),
        None => kwargs.get("salt")?,
    };
    let salt_size: Option<usize> = kwargs.get("salt_size")?;
    let rounds: Option<u32> = kwargs.get("rounds")?;
    let _ident: Option<String> = kwargs.get("ident")?;
    kwargs.assert_all_used()?;
    let salt = salt
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| random_string(salt_size.unwrap_or(16), SALT_CHARS, None));
    sha_crypt(&py_str(&password), &hashtype, &salt, rounds)
}

fn sha_crypt(
    password: &str,
    hashtype: &str,
    salt: &str,
    rounds: Option<u32>,
) -> Result<String, Error> {
    if !salt.chars().all(|c| SALT_CHARS.contains(c)) {
        return Err(invalid(
            "Could not hash the secret: invalid characters in salt",
        ));
    }
    let salt: String = salt.chars().take(16).collect();
    let failed = |e: sha_crypt::CryptError| invalid(format!("Could not hash the secret: {e:?}"));
    let (id, rounds, hash) = match hashtype {
        "sha512" | "sha512_crypt" => {
            let rounds = rounds.unwrap_or(656_000) as usize;
            let params = sha_crypt::Sha512Params::new(rounds)
                .map_err(|e| invalid(format!("Could not hash the secret: {e:?}")))?;
            (
                6,
                rounds,
                sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
                    .map_err(failed)?,
            )
        }
        "sha256" | "sha256_crypt" => {
            let rounds = rounds.unwrap_or(535_000) as usize;
            let params = sha_crypt::Sha256Params::new(rounds)
                .map_err(|e| invalid(format!("Could not hash the secret: {e:?}")))?;
            (
                5,
                rounds,
                sha_crypt::sha256_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
                    .map_err(failed)?,
            )
        }
        "md5" | "md5_crypt" | "blowfish" | "bcrypt" => {
            return Err(invalid(format!(
                "the {hashtype} password hash is not supported here; use sha512 or sha256"
            )));
        }
        other => {
            return Err(invalid(format!(
                "{other} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"
            )));
        }
    };
    Ok(if rounds == 5000 {
        format!("${id}${salt}${hash}")
    } else {
        format!("${id}$rounds={rounds}${salt}${hash}")
    })
}

/// `length` characters from `chars`; the same seed gives the same string.
fn random_string(length: usize, chars: &str, seed: Option<&JValue>) -> String {
    let chars: Vec<char> = chars.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut rng = match seed {
        Some(seed) => super::pyrandom::PyRandom::seeded(seed),
        None => super::pyrandom::PyRandom::unseeded(),
    };
    (0..length)
        .map(|_| chars[rng.choice(chars.len())])
        .collect()
}

/// The `chars` option: names of Python `string` constants or literal characters, comma separated (`,,` is a
/// comma).
fn candidate_chars(spec: &[String]) -> String {
    let mut out = String::new();
    for part in spec {
        out.push_str(match part.as_str() {
            "ascii_letters" | "letters" => LETTERS,
            "ascii_lowercase" | "lowercase" => &LETTERS[..26],
            "ascii_uppercase" | "uppercase" => &LETTERS[26..],
            "digits" => DIGITS,
            "hexdigits" => "0123456789abcdefABCDEF",
            "octdigits" => "01234567",
            "punctuation" => PUNCTUATION,
            other => other,
        });
    }
    out
}

fn split_chars(chars: &str) -> Vec<String> {
    let mut parts = Vec::new();
    if chars.contains(",,") {
        parts.push(",".to_string());
    }
    parts.extend(
        chars
            .replace(",,", ",")
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    );
    parts
}

/// The `password` lookup for one term: `path [length=N] [chars=...] [encrypt=...] [seed=...]`.
pub(super) fn lookup(term: &str, base: &Path, kwargs: &Kwargs) -> Result<JValue, Error> {
    let (rel, params) = match term.split_once(' ') {
        Some((path, rest)) => (path, rest),
        None => (term, ""),
    };
    let mut length: usize = kwargs.get::<Option<usize>>("length")?.unwrap_or(20);
    let mut chars: Vec<String> = match kwargs.get::<Option<JValue>>("chars")? {
        Some(v) if v.as_str().is_some() => split_chars(v.as_str().unwrap_or_default()),
        Some(v) => v.try_iter()?.map(|c| py_str(&c)).collect(),
        None => vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
    };
    let mut encrypt: Option<String> = kwargs.get("encrypt")?;
    let mut seed: Option<JValue> = kwargs.get("seed")?;
    let _ident: Option<String> = kwargs.get("ident")?;
    for kv in params.split_whitespace() {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            invalid("Unrecognized value after key=value parameters given to password lookup")
        })?;
        match k {
            "length" => {
                length = v
                    .parse()
                    .map_err(|_| invalid(format!("invalid length {v:?} for the password lookup")))?
            }
            "chars" => chars = split_chars(v),
            "encrypt" => encrypt = Some(v.to_string()),
            "seed" => seed = Some(JValue::from(v)),
            "ident" => {}
            other => {
                return Err(invalid(format!(
                    "Unrecognized parameter(s) given to password lookup: {other}"
                )));
            }
        }
    }
    let path = base.join(rel);
    let dev_null = path == Path::new("/dev/null");
    let stored = if dev_null {
        None
    } else {
        std::fs::read_to_string(&path).ok()
    };
    let (password, mut salt, changed) = match stored {
        Some(content) => {
            let content = content.trim_end();
            match content.rfind(" salt=") {
                Some(i) => {
                    let rest = &content[i + 6..];
                    let salt = rest.split(" ident=").next().unwrap_or_default().to_string();
                    (content[..i].to_string(), Some(salt), false)
                }
                None => (content.to_string(), None, false),
            }
        }
        None => (
            random_string(length, &candidate_chars(&chars), seed.as_ref()),
            None,
            true,
        ),
    };
    let mut changed = changed;
    if encrypt.is_some() && salt.is_none() {
        salt = Some(random_string(16, SALT_CHARS, None));
        changed = true;
    }
    if changed && !dev_null {
        let content = match &salt {
            Some(s) => format!("{password} salt={s}\n"),
            None => format!("{password}\n"),
        };
        write_private(&path, &content).map_err(|e| {
            invalid(format!(
                "cannot write the password file {}: {e}",
                path.display()
            ))
        })?;
    }
    match (encrypt, salt) {
        (Some(kind), Some(salt)) => Ok(JValue::from(sha_crypt(&password, &kind, &salt, None)?)),
        _ => Ok(JValue::from(password)),
    }
}

/// Writes a file only its owner can read, creating its directory (0700) as Ansible does.
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn sha512_crypt_matches_glibc() {
        // `openssl passwd -6 -salt mysalt secret` (5000 rounds, which passlib leaves out of the hash).
        assert_eq!(
            sha_crypt("secret", "sha512", "mysalt", Some(5000)).expect("hash"),
            "$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1"
        );
        assert!(
            sha_crypt("secret", "sha512", "mysalt", None)
                .expect("hash")
                .starts_with("$6$rounds=656000$mysalt$")
        );
        assert!(sha_crypt("secret", "md5", "mysalt", None).is_err());
    }

    #[test]
    fn chars_option_expands_names_and_commas() {
        assert_eq!(candidate_chars(&split_chars("digits,,")), ",0123456789");
        assert_eq!(
            random_string(8, "ab", Some(&JValue::from("x"))),
            random_string(8, "ab", Some(&JValue::from("x")))
        );
    }
}
