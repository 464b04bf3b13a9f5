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
    /// Where ours points: line and column, and the text of that line; (0, 0) when neither names a place.
    at: (usize, usize),
    line: &'static str,
    /// The file it points into, when not the playbook (a path ending the one shown).
    in_file: Option<&'static str>,
    /// Other files the case needs (its imports, its roles), written first.
    files: &'static [(&'static str, &'static str)],
    /// What ours must say.
    says: &'static str,
}

/// A case's defaults: no other file, the place in the playbook, nothing said in particular.
const CASE: Case = Case {
    file: "",
    text: "",
    args: &[],
    at: (0, 0),
    line: "",
    in_file: None,
    files: &[],
    says: "",
};

const CASES: &[Case] = &[
    Case {
        file: "hosts_undefined.yml",
        text: "- hosts: \"{{ nope }}\"\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
        // The play's name is taken from `hosts`, so ansible-core names that keyword.
        at: (1, 10),
        line: "- hosts: \"{{ nope }}\"",
        says: "Error processing keyword 'name': 'nope' is undefined",
        ..CASE
    },
    Case {
        file: "timestamp_not_a_day.yml",
        text: "- hosts: all\n  gather_facts: false\n  vars:\n    due: 2001-02-30\n  tasks:\n    - debug: msg=hi\n",
        // ansible-core names the file only; PyYAML's words.
        at: (4, 10),
        line: "    due: 2001-02-30",
        says: "day is out of range for month",
        ..CASE
    },
    Case {
        file: "vars_file_not_yaml.yml",
        text: "- hosts: all\n  gather_facts: false\n  vars_files: [broken-vars.yml]\n  tasks:\n    - debug: msg=hi\n",
        files: &[("broken-vars.yml", "a: [\n")],
        // The end of the file, where no line is left to show.
        says: "broken-vars.yml:2:1",
        ..CASE
    },
    Case {
        file: "vars_file_a_list.yml",
        text: "- hosts: all\n  gather_facts: false\n  vars_files: [listed-vars.yml]\n  tasks:\n    - debug: msg=hi\n",
        files: &[("listed-vars.yml", "- 1\n")],
        in_file: Some("listed-vars.yml"),
        at: (1, 3),
        line: "- 1",
        says: "Invalid variable file contents.",
        ..CASE
    },
    Case {
        file: "module_defaults_group.yml",
        text: "- hosts: all\n  gather_facts: false\n  module_defaults:\n    group/ansible.builtin.command: {}\n  tasks:\n    - debug: msg=hi\n",
        at: (4, 5),
        line: "    group/ansible.builtin.command: {}",
        says: "could not resolve the module_defaults group ansible.builtin.command",
        ..CASE
    },
    Case {
        file: "extra_vars_file_missing.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
        args: &["-e", "@no-such-extra-vars.yml"],
        says: "Could not find or access",
        ..CASE
    },
    Case {
        file: "extra_vars_not_yaml.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
        args: &["-e", "{broken"],
        ..CASE
    },
    Case {
        file: "extra_vars_a_list.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
        args: &["-e", "@a-list.yml"],
        files: &[("a-list.yml", "- 1\n")],
        ..CASE
    },
    Case {
        file: "unknown_play_keyword.yml",
        text: "- hosts: all\n  gather_facts: false\n  colour: red\n  tasks:\n    - debug: msg=hi\n",
        args: &[],
        at: (3, 3),
        line: "  colour: red",
        ..CASE
    },
    Case {
        file: "unknown_task_keyword.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: hi\n      colour: red\n",
        args: &[],
        at: (6, 7),
        line: "      colour: red",
        ..CASE
    },
    Case {
        file: "loop_and_with.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ item }}\"\n      loop: [1, 2]\n      with_items: [3]\n",
        args: &[],
        at: (7, 7),
        line: "      with_items: [3]",
        ..CASE
    },
    Case {
        file: "missing_handler.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      notify: nope\n",
        args: &[],
        at: (4, 7),
        line: "    - command: \"true\"",
        ..CASE
    },
    Case {
        file: "template_syntax.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ 1 + }}\"\n",
        args: &[],
        at: (4, 7),
        line: "    - debug:",
        ..CASE
    },
    Case {
        file: "condition_syntax.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n      when: 1 ==\n",
        args: &[],
        at: (4, 7),
        line: "    - debug: msg=hi",
        ..CASE
    },
    Case {
        file: "missing_import.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - import_tasks: nowhere.yml\n",
        args: &[],
        at: (4, 21),
        line: "    - import_tasks: nowhere.yml",
        ..CASE
    },
    Case {
        file: "missing_include.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_tasks: nowhere.yml\n",
        args: &[],
        at: (4, 7),
        line: "    - include_tasks: nowhere.yml",
        ..CASE
    },
    Case {
        file: "missing_role.yml",
        text: "- hosts: all\n  gather_facts: false\n  roles:\n    - nowhere_role\n",
        args: &[],
        at: (4, 7),
        line: "    - nowhere_role",
        ..CASE
    },
    Case {
        file: "wrong_vault_password.yml",
        text: "- hosts: all\n  gather_facts: false\n  vars_files:\n    - vaulted.yml\n  tasks:\n    - debug:\n        msg: \"{{ secret }}\"\n",
        args: &["--vault-password-file", "wrong-password"],
        at: (6, 7),
        line: "    - debug:",
        ..CASE
    },
    Case {
        file: "yaml_syntax.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"unclosed\n",
        args: &[],
        at: (5, 14),
        line: "        msg: \"unclosed",
        ..CASE
    },
    // Static imports and role dependencies that lead back to themselves: ansible-core reads on until
    // Python's recursion limit, then reports a role loop (exit 1) or dies of the RecursionError (exit 250).
    Case {
        file: "role_cycle.yml",
        text: "- hosts: all\n  gather_facts: false\n  roles: [c1]\n",
        at: (1, 16),
        line: "dependencies: [c2]",
        in_file: Some("roles/c1/meta/main.yml"),
        files: &[
            ("roles/c1/meta/main.yml", "dependencies: [c2]\n"),
            ("roles/c1/tasks/main.yml", "- debug: msg=c1\n"),
            ("roles/c2/meta/main.yml", "dependencies: [c1]\n"),
            ("roles/c2/tasks/main.yml", "- debug: msg=c2\n"),
        ],
        says: "A recursion loop was detected with the roles specified. Make sure child roles do not have dependencies on parent roles",
        ..CASE
    },
    Case {
        file: "import_tasks_self.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - import_tasks: it_self.yml\n",
        at: (1, 17),
        line: "- import_tasks: it_self.yml",
        in_file: Some("it_self.yml"),
        files: &[("it_self.yml", "- import_tasks: it_self.yml\n")],
        says: "loop: it_self.yml -> it_self.yml",
        ..CASE
    },
    Case {
        file: "import_tasks_loop.yml",
        text: "- hosts: all\n  gather_facts: false\n  tasks:\n    - import_tasks: loop_a.yml\n",
        at: (2, 17),
        line: "- import_tasks: loop_b.yml",
        in_file: Some("loop_a.yml"),
        files: &[
            ("loop_a.yml", "- debug: msg=a\n- import_tasks: loop_b.yml\n"),
            ("loop_b.yml", "- import_tasks: loop_a.yml\n"),
        ],
        says: "loop: loop_a.yml -> loop_b.yml -> loop_a.yml",
        ..CASE
    },
    Case {
        file: "import_playbook_self.yml",
        text: "- import_playbook: import_playbook_self.yml\n",
        at: (1, 20),
        line: "- import_playbook: import_playbook_self.yml",
        says: "A recursion loop was detected with the playbooks imported",
        ..CASE
    },
    Case {
        file: "import_playbook_loop.yml",
        text: "- import_playbook: playbook_b.yml\n",
        at: (1, 20),
        line: "- import_playbook: playbook_b.yml",
        files: &[(
            "playbook_b.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=b\n- import_playbook: import_playbook_loop.yml\n",
        )],
        says: "loop: import_playbook_loop.yml -> playbook_b.yml -> import_playbook_loop.yml",
        ..CASE
    },
    // The name is rendered while the playbook is read, when no play's variables exist yet.
    Case {
        file: "import_playbook_undefined.yml",
        text: "- hosts: all\n  gather_facts: false\n  vars:\n    name: sub.yml\n  tasks:\n    - debug: msg=hi\n- import_playbook: \"{{ name }}\"\n",
        at: (7, 20),
        line: "- import_playbook: \"{{ name }}\"",
        says: "Error processing keyword 'import_playbook': 'name' is undefined",
        ..CASE
    },
    // Nothing to do: ansible-core names the file only.
    Case {
        file: "empty.yml",
        says: "Empty playbook, nothing to do: ",
        ..CASE
    },
    Case {
        file: "only_dashes.yml",
        text: "---\n",
        says: "Empty playbook, nothing to do: ",
        ..CASE
    },
    Case {
        file: "only_comment.yml",
        text: "---\n# nothing here yet\n",
        says: "Empty playbook, nothing to do: ",
        ..CASE
    },
    Case {
        file: "no_plays.yml",
        text: "[]\n",
        at: (1, 1),
        line: "[]",
        says: "A playbook must contain at least one play: ",
        ..CASE
    },
];

