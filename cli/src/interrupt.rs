//! What Ctrl-C (or SIGTERM) must undo: the tools faas runs (cargo, componentize-py, npm) and the
//! temporary files they write into. Each tool runs in a process group of its own
//! ([`output_of`], [`status_of`]), so the whole tree it starts can be stopped at once; a
//! temporary file is registered for as long as it exists ([`TempFile`]). On a signal, every
//! registered group is interrupted (then killed if it lingers), every registered file removed, and
//! the process exits with 128 + the signal's number, unless a server is draining its requests
//! ([`ServingGuard`]), which then exits on its own.
//!
//! The command line calls [`install`] once; without it nothing changes (the library's tests).

use rustix::process::{Pid, Signal};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The process groups of running tools and the temporary files to remove.
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    groups: Vec::new(),
    files: Vec::new(),
});
/// Servers that stop themselves on the signal (they drain requests in flight first).
static SERVING: AtomicUsize = AtomicUsize::new(0);
/// Set when a signal arrived: a tool it stopped is not a failure to report.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

struct Registry {
    groups: Vec<i32>,
    files: Vec<PathBuf>,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the thread that answers SIGINT and SIGTERM. Call it once, first thing.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("faas-interrupt".into())
        .spawn(move || {
            for signal in signals.forever() {
                INTERRUPTED.store(true, Ordering::SeqCst);
                clean_up();
                if SERVING.load(Ordering::SeqCst) == 0 {
                    std::process::exit(128 + signal);
                }
            }
        })?;
    Ok(())
}

/// Stops every registered tool (SIGINT to its group, SIGKILL after a second) and removes every
/// registered file.
fn clean_up() {
    let (groups, files) = {
        let mut registry = registry();
        (
            std::mem::take(&mut registry.groups),
            std::mem::take(&mut registry.files),
        )
    };
    for group in &groups {
        signal_group(*group, Signal::INT);
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while groups.iter().any(|g| group_alive(*g)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for group in groups.iter().filter(|g| group_alive(**g)) {
        signal_group(*group, Signal::KILL);
    }
    for file in files {
        let _ = std::fs::remove_file(file);
    }
}

fn signal_group(group: i32, signal: Signal) {
    if let Some(group) = Pid::from_raw(group) {
        let _ = rustix::process::kill_process_group(group, signal);
    }
}

fn group_alive(group: i32) -> bool {
    Pid::from_raw(group).is_some_and(|g| rustix::process::test_kill_process_group(g).is_ok())
}

/// A child registered for the signal; unregistered when dropped.
struct Registered(i32);

impl Registered {
    fn spawn(command: &mut Command) -> std::io::Result<(Child, Registered)> {
        use std::os::unix::process::CommandExt;
        // Its own group: the signal reaches the whole tree it starts, through us.
        command.process_group(0);
        let child = command.spawn()?;
        let group = child.id() as i32;
        registry().groups.push(group);
        Ok((child, Registered(group)))
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        registry().groups.retain(|g| *g != self.0);
    }
}

/// Runs `command` to completion and collects what it wrote to the streams it was given as pipes
/// ([`Command::output`] pipes both by default; here the caller sets them), in a process group of
/// its own that a signal stops.
pub fn output_of(command: &mut Command) -> std::io::Result<Output> {
    let (child, _registered) = Registered::spawn(command)?;
    let output = child.wait_with_output();
    wait_for_exit_if_interrupted();
    output
}

/// A tool the signal stopped returns here at once; the process is about to exit with the
/// signal's status, which must not lose the race to a "the tool failed" error.
fn wait_for_exit_if_interrupted() {
    while INTERRUPTED.load(Ordering::SeqCst) && SERVING.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `command` to completion as [`Command::status`] does, in a process group of its own that
/// a signal stops.
pub fn status_of(command: &mut Command) -> std::io::Result<ExitStatus> {
    let (mut child, _registered) = Registered::spawn(command)?;
    let status = child.wait();
    wait_for_exit_if_interrupted();
    status
}

/// A running tool, in a process group of its own that a signal stops, for a caller that reads
/// its output as it comes.
pub struct Running {
    /// The tool.
    pub child: Child,
    _registered: Registered,
}

impl Running {
    /// Starts `command`.
    pub fn spawn(command: &mut Command) -> std::io::Result<Running> {
        let (child, registered) = Registered::spawn(command)?;
        Ok(Running {
            child,
            _registered: registered,
        })
    }

    /// Waits for it to end.
    pub fn wait(mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait();
        wait_for_exit_if_interrupted();
        status
    }
}

/// A temporary file removed on a signal, as it is on drop: hold it while the file exists.
pub struct TempFile(PathBuf);

impl TempFile {
    /// Registers `path`.
    pub fn register(path: &Path) -> TempFile {
        registry().files.push(path.to_path_buf());
        TempFile(path.to_path_buf())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        registry().files.retain(|f| *f != self.0);
    }
}

/// Held by a server that stops itself on the signal: the process does not exit under it.
pub struct ServingGuard(());

impl ServingGuard {
    /// Marks a server running.
    pub fn new() -> ServingGuard {
        SERVING.fetch_add(1, Ordering::SeqCst);
        ServingGuard(())
    }
}

impl Default for ServingGuard {
    fn default() -> Self {
        ServingGuard::new()
    }
}

impl Drop for ServingGuard {
    fn drop(&mut self) {
        SERVING.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_tool_and_its_children_are_stopped_and_files_removed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scratch.wasm");
        std::fs::write(&file, b"partial").unwrap();
        let guard = TempFile::register(&file);
        // A shell that starts a grandchild ignoring SIGINT: only the group's SIGKILL ends it.
        let pid_file = dir.path().join("grandchild.pid");
        let script = format!(
            "trap '' INT; sleep 30 & echo $! > {}; wait",
            pid_file.display()
        );
        let mut command = Command::new("sh");
        command.args(["-c", &script]);
        let waiter = std::thread::spawn(move || status_of(&mut command).unwrap());
        let started = Instant::now();
        while !pid_file.exists()
            || std::fs::read_to_string(&pid_file)
                .unwrap()
                .trim()
                .is_empty()
        {
            assert!(started.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(10));
        }
        let grandchild: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        clean_up();
        assert!(!waiter.join().unwrap().success());
        assert!(!file.exists(), "the registered file is removed");
        // The grandchild, in the tool's group, is gone too (reaped by init, or a zombie at most).
        let deadline = Instant::now() + Duration::from_secs(5);
        let gone = || {
            std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                .map(|stat| stat.split_whitespace().nth(2) == Some("Z"))
                .unwrap_or(true)
        };
        while !gone() {
            assert!(Instant::now() < deadline, "the grandchild survived");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(guard);
        assert!(registry().files.is_empty() && registry().groups.is_empty());
    }
}
