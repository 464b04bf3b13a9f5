//! Prompts at a terminal: `vars_prompt` and `pause` with a `prompt` read what is typed there. Both engines run
//! the same self-checking playbook under a pseudo-terminal (`script` from util-linux), answered as each
//! prompt appears.

use super::differential::venv;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PLAYBOOK: &str = r#"- hosts: localhost
  gather_facts: false
  vars_prompt:
    - name: asked
      prompt: Your name
      private: false
    - name: hidden
      prompt: A secret
  tasks:
    - pause:
        prompt: Type something
      register: typed
    - assert:
        that:
          - asked == 'Ada'
          - hidden == 's3cret'
          - typed.user_input == 'hello there'
"#;

/// Runs `program` on the playbook under a terminal, answering each prompt when its text appears; the exit
/// code and what the terminal showed.
fn run_at_terminal(program: &Path, dir: &Path, answers: &[(&str, &str)]) -> (i32, String) {
    let line = format!("{} prompts.yml -i localhost, -c local", program.display());
    let mut child = super::errors::in_scratch(
        Command::new("script").args(["-qec", &line, "/dev/null"]),
        dir,
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("script runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut next = 0;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Some((prompt, answer)) = answers.get(next)
            && seen.matches(prompt).count() > 0
            && seen
                .rfind(prompt)
                .is_some_and(|at| at >= seen.len().saturating_sub(200))
        {
            // Give the program the moment it takes to turn echo off and read.
            std::thread::sleep(Duration::from_millis(300));
            stdin
                .write_all(format!("{answer}\r").as_bytes())
                .expect("answer");
            stdin.flush().expect("flush");
            next += 1;
        }
    }
    drop(stdin);
    let status = child.wait().expect("script ends");
    (status.code().unwrap_or(-1), seen)
}

#[test]
fn prompts_read_what_is_typed_at_a_terminal() {
    let dir = std::env::temp_dir().join(format!("pb-terminal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    std::fs::write(dir.join("prompts.yml"), PLAYBOOK).expect("playbook");
    std::fs::write(dir.join("ansible.cfg"), "").expect("ansible.cfg");
    let answers = [
        ("Your name", "Ada"),
        ("A secret", "s3cret"),
        ("Type something", "hello there"),
    ];
    let ansible = venv().join("bin/ansible-playbook");
    let ours = Path::new(super::util::playbook_bin());
    for program in [ansible.as_path(), ours] {
        let (code, shown) = run_at_terminal(program, &dir, &answers);
        assert_eq!(code, 0, "{}\n{shown}", program.display());
        assert!(shown.contains("failed=0"), "{}\n{shown}", program.display());
        assert!(
            !shown.contains("s3cret"),
            "{}: the private answer was echoed\n{shown}",
            program.display()
        );
    }
}
