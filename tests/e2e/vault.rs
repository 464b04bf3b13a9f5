//! Vault interoperability: what real `ansible-vault` (ansible-core 2.19 from PyPI, in the venv
//! `scripts/ansible-venv` makes) encrypts, `playbook vault` opens, and the other way round; plus the
//! commands' own behaviour (rekey, edit, create, encrypt_string, password sources, errors).

use super::util::{TestRun, playbook_bin};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn ansible_vault() -> PathBuf {
    let venv = std::env::var_os("ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ansible-venv"));
    let bin = venv.join("bin/ansible-vault");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/ansible-venv",
        bin.display()
    );
    bin
}

/// A scratch directory with two password files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pb-vault-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    std::fs::write(dir.join("pw"), "first password\n").expect("pw");
    std::fs::write(dir.join("pw2"), "second password\n").expect("pw2");
    dir
}

/// Runs a program in `dir` with a clean environment (no ansible.cfg found), `stdin` fed in.
fn run(program: &Path, dir: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("ANSIBLE_CONFIG", dir.join("none.cfg"))
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("starts");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("stdin written");
    }
    child.wait_with_output().expect("runs")
}

fn ours(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["vault"];
    all.extend(args);
    run(Path::new(playbook_bin()), dir, &all, "", &[])
}

fn theirs(dir: &Path, args: &[&str]) -> Output {
    run(&ansible_vault(), dir, args, "", &[])
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("file")
}

