use super::*;

fn secret(s: &str) -> Secret {
    Secret::new(s.to_string())
}

#[test]
fn round_trip_and_envelope() {
    let text = encrypt(b"hello: world\n", &secret("pw"), None).expect("encrypts");
    assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
    assert!(text.lines().skip(1).all(|l| l.len() <= 80));
    assert!(text.ends_with('\n'));
    let mut keyring = Keyring::new();
    keyring.add(DEFAULT_ID, secret("pw"));
    assert_eq!(
        keyring.decrypt(text.as_bytes()).expect("opens").0,
        b"hello: world\n"
    );

    let labelled = encrypt(b"x", &secret("pw"), Some("prod")).expect("encrypts");
    assert!(labelled.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
}

#[test]
fn the_wrong_password_is_no_match_and_none_is_no_secrets() {
    let text = encrypt(b"x", &secret("right"), None).expect("encrypts");
    let mut keyring = Keyring::new();
    assert_eq!(keyring.decrypt(text.as_bytes()), Err(VaultError::NoSecrets));
    keyring.add(DEFAULT_ID, secret("wrong"));
    assert_eq!(keyring.decrypt(text.as_bytes()), Err(VaultError::NoMatch));
    keyring.add("other", secret("right"));
    assert_eq!(
        keyring.decrypt(text.as_bytes()).expect("second secret").1,
        "other"
    );
    keyring.id_match = true;
    assert_eq!(keyring.decrypt(text.as_bytes()), Err(VaultError::NoMatch));
}

#[test]
fn the_labelled_secret_is_tried_first() {
    let text = encrypt(b"x", &secret("b"), Some("beta")).expect("encrypts");
    let mut keyring = Keyring::new();
    keyring.add("alpha", secret("a"));
    keyring.add("beta", secret("b"));
    assert_eq!(keyring.decrypt(text.as_bytes()).expect("opens").1, "beta");
}

#[test]
fn a_fixed_salt_gives_ansible_vaults_bytes() {
    // Made with ansible-core 2.19: VAULT_ENCRYPT_SALT=0123456789abcdef0123456789abcdef
    // ansible-vault encrypt_string --vault-password-file <(echo secret) 'hello'
    let salt = b"0123456789abcdef0123456789abcdef";
    let ours = encrypt_with_salt(b"hello", &secret("secret"), None, salt).expect("encrypts");
    assert_eq!(ours, include_str!("fixed_salt.vault"));
}

#[test]
fn malformed_text_is_a_format_error() {
    let mut keyring = Keyring::new();
    keyring.add(DEFAULT_ID, secret("pw"));
    assert!(matches!(
        keyring.decrypt(b"$ANSIBLE_VAULT;1.1;AES256\nzz\n"),
        Err(VaultError::Format(_))
    ));
    assert_eq!(
        keyring.decrypt(b"$ANSIBLE_VAULT;1.1;DES\n00\n"),
        Err(VaultError::UnknownCipher("DES".into()))
    );
    assert_eq!(
        encrypt(b"$ANSIBLE_VAULT;1.1;AES256\n", &secret("pw"), None),
        Err(VaultError::AlreadyEncrypted)
    );
}

mod sources {
    use super::super::secrets::{Purpose, SecretsError, VaultOptions, keyring};
    use super::*;

    fn answers(list: &[&str]) -> impl FnMut(&str) -> std::io::Result<String> {
        let mut list: Vec<String> = list.iter().rev().map(|s| s.to_string()).collect();
        move |_prompt| Ok(list.pop().unwrap_or_default())
    }

    fn ask() -> VaultOptions {
        VaultOptions {
            ask: true,
            ..VaultOptions::default()
        }
    }

    #[test]
    fn a_new_password_is_asked_twice_and_must_match() {
        let mut warnings = Vec::new();
        let mut prompts = Vec::new();
        let mut prompt = |p: &str| {
            prompts.push(p.to_string());
            Ok("  pw \n".to_string())
        };
        let ring =
            keyring(&ask(), Purpose::New, true, &mut prompt, &mut warnings).expect("keyring");
        assert_eq!(
            prompts,
            ["New Vault password: ", "Confirm New Vault password: "]
        );
        assert_eq!(
            ring.for_encryption(None).map(|(l, s)| (l, s.expose())),
            Some(("default", "pw"))
        );
        let err = keyring(
            &ask(),
            Purpose::New,
            true,
            &mut answers(&["a", "b"]),
            &mut warnings,
        );
        assert_eq!(err.err(), Some(SecretsError::Mismatch));
        let err = keyring(
            &ask(),
            Purpose::Open,
            true,
            &mut answers(&[" "]),
            &mut warnings,
        );
        assert!(matches!(err, Err(SecretsError::Empty(_))));
    }

    #[test]
    fn a_labelled_prompt_names_its_vault_id_and_nothing_means_no_prompt_for_runs() {
        let mut warnings = Vec::new();
        let mut prompts = Vec::new();
        let mut prompt = |p: &str| {
            prompts.push(p.to_string());
            Ok("pw".to_string())
        };
        let options = VaultOptions {
            vault_ids: vec!["dev@prompt".into()],
            ..VaultOptions::default()
        };
        let ring =
            keyring(&options, Purpose::Open, false, &mut prompt, &mut warnings).expect("keyring");
        assert_eq!(prompts, ["Vault password (dev): "]);
        assert_eq!(ring.labels().collect::<Vec<_>>(), ["dev"]);
        let none = keyring(
            &VaultOptions::default(),
            Purpose::Open,
            false,
            &mut answers(&[]),
            &mut warnings,
        )
        .expect("empty keyring");
        assert!(none.is_empty());
    }

    #[test]
    fn password_files_are_stripped_and_may_be_vaulted_themselves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = dir.path().join("first");
        std::fs::write(&first, "  outer\n\n").expect("write");
        // The second password file is vault text, opened by the first password.
        let inner = encrypt(b"inner\n", &secret("outer"), None).expect("encrypts");
        let second = dir.path().join("second");
        std::fs::write(&second, inner).expect("write");
        let options = VaultOptions {
            vault_ids: vec![
                format!("a@{}", first.display()),
                format!("b@{}", second.display()),
            ],
            ..VaultOptions::default()
        };
        let mut warnings = Vec::new();
        let ring = keyring(
            &options,
            Purpose::Open,
            false,
            &mut answers(&[]),
            &mut warnings,
        )
        .expect("keyring");
        let pairs: Vec<(&str, &str)> = ["a", "b"]
            .iter()
            .filter_map(|l| ring.for_encryption(Some(l)).map(|(l, s)| (l, s.expose())))
            .collect();
        assert_eq!(pairs, [("a", "outer"), ("b", "inner")]);
    }

    #[test]
    fn a_missing_file_warns_while_another_source_works() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good");
        std::fs::write(&good, "pw\n").expect("write");
        let options = VaultOptions {
            vault_ids: vec!["x@/nonexistent/pw".into()],
            password_files: vec![good.display().to_string()],
            ..VaultOptions::default()
        };
        let mut warnings = Vec::new();
        let ring = keyring(
            &options,
            Purpose::Open,
            false,
            &mut answers(&[]),
            &mut warnings,
        )
        .expect("keyring");
        assert_eq!(ring.labels().collect::<Vec<_>>(), ["default"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("was not found"), "{warnings:?}");
        let alone = VaultOptions {
            vault_ids: vec!["x@/nonexistent/pw".into()],
            ..VaultOptions::default()
        };
        assert!(
            keyring(
                &alone,
                Purpose::Open,
                false,
                &mut answers(&[]),
                &mut warnings
            )
            .is_err()
        );
    }
}
