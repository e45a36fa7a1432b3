//! The `soda-server` binary as scripts use it: started as a process, its first stdout line names the URL, and
//! SODA requests to it answer what the generator (or the sample file) holds.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use soda_testkit::generate::{self, Schema};
use soda_testkit::samples;

use crate::client::{get, resource};
use crate::expect::{expected_by_month, s, spec};

/// A running `soda-server`, killed if a test fails before it ends.
struct Process {
    child: Child,
    stdout: BufReader<ChildStdout>,
    url: String,
}

impl Process {
    /// Starts the binary and reads its first line, which must be `listening on http://127.0.0.1:PORT`.
    fn start(args: &[&str]) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_soda-server"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start soda-server");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the first line");
        let url = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("listening on "))
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .to_string();
        let port = url.strip_prefix("http://127.0.0.1:").unwrap_or_else(|| panic!("loopback URL: {url}"));
        assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "a real port: {url}");
        Process { child, stdout, url }
    }

    /// Waits for the process to end (a generous bound only so a broken binary fails the test instead of hanging
    /// it), and checks that it printed nothing after its first line.
    fn wait(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            match self.child.try_wait().expect("poll soda-server") {
                Some(status) => break status,
                None if Instant::now() > deadline => panic!("soda-server did not exit"),
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).expect("read the rest of stdout");
        assert_eq!(rest, "", "exactly one line on stdout");
        status
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// month (YYYY-MM) → count(*), as the server answers a grouped count over `field`.
fn counts_by_month(url: &str, field: &str) -> BTreeMap<String, u64> {
    let select = format!("date_trunc_ym({field}) AS month, count(*) AS n");
    let reply = get(url, &resource(&[("$select", &select), ("$group", "month"), ("$order", "month")]));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply
        .rows()
        .iter()
        .map(|r| (s(r, "month").expect("month")[..7].to_string(), s(r, "n").expect("n").parse().expect("count")))
        .collect()
}

#[test]
fn soda_server_serves_the_generators_rows_and_exits_when_stdin_closes() {
    let args = ["--rows", "2500", "--seed", "7", "--since", "2024-01", "--until", "2024-06", "--exit-on-stdin-eof"];
    let mut server = Process::start(&args);
    let rows = generate::rows(&spec(7, "2024-01", "2024-06", 2500, Schema::Nibrs));
    let want: BTreeMap<String, u64> =
        expected_by_month(&rows, "report_date_time").into_iter().map(|(m, (n, _))| (m, n)).collect();
    assert_eq!(want.len(), 6);
    assert_eq!(counts_by_month(&server.url, "report_date_time"), want);

    drop(server.child.stdin.take());
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn soda_server_with_a_response_cache_answers_alike_twice() {
    let args = ["--rows", "2500", "--seed", "7", "--since", "2024-01", "--until", "2024-06", "--response-cache"];
    let server = Process::start(&args);
    let rows = generate::rows(&spec(7, "2024-01", "2024-06", 2500, Schema::Nibrs));
    let want: BTreeMap<String, u64> =
        expected_by_month(&rows, "report_date_time").into_iter().map(|(m, (n, _))| (m, n)).collect();
    assert_eq!(counts_by_month(&server.url, "report_date_time"), want, "computed");
    assert_eq!(counts_by_month(&server.url, "report_date_time"), want, "from the cache");
}

#[test]
fn soda_server_serves_the_real_samples_and_ends_on_sigterm() {
    let server = Process::start(&["--samples"]);
    let pull1 = samples::pull1();
    let want: BTreeMap<String, u64> =
        expected_by_month(&pull1, "report_datetime").into_iter().map(|(m, (n, _))| (m, n)).collect();
    assert_eq!(counts_by_month(&server.url, "report_datetime"), want);
    assert_eq!(want.values().sum::<u64>(), 4078);

    let pid = libc::pid_t::try_from(server.child.id()).expect("pid");
    // SAFETY: sends a signal to our own child, which is still running (not yet waited for).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(server.wait().code(), Some(0), "SIGTERM ends soda-server with status 0");
}

#[test]
fn soda_server_rejects_a_bad_flag_with_one_line_and_exit_code_2() {
    for args in
        [&["--schema", "weird"][..], &["--since", "2024-13"], &["--until", "2021-12"], &["--samples", "--rows", "5"]]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_soda-server")).args(args).output().expect("run soda-server");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(stderr.starts_with("soda-server: ") && stderr.contains(args[0]), "{args:?}: names the flag: {stderr}");
    }
}
