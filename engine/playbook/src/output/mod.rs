//! Event sinks: [`default`] prints what ansible-playbook prints; [`report`] writes a JSON report.

pub mod adhoc;
pub mod default;
pub mod report;
