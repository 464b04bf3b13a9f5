//! End to end: the real `playbook` binary against real sshd processes on 127.0.0.x (see `util.rs`).
//! Run as root (the set-up creates users and starts sshd); `scripts/test` does, and so does CI.

mod differential;
mod errors;
mod escalation;
mod inventory;
mod terminal;
mod util;
mod vault;

use std::os::unix::fs::MetadataExt;
use util::{
    DEAD_HOST, HOSTS, Lab, PASSWORD, PORT, REUSE_HOST, SecretWatch, TestRun, lab_inventory, write,
};

const PING: &str = "---\n- hosts: all\n\n  tasks:\n    - name: ping\n      action: ping\n";

#[test]
fn key_auth_runs_on_every_host_of_two_groups() {
    let lab = Lab::get();
    let dir = lab.workdir("keyauth");
    write(&dir, "hosts", &lab_inventory());
    write(&dir, "ping.yml", PING);
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts"])
        .run();
    out.expect_code(0);
    for host in ["web1", "web2", "db1"] {
        assert_eq!(
            out.recap(host),
            format!("{host} : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0")
        );
        assert!(
            out.stdout.contains(&format!("ok: [{host}]")),
            "{}",
            out.stdout
        );
    }
}

/// `remote_port` from the configuration reaches hosts that name no port; one that names its own keeps it.
#[test]
fn the_configured_remote_port_is_used_where_a_host_names_none() {
    let lab = Lab::get();
    let dir = lab.workdir("remote-port");
    write(
        &dir,
        "hosts",
        &format!(
            "portless ansible_host={}\nwrong ansible_host={} ansible_port=1\n\n[all:vars]\nansible_user=pbkey\n",
            HOSTS[0], HOSTS[1]
        ),
    );
    write(&dir, "ping.yml", PING);
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts"])
        .env("ANSIBLE_REMOTE_PORT", &PORT.to_string())
        .run();
    out.expect_code(4);
    assert!(
        out.recap("portless").contains("ok=2") && out.recap("wrong").contains("unreachable=1"),
        "{}",
        out.stdout
    );
}

/// The connection flags of the command line: `-u` and `--private-key` log in as another user with another
/// key, `--ssh-common-args` reach every ssh (here, the port), `-k` is `--ask-pass`; the run's own flags in
/// their short forms (`-C`, `-D`, `-f`, `-t`, `-T`) are taken as the long ones.
#[test]
fn connection_flags_of_the_command_line_reach_ssh() {
    let lab = Lab::get();
    let dir = lab.workdir("cli-flags");
    // A key of its own for pbpass, which pbkey accepts: without `--private-key` pbpass has none.
    let key = dir.join("other_key");
    if !key.exists() {
        util::sh(&format!(
            "ssh-keygen -q -t ed25519 -N '' -f {}",
            key.display()
        ));
    }
    util::sh(&format!(
        "chown {}: {key} && chmod 600 {key} && grep -qf {key}.pub {home}/.ssh/authorized_keys || cat {key}.pub >> {home}/.ssh/authorized_keys",
        lab.pass.name,
        key = key.display(),
        home = lab.key.home.display()
    ));
    write(
        &dir,
        "hosts",
        &format!("portless ansible_host={}\n", HOSTS[0]),
    );
    write(&dir, "ping.yml", PING);
    let port = format!("-o Port={PORT}");
    let with_key = TestRun::new(&lab.pass, &dir)
        .args(["ping.yml", "-i", "hosts", "-u", "pbkey", "--private-key"])
        .args([key.display().to_string()])
        .args(["--ssh-common-args", port.as_str()])
        .run();
    with_key.expect_code(0);
    assert!(
        with_key.recap("portless").contains("ok=2"),
        "{}",
        with_key.stdout
    );
    // Without the key there is no way in (no password is given); without the port, nothing listens.
    let without_key = TestRun::new(&lab.pass, &dir)
        .args([
            "ping.yml",
            "-i",
            "hosts",
            "-u",
            "pbkey",
            "--ssh-common-args",
            port.as_str(),
        ])
        .run();
    without_key.expect_code(4);
    let without_port = TestRun::new(&lab.pass, &dir)
        .args(["ping.yml", "-i", "hosts", "-u", "pbkey", "--private-key"])
        .args([key.display().to_string()])
        .run();
    without_port.expect_code(4);

    // `-k` asks for the password as `--ask-pass` does.
    write(&dir, "by_password", "127.0.0.1\n");
    let asked = TestRun::new(&lab.pass, &dir)
        .args(["ping.yml", "-i", "by_password", "-k"])
        .run_in_pty("SSH password:", PASSWORD);
    asked.expect_code(0);

    // Short forms: check mode and diff, one fork, a tag, a timeout.
    write(
        &dir,
        "local.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch made-in-check-mode\n      tags: [t1]\n    \
         - debug:\n        msg: \"{{ ansible_check_mode }} {{ ansible_diff_mode }} {{ ansible_forks }}\"\n      tags: [t1]\n    \
         - debug:\n        msg: untagged\n",
    );
    write(&dir, "local", "here ansible_connection=local\n");
    let short = TestRun::new(&lab.ctl, &dir)
        .args([
            "local.yml",
            "-i",
            "local",
            "-C",
            "-D",
            "-f",
            "1",
            "-t",
            "t1",
            "-T",
            "5",
        ])
        .run();
    short.expect_code(0);
    assert!(
        short.stdout.contains("\"msg\": \"True True 1\""),
        "{}",
        short.stdout
    );
    assert!(!short.stdout.contains("untagged"), "{}", short.stdout);
    assert!(!dir.join("made-in-check-mode").exists());
}

