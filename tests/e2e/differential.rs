//! Differential: the self-checking playbooks in `tests/playbooks/` run with real `ansible-playbook`
//! (ansible-core 2.19 from PyPI, in the venv `scripts/ansible-venv` makes) and with `playbook`; the exit codes,
//! the recaps and the task-by-task output must be the same.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(super) fn venv() -> PathBuf {
    std::env::var_os("ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/ansible-venv"))
}

/// A playbook's `# env: NAME=value ...` lines: configuration through the environment, the same for both
/// engines.
fn header_env(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# env:"))
        .flat_map(str::split_whitespace)
        .filter_map(|pair| pair.split_once('='))
        .collect()
}

/// A playbook's `# playbooks: ...` line: playbooks run after it in the same command (before the options, where
/// ansible-playbook's parser wants them).
fn more_playbooks(text: &str) -> Vec<&str> {
    text.lines()
        .find_map(|l| l.strip_prefix("# playbooks:"))
        .map(|a| a.split_whitespace().collect())
        .unwrap_or_default()
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
    let settings = header_env(&text);
    let out = Command::new(program)
        .arg(playbook)
        .args(more_playbooks(&text))
        .args(["-i", "inventory.ini"])
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
        .envs(settings)
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", program.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The output with what legitimately differs between two runs taken out: single-line JSON after ` => `
/// (timestamps, durations) and the order in which parallel hosts report within a task. The output is cut
/// into sections at banners; within one, each host line (with the JSON lines under it) and each `[ERROR]`
/// report (through its `^ column` lines) is one record, and records are sorted.
fn normalize(stdout: &str) -> Vec<String> {
    let banner = |l: &str| {
        [
            "TASK [",
            "PLAY [",
            "RUNNING HANDLER [",
            "PLAY RECAP",
            "NO MORE HOSTS",
        ]
        .iter()
        .any(|b| l.starts_with(b))
    };
    let mut sections = Vec::new();
    let mut header = String::new();
    let mut records: Vec<String> = Vec::new();
    let mut in_error = false;
    // From -vv on, each engine first says its own version and where it runs from.
    let version = stdout
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("ansible-playbook [core ") || l.starts_with("playbook "));
    let skipped = if version {
        1 + stdout
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .count()
    } else {
        0
    };
    let mut lines = stdout.lines().skip(skipped).peekable();
    while let Some(line) = lines.next() {
        if banner(line) && !in_error {
            records.sort();
            sections.push(format!("{header}\n{}", records.join("\n")));
            header = line.to_string();
            records = Vec::new();
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        // A report whose last cause has no place (a timeout) ends where the host's result begins.
        if in_error && (line.starts_with("fatal: [") || line.starts_with("failed: [")) {
            in_error = false;
        }
        if in_error {
            if let Some(last) = records.last_mut() {
                last.push('\n');
                last.push_str(line);
            }
            if line.trim_start().starts_with("^ column") {
                // A report may go on with `<<< caused by >>>` and a second origin.
                let more = lines
                    .clone()
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| l.starts_with("<<< caused by"));
                in_error = more;
            }
            continue;
        }
        if line.starts_with("[ERROR]:") {
            in_error = true;
            records.push(line.to_string());
            continue;
        }
        // Which hosts an include is for comes in the order their results arrived.
        let line = sorted_include_hosts(line);
        let line = without_yaml_times(&line);
        let line = line.as_str();
        let line = if !line.ends_with("=> {") && line.contains(" => {") {
            line.rsplit_once(" => {")
                .map_or(line, |(head, _)| head)
                .to_string()
        } else {
            line.to_string()
        };
        let continues = line.starts_with(' ') || line.starts_with('}');
        match records.last_mut() {
            Some(last) if continues => {
                last.push('\n');
                last.push_str(&line);
            }
            _ => records.push(line),
        }
    }
    records.sort();
    sections.push(format!("{header}\n{}", records.join("\n")));
    sections
}

/// A command's times in a YAML result (`    delta: '0:00:00.002'`) without their values, which differ.
fn without_yaml_times(line: &str) -> String {
    let key = line.trim_start().split(": ").next().unwrap_or_default();
    if matches!(key, "delta" | "start" | "end") && line.starts_with(' ') {
        return format!("{}: ...", line.split(": ").next().unwrap_or_default());
    }
    line.to_string()
}

/// `included: FILE for b, a => (item=1)` with its hosts sorted.
fn sorted_include_hosts(line: &str) -> String {
    let Some(rest) = line.strip_prefix("included: ") else {
        return line.to_string();
    };
    let Some((file, hosts)) = rest.split_once(" for ") else {
        return line.to_string();
    };
    let (hosts, tail) = match hosts.split_once(" => ") {
        Some((hosts, item)) => (hosts, format!(" => {item}")),
        None => (hosts, String::new()),
    };
    let mut hosts: Vec<&str> = hosts.split(", ").collect();
    hosts.sort_unstable();
    format!("included: {file} for {}{tail}", hosts.join(", "))
}

