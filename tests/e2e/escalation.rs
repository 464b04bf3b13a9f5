//! become over real sshd hosts and on this machine: sudo without a password, with one from the inventory or
//! typed at -K's prompt (written only to sudo's own prompt, never in argv or the environment), and a wrong or
//! missing one failing only its host, with Ansible's messages.

use super::util::{HOSTS, Lab, PASSWORD, PORT, SecretWatch, TestRun, lab_inventory, write};

const WHO: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: id -un\n      become: true\n      register: who\n    - debug:\n        var: who.stdout\n";

#[test]
fn become_runs_tasks_as_root_or_as_another_user() {
    let lab = Lab::get();
    let dir = lab.workdir("become");
    write(&dir, "hosts", &lab_inventory());
    write(
        &dir,
        "become.yml",
        r#"- hosts: web
  gather_facts: false
  tasks:
    - command: id -un
      register: plain
    - command: id -un
      become: true
      register: root
    - command: id -un
      become: true
      become_user: pbpass
      register: other
    - block:
        - command: id -un
          register: inherited
      become: yes
    - assert:
        that:
          - plain.stdout == 'pbkey'
          - root.stdout == 'root'
          - other.stdout == 'pbpass'
          - inherited.stdout == 'root'
"#,
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["become.yml", "-i", "hosts"])
        .run();
    out.expect_code(0);
    assert_eq!(
        out.recap("web1"),
        "web1 : ok=5 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    // --become-user for whom, for every task that becomes; -b makes every task become.
    write(&dir, "who.yml", WHO);
    let out = TestRun::new(&lab.ctl, &dir)
        .args([
            "-i",
            "hosts",
            "-l",
            "db1",
            "who.yml",
            "--become-user",
            "pbpass",
        ])
        .run();
    out.expect_code(0);
    assert!(
        out.stdout.contains("\"who.stdout\": \"pbpass\""),
        "{}",
        out.stdout
    );
    write(
        &dir,
        "plain.yml",
        "- hosts: db1\n  gather_facts: false\n  tasks:\n    - command: id -un\n      register: who\n    - debug:\n        var: who.stdout\n",
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["-i", "hosts", "plain.yml", "-b"])
        .run();
    out.expect_code(0);
    assert!(
        out.stdout.contains("\"who.stdout\": \"root\""),
        "{}",
        out.stdout
    );
}

#[test]
fn the_become_password_takes_the_guarded_path_and_a_wrong_one_fails_only_its_host() {
    let lab = Lab::get();
    let dir = lab.workdir("become-pass");
    let host = |name: &str, addr: &str, extra: &str| {
        format!(
            "{name} ansible_host={addr} ansible_port={PORT} ansible_user=pbpass ansible_password={PASSWORD}{extra}\n"
        )
    };
    let inventory = [
        host(
            "good",
            HOSTS[0],
            &format!(" ansible_become_password={PASSWORD}"),
        ),
        host("bad", HOSTS[1], " ansible_become_password=not-the-password"),
        host("none", HOSTS[2], ""),
    ]
    .concat();
    write(&dir, "hosts", &inventory);
    write(&dir, "who.yml", WHO);
    let watch = SecretWatch::start(PASSWORD);
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["who.yml", "-i", "hosts"])
        .run();
    let leaks = watch.finish();
    out.expect_code(2);
    assert!(leaks.is_empty(), "the password was visible in: {leaks:?}");
    assert!(
        out.stdout.contains("\"who.stdout\": \"root\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "fatal: [bad]: FAILED! => {\"changed\": false, \"msg\": \"Incorrect sudo password\"}"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "fatal: [none]: FAILED! => {\"changed\": false, \"msg\": \"Missing sudo password\"}"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.recap("good"),
        "good : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("bad"),
        "bad : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn ask_become_pass_is_typed_at_a_real_prompt() {
    let lab = Lab::get();
    let dir = lab.workdir("become-ask");
    write(
        &dir,
        "hosts",
        &format!(
            "pw ansible_host={} ansible_port={PORT} ansible_user=pbpass ansible_password={PASSWORD}\n",
            HOSTS[0]
        ),
    );
    write(&dir, "who.yml", WHO);
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["who.yml", "-i", "hosts", "-K"])
        .run_in_pty("BECOME password: ", PASSWORD);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("\"who.stdout\": \"root\""),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(PASSWORD), "the password was echoed");
}

#[test]
fn become_on_this_machine_runs_the_runner_as_that_user() {
    let lab = Lab::get();
    let dir = lab.workdir("become-local");
    write(&dir, "hosts", "here ansible_connection=local\n");
    write(
        &dir,
        "local.yml",
        r#"- hosts: all
  gather_facts: false
  become: true
  become_user: pbkey
  tasks:
    - command: id -un
      register: who
    - assert:
        that: who.stdout == 'pbkey'
"#,
    );
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["local.yml", "-i", "hosts"])
        .run();
    out.expect_code(0);
    let unsupported = TestRun::new(&lab.ctl, &dir)
        .args([
            "local.yml",
            "-i",
            "hosts",
            "-e",
            "ansible_become_method=runas",
        ])
        .run();
    unsupported.expect_code(2);
    assert!(
        unsupported
            .stdout
            .contains("become_method runas is not supported yet"),
        "{}",
        unsupported.stdout
    );
}

#[test]
fn su_takes_its_password_at_the_terminal_it_is_given() {
    let lab = Lab::get();
    let dir = lab.workdir("become-su");
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - command: id -un
      become: true
      become_method: su
      become_user: pbpass
      register: who
    - debug:
        var: who.stdout
"#;
    write(&dir, "su.yml", play);
    let hosts = [
        format!("local1 ansible_connection=local ansible_become_password={PASSWORD}"),
        format!(
            "remote1 ansible_host={} ansible_port={PORT} ansible_user=pbkey ansible_become_password={PASSWORD}",
            HOSTS[0]
        ),
        "wrong1 ansible_connection=local ansible_become_password=not-it".to_string(),
        format!(
            "missing1 ansible_host={} ansible_port={PORT} ansible_user=pbkey",
            HOSTS[1]
        ),
    ];
    write(&dir, "hosts", &(hosts.join("\n") + "\n"));
    let watch = SecretWatch::start(PASSWORD);
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["su.yml", "-i", "hosts"])
        .run();
    let leaks = watch.finish();
    out.expect_code(2);
    assert!(leaks.is_empty(), "the password was visible in: {leaks:?}");
    for host in ["local1", "remote1"] {
        assert_eq!(
            out.recap(host),
            format!("{host} : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0")
        );
    }
    assert_eq!(
        out.stdout.matches("\"who.stdout\": \"pbpass\"").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "fatal: [wrong1]: FAILED! => {\"changed\": false, \"msg\": \"Incorrect su password\"}"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "fatal: [missing1]: FAILED! => {\"changed\": false, \"msg\": \"Missing su password\"}"
        ),
        "{}",
        out.stdout
    );
}