#[test]
fn files_encrypted_by_either_tool_open_in_the_other() {
    let dir = scratch("files");
    let plain = "user: admin\npassword: hunter2\n";
    for name in ["by-ansible.yml", "by-playbook.yml", "by-playbook-prod.yml"] {
        std::fs::write(dir.join(name), plain).expect("plain file");
    }
    ok(&theirs(
        &dir,
        &["encrypt", "--vault-password-file", "pw", "by-ansible.yml"],
    ));
    ok(&ours(
        &dir,
        &["encrypt", "--vault-password-file", "pw", "by-playbook.yml"],
    ));
    ok(&ours(
        &dir,
        &["encrypt", "--vault-id", "prod@pw2", "by-playbook-prod.yml"],
    ));
    assert!(read(&dir, "by-playbook.yml").starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
    assert!(read(&dir, "by-playbook-prod.yml").starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
    let mode = std::fs::metadata(dir.join("by-playbook.yml"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "encrypted files are private, as ansible-vault makes them"
    );

    assert_eq!(
        ok(&ours(
            &dir,
            &["view", "--vault-password-file", "pw", "by-ansible.yml"]
        )),
        plain
    );
    assert_eq!(
        ok(&theirs(
            &dir,
            &["view", "--vault-password-file", "pw", "by-playbook.yml"]
        )),
        plain
    );
    assert_eq!(
        ok(&theirs(
            &dir,
            &["view", "--vault-id", "prod@pw2", "by-playbook-prod.yml"]
        )),
        plain
    );
    // Several secrets: the one labelled as the file is tried first, the others after it.
    assert_eq!(
        ok(&ours(
            &dir,
            &[
                "view",
                "--vault-id",
                "prod@pw2",
                "--vault-password-file",
                "pw",
                "by-ansible.yml"
            ]
        )),
        plain
    );

    // decrypt in place, and to another file with --output; both tools give the same bytes.
    ok(&ours(
        &dir,
        &[
            "decrypt",
            "--vault-password-file",
            "pw",
            "--output",
            "out-ours.yml",
            "by-ansible.yml",
        ],
    ));
    ok(&theirs(
        &dir,
        &[
            "decrypt",
            "--vault-password-file",
            "pw",
            "--output",
            "out-theirs.yml",
            "by-ansible.yml",
        ],
    ));
    assert_eq!(read(&dir, "out-ours.yml"), plain);
    assert_eq!(read(&dir, "out-theirs.yml"), plain);
    ok(&ours(
        &dir,
        &["decrypt", "--vault-id", "prod@pw2", "by-playbook-prod.yml"],
    ));
    assert_eq!(read(&dir, "by-playbook-prod.yml"), plain);

    // A symlinked vault file is changed where it points; the link stays a link.
    std::fs::write(dir.join("real.yml"), plain).expect("real file");
    std::os::unix::fs::symlink(dir.join("real.yml"), dir.join("link.yml")).expect("symlink");
    ok(&ours(
        &dir,
        &["encrypt", "--vault-password-file", "pw", "link.yml"],
    ));
    let link = std::fs::symlink_metadata(dir.join("link.yml")).expect("link");
    assert!(
        link.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    assert!(read(&dir, "real.yml").starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));

    // Standard input to standard output, as ansible-vault does with no file.
    let piped = run(
        Path::new(playbook_bin()),
        &dir,
        &["vault", "encrypt", "--vault-password-file", "pw"],
        "from a pipe\n",
        &[],
    );
    let vaulted = ok(&piped);
    std::fs::write(dir.join("piped.vault"), &vaulted).expect("write");
    assert_eq!(
        ok(&theirs(
            &dir,
            &["view", "--vault-password-file", "pw", "piped.vault"]
        )),
        "from a pipe\n"
    );
}

#[test]
fn rekey_keeps_the_mode_and_the_new_password_opens_it_in_ansible_vault() {
    let dir = scratch("rekey");
    std::fs::write(dir.join("f.yml"), "a: 1\n").expect("file");
    ok(&theirs(
        &dir,
        &["encrypt", "--vault-password-file", "pw", "f.yml"],
    ));
    std::fs::set_permissions(dir.join("f.yml"), std::fs::Permissions::from_mode(0o640))
        .expect("chmod");
    let out = ours(
        &dir,
        &[
            "rekey",
            "--vault-password-file",
            "pw",
            "--new-vault-password-file",
            "pw2",
            "f.yml",
        ],
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Rekey successful"));
    let mode = std::fs::metadata(dir.join("f.yml"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    assert_eq!(
        ok(&theirs(
            &dir,
            &["view", "--vault-password-file", "pw2", "f.yml"]
        )),
        "a: 1\n"
    );
    let old = theirs(&dir, &["view", "--vault-password-file", "pw", "f.yml"]);
    assert!(!old.status.success(), "the old password no longer opens it");
}

#[test]
fn encrypt_string_output_is_yaml_both_tools_read() {
    let dir = scratch("strings");
    let out = ok(&ours(
        &dir,
        &[
            "encrypt_string",
            "--vault-id",
            "prod@pw2",
            "--name",
            "token",
            "t0k3n",
        ],
    ));
    assert!(
        out.starts_with("token: !vault |\n          $ANSIBLE_VAULT;1.2;AES256;prod\n"),
        "{out}"
    );
    assert!(out.ends_with('\n'));
    let from_stdin = ok(&run(
        Path::new(playbook_bin()),
        &dir,
        &[
            "vault",
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "--stdin-name",
            "piped",
        ],
        "line one\nline two",
        &[],
    ));
    let theirs_out = ok(&theirs(
        &dir,
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "--name",
            "theirs",
            "from ansible",
        ],
    ));
    // ansible-playbook reads the values playbook made, and playbook reads ansible-vault's.
    let play = format!(
        "- hosts: localhost\n  gather_facts: false\n  vars:\n{}{}{}  tasks:\n    - debug:\n        msg: \"{{{{ token }}}}|{{{{ piped }}}}|{{{{ theirs }}}}\"\n",
        indent(&out),
        indent(&from_stdin),
        indent(&theirs_out)
    );
    std::fs::write(dir.join("play.yml"), play).expect("play");
    let expected = "t0k3n|line one\\nline two|from ansible";
    let venv_bin = ansible_vault().parent().expect("bin").to_path_buf();
    let args = [
        "play.yml",
        "--vault-id",
        "prod@pw2",
        "--vault-password-file",
        "pw",
    ];
    let ansible = run(
        &venv_bin.join("ansible-playbook"),
        &dir,
        &args,
        "",
        &[("ANSIBLE_NOCOLOR", "1")],
    );
    assert!(
        ok(&ansible).contains(expected),
        "{}",
        String::from_utf8_lossy(&ansible.stdout)
    );
    let playbook = run(Path::new(playbook_bin()), &dir, &args, "", &[]);
    assert!(
        ok(&playbook).contains(expected),
        "{}",
        String::from_utf8_lossy(&playbook.stdout)
    );
}

#[test]
fn encrypt_string_reads_options_written_after_the_strings_as_ansible_vault_does() {
    let dir = scratch("options-after");
    // argparse reads `--name s9` as an option wherever it comes; it is not two more strings to encrypt.
    let args = [
        "encrypt_string",
        "--vault-password-file",
        "pw",
        "x",
        "--name",
        "s9",
    ];
    let out = ok(&ours(&dir, &args));
    assert!(
        out.starts_with("s9: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n"),
        "{out}"
    );
    assert_eq!(out.matches("!vault").count(), 1, "{out}");
    let theirs_out = ok(&theirs(&dir, &args));
    assert!(theirs_out.starts_with("s9: !vault |\n"), "{theirs_out}");
    // The value opens in ansible-vault: the envelope, out of its YAML, is a vault file.
    let envelope: String = out
        .lines()
        .skip(1)
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    std::fs::write(dir.join("s9.vault"), envelope).expect("write");
    assert_eq!(
        ok(&theirs(
            &dir,
            &[
                "decrypt",
                "--vault-password-file",
                "pw",
                "--output",
                "-",
                "s9.vault"
            ]
        )),
        "x"
    );
    // After `--`, everything is a string, and a negative number is one as it is for argparse.
    let out = ok(&ours(
        &dir,
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "-1",
            "--",
            "--name",
        ],
    ));
    assert_eq!(out.matches("!vault |").count(), 2, "{out}");
    // Options after file names too.
    std::fs::write(dir.join("f.yml"), "a: 1\n").expect("file");
    ok(&ours(
        &dir,
        &["encrypt", "f.yml", "--vault-password-file", "pw"],
    ));
    assert_eq!(
        ok(&theirs(
            &dir,
            &["view", "f.yml", "--vault-password-file", "pw"]
        )),
        "a: 1\n"
    );
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

#[test]
fn edit_and_create_keep_the_plaintext_in_memory_and_ansible_vault_reads_the_result() {
    let dir = scratch("edit");
    std::fs::write(dir.join("f.yml"), "count: 1\n").expect("file");
    ok(&ours(&dir, &["encrypt", "--vault-id", "ops@pw", "f.yml"]));
    // The editor records where it was given the plaintext, then changes it.
    let editor = format!(
        "sh -c 'printf \"%s\\n\" \"$0\" >> {}; sed -i s/1/2/ \"$0\"'",
        dir.join("edited-at").display()
    );
    let out = run(
        Path::new(playbook_bin()),
        &dir,
        &["vault", "edit", "--vault-id", "ops@pw", "f.yml"],
        "",
        &[("EDITOR", &editor)],
    );
    ok(&out);
    let at = read(&dir, "edited-at");
    assert!(
        at.starts_with("/dev/shm/") || at.starts_with("/run/"),
        "plaintext was at {at}"
    );
    assert!(
        !Path::new(at.trim()).exists(),
        "the plaintext is removed after editing"
    );
    assert!(
        read(&dir, "f.yml").starts_with("$ANSIBLE_VAULT;1.2;AES256;ops\n"),
        "edit keeps the vault id"
    );
    assert_eq!(
        ok(&theirs(&dir, &["view", "--vault-id", "ops@pw", "f.yml"])),
        "count: 2\n"
    );

    let writer = "sh -c 'printf \"created: yes\\n\" > \"$0\"'";
    let args = [
        "vault",
        "create",
        "--skip-tty-check",
        "--vault-password-file",
        "pw",
        "new/c.yml",
    ];
    ok(&run(
        Path::new(playbook_bin()),
        &dir,
        &args,
        "",
        &[("EDITOR", writer)],
    ));
    assert_eq!(
        ok(&theirs(
            &dir,
            &["view", "--vault-password-file", "pw", "new/c.yml"]
        )),
        "created: yes\n"
    );
    let again = run(
        Path::new(playbook_bin()),
        &dir,
        &args,
        "",
        &[("EDITOR", writer)],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("new/c.yml exists, please use 'edit' instead")
    );
    let no_tty = ours(&dir, &["create", "--vault-password-file", "pw", "d.yml"]);
    assert_eq!(no_tty.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&no_tty.stderr).contains("not a tty, editor cannot be opened"));
}

#[test]
fn password_sources_scripts_config_and_the_prompt() {
    let dir = scratch("sources");
    std::fs::write(dir.join("f.yml"), "x: 1\n").expect("file");
    ok(&theirs(
        &dir,
        &["encrypt", "--vault-id", "prod@pw2", "f.yml"],
    ));

    // An executable prints the password; a client script (`*-client`) is asked for the vault id it serves.
    let script = dir.join("pass.sh");
    std::fs::write(&script, "#!/bin/sh\necho 'second password'\n").expect("script");
    let client = dir.join("vault-client.sh");
    std::fs::write(
        &client,
        format!(
            "#!/bin/sh\necho \"$@\" > {}\n[ \"$2\" = prod ] || exit 2\necho 'second password'\n",
            dir.join("client-args").display()
        ),
    )
    .expect("client");
    for f in [&script, &client] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    assert_eq!(
        ok(&ours(
            &dir,
            &["view", "--vault-password-file", "pass.sh", "f.yml"]
        )),
        "x: 1\n"
    );
    assert_eq!(
        ok(&ours(
            &dir,
            &["view", "--vault-id", "prod@vault-client.sh", "f.yml"]
        )),
        "x: 1\n"
    );
    assert_eq!(read(&dir, "client-args"), "--vault-id prod\n");

    // vault_password_file from the environment (and so from ansible.cfg's [defaults]).
    let env = run(
        Path::new(playbook_bin()),
        &dir,
        &["vault", "view", "f.yml"],
        "",
        &[("ANSIBLE_VAULT_PASSWORD_FILE", "pw2")],
    );
    assert_eq!(ok(&env), "x: 1\n");
    std::fs::write(
        dir.join("ansible.cfg"),
        "[defaults]\nvault_identity_list = prod@pw2\n",
    )
    .expect("cfg");
    let cfg = run(
        Path::new(playbook_bin()),
        &dir,
        &["vault", "view", "f.yml"],
        "",
        &[(
            "ANSIBLE_CONFIG",
            dir.join("ansible.cfg").to_str().expect("utf-8"),
        )],
    );
    assert_eq!(ok(&cfg), "x: 1\n");

    // -J asks at the terminal.
    let lab = super::util::Lab::get();
    let shared = lab.workdir("vault-prompt");
    std::fs::copy(dir.join("f.yml"), shared.join("f.yml")).expect("copy");
    std::fs::set_permissions(shared.join("f.yml"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let out = TestRun::new(&lab.ctl, &shared)
        .args(["vault", "view", "-J", "f.yml"])
        .run_in_pty("Vault password: ", "second password");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("x: 1"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("second password"),
        "the password is not echoed"
    );

    // A playbook run asks once with --ask-vault-pass and opens the vars file with the answer.
    std::fs::write(
        shared.join("run.yml"),
        "- hosts: all\n  gather_facts: false\n  vars_files: [f.yml]\n  tasks:\n    - assert:\n        that: x == 1\n",
    )
    .expect("playbook");
    std::fs::write(shared.join("hosts"), "here ansible_connection=local\n").expect("hosts");
    let out = TestRun::new(&lab.ctl, &shared)
        .args(["run.yml", "-i", "hosts", "--ask-vault-pass"])
        .env("NO_COLOR", "1")
        .run_in_pty("Vault password: ", "second password");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("here                       : ok=1"),
        "{}",
        out.stdout
    );
}

#[test]
fn errors_say_what_is_wrong_with_ansible_vaults_exit_codes() {
    let dir = scratch("errors");
    std::fs::write(dir.join("f.yml"), "x: 1\n").expect("file");
    ok(&ours(
        &dir,
        &["encrypt", "--vault-password-file", "pw", "f.yml"],
    ));
    let wrong = ours(&dir, &["view", "--vault-password-file", "pw2", "f.yml"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains(
            "Decryption failed (no vault secrets were found that could decrypt). for f.yml"
        ),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let twice = ours(&dir, &["encrypt", "--vault-password-file", "pw", "f.yml"]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("input is already encrypted"));
    let bad_id = ours(&dir, &["view", "--vault-id", "a;b@pw", "f.yml"]);
    assert_eq!(bad_id.status.code(), Some(5));
    let missing = ours(&dir, &["view", "--vault-password-file", "nope", "f.yml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("The vault password file"));
    let many = ours(
        &dir,
        &[
            "encrypt",
            "--vault-id",
            "a@pw",
            "--vault-id",
            "b@pw2",
            "g.yml",
        ],
    );
    assert_eq!(many.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&many.stderr).contains("--encrypt-vault-id"));

    // A playbook run without the secret stops before the play, naming the file (exit 1, as ansible-playbook).
    std::fs::write(dir.join("play.yml"), "- hosts: localhost\n  gather_facts: false\n  vars_files: [f.yml]\n  tasks:\n    - debug: var=x\n").expect("play");
    let run_out = run(Path::new(playbook_bin()), &dir, &["play.yml"], "", &[]);
    assert_eq!(run_out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run_out.stderr);
    assert!(
        stderr.contains("Invalid vars_files file") && stderr.contains("no vault secrets found"),
        "{stderr}"
    );
    let with = run(
        Path::new(playbook_bin()),
        &dir,
        &["play.yml", "--vault-password-file", "pw"],
        "",
        &[],
    );
    assert!(ok(&with).contains("\"x\": 1"));
}

#[test]
fn what_no_secret_opens_is_an_error_only_where_it_is_used() {
    let dir = scratch("lazy");
    std::fs::create_dir_all(dir.join("group_vars")).expect("group_vars");
    std::fs::write(
        dir.join("hosts"),
        "[dev]\nd1 ansible_connection=local\n[prod]\np1 ansible_connection=local\n",
    )
    .expect("hosts");
    std::fs::write(dir.join("group_vars/prod.yml"), "prod_secret: x\n").expect("vars");
    ok(&ours(
        &dir,
        &[
            "encrypt",
            "--vault-password-file",
            "pw",
            "group_vars/prod.yml",
        ],
    ));
    let inline = ok(&ours(
        &dir,
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "--name",
            "secret",
            "s3",
        ],
    ));
    let play = |uses_secret: bool| {
        format!(
            "- hosts: all\n  gather_facts: false\n  vars:\n{}    plain: ok\n  tasks:\n    - debug:\n        msg: \"{{{{ {} }}}}\"\n",
            indent(&inline),
            if uses_secret { "secret" } else { "plain" }
        )
    };
    std::fs::write(dir.join("unused.yml"), play(false)).expect("play");
    std::fs::write(dir.join("used.yml"), play(true)).expect("play");
    let bin = Path::new(playbook_bin());
    // The dev hosts never need prod's group_vars, nor the play the value it does not use.
    let dev = run(
        bin,
        &dir,
        &["unused.yml", "-i", "hosts", "-l", "dev"],
        "",
        &[],
    );
    assert!(ok(&dev).contains("\"msg\": \"ok\""));
    // A prod host does: the run stops there (exit 4, as ansible-playbook).
    let all = run(bin, &dir, &["unused.yml", "-i", "hosts"], "", &[]);
    assert_eq!(all.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&all.stderr);
    assert!(
        stderr.contains("Attempting to decrypt but no vault secrets found")
            && stderr.contains("prod.yml"),
        "{stderr}"
    );
    // Using the inline value fails that task, saying why.
    let used = run(
        bin,
        &dir,
        &["used.yml", "-i", "hosts", "-l", "dev"],
        "",
        &[],
    );
    assert_eq!(used.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&used.stdout);
    assert!(stdout.contains("Attempt to use undecryptable variable: Attempting to decrypt but no vault secrets found."), "{stdout}");
    // Nor does another host's variables show what no secret opened.
    std::fs::write(
        dir.join("hostvars.yml"),
        "- hosts: dev\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ hostvars['p1'] | to_json }}\"\n",
    )
    .expect("play");
    let shown = run(
        bin,
        &dir,
        &["hostvars.yml", "-i", "hosts", "-l", "dev"],
        "",
        &[],
    );
    let shown = ok(&shown);
    assert!(
        shown.contains("inventory_hostname") && !shown.contains("__playbook"),
        "{shown}"
    );
    // A become password no secret opens fails the task that needs it, saying why, before any connection.
    let become_password = ok(&ours(
        &dir,
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "--name",
            "ansible_become_password",
            "pw",
        ],
    ));
    std::fs::write(
        dir.join("become.yml"),
        format!(
            "- hosts: dev\n  gather_facts: false\n  vars:\n{}  tasks:\n    - command: 'true'\n      become: true\n",
            indent(&become_password)
        ),
    )
    .expect("play");
    let escalated = run(
        bin,
        &dir,
        &["become.yml", "-i", "hosts", "-l", "dev"],
        "",
        &[],
    );
    assert_eq!(escalated.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&escalated.stdout);
    assert!(
        stdout.contains("Attempt to use undecryptable variable"),
        "{stdout}"
    );
    // With the secret, all of it opens.
    let with = run(
        bin,
        &dir,
        &["used.yml", "-i", "hosts", "--vault-password-file", "pw"],
        "",
        &[],
    );
    assert!(ok(&with).contains("\"msg\": \"s3\""));
}
