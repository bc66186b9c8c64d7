//! The release binary end to end, as a user runs it (a plain `main`, not criterion).
//!
//! 1. **Live**: a loopback API server (tests/suite/support/apiserver) serves a synthetic cluster of
//!    50,000 LoadBalancer services and 1,000 pools; `kubectl-metalpool usage -o json` and the
//!    real `kubectl get svc -A -o json --cache-dir <fresh dir>` run against it, alternately,
//!    several times each. Printed: median wall time and median peak RSS of each child, and
//!    the plugin/kubectl ratios against the targets (≤ 0.012× the wall time, ≤ 0.08× the
//!    peak RSS), and the requests, services pages and TCP connections of each per run.
//! 2. **Remote**: the same cluster behind a slow network (`METALPOOL_BENCH_RTT_MS`, default
//!    30: every response leaves that long after its request, and every new connection costs
//!    one round trip more). Printed: the plugin's median wall time against the 1 s target,
//!    and per run the requests it made, the services pages among them (sequential: each
//!    needs the previous page's `continue` token) and the TCP connections it opened.
//! 3. **Offline**: `kubectl-metalpool usage -f <dump> -o json` on the same cluster written as
//!    one YAML `kind: List` and as one JSON `List`. Printed: median wall time, peak RSS and
//!    MB/s of input.
//!
//! The three answers (live, YAML, JSON) are checked to be the same report first: the
//! numbers are only worth something if the plugin read the whole cluster.
//!
//! ```sh
//! cargo build --release && cargo bench --bench end_to_end
//! ```
//!
//! `cargo bench --bench end_to_end -- --write-dumps DIR` only writes the two dumps into DIR
//! (to time or profile one command by hand) and exits.
//!
//! `cargo bench --bench end_to_end -- --serve DIR` only serves the live rows' cluster, with
//! `DIR/kubeconfig` pointing at it, until interrupted; with `METALPOOL_BENCH_RTT_MS` set, as
//! a remote server that far away.
//!
//! It runs `target/release/kubectl-metalpool` (or `$CARGO_TARGET_DIR/release/…`) and fails
//! when it is missing. `METALPOOL_BENCH_RUNS` (default 5) and `METALPOOL_BENCH_SERVICES`
//! (default 50000) change the size of a run; `METALPOOL_BENCH_KUBECTL` names another kubectl
//! than the one on `PATH`, `METALPOOL_BENCH_PLUGIN` another build of the plugin (to compare
//! two versions).

// The loopback API server of the integration tests: the bench uses only part of it, and
// none of its unit tests (a bench builds no `#[test]`s, so their imports go unused).
#[allow(dead_code, unused_imports)]
#[path = "../tests/suite/support/mod.rs"]
mod kube_support;
mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kube_support::apiserver::{ApiServer, KubeconfigContext, ServerOptions};
use kube_support::kubectl::kubectl_binary;
use serde_json::Value;
use support::synth::{Params, Synthetic};

const POOLS: usize = 1_000;
const WALL_TARGET: f64 = 0.012;
const RSS_TARGET: f64 = 0.08;
/// The `metallb.io` resources the synthetic cluster's MetalLB (v0.15.2, by its controller
/// image) serves: all but `configurationstates`, which v0.15.3 added. Serving them all
/// would make the live answer warn that CRDs and image disagree, and differ from `-f`.
const CRDS_0_15_2: &[&str] = &[
    "bfdprofiles",
    "bgpadvertisements",
    "bgppeers",
    "communities",
    "ipaddresspools",
    "l2advertisements",
    "servicebgpstatuses",
    "servicel2statuses",
];

/// The loopback API server for the synthetic cluster, `round_trip` away.
fn server_options(round_trip: Option<Duration>) -> ServerOptions {
    ServerOptions {
        metallb_resources: Some(CRDS_0_15_2),
        round_trip,
        ..ServerOptions::default()
    }
}