#[test]
fn the_literal_example_with_ask_pass_typed_at_a_real_prompt() {
    let lab = Lab::get();
    let dir = lab.workdir("literal");
    write(&dir, "hosts.yml", "[server_name]\n127.0.0.1\n");
    write(&dir, "ping.yml", PING);
    let watch = SecretWatch::start(PASSWORD);
    let out = TestRun::new(&lab.pass, &dir)
        .args(["ping.yml", "-i", "hosts.yml", "--ask-pass"])
        .env("NO_COLOR", "1")
        .run_in_pty("SSH password:", PASSWORD);
    let leaks = watch.finish();
    out.expect_code(0);
    assert!(leaks.is_empty(), "the password was visible in: {leaks:?}");
    assert!(
        !out.stdout.contains(PASSWORD),
        "the password was echoed:\n{}",
        out.stdout
    );
    let expected = "SSH password: \n\n\
        PLAY [all] *********************************************************************\n\
        \n\
        TASK [Gathering Facts] *********************************************************\n\
        ok: [127.0.0.1]\n\
        \n\
        TASK [ping] ********************************************************************\n\
        ok: [127.0.0.1]\n\
        \n\
        PLAY RECAP *********************************************************************\n\
        127.0.0.1                  : ok=2    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n\
        \n";
    assert_eq!(out.stdout, expected);
}

#[test]
fn ansible_password_from_the_inventory_takes_the_guarded_path() {
    let lab = Lab::get();
    let dir = lab.workdir("invpass");
    write(
        &dir,
        "hosts",
        &format!(
            "[pw]\npwhost ansible_host={} ansible_port={PORT} ansible_user=pbpass ansible_password={PASSWORD}\n",
            HOSTS[0]
        ),
    );
    write(&dir, "ping.yml", PING);
    let watch = SecretWatch::start(PASSWORD);
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts", "-vvv"])
        .run();
    let leaks = watch.finish();
    out.expect_code(0);
    assert_eq!(
        out.recap("pwhost"),
        "pwhost : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(leaks.is_empty(), "the password was visible in: {leaks:?}");
    assert!(
        !out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD),
        "the password was printed"
    );
}

