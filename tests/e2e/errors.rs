//! Malformed playbooks: each is run by ansible-playbook and by `playbook`. Both must end with the same exit
//! code, and ours must name the file, line and column (the place ansible-core names, or a more precise one
//! inside it), show the offending line and put a caret under it.

use super::differential::venv;
use std::path::Path;
use std::process::Command;

struct Case {
    file: &'static str,
    text: &'static str,
    /// Extra arguments for both engines.
    args: &'static [&'static str],
    /// Where ours points: line and column, and the text of that line.
    at: (usize, usize),
    line: &'static str,
}

const CASES: &[Case] = &[
    Case {
        file: "unknown_play_keyword.yml",
        text: "- hosts: all\n  gather_facts: false\n  colour: red\n  tasks:\n    - debug: msg=hi\n",
        args: &[],
        at: (3, 3),
        line: "  colour: red",
    },
    Case {
        file: "unknown_task_keyword.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: hi\n      colour: red\n",
        args: &[],
        at: (6, 7),
        line: "      colour: red",
    },
    Case {
        file: "loop_and_with.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ item }}\"\n      loop: [1, 2]\n      with_items: [3]\n",
        args: &[],
        at: (7, 7),
        line: "      with_items: [3]",
    },
    Case {
        file: "missing_handler.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      notify: nope\n",
        args: &[],
        at: (4, 7),
        line: "    - command: \"true\"",
    },
    Case {
        file: "template_syntax.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ 1 + }}\"\n",
        args: &[],
        at: (4, 7),
        line: "    - debug:",
    },
    Case {
        file: "condition_syntax.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n      when: 1 ==\n",
        args: &[],
        at: (4, 7),
        line: "    - debug: msg=hi",
    },
    Case {
        file: "missing_import.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - import_tasks: nowhere.yml\n",
        args: &[],
        at: (4, 21),
        line: "    - import_tasks: nowhere.yml",
    },
    Case {
        file: "missing_include.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_tasks: nowhere.yml\n",
        args: &[],
        at: (4, 7),
        line: "    - include_tasks: nowhere.yml",
    },
    Case {
        file: "missing_role.yml",
        text: "- hosts: all\n  gather_facts: false\n  roles:\n    - nowhere_role\n",
        args: &[],
        at: (4, 7),
        line: "    - nowhere_role",
    },
    Case {
        file: "wrong_vault_password.yml",
        text: "- hosts: all\n  gather_facts: false\n  vars_files:\n    - vaulted.yml\n  tasks:\n    - debug:\n        msg: \"{{ secret }}\"\n",
        args: &["--vault-password-file", "wrong-password"],
        at: (6, 7),
        line: "    - debug:",
    },
    Case {
        file: "yaml_syntax.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"unclosed\n",
        args: &[],
        at: (5, 14),
        line: "        msg: \"unclosed",
    },
];

fn run(program: &Path, dir: &Path, case: &Case) -> (i32, String) {
    let out = Command::new(program)
        .args([case.file, "-i", "hosts"])
        .args(case.args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "False")
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn malformed_playbooks_name_the_place_with_ansibles_exit_codes() {
    let dir = std::env::temp_dir().join(format!("pb-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    write("hosts", "[here]\nlocal1 ansible_connection=local\n");
    write("ansible.cfg", "");
    write("right-password", "right\n");
    write("wrong-password", "wrong\n");
    let ansible_vault = venv().join("bin/ansible-vault");
    let vaulted = Command::new(&ansible_vault)
        .args([
            "encrypt_string",
            "--vault-password-file",
            "right-password",
            "sekrit",
            "--name",
            "secret",
        ])
        .current_dir(&dir)
        .env("HOME", &dir)
        .output()
        .expect("ansible-vault runs");
    assert!(vaulted.status.success(), "{vaulted:?}");
    std::fs::write(dir.join("vaulted.yml"), &vaulted.stdout).expect("write");

    let ansible = venv().join("bin/ansible-playbook");
    let ours = Path::new(super::util::playbook_bin());
    for case in CASES {
        write(case.file, case.text);
        let (their_code, theirs) = run(&ansible, &dir, case);
        let (our_code, text) = run(ours, &dir, case);
        assert_ne!(
            their_code, 0,
            "{}: ansible-playbook accepted it\n{theirs}",
            case.file
        );
        assert_eq!(
            our_code, their_code,
            "{}: exit codes differ\n--- ansible\n{theirs}\n--- playbook\n{text}",
            case.file
        );
        let (line, col) = case.at;
        let place = format!("{}:{line}:{col}", case.file);
        assert!(text.contains(&place), "{}: no {place}\n{text}", case.file);
        // The offending line, numbered, and a caret under the column.
        let numbered = text
            .lines()
            .position(|l| l.starts_with(&format!("{line} ")) && l.ends_with(case.line))
            .unwrap_or_else(|| panic!("{}: line {line} not shown\n{text}", case.file));
        let under = text.lines().nth(numbered + 1).unwrap_or_default();
        let gutter = text.lines().nth(numbered).unwrap_or_default().len() - case.line.len();
        assert_eq!(
            under.find('^'),
            Some(gutter + col - 1),
            "{}: the caret is not under column {col}\n{text}",
            case.file
        );
    }
}
