//! `i2p-e2e-sweep`: removes what killed e2e test runs left behind — namespaces named `i2pe2e-*`
//! whose recorded owner process is dead, and the processes that owner recorded (only while their
//! start time and cmdline tag still match). Live runs are never touched. scripts/test.sh runs it
//! after the e2e tests, because a test killed by a timeout cannot clean up itself.

fn main() {
    let report = i2p_e2e::process::sweep_stale();
    for (pid, tag) in &report.processes_stopped {
        println!("stopped pid {pid} ({tag})");
    }
    for ns in &report.namespaces_deleted {
        println!("deleted namespace {ns}");
    }
    for note in &report.left_alone {
        println!("left alone: {note}");
    }
    if report.is_empty() && report.left_alone.is_empty() {
        println!("i2p-e2e-sweep: nothing to clean");
    }
}