fn run(program: &Path, dir: &Path, case: &Case) -> (i32, String) {
    run_args(
        program,
        dir,
        &[&[case.file, "-i", "hosts"], case.args].concat(),
    )
}

/// `command` in `dir` with only what both engines need in its environment: no colour, `dir` as `HOME`,
/// `dir/ansible.cfg` as the configuration.
pub(super) fn in_scratch<'c>(command: &'c mut Command, dir: &Path) -> &'c mut Command {
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "False")
}

fn run_args(program: &Path, dir: &Path, args: &[&str]) -> (i32, String) {
    let out = in_scratch(Command::new(program).args(args), dir)
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
        for (name, text) in case.files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
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
        assert!(
            !text.contains("overflow"),
            "{}: ran out of stack\n{text}",
            case.file
        );
        assert!(
            text.contains(case.says),
            "{}: does not say {:?}\n{text}",
            case.file,
            case.says
        );
        let (line, col) = case.at;
        if line == 0 {
            continue;
        }
        let place = format!("{}:{line}:{col}", case.in_file.unwrap_or(case.file));
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

/// A scratch directory holding `files` and an inventory of one local host.
fn scratch(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pb-errors-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (file, text) in [
        ("hosts", "local1 ansible_connection=local\n"),
        ("ansible.cfg", ""),
    ]
    .iter()
    .chain(files)
    {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

/// `include_tasks` and `include_role` read their file when they run, so one that includes itself is not
/// seen before: ansible-core runs about 250 nested includes and then dies of Python's RecursionError
/// (exit 250, after some 40 seconds, which is why it is not run here). Ours stops at its nesting limit with
/// the same exit code and says where, instead of overflowing its stack.
#[test]
fn includes_of_themselves_stop_at_the_nesting_limit_with_ansibles_exit_code() {
    let dir = scratch(
        "self-include",
        &[
            ("inc_self.yml", "- include_tasks: inc_self.yml\n"),
            (
                "tasks.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_tasks: inc_self.yml\n",
            ),
            (
                "roles/selfinc/tasks/main.yml",
                "- block:\n    - include_role:\n        name: selfinc\n",
            ),
            (
                "role.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role:\n        name: selfinc\n",
            ),
        ],
    );
    let ours = Path::new(super::util::playbook_bin());
    for (playbook, says, place) in [
        (
            "tasks.yml",
            "include_tasks of 'inc_self.yml' is nested too deep",
            "inc_self.yml:1:3",
        ),
        (
            "role.yml",
            "include_role of 'selfinc' is nested too deep",
            "roles/selfinc/tasks/main.yml:2:7",
        ),
    ] {
        let (code, text) = run_args(ours, &dir, &[playbook, "-i", "hosts"]);
        assert_eq!(code, 250, "{playbook}\n{text}");
        assert!(
            text.contains(says),
            "{playbook}: does not say {says:?}\n{text}"
        );
        assert!(text.contains(place), "{playbook}: no {place}\n{text}");
        assert!(
            text.matches("included: ").count() >= 50,
            "{playbook}: stopped too early\n{text}"
        );
        // The run ends there, as ansible-playbook's does: no recap.
        assert!(!text.contains("PLAY RECAP"), "{playbook}\n{text}");
    }
}

/// What comes back to a file or role without being a loop: a role twice in a dependency tree (a diamond,
/// and `allow_duplicates`), a role importing its own other tasks file, a file imported twice in a row, an
/// include that includes itself until a condition stops it, and `import_playbook` names that are
/// templates. Both engines run them the same way.
#[test]
fn what_only_looks_like_a_loop_runs_as_in_ansible() {
    let dir = scratch(
        "not-loops",
        &[
            ("roles/top/meta/main.yml", "dependencies: [left, right]\n"),
            ("roles/top/tasks/main.yml", "- debug: msg=top\n"),
            (
                "roles/left/meta/main.yml",
                "dependencies: [bottom, again]\n",
            ),
            ("roles/left/tasks/main.yml", "- debug: msg=left\n"),
            (
                "roles/right/meta/main.yml",
                "dependencies: [bottom, again]\n",
            ),
            ("roles/right/tasks/main.yml", "- debug: msg=right\n"),
            ("roles/bottom/tasks/main.yml", "- debug: msg=bottom\n"),
            ("roles/again/meta/main.yml", "allow_duplicates: true\n"),
            ("roles/again/tasks/main.yml", "- debug: msg=again\n"),
            (
                "roles/self/tasks/main.yml",
                "- debug: msg=self-main\n- import_role:\n    name: self\n    tasks_from: other\n",
            ),
            ("roles/self/tasks/other.yml", "- debug: msg=self-other\n"),
            ("twice.yml", "- debug: msg=twice\n"),
            (
                "countdown.yml",
                "- debug:\n    msg: \"depth {{ depth }}\"\n- include_tasks: countdown.yml\n  loop: \"{{ [depth | int + 1] }}\"\n  loop_control:\n    loop_var: depth\n  when: depth | int < 12\n",
            ),
            (
                "sub.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=sub\n",
            ),
            (
                "site.yml",
                concat!(
                    "- hosts: all\n  gather_facts: false\n  roles: [top, self]\n  tasks:\n",
                    "    - import_tasks: twice.yml\n    - import_tasks: twice.yml\n",
                    "    - include_tasks: countdown.yml\n      vars:\n        depth: 0\n",
                    "- import_playbook: \"{{ 'sub.yml' }}\"\n",
                    "- import_playbook: \"{{ name }}\"\n  vars:\n    name: sub.yml\n",
                    "- import_playbook: \"{{ playbook_dir }}/sub.yml\"\n",
                ),
            ),
        ],
    );
    let messages = |program: &Path| {
        let (code, text) = run_args(program, &dir, &["site.yml", "-i", "hosts"]);
        assert_eq!(code, 0, "{}\n{text}", program.display());
        text.lines()
            .filter(|l| l.contains("\"msg\""))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let theirs = messages(&venv().join("bin/ansible-playbook"));
    let ours = messages(Path::new(super::util::playbook_bin()));
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|m| m.contains("depth 11")), "{ours:?}");
}

/// Host patterns as ansible-core reports them: a warning for each term that matches nothing (never for
/// `all`), and a `--limit` that leaves no host of the inventory (the implicit localhost is none) stops the run
/// with exit code 1.
#[test]
fn host_patterns_warn_per_term_and_an_empty_limit_stops_as_in_ansible() {
    let dir = scratch(
        "patterns",
        &[
            (
                "site.yml",
                "- hosts: nowhere:web:!absent\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
            ),
            ("hosts", "[web]\nw1 ansible_connection=local\n"),
        ],
    );
    let report = |program: &Path, args: &[&str]| {
        let (code, text) = run_args(program, &dir, args);
        let warnings: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("[WARNING]") || l.starts_with("[ERROR]"))
            .map(str::to_string)
            .collect();
        (code, warnings)
    };
    for args in [
        &["site.yml", "-i", "hosts"][..],
        &["site.yml", "-i", "hosts", "-l", "localhost"],
        &["site.yml", "-i", "hosts", "-l", "nomatch,w1"],
    ] {
        let theirs = report(&venv().join("bin/ansible-playbook"), args);
        let ours = report(Path::new(super::util::playbook_bin()), args);
        assert_eq!(ours, theirs, "{args:?}");
    }
}

/// At `-vv`, ansible-core says it saved each notification (for each result of a task, each item's) and,
/// as handlers start, which handler each host will run.
#[test]
fn notifications_show_at_vv_as_in_ansible() {
    let dir = scratch(
        "notify-vv",
        &[
            (
                "site.yml",
                concat!(
                    "- hosts: all\n  gather_facts: false\n  tasks:\n",
                    "    - command: echo {{ item }}\n      loop: [a, b]\n      notify: reload\n",
                    "    - command: echo once\n      notify: [reload, restart]\n",
                    "  handlers:\n    - name: restart\n      debug: msg=restart\n",
                    "    - name: reload\n      debug: msg=reload\n",
                ),
            ),
            (
                "hosts",
                "h1 ansible_connection=local\nh2 ansible_connection=local\n",
            ),
        ],
    );
    let lines = |program: &Path| {
        let (code, text) = run_args(program, &dir, &["site.yml", "-i", "hosts", "-vv"]);
        assert_eq!(code, 0, "{}\n{text}", program.display());
        text.lines()
            .filter(|l| l.starts_with("Notification for") || l.starts_with("NOTIFIED HANDLER"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let theirs = lines(&venv().join("bin/ansible-playbook"));
    let ours = lines(Path::new(super::util::playbook_bin()));
    assert_eq!(ours, theirs);
    assert!(ours.len() >= 8, "{ours:?}");
}

/// `retry_files_enabled`: after a playbook that leaves hosts failed, they are written one per line to
/// `NAME.retry` beside it (or in `retry_files_save_path`) and the run stops there; playbooks that pass each end
/// with the recap so far.
#[test]
fn retry_files_name_the_failed_hosts_as_in_ansible() {
    let dir = scratch(
        "retry",
        &[
            (
                "hosts",
                "h1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n",
            ),
            (
                "site.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - fail: msg=no\n      when: inventory_hostname != 'h1'\n",
            ),
            (
                "pass.yml",
                "- hosts: h1\n  gather_facts: false\n  tasks:\n    - debug: msg=fine\n",
            ),
        ],
    );
    let run = |program: &Path, args: &[&str], save_path: Option<&str>| {
        let _ = std::fs::remove_dir_all(dir.join("saved"));
        let _ = std::fs::remove_file(dir.join("site.retry"));
        let mut command = Command::new(program);
        in_scratch(command.args(args), &dir).env("ANSIBLE_RETRY_FILES_ENABLED", "1");
        if let Some(path) = save_path {
            command.env("ANSIBLE_RETRY_FILES_SAVE_PATH", path);
        }
        let out = command.output().expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let shown: Vec<String> = stdout
            .lines()
            .filter(|l| l.contains("to retry") || l.starts_with("PLAY ["))
            .map(str::to_string)
            .collect();
        let recaps = stdout.matches("PLAY RECAP").count();
        let file = save_path.map_or(dir.join("site.retry"), |p| Path::new(p).join("site.retry"));
        let retry = std::fs::read_to_string(file).unwrap_or_default();
        (out.status.code(), shown, recaps, retry)
    };
    let saved = dir.join("saved").join("deeper");
    let saved = saved.to_str().expect("utf-8");
    for (args, save_path) in [
        (&["site.yml", "pass.yml", "-i", "hosts"][..], None),
        (
            &["pass.yml", "pass.yml", "site.yml", "-i", "hosts"][..],
            Some(saved),
        ),
    ] {
        let theirs = run(&venv().join("bin/ansible-playbook"), args, save_path);
        let ours = run(Path::new(super::util::playbook_bin()), args, save_path);
        assert_eq!(ours, theirs, "{args:?}");
        assert_eq!(ours.3, "h2\nh3\n", "{args:?}");
    }
}