/// The remote row's target: the whole command, behind the round trip.
const REMOTE_TARGET: Duration = Duration::from_secs(1);

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// The release binary (or `METALPOOL_BENCH_PLUGIN`); exits with a clear message when it
/// has not been built.
fn plugin_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let binary = std::env::var_os("METALPOOL_BENCH_PLUGIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("release").join("kubectl-metalpool"));
    if !binary.is_file() {
        eprintln!(
            "error: {} is missing: build it first with `cargo build --release`",
            binary.display()
        );
        std::process::exit(2);
    }
    binary
}

/// One finished child process.
#[derive(Clone, Copy, Debug)]
struct Measure {
    wall: Duration,
    /// Peak resident set size, KiB (`ru_maxrss`).
    max_rss_kib: i64,
    /// CPU time of the command (user + system).
    cpu: Duration,
    /// CPU time this process spent meanwhile: the loopback API server's threads (the main
    /// thread only waits).
    server_cpu: Duration,
}

fn cpu_time(usage: &libc::rusage) -> Duration {
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// CPU time of this process so far.
fn own_cpu() -> Duration {
    // SAFETY: `rusage` is plain old data that `getrusage` fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let done = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(done, 0, "getrusage failed");
    cpu_time(&usage)
}

/// The first argument that makes this binary the measuring parent of one command.
const MEASURE_CHILD: &str = "--measure-child";

/// Runs `command` to completion and measures it: wall time from spawn to reaping, and the
/// command's own peak RSS from `wait4`. Panics when it fails, showing its stderr.
///
/// The command is started by a fresh copy of this binary (`--measure-child`), not by this
/// process: on Linux a child's `ru_maxrss` starts from the resident size of the process
/// that forked it (`exec` records the old address space's high-water mark), and this
/// process holds the whole synthetic cluster and the API server. The small intermediate
/// process keeps that out of the number.
fn measure(command: &Command, stdout: Stdio, stderr_path: &Path) -> Measure {
    let result = stderr_path.with_extension("measure");
    let mut wrapper = Command::new(std::env::current_exe().expect("this benchmark's path"));
    wrapper
        .arg(MEASURE_CHILD)
        .arg(&result)
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapper.env(key, value),
            None => wrapper.env_remove(key),
        };
    }
    let stderr = File::create(stderr_path).expect("create the stderr file");
    let server_before = own_cpu();
    let status = wrapper
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .status()
        .unwrap_or_else(|e| panic!("cannot start {wrapper:?}: {e}"));
    let server_cpu = own_cpu().saturating_sub(server_before);
    if !status.success() {
        let text = std::fs::read_to_string(stderr_path).unwrap_or_default();
        panic!("{command:?} failed ({status}):\n{text}");
    }
    let text = std::fs::read_to_string(&result).expect("the measuring child's result");
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<u64>().expect("a number"));
    let (Some(nanos), Some(max_rss_kib), Some(cpu_micros)) =
        (fields.next(), fields.next(), fields.next())
    else {
        panic!("malformed measurement {text:?}");
    };
    Measure {
        wall: Duration::from_nanos(nanos),
        max_rss_kib: max_rss_kib as i64,
        cpu: Duration::from_micros(cpu_micros),
        server_cpu,
    }
}