/// The sections compared: all, or only the recap for a playbook that says `# compare: recap` (the free
/// strategy's output interleaves hosts in the order they happen to finish).
fn compared(playbook_text: &str, sections: Vec<String>) -> Vec<String> {
    let recap_only = playbook_text
        .lines()
        .any(|l| l.trim() == "# compare: recap");
    if recap_only {
        sections
            .into_iter()
            .filter(|s| s.starts_with("PLAY RECAP"))
            .collect()
    } else {
        sections
    }
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
    // `DIFFERENTIAL_ONLY=callback_,roles` runs the playbooks whose names start so (while working on them).
    if let Ok(only) = std::env::var("DIFFERENTIAL_ONLY") {
        playbooks.retain(|n| only.split(',').any(|o| n.starts_with(o)));
    }
    playbooks.sort();
    assert!(!playbooks.is_empty());
    for playbook in playbooks {
        let (their_code, theirs) = run(&ansible, &playbook, &scratch);
        let (our_code, ours) = run(Path::new(super::util::playbook_bin()), &playbook, &scratch);
        // The playbooks check themselves: both engines must also end as the playbook says (`# exit: N`, else 0).
        let text = std::fs::read_to_string(repo().join("tests/playbooks").join(&playbook))
            .expect("playbook");
        let expected: i32 = text
            .lines()
            .find_map(|l| l.strip_prefix("# exit:"))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0);
        assert_eq!(
            their_code, expected,
            "{playbook}: ansible-playbook exited {their_code}\n{theirs}"
        );
        assert_eq!(
            our_code, their_code,
            "{playbook}: exit codes differ\n--- ansible\n{theirs}\n--- playbook\n{ours}"
        );
        let (theirs_n, ours_n) = (
            compared(&text, normalize(&theirs)),
            compared(&text, normalize(&ours)),
        );
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

/// The differential inventory with every host behind a real sshd of the lab instead of `connection: local`.
fn sshd_inventory(local: &str) -> String {
    let mut next = 0;
    local
        .lines()
        .filter(|l| !l.starts_with("ansible_python_interpreter"))
        .map(
            |line| match line.strip_suffix(" ansible_connection=local") {
                Some(host) => {
                    let address = super::util::HOSTS[next % super::util::HOSTS.len()];
                    next += 1;
                    format!(
                        "{host} ansible_host={address} ansible_port={} ansible_user=pbkey",
                        super::util::PORT
                    )
                }
                None => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Copies a directory tree so that every lab user can read it.
fn copy_readable(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).expect("dir");
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_readable(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
    }
}

#[test]
fn self_checking_playbooks_pass_over_real_sshd_hosts_as_they_do_locally() {
    let lab = super::util::Lab::get();
    let dir = lab.workdir("playbooks-sshd");
    copy_readable(&repo().join("tests/playbooks"), &dir);
    let local = std::fs::read_to_string(dir.join("inventory.ini")).expect("inventory");
    let sshd = sshd_inventory(&local);
    assert!(sshd.contains("ansible_port=2222"), "{sshd}");
    super::util::write(&dir, "sshd.ini", &sshd);
    super::util::write(&dir, "ansible.cfg", "");
    let mut playbooks: Vec<String> = std::fs::read_dir(&dir)
        .expect("playbooks")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    playbooks.sort();
    let connections = |lab: &super::util::Lab| -> usize {
        super::util::HOSTS
            .iter()
            .map(|h| lab.accepted(h, super::util::PORT))
            .sum()
    };
    let before = connections(lab);
    let addressless = regex::Regex::new(r"\(127\.0\.0\.\d+\)\]").expect("regex");
    for playbook in playbooks {
        let text = std::fs::read_to_string(dir.join(&playbook)).expect("playbook");
        let extra: Vec<String> = text
            .lines()
            .find_map(|l| l.strip_prefix("# args:"))
            .map(|a| a.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        let expected: i32 = text
            .lines()
            .find_map(|l| l.strip_prefix("# exit:"))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0);
        let run = |inventory: &str| {
            let mut run = super::util::TestRun::new(&lab.ctl, &dir)
                .args([playbook.as_str()])
                .args(more_playbooks(&text))
                .args(["-i", inventory])
                .args(extra.iter().cloned())
                .env(
                    "ANSIBLE_CONFIG",
                    dir.join("ansible.cfg").to_str().expect("utf-8"),
                )
                .env("NO_COLOR", "1");
            for (name, value) in header_env(&text) {
                run = run.env(name, value);
            }
            run.run()
        };
        let (here, there) = (run("inventory.ini"), run("sshd.ini"));
        assert_eq!(
            there.code, expected,
            "{playbook} over sshd\n--- stdout\n{}\n--- stderr\n{}",
            there.stdout, there.stderr
        );
        assert_eq!(here.code, expected, "{playbook} locally\n{}", here.stdout);
        // A delegated host is shown with its address when it has one (`[alpha -> f1(127.0.0.4)]`), which
        // only the sshd inventory gives.
        let there_stdout = addressless.replace_all(&there.stdout, "]");
        assert_eq!(
            compared(&text, normalize(&there_stdout)),
            compared(&text, normalize(&here.stdout)),
            "{playbook}: output over sshd differs\n--- local\n{}\n--- sshd\n{}",
            here.stdout,
            there.stdout
        );
    }
    assert!(
        connections(lab) > before,
        "the sshd hosts saw no connection: the runs were not over ssh"
    );
}
