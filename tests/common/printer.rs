//! A real IPP Everywhere printer for tests: CUPS' `ippeveprinter` (package cups-ipp-utils),
//! advertising colour (`-s 10,10`: a colour speed above 0) and two-sided printing (`-2`), so
//! `print-color-mode-supported` is `auto,color,monochrome` and `sides-supported`
//! `one-sided,two-sided-long-edge,two-sided-short-edge`. It keeps every printed document
//! (`-k`) in its spool directory and runs a [`PrinterCommand`] for each job.
//!
//! `ippeveprinter` needs a D-Bus system bus for its DNS-SD client even with DNS-SD off, so each
//! printer gets a private bus (no machine-wide daemon is touched).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, wait_for_port};

/// What the printer does with each job (`ippeveprinter -c`; the command gets the document's
/// path, the job's attributes as `IPP_*` environment variables, and may report back on
/// standard error with `ATTR:`, `STATE:` and `ERROR:` lines — `man ippeveprinter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterCommand {
    /// Prints every job (`/bin/true`): completed.
    Keep,
    /// Fails every job after its first page, as a real printer failing mid-job: reports one of
    /// three impressions done, waits a second (the job is `processing`), says why on standard
    /// error and exits 1, so `ippeveprinter` aborts the job (`aborted-by-system`).
    Fail,
    /// Prints every job and writes down its `IPP_*` environment, one block per job, for
    /// [`Printer::job_attributes`].
    Record,
    /// Prints the job, then reports the paper ran out (`STATE: +media-empty`): from then on
    /// the printer lists `media-empty-report` (`ippeveprinter` suffixes every reason by its
    /// state: `-report` while idle) until it is restarted.
    RunsOutOfPaper,
    /// Takes two seconds per job, then prints it: while one job prints, `ippeveprinter`
    /// answers the next Print-Job `server-error-busy`.
    Slow,
}

pub struct Printer {
    pub port: u16,
    dir: PathBuf,
    spool: PathBuf,
    bus: PathBuf,
    name: String,
    command: PathBuf,
    dbus: Child,
    ipp: Option<Child>,
}

impl Printer {
    /// The library's printer: prints every job.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, "Library Printer", PrinterCommand::Keep)
    }

    /// A printer named `name` (its DNS-SD service name) that runs `command` for each job. Its
    /// files live in `dir/printer-PORT/`, so several printers can share `dir`.
    pub fn start_with(dir: &Path, name: &str, command: PrinterCommand) -> Self {
        let port = free_port();
        let dir = dir.join(format!("printer-{port}"));
        let spool = dir.join("spool");
        std::fs::create_dir_all(&spool).unwrap();
        let command = write_command(&dir, command);
        let (bus, dbus) = start_bus(&dir);
        let mut printer = Self { port, dir, spool, bus, name: name.to_owned(), command, dbus, ipp: None };
        printer.power_on();
        printer
    }

    pub fn uri(&self) -> String {
        format!("ipp://127.0.0.1:{}/ipp/print", self.port)
    }

    /// Starts (or restarts) the printer on its port.
    pub fn power_on(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("ippeveprinter.log")).unwrap();
        let child = Command::new("ippeveprinter")
            .env("DBUS_SYSTEM_BUS_ADDRESS", format!("unix:path={}", self.bus.display()))
            .args(["-r", "off", "-k", "-f", "application/pdf", "-n", "localhost", "-2", "-s", "10,10"])
            .arg("-c")
            .arg(&self.command)
            .arg("-d")
            .arg(&self.spool)
            .args(["-p", &self.port.to_string(), &self.name])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ippeveprinter (package cups-ipp-utils) must be installed");
        self.ipp = Some(child);
        wait_for_port(self.port, Duration::from_secs(15));
    }

    /// Stops the printer process (nothing answers on its port).
    pub fn power_off(&mut self) {
        if let Some(mut c) = self.ipp.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes the printer process (SIGSTOP): connections are still accepted by the kernel,
    /// but nothing answers, as with a printer that hangs. [`Self::thaw`] lets it go on.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.ipp.as_ref().expect("the printer is off").id();
        assert!(Command::new("kill").arg(signal).arg(pid.to_string()).status().unwrap().success());
    }

    /// Every document the printer kept.
    pub fn printed(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.spool)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
            .collect();
        files.sort();
        files
    }

    /// With [`PrinterCommand::Record`]: the `IPP_*` environment of each job received, in
    /// order. `ippeveprinter` passes every job attribute of the request as `IPP_NAME` (upper
    /// case, `-` as `_`; e.g. `IPP_PRINT_COLOR_MODE=monochrome`, `IPP_SIDES`, `IPP_COPIES`,
    /// `IPP_JOB_NAME`, `IPP_PAGE_RANGES=1-3`, `IPP_JOB_ORIGINATING_USER_NAME`) plus its own
    /// `IPP_*_DEFAULT` values; an attribute the request left out is not there (only its
    /// default).
    pub fn job_attributes(&self) -> Vec<HashMap<String, String>> {
        let text = std::fs::read_to_string(self.dir.join("jobs.env")).unwrap_or_default();
        text.split("\n\n")
            .filter(|block| !block.trim().is_empty())
            .map(|block| block.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
            .collect()
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.power_off();
        let _ = self.dbus.kill();
        let _ = self.dbus.wait();
    }
}

/// The job command as a script in `dir` (or `/bin/true`).
fn write_command(dir: &Path, command: PrinterCommand) -> PathBuf {
    let record = dir.join("jobs.env");
    let script = match command {
        PrinterCommand::Keep => return PathBuf::from("/bin/true"),
        PrinterCommand::Fail => "echo 'ATTR: job-impressions=3 job-impressions-completed=1' >&2\n\
             sleep 1\n\
             echo 'ERROR: paper path failure after page 1' >&2\n\
             exit 1\n"
            .to_owned(),
        // One block per job, ended by an empty line; appended at once so blocks never mix.
        PrinterCommand::Record => {
            format!("block=\"$(env | grep '^IPP_' | sort)\"\nprintf '%s\\n\\n' \"$block\" >> '{}'\nexit 0\n", record.display())
        }
        PrinterCommand::RunsOutOfPaper => "echo 'STATE: +media-empty' >&2\nexit 0\n".to_owned(),
        PrinterCommand::Slow => "sleep 2\nexit 0\n".to_owned(),
    };
    let path = dir.join("job-command.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A private D-Bus system bus in `dir/dbus`; returns its socket and the daemon.
fn start_bus(dir: &Path) -> (PathBuf, Child) {
    let bus_dir = dir.join("dbus");
    std::fs::create_dir_all(&bus_dir).unwrap();
    let bus = bus_dir.join("socket");
    std::fs::write(
        bus_dir.join("bus.conf"),
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>"#,
            bus.display()
        ),
    )
    .unwrap();
    let dbus = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", bus_dir.join("bus.conf").display()))
        .arg("--nofork")
        .stdout(Stdio::null())
        .spawn()
        .expect("dbus-daemon (package dbus) must be installed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bus.exists() {
        assert!(Instant::now() < deadline, "private D-Bus did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (bus, dbus)
}
