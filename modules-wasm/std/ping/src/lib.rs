//! `ping`: proves the runner can load and run a module on the host. Returns `ping: pong` (or `data`).
//!
//! As in Ansible, `data: crash` makes the module fail on purpose, to test error handling.
use playbook_module_sdk::{Context, Description, Failure, Module, Outcome};

struct Ping;

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default = "pong")]
    data: String,
}

fn pong() -> String {
    "pong".into()
}

impl Module for Ping {
    type Args = Args;

    fn describe() -> Description {
        Description {
            name: "ping".into(),
            summary: "Try to connect to the host and run a module there; return pong".into(),
            needs: Vec::new(),
            supports_check_mode: true,
        }
    }

    fn run(args: Args, _ctx: &Context) -> Result<Outcome, Failure> {
        if args.data == "crash" {
            return Err(Failure::new("boom"));
        }
        Ok(Outcome::unchanged().with("ping", args.data))
    }
}

playbook_module_sdk::module!(Ping);
