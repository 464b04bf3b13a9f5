//! Ansible's `path` argument type and `run_command`'s argument expansion: `$NAME` and `${NAME}` from the
//! environment, then `~` and `~user`, as Python's `os.path.expandvars` and `os.path.expanduser` do them (a name
//! that is not set, or a user that does not exist, stays as written).
//!
//! The environment is the one the module's commands run with, which the runner gives modules granted
//! `system`; `~user` reads `/etc/passwd`, so it needs `/etc` (or `/`) readable.

/// `expand_vars`, then `expand_user`: what Ansible does to a `path` argument and to each argument of a
/// command it runs without a shell.
pub fn expand(text: &str) -> String {
    expand_user(&expand_vars(text))
}

/// `$NAME` and `${NAME}` replaced by the environment's values; `NAME` is ASCII letters, digits and `_` (any
/// text but `}` inside braces). Names that are not set stay as written.
pub fn expand_vars(text: &str) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, written_len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match std::env::var(name) {
            Ok(value) if written_len > 0 => out.push_str(&value),
            _ => out.push_str(&rest[dollar..dollar + 1 + written_len]),
        }
        rest = &after[written_len..];
    }
    out.push_str(rest);
    out
}

/// A leading `~` (the user's home: `HOME`, else the user database) or `~user` (that user's home) replaced.
pub fn expand_user(text: &str) -> String {
    let Some(tail) = text.strip_prefix('~') else {
        return text.to_string();
    };
    let end = tail.find('/').unwrap_or(tail.len());
    let (user, rest) = tail.split_at(end);
    let home = if user.is_empty() {
        std::env::var("HOME").ok().or_else(|| {
            let me = std::env::var("USER").ok()?;
            passwd_home(&me)
        })
    } else {
        passwd_home(user)
    };
    let Some(home) = home else {
        return text.to_string();
    };
    let joined = format!("{}{rest}", home.trim_end_matches('/'));
    if joined.is_empty() {
        "/".to_string()
    } else {
        joined
    }
}

/// Arguments joined into one shell-safe line, each quoted as Python's `shlex.quote` does: how Ansible's
/// results write a command that ran without a shell (`run_command`'s `_clean_args`).
pub fn shell_join(argv: &[String]) -> String {
    let quote = |arg: &String| {
        if arg.is_empty() {
            "''".to_string()
        } else if arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
        {
            arg.clone()
        } else {
            format!("'{}'", arg.replace('\'', "'\"'\"'"))
        }
    };
    argv.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// The home directory of `user` in `/etc/passwd`.
fn passwd_home(user: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[0] == user).then(|| fields[5].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_and_lone_dollars_stay() {
        // SAFETY: tests in this module set only this variable.
        unsafe { std::env::set_var("PB_SDK_PATH_TEST", "/x") };
        assert_eq!(
            expand_vars("$PB_SDK_PATH_TEST/${PB_SDK_PATH_TEST}y $NOPE_PB ${NOPE_PB} $ ${} ${open"),
            "/x//xy $NOPE_PB ${NOPE_PB} $ ${} ${open"
        );
    }

    #[test]
    fn joined_arguments_quote_as_python_shlex() {
        let argv: Vec<String> = ["echo", "a b", "", "it's", "x_y@1"]
            .map(String::from)
            .to_vec();
        assert_eq!(shell_join(&argv), r#"echo 'a b' '' 'it'"'"'s' x_y@1"#);
    }

    #[test]
    fn tilde_is_home_and_unknown_users_stay() {
        assert_eq!(expand_user("~no-such-user-pb/x"), "~no-such-user-pb/x");
        assert_eq!(expand_user("a~/x"), "a~/x");
        assert_eq!(expand_user("~root/x"), "/root/x");
    }
}
