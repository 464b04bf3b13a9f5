//! Differential: the self-checking playbooks in `tests/playbooks/` run with real `ansible-playbook`
//! (ansible-core 2.19 from PyPI, in the venv `scripts/ansible-venv` makes) and with `playbook`; the exit codes,
//! the recaps and the task-by-task output must be the same.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn venv() -> PathBuf {
    std::env::var_os("ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/ansible-venv"))
}

/// One engine's run: exit code and stdout.
fn run(program: &Path, playbook: &str, scratch: &Path) -> (i32, String) {
    let dir = repo().join("tests/playbooks");
    let cfg = scratch.join("ansible.cfg");
    std::fs::write(&cfg, "").expect("empty ansible.cfg");
    // A playbook's `# args: ...` line gives more command-line arguments, the same for both engines.
    let text = std::fs::read_to_string(dir.join(playbook)).expect("playbook");
    let extra: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("# args:"))
        .map(|a| a.split_whitespace().collect())
        .unwrap_or_default();
    let out = Command::new(program)
        .args([playbook, "-i", "inventory.ini"])
        .args(&extra)
        .current_dir(&dir)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:/usr/local/bin:/usr/bin:/bin",
                venv().join("bin").display()
            ),
        )
        .env("HOME", scratch)
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_CONFIG", &cfg)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "False")
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", program.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The output with what legitimately differs between two runs taken out: single-line JSON after ` => `
/// (timestamps, durations) and the order in which parallel hosts report within a task.
fn normalize(stdout: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    for block in stdout.split("\n\n") {
        let mut records: Vec<String> = Vec::new();
        let mut header = None;
        for line in block.lines() {
            let continues = line.starts_with(' ') || line.starts_with('}');
            let line = if !line.ends_with("=> {") && line.contains(" => {") {
                line.rsplit_once(" => {")
                    .map_or(line, |(head, _)| head)
                    .to_string()
            } else {
                line.to_string()
            };
            if line.starts_with("TASK [")
                || line.starts_with("PLAY [")
                || line.starts_with("PLAY RECAP")
            {
                header = Some(line);
            } else if continues && !records.is_empty() {
                if let Some(last) = records.last_mut() {
                    last.push('\n');
                    last.push_str(&line);
                }
            } else if !line.trim().is_empty() {
                records.push(line);
            }
        }
        records.sort();
        blocks.push(format!(
            "{}\n{}",
            header.unwrap_or_default(),
            records.join("\n")
        ));
    }
    blocks
}

#[test]
fn self_checking_playbooks_give_the_same_results_as_ansible() {
    let ansible = venv().join("bin/ansible-playbook");
    assert!(
        ansible.exists(),
        "{} is missing: run scripts/ansible-venv (scripts/test does)",
        ansible.display()
    );
    let scratch = std::env::temp_dir().join(format!("pb-differential-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let mut playbooks: Vec<String> = std::fs::read_dir(repo().join("tests/playbooks"))
        .expect("tests/playbooks")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    playbooks.sort();
    assert!(!playbooks.is_empty());
    for playbook in playbooks {
        let (their_code, theirs) = run(&ansible, &playbook, &scratch);
        let (our_code, ours) = run(Path::new(super::util::playbook_bin()), &playbook, &scratch);
        assert_eq!(
            our_code, their_code,
            "{playbook}: exit codes differ\n--- ansible\n{theirs}\n--- playbook\n{ours}"
        );
        let (theirs_n, ours_n) = (normalize(&theirs), normalize(&ours));
        for (t, o) in theirs_n.iter().zip(&ours_n) {
            assert_eq!(
                o, t,
                "{playbook}: output differs\n--- ansible\n{theirs}\n--- playbook\n{ours}"
            );
        }
        assert_eq!(
            ours_n.len(),
            theirs_n.len(),
            "{playbook}: output differs\n--- ansible\n{theirs}\n--- playbook\n{ours}"
        );
    }
}