/// `--measure-child RESULT PROGRAM ARGS…`: runs the program with this process's standard
/// streams and environment, reaps it with `wait4`, writes `wall-nanoseconds max-rss-kib
/// cpu-microseconds` to RESULT and exits with the program's status.
fn measure_child(args: &[String]) -> ! {
    let [result, program, rest @ ..] = args else {
        eprintln!("usage: {MEASURE_CHILD} RESULT PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let start = Instant::now();
    let child = Command::new(program)
        .args(rest)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain old data; `wait4` fills it and `status` for our own child,
    // which `Child` never waits for afterwards (dropping it does not wait).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    drop(child);
    assert_eq!(
        reaped,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let line = format!(
        "{} {} {}\n",
        wall.as_nanos(),
        usage.ru_maxrss,
        cpu_time(&usage).as_micros()
    );
    std::fs::write(result, line).expect("write the measurement");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        eprintln!("{program} ended by signal (wait status {status})");
        1
    };
    std::process::exit(code);
}

fn median_wall(runs: &[Measure]) -> Duration {
    let mut walls: Vec<Duration> = runs.iter().map(|m| m.wall).collect();
    walls.sort();
    walls[walls.len() / 2]
}

fn median_rss(runs: &[Measure]) -> i64 {
    let mut rss: Vec<i64> = runs.iter().map(|m| m.max_rss_kib).collect();
    rss.sort();
    rss[rss.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn summary(label: &str, runs: &[Measure]) {
    let walls: Vec<String> = runs.iter().map(|m| format!("{:.0}", ms(m.wall))).collect();
    println!(
        "{label:<34} median {:>8.1} ms   peak RSS {:>7.1} MiB   CPU {:>8.1} ms   server CPU {:>7.1} ms   (runs, ms: {})",
        ms(median_wall(runs)),
        mib(median_rss(runs)),
        ms(median(runs.iter().map(|m| m.cpu).collect())),
        ms(median(runs.iter().map(|m| m.server_cpu).collect())),
        walls.join(" ")
    );
}

/// What a server has been asked so far.
#[derive(Default)]
struct Traffic {
    requests: usize,
    service_pages: usize,
    connections: usize,
}

impl Traffic {
    fn of(server: &ApiServer) -> Traffic {
        let requests = server.requests();
        Traffic {
            requests: requests.len(),
            service_pages: requests
                .iter()
                .filter(|r| r.path == "/api/v1/services")
                .count(),
            connections: server.connections(),
        }
    }

    fn print(&self) {
        println!(
            "{:<34} per run: {} requests ({} services pages, one after another), {} TCP connections",
            "", self.requests, self.service_pages, self.connections
        );
    }

    fn since(&self, before: &Traffic) -> Traffic {
        Traffic {
            requests: self.requests - before.requests,
            service_pages: self.service_pages - before.service_pages,
            connections: self.connections - before.connections,
        }
    }
}

/// The JSON a command printed to `path`.
fn report_of(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read the plugin's output");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the plugin printed invalid JSON ({e}): {}", path.display()))
}

/// The JSON path of the first place two values differ.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(u), Some(v)) => first_difference(u, v, format!("{at}.{k}")),
                _ => Some(format!("{at}.{k} (present on one side only)")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} vs {b}")),
    }
}

/// `--write-dumps DIR`: writes the offline rows' inputs, `DIR/cluster.yaml` and
/// `DIR/cluster.json`, and exits, to profile or time one command by hand.
const WRITE_DUMPS: &str = "--write-dumps";

fn write_dumps(dir: &Path, services: usize) {
    std::fs::create_dir_all(dir).expect("create the dump directory");
    let synthetic = Synthetic::generate(Params::new(services, POOLS));
    for (name, write) in [
        (
            "cluster.yaml",
            Synthetic::write_yaml as fn(&Synthetic, &Path) -> _,
        ),
        ("cluster.json", Synthetic::write_json),
    ] {
        let path = dir.join(name);
        let bytes = write(&synthetic, &path).expect("write a dump");
        println!("{}: {:.1} MB", path.display(), bytes as f64 / 1e6);
    }
}

/// `--serve DIR`: serves the live rows' cluster on the loopback API server, writes
/// `DIR/kubeconfig` for it, and runs until interrupted, to time or profile a command by
/// hand (`KUBECONFIG=DIR/kubeconfig kubectl-metalpool usage`).
const SERVE: &str = "--serve";

fn serve(dir: &Path, services: usize) -> ! {
    std::fs::create_dir_all(dir).expect("create the kubeconfig directory");
    let synthetic = Synthetic::generate(Params::new(services, POOLS));
    let round_trip = std::env::var_os("METALPOOL_BENCH_RTT_MS")
        .map(|_| Duration::from_millis(env_number("METALPOOL_BENCH_RTT_MS", 0) as u64));
    let server = ApiServer::start(synthetic.objects(), server_options(round_trip));
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, &KubeconfigContext::default());
    println!(
        "serving {services} services at {}; KUBECONFIG={}; interrupt to stop",
        server.url(),
        kubeconfig.display()
    );
    loop {
        std::thread::park();
    }
}

/// The directory given after `flag`, when `flag` is among `args`; exits with a usage line
/// when it has none.
fn directory_after<'a>(args: &'a [String], flag: &str) -> Option<&'a Path> {
    let at = args.iter().position(|a| a == flag)?;
    match args.get(at + 1) {
        Some(dir) => Some(Path::new(dir)),
        None => {
            eprintln!("usage: {flag} DIR");
            std::process::exit(2);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(MEASURE_CHILD) {
        measure_child(&args[2..]);
    }
    let runs = env_number("METALPOOL_BENCH_RUNS", 5).max(1);
    let services = env_number("METALPOOL_BENCH_SERVICES", 50_000);
    if let Some(dir) = directory_after(&args, WRITE_DUMPS) {
        write_dumps(dir, services);
        return;
    }
    if let Some(dir) = directory_after(&args, SERVE) {
        serve(dir, services);
    }
    let plugin = plugin_binary();
    println!("plugin: {}", plugin.display());
    let kubectl = std::env::var_os("METALPOOL_BENCH_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(kubectl_binary);
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let dir = &scratch.path().to_path_buf();

    let started = Instant::now();
    let synthetic = Synthetic::generate(Params::new(services, POOLS));
    let s = &synthetic.stats;
    println!("kubectl: {}", kubectl.display());
    println!(
        "cluster: {services} LoadBalancer services ({} allocated, {} pending, {} sharing, {} dual-stack, {} IPv6), {} pools, {} namespaces, {} events; generated in {:.1} s",
        s.allocated,
        s.pending,
        s.shared,
        s.dual_stack,
        s.ipv6,
        synthetic.pools.len(),
        synthetic.namespaces.len(),
        synthetic.events.len(),
        started.elapsed().as_secs_f64()
    );
    let yaml = dir.join("cluster.yaml");
    let json = dir.join("cluster.json");
    let yaml_bytes = synthetic.write_yaml(&yaml).expect("write the YAML dump");
    let json_bytes = synthetic.write_json(&json).expect("write the JSON dump");

    let started = Instant::now();
    let server = ApiServer::start(synthetic.objects(), server_options(None));
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, &KubeconfigContext::default());
    let round_trip = Duration::from_millis(env_number("METALPOOL_BENCH_RTT_MS", 30) as u64);
    let remote = ApiServer::start(synthetic.objects(), server_options(Some(round_trip)));
    let remote_kubeconfig = dir.join("remote-kubeconfig");
    remote.write_kubeconfig(&remote_kubeconfig, &KubeconfigContext::default());
    drop(synthetic);
    println!(
        "loopback API server at {} loaded in {:.1} s",
        server.url(),
        started.elapsed().as_secs_f64()
    );
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("a scratch HOME");
    let stderr = dir.join("stderr.txt");

    let plugin_live_at = |kubeconfig: &Path| {
        let mut command = Command::new(&plugin);
        command
            .args(["usage", "-o", "json"])
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", &home)
            .env("NO_COLOR", "1");
        command
    };
    let plugin_live = || plugin_live_at(&kubeconfig);
    let mut cache_dirs = 0;
    let mut kubectl_get = || {
        cache_dirs += 1;
        let cache = dir.join(format!("kubectl-cache-{cache_dirs}"));
        let mut command = Command::new(&kubectl);
        command
            .args(["get", "svc", "-A", "-o", "json", "--cache-dir"])
            .arg(&cache)
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", &home);
        command
    };
    let plugin_offline = |file: &Path| {
        let mut command = Command::new(&plugin);
        command
            .args(["usage", "-o", "json", "-f"])
            .arg(file)
            .env("HOME", &home)
            .env("NO_COLOR", "1");
        command
    };
    let to_file = |name: &str| Stdio::from(File::create(dir.join(name)).expect("an output file"));

    // First runs: warm the page cache, and check every path reads the whole cluster.
    measure(&plugin_live(), to_file("live.json"), &stderr);
    measure(&kubectl_get(), to_file("kubectl.json"), &stderr);
    measure(&plugin_offline(&yaml), to_file("yaml.json"), &stderr);
    measure(&plugin_offline(&json), to_file("json.json"), &stderr);
    let live = report_of(&dir.join("live.json"));
    let listed = report_of(&dir.join("kubectl.json"));
    let items = listed["items"].as_array().map_or(0, Vec::len);
    assert_eq!(items, services, "kubectl listed {items} services");
    assert_eq!(live["configValid"], true, "the configuration must be valid");
    for (name, file) in [("YAML", "yaml.json"), ("JSON", "json.json")] {
        let offline = report_of(&dir.join(file));
        if let Some(at) = first_difference(&live, &offline, String::new()) {
            let kept = scratch.keep();
            panic!(
                "usage -f on the {name} dump differs from the live answer at {at}; outputs kept in {}",
                kept.display()
            );
        }
    }
    let held: u64 = live["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .map(|p| p["services"].as_array().map_or(0, Vec::len) as u64)
        .sum();
    println!(
        "checked: live, YAML and JSON answers agree ({} pools, {held} services holding addresses); kubectl listed {items} services\n",
        live["pools"].as_array().map_or(0, Vec::len)
    );

    println!("live ({runs} runs each, alternating):");
    let mut plugin_runs = Vec::new();
    let mut kubectl_runs = Vec::new();
    let (mut plugin_traffic, mut kubectl_traffic) = (Traffic::default(), Traffic::default());
    for _ in 0..runs {
        let before = Traffic::of(&server);
        plugin_runs.push(measure(&plugin_live(), Stdio::null(), &stderr));
        let between = Traffic::of(&server);
        kubectl_runs.push(measure(&kubectl_get(), Stdio::null(), &stderr));
        plugin_traffic = between.since(&before);
        kubectl_traffic = Traffic::of(&server).since(&between);
    }
    summary("kubectl-metalpool usage -o json", &plugin_runs);
    plugin_traffic.print();
    summary("kubectl get svc -A -o json", &kubectl_runs);
    kubectl_traffic.print();
    let wall_ratio =
        median_wall(&plugin_runs).as_secs_f64() / median_wall(&kubectl_runs).as_secs_f64();
    let rss_ratio = median_rss(&plugin_runs) as f64 / median_rss(&kubectl_runs) as f64;
    println!(
        "ratio plugin/kubectl: wall {wall_ratio:.3} (target <= {WALL_TARGET}: {}), peak RSS {rss_ratio:.3} (target <= {RSS_TARGET}: {})\n",
        verdict(wall_ratio <= WALL_TARGET),
        verdict(rss_ratio <= RSS_TARGET)
    );

    println!(
        "remote: the same cluster {} ms away ({runs} runs):",
        round_trip.as_millis()
    );
    let mut remote_runs = Vec::new();
    let mut seen = Traffic::default();
    for _ in 0..runs {
        let before = Traffic::of(&remote);
        remote_runs.push(measure(
            &plugin_live_at(&remote_kubeconfig),
            Stdio::null(),
            &stderr,
        ));
        seen = Traffic::of(&remote).since(&before);
    }
    summary("kubectl-metalpool usage -o json", &remote_runs);
    seen.print();
    println!(
        "{:<34} target <= {} ms: {}\n",
        "",
        REMOTE_TARGET.as_millis(),
        verdict(median_wall(&remote_runs) <= REMOTE_TARGET)
    );

    println!("offline ({runs} runs each):");
    for (label, file, bytes) in [
        ("usage -f cluster.yaml", &yaml, yaml_bytes),
        ("usage -f cluster.json", &json, json_bytes),
    ] {
        let measured: Vec<Measure> = (0..runs)
            .map(|_| measure(&plugin_offline(file), Stdio::null(), &stderr))
            .collect();
        summary(label, &measured);
        let mb = bytes as f64 / 1e6;
        println!(
            "{:<34} input {mb:.1} MB -> {:.1} MB/s",
            "",
            mb / median_wall(&measured).as_secs_f64()
        );
    }
}
