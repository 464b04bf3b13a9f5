//! Inventory conformance: `playbook inventory` and `--list-hosts` against what real ansible-inventory printed
//! for the fixtures in `tests/inventory/` (regenerated and checked against Ansible by
//! `scripts/inventory-fixtures`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/inventory");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/inventory exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 9, "fixtures missing in {}", root.display());
    cases
}

fn sources(case: &Path) -> Vec<String> {
    let listed = std::fs::read_to_string(case.join("ARGS")).unwrap_or_else(|_| {
        if case.join("hosts.yml").exists() {
            "hosts.yml".into()
        } else {
            "hosts".into()
        }
    });
    listed
        .lines()
        .filter(|l| !l.is_empty())
        .flat_map(|s| ["-i".to_string(), s.to_string()])
        .collect()
}

fn playbook(case: &Path, args: &[String]) -> String {
    let out = Command::new(super::util::playbook_bin())
        .args(args)
        .current_dir(case)
        .env_remove("ANSIBLE_INVENTORY")
        .env_remove("ANSIBLE_CONFIG")
        .output()
        .expect("playbook runs");
    assert!(
        out.status.success(),
        "{args:?} in {}: {}",
        case.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn inventory_list_equals_ansible_inventory_as_data() {
    for case in cases() {
        let mut args = vec!["inventory".to_string()];
        args.extend(sources(&case));
        args.push("--list".into());
        let ours: serde_json::Value =
            serde_json::from_str(&playbook(&case, &args)).expect("our --list is JSON");
        let text = std::fs::read_to_string(case.join("list.json")).expect("list.json");
        let theirs: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
        assert_eq!(ours, theirs, "--list differs for {}", case.display());
    }
}

#[test]
fn inventory_list_yaml_equals_ansible_inventory() {
    for case in cases() {
        let mut args = vec!["inventory".to_string()];
        args.extend(sources(&case));
        args.extend(["--list".to_string(), "--yaml".to_string()]);
        // As data: PyYAML writes a value that several hosts share (from a group) once, with an anchor, and
        // aliases it after; we write it out each time.
        let parse = |name: &str, text: String| {
            let file = playbook::diag::SourceFile::new(name, text);
            playbook::yaml::parse(&file).expect("valid YAML").to_json()
        };
        let expected = std::fs::read_to_string(case.join("list.yaml")).expect("list.yaml");
        assert_eq!(
            parse("ours", playbook(&case, &args)),
            parse("list.yaml", expected),
            "--list --yaml differs for {}",
            case.display()
        );
    }
}

#[test]
fn inventory_graph_equals_ansible_inventory() {
    for case in cases() {
        let mut args = vec!["inventory".to_string()];
        args.extend(sources(&case));
        args.extend(["--graph".to_string(), "--vars".to_string()]);
        let expected = std::fs::read_to_string(case.join("graph.txt")).expect("graph.txt");
        assert_eq!(
            playbook(&case, &args),
            expected,
            "--graph --vars differs for {}",
            case.display()
        );
    }
}

#[test]
fn patterns_select_the_hosts_ansible_selects_in_its_order() {
    for case in cases() {
        let Ok(patterns) = std::fs::read_to_string(case.join("patterns")) else {
            continue;
        };
        let mut ours = String::new();
        for pattern in patterns.lines().filter(|l| !l.is_empty()) {
            let mut args = vec!["adhoc".to_string(), pattern.to_string()];
            args.extend(sources(&case));
            args.push("--list-hosts".into());
            ours.push_str(pattern);
            ours.push('\n');
            ours.push_str(&playbook(&case, &args));
        }
        let expected =
            std::fs::read_to_string(case.join("patterns.expected")).expect("patterns.expected");
        assert_eq!(ours, expected, "patterns differ for {}", case.display());
    }
}

#[test]
fn broken_inventories_warn_with_the_place_and_go_on_as_ansible_does() {
    let lab = super::util::Lab::get();
    let dir = lab.workdir("badinv");
    let cases = [
        (
            "cycle.ini",
            "[a:children]\nb\n[b:children]\na\n",
            "cycle.ini:4:1",
            "recursive dependency loop",
        ),
        (
            "range.ini",
            "[web]\nweb[01:x]\n",
            "range.ini:2:1",
            "equal-length begin and end",
        ),
        ("section.ini", "[web\nh1\n", "section.ini:1:1", "host range"),
        ("vars.ini", "[web:vars]\njust-a-word\n", "vars.ini:2:1", ""),
    ];
    for (name, text, place, why) in cases {
        super::util::write(&dir, name, text);
        let out = super::util::TestRun::new(&lab.ctl, &dir)
            .args(["inventory", "-i", name, "--list"])
            .run();
        // ansible-inventory warns, prints the inventory it could make (only implicit localhost) and exits 0.
        out.expect_code(0);
        assert!(out.stderr.contains(place), "{name}: {}", out.stderr);
        assert!(out.stderr.contains(why), "{name}: {}", out.stderr);
        assert!(out.stdout.contains("\"_meta\""), "{name}: {}", out.stdout);
    }
    let unreadable = super::util::write(&dir, "secret.ini", "[web]\nh1\n");
    std::fs::set_permissions(
        &unreadable,
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .expect("chmod");
    let out = super::util::TestRun::new(&lab.ctl, &dir)
        .args(["inventory", "-i", "secret.ini", "--list"])
        .run();
    out.expect_code(0);
    assert!(out.stderr.contains("secret.ini"), "{}", out.stderr);
    assert!(out.stderr.contains("ermission denied"), "{}", out.stderr);
}

#[test]
fn ansible_cfg_and_vars_beside_the_playbook_and_limit_files_are_honoured() {
    use super::util::{Lab, TestRun, write};
    let lab = Lab::get();
    let dir = lab.workdir("cfg");
    std::fs::create_dir_all(dir.join("inv/group_vars")).expect("dirs");
    std::fs::create_dir_all(dir.join("play/group_vars")).expect("dirs");
    write(
        &dir,
        "inv/hosts",
        "[here]\nl1 ansible_connection=local\nl2 ansible_connection=local\n",
    );
    write(
        &dir,
        "inv/group_vars/here.yml",
        "who: inventory\nkept: from-inventory\n",
    );
    write(&dir, "play/group_vars/here.yml", "who: playbook\n");
    write(
        &dir,
        "ansible.cfg",
        "[defaults]\ninventory = inv/hosts\nforks = 1\n",
    );
    write(&dir, "limit.txt", "l2\n");
    write(
        &dir,
        "play/site.yml",
        "- hosts: here\n  gather_facts: no\n  tasks:\n    - assert:\n        that:\n          - who == 'playbook'\n          - kept == 'from-inventory'\n          - ansible_play_hosts == ['l2']\n",
    );
    // The work dir is world-writable, where Ansible ignores ./ansible.cfg; ANSIBLE_CONFIG names it instead.
    let cfg = dir.join("ansible.cfg").display().to_string();
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["play/site.yml", "--limit", "@limit.txt"])
        .env("ANSIBLE_CONFIG", &cfg)
        .run();
    out.expect_code(0);
    assert_eq!(
        out.recap("l2"),
        "l2 : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(!out.stdout.contains("l1"), "{}", out.stdout);
}

#[test]
fn a_failing_inventory_script_is_named_with_its_stderr() {
    use super::util::{Lab, TestRun, write};
    let lab = Lab::get();
    let dir = lab.workdir("badscript");
    let script = write(
        &dir,
        "inventory.sh",
        "#!/bin/sh\necho 'cannot reach the CMDB' >&2\nexit 3\n",
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["inventory", "-i", "inventory.sh", "--list"])
        .run();
    out.expect_code(0);
    assert!(out.stderr.contains("inventory.sh"), "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot reach the CMDB"),
        "{}",
        out.stderr
    );
    let bad_json = write(&dir, "json.sh", "#!/bin/sh\necho '{not json'\n");
    std::fs::set_permissions(
        &bad_json,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let out = TestRun::new(&lab.ctl, &dir)
        .args(["inventory", "-i", "json.sh", "--list"])
        .run();
    out.expect_code(0);
    assert!(out.stderr.contains("json.sh"), "{}", out.stderr);
}