#[test]
fn a_wrong_password_makes_that_host_unreachable_and_the_others_go_on() {
    let lab = Lab::get();
    let dir = lab.workdir("wrongpass");
    write(
        &dir,
        "hosts",
        &format!(
            "[all]\nbad ansible_host={} ansible_port={PORT} ansible_user=pbpass ansible_password=wrong-one\n\
             good ansible_host={} ansible_port={PORT} ansible_user=pbkey\n",
            HOSTS[2], HOSTS[1]
        ),
    );
    write(&dir, "ping.yml", PING);
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts"])
        .run();
    out.expect_code(4);
    assert!(
        out.stdout.contains("fatal: [bad]: UNREACHABLE!"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Permission denied"), "{}", out.stdout);
    assert_eq!(
        out.recap("bad"),
        "bad : ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("good"),
        "good : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn an_unreachable_host_fails_alone_with_exit_code_4() {
    let lab = Lab::get();
    let dir = lab.workdir("unreachable");
    write(
        &dir,
        "hosts",
        &format!(
            "dead ansible_host={DEAD_HOST} ansible_port={PORT}\nalive ansible_host={} ansible_port={PORT}\n[all:vars]\nansible_user=pbkey\n",
            HOSTS[0]
        ),
    );
    write(
        &dir,
        "ping.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n    - command: 'false'\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts"])
        .run();
    // Unreachable wins over failed, as in ansible-playbook.
    out.expect_code(4);
    assert!(out.stdout.contains("fatal: [dead]: UNREACHABLE! => {\"changed\": false, \"msg\": \"Task failed: Failed to connect to the host via ssh:"), "{}", out.stdout);
    assert_eq!(
        out.recap("dead"),
        "dead : ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("alive"),
        "alive : ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_failing_command_fails_its_host_with_exit_code_2() {
    let lab = Lab::get();
    let dir = lab.workdir("failing");
    write(&dir, "hosts", &lab_inventory());
    write(
        &dir,
        "play.yml",
        "- hosts: web\n  gather_facts: false\n  tasks:\n    - command: sh -c 'echo out; echo err >&2; exit 3'\n      when: inventory_hostname == 'web1'\n    - shell: echo still here\n      register: r\n    - assert:\n        that: r.stdout == 'still here'\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["play.yml", "-i", "hosts"])
        .run();
    out.expect_code(2);
    assert!(out.stdout.contains("fatal: [web1]: FAILED! => {\"changed\": true, \"cmd\": [\"sh\", \"-c\", \"echo out; echo err >&2; exit 3\"]"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\"msg\": \"non-zero return code\", \"rc\": 3"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("web1"),
        "web1 : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("web2"),
        "web2 : ok=2 changed=1 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
}

#[test]
fn a_second_run_opens_no_connection_and_uploads_nothing() {
    let lab = Lab::get();
    let dir = lab.workdir("reuse");
    write(
        &dir,
        "hosts",
        &format!("reuse ansible_host={REUSE_HOST} ansible_port={PORT} ansible_user=pbkey\n"),
    );
    write(&dir, "ping.yml", PING);
    let report = dir.join("report.json");
    let first = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts", "--report", "report.json"])
        .run();
    first.expect_code(0);
    let cost = |path: &std::path::Path| -> serde_json::Value {
        let text = std::fs::read_to_string(path).expect("report written");
        let report: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
        report["sessions"]["reuse"].clone()
    };
    let first_cost = cost(&report);
    assert_eq!(first_cost["new_connection"], true, "{first_cost}");
    assert!(
        first_cost["module_bytes_sent"].as_u64().unwrap_or(0) > 0,
        "{first_cost}"
    );
    let runner = std::fs::read_dir(lab.key.home.join(".cache/playbook"))
        .expect("runner cache")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("runner-"))
        .expect("the runner was uploaded")
        .path();
    let before = std::fs::metadata(&runner).expect("runner");
    let accepted = lab.accepted(REUSE_HOST, PORT);

    let second = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts", "--report", "report.json"])
        .run();
    second.expect_code(0);
    let second_cost = cost(&report);
    assert_eq!(
        second_cost,
        serde_json::json!({"new_connection": false, "runner_uploaded": false, "module_bytes_sent": 0})
    );
    assert_eq!(
        lab.accepted(REUSE_HOST, PORT),
        accepted,
        "sshd accepted a new connection"
    );
    let after = std::fs::metadata(&runner).expect("runner");
    assert_eq!(
        (before.ino(), before.mtime()),
        (after.ino(), after.mtime()),
        "the runner was written again"
    );
}

#[test]
fn connection_local_runs_the_runner_in_process() {
    let lab = Lab::get();
    let dir = lab.workdir("local");
    write(&dir, "hosts", "[here]\nlocal1 ansible_connection=local\n");
    write(
        &dir,
        "play.yml",
        "- hosts: here\n  tasks:\n    - command: id -un\n      register: who\n    - assert:\n        that:\n          - who.stdout == 'pbctl'\n          - ansible_user_id == 'pbctl'\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["play.yml", "-i", "hosts"])
        .run();
    out.expect_code(0);
    assert_eq!(
        out.recap("local1"),
        "local1 : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn adhoc_runs_one_module_on_a_pattern() {
    let lab = Lab::get();
    let dir = lab.workdir("adhoc");
    write(&dir, "hosts", &lab_inventory());
    let out = TestRun::new(&lab.ctl, &dir)
        .args([
            "adhoc",
            "web",
            "-i",
            "hosts",
            "-m",
            "shell",
            "-a",
            "echo hello from $(hostname) | cut -d' ' -f1-2",
        ])
        .run();
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("web1 | CHANGED | rc=0 >>\nhello from\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("web2 | CHANGED | rc=0 >>\nhello from\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("db1"), "{}", out.stdout);
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["adhoc", "db", "-i", "hosts", "-m", "ping"])
        .run();
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("db1 | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}"),
        "{}",
        out.stdout
    );
}

#[test]
fn unknown_host_keys_are_refused_with_advice_unless_checking_is_off() {
    let lab = Lab::get();
    let dir = lab.workdir("hostkey");
    write(
        &dir,
        "hosts",
        &format!(
            "stranger ansible_host={} ansible_port={PORT} ansible_user=pbkey ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null'\n",
            HOSTS[1]
        ),
    );
    write(
        &dir,
        "ping.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts"])
        .run();
    out.expect_code(4);
    assert!(
        out.stdout.contains("Host key verification failed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("host_key_checking = False"),
        "{}",
        out.stdout
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts"])
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .run();
    out.expect_code(0);
}

#[test]
fn a_target_without_a_writable_home_is_a_clear_error() {
    let lab = Lab::get();
    let dir = lab.workdir("nohome");
    write(
        &dir,
        "hosts",
        &format!(
            "homeless ansible_host={} ansible_port={PORT} ansible_user={} ansible_password={PASSWORD}\n",
            HOSTS[0], lab.nohome.name
        ),
    );
    write(
        &dir,
        "ping.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts"])
        .run();
    out.expect_code(4);
    assert!(
        out.stdout.contains("writable home directory"),
        "{}",
        out.stdout
    );
}

#[test]
fn no_ssh_binary_is_a_clear_error() {
    let lab = Lab::get();
    let dir = lab.workdir("nossh");
    // ssh options of its own make a master of its own: a live master of another test would need no ssh binary.
    write(
        &dir,
        "hosts",
        &format!(
            "lonely ansible_host={} ansible_port={PORT} ansible_user=pbkey ansible_ssh_common_args='-o ServerAliveInterval=17'\n",
            HOSTS[2]
        ),
    );
    write(
        &dir,
        "ping.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "hosts"])
        .env("PATH", "/nonexistent")
        .run();
    out.expect_code(4);
    assert!(
        out.stdout.contains("the ssh program was not found"),
        "{}",
        out.stdout
    );
}

#[test]
fn input_errors_name_the_place_and_use_ansibles_exit_codes() {
    let lab = Lab::get();
    let dir = lab.workdir("errors");
    write(&dir, "hosts", "[here]\nlocal1 ansible_connection=local\n");
    write(
        &dir,
        "unknown_module.yml",
        "- hosts: all\n  tasks:\n    - pnig:\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["unknown_module.yml", "-i", "hosts"])
        .run();
    out.expect_code(4);
    assert!(
        out.stderr.contains("couldn't resolve module/action 'pnig'"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("unknown_module.yml:3:7"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `ping`?"),
        "{}",
        out.stderr
    );

    write(&dir, "bad.yml", "- hosts: all\n  tasks: [\n");
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["bad.yml", "-i", "hosts"])
        .run();
    out.expect_code(4);
    assert!(out.stderr.contains("bad.yml:"), "{}", out.stderr);

    // Notifying a handler that does not exist stops the run there (exit 1, no recap), naming the task.
    write(
        &dir,
        "nohandler.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      notify: nope\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["nohandler.yml", "-i", "hosts"])
        .run();
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("The requested handler 'nope' was not found")
            && out.stderr.contains("nohandler.yml:4:7"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("PLAY RECAP"), "{}", out.stdout);

    // A variable that cannot be rendered fails the task that uses it, saying why: never its text as written.
    write(
        &dir,
        "unrendered.yml",
        "- hosts: all\n  gather_facts: false\n  vars:\n    db_password: \"{{ vault_db_password }}\"\n  tasks:\n    - debug:\n        msg: \"{{ db_password }}\"\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["unrendered.yml", "-i", "hosts"])
        .run();
    out.expect_code(2);
    assert!(
        out.stdout.contains("'vault_db_password' is undefined")
            && !out.stdout.contains("\"msg\": \"{{ vault_db_password }}\""),
        "{}",
        out.stdout
    );

    // `when: "{{ x }}"` works, with ansible-core 2.19's deprecation pointing at the value.
    write(
        &dir,
        "templated_when.yml",
        "- hosts: all\n  gather_facts: false\n  vars:\n    x: true\n  tasks:\n    - debug: msg=hi\n      when: \"{{ x }}\"\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["templated_when.yml", "-i", "hosts"])
        .run();
    out.expect_code(0);
    assert!(
        out.stderr.contains(
            "[DEPRECATION WARNING]: Conditionals should not be surrounded by templating delimiters"
        ) && out.stderr.contains("templated_when.yml:7:13"),
        "{}",
        out.stderr
    );

    // --syntax-check reads everything and runs nothing: the same errors and codes, or just the playbook's name.
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["--syntax-check", "unknown_module.yml", "-i", "hosts"])
        .run();
    out.expect_code(4);
    assert!(
        out.stderr.contains("unknown_module.yml:3:7"),
        "{}",
        out.stderr
    );
    write(
        &dir,
        "writes.yml",
        "- hosts: all\n  tasks:\n    - command: touch written\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["--syntax-check", "writes.yml", "-i", "hosts"])
        .run();
    out.expect_code(0);
    assert_eq!(out.stdout, "\nplaybook: writes.yml\n");
    assert!(!dir.join("written").exists());

    let out = TestRun::new(&lab.ctl, &dir)
        .args(["missing.yml", "-i", "hosts"])
        .run();
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("the playbook: missing.yml could not be found"),
        "{}",
        out.stderr
    );

    let out = TestRun::new(&lab.ctl, &dir)
        .args(["--no-such-option"])
        .run();
    out.expect_code(2);

    write(
        &dir,
        "undefined.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - debug:\n        msg: \"{{ nope }}\"\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["undefined.yml", "-i", "hosts"])
        .run();
    out.expect_code(2);
    assert!(out.stdout.contains("'nope' is undefined"), "{}", out.stdout);
    assert!(out.stdout.contains("undefined.yml:4:7"), "{}", out.stdout);

    let out = TestRun::new(&lab.ctl, &dir)
        .args(["undefined.yml", "-i", "hosts", "--limit", "nosuchhost"])
        .run();
    out.expect_code(1);

    write(
        &dir,
        "nomatch.yml",
        "- hosts: nosuchgroup\n  tasks:\n    - ping:\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["nomatch.yml", "-i", "hosts"])
        .run();
    out.expect_code(0);
    assert!(
        out.stdout.contains("skipping: no hosts matched"),
        "{}",
        out.stdout
    );
}

#[test]
fn limit_runs_on_exactly_the_hosts_ansible_selects() {
    // tests/inventory/lab holds what `ansible 'web:!web2' --list-hosts` prints for inventories/lab.ini.
    let lab = Lab::get();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = lab.workdir("limit");
    let inventory = std::fs::read_to_string(root.join("inventories/lab.ini")).expect("lab.ini");
    assert_eq!(
        inventory
            .lines()
            .filter(|l| l.contains("ansible_host"))
            .count(),
        3
    );
    write(&dir, "lab.ini", &inventory);
    write(
        &dir,
        "ping.yml",
        &std::fs::read_to_string(root.join("playbooks/ping.yml")).expect("ping.yml"),
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ping.yml", "-i", "lab.ini", "--limit", "web:!web2"])
        .run();
    out.expect_code(0);
    assert_eq!(
        out.recap("web1"),
        "web1 : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(
        !out.stdout.contains("web2") && !out.stdout.contains("db1"),
        "{}",
        out.stdout
    );
    let expected = std::fs::read_to_string(root.join("tests/inventory/lab/patterns.expected"))
        .expect("fixture");
    assert!(
        expected.starts_with("web:!web2\n  hosts (1):\n    web1\n"),
        "{expected}"
    );
}

#[test]
fn check_mode_changes_nothing_and_command_is_idempotent_with_creates() {
    let lab = Lab::get();
    let dir = lab.workdir("check");
    let marker = dir.join("marker");
    write(&dir, "hosts", "[here]\nlocal1 ansible_connection=local\n");
    let touch = format!("command: touch {}", marker.display());
    write(
        &dir,
        "check.yml",
        &format!(
            "- hosts: here\n  gather_facts: no\n  tasks:\n    - {touch}\n      register: r\n    - assert:\n        that: r is skipped\n"
        ),
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["check.yml", "-i", "hosts", "--check", "-v"])
        .run();
    out.expect_code(0);
    assert!(!marker.exists(), "check mode created the file");
    assert!(
        out.stdout
            .contains("Command would have run if not in check mode"),
        "{}",
        out.stdout
    );

    write(
        &dir,
        "real.yml",
        &format!(
            "- hosts: here\n  gather_facts: no\n  tasks:\n    - {touch}\n      args:\n        creates: {m}\n    - {touch}\n      args:\n        creates: {m}\n      register: second\n    - assert:\n        that:\n          - second is not changed\n          - \"'Did not run command since' in second.msg\"\n",
            m = marker.display()
        ),
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["real.yml", "-i", "hosts"])
        .run();
    out.expect_code(0);
    assert!(marker.exists(), "the command did not run");
    assert_eq!(
        out.recap("local1"),
        "local1 : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn vars_prompt_asks_at_the_terminal_without_echo() {
    let lab = Lab::get();
    let dir = lab.workdir("vars-prompt");
    write(&dir, "hosts", "here ansible_connection=local\n");
    write(
        &dir,
        "ask.yml",
        "- hosts: all\n  gather_facts: false\n  vars_prompt:\n    - name: word\n      prompt: Say a word\n  tasks:\n    - debug:\n        msg: \"got {{ word | upper }}\"\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["ask.yml", "-i", "hosts"])
        .run_in_pty("Say a word: ", "quiet");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("\"msg\": \"got QUIET\""),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("Say a word: quiet"),
        "a private answer is not echoed:\n{}",
        out.stdout
    );
}

#[test]
fn step_asks_before_each_task_and_verbose_shows_where_tasks_are() {
    use std::io::Write;
    let lab = Lab::get();
    let dir = lab.workdir("step");
    write(&dir, "hosts", "here ansible_connection=local\n");
    write(
        &dir,
        "steps.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=one\n    - debug: msg=two\n    - debug: msg=three\n    - debug: msg=four\n",
    );
    let mut child = TestRun::new(&lab.ctl, &dir)
        .args(["steps.yml", "-i", "hosts", "--step"])
        .command()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("playbook runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"n\ny\nc\n")
        .expect("answers");
    let out = child.wait_with_output().expect("ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // One skipped, one run, then every task without asking.
    assert_eq!(
        stdout.matches("(N)o/(y)es/(c)ontinue").count(),
        6,
        "{stdout}"
    );
    assert!(!stdout.contains("\"msg\": \"one\""), "{stdout}");
    for ran in ["two", "three", "four"] {
        assert!(stdout.contains(&format!("\"msg\": \"{ran}\"")), "{stdout}");
    }

    let out = TestRun::new(&lab.ctl, &dir)
        .args(["steps.yml", "-i", "hosts", "-vv"])
        .run();
    out.expect_code(0);
    assert!(out.stdout.contains("PLAYBOOK: steps.yml"), "{}", out.stdout);
    assert!(
        out.stdout.contains("1 plays in steps.yml"),
        "{}",
        out.stdout
    );
    let path = dir.join("steps.yml");
    assert!(
        out.stdout
            .contains(&format!("task path: {}:4", path.display())),
        "{}",
        out.stdout
    );
}
