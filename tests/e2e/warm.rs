//! Warm instances: `faas serve --pool-size` reusing WASI 0.3 instances as wasmCloud's host does
//! with `poolSize`, and the check that a reused instance keeps nothing of one caller for the next
//! (run here and on `wash host`, on_wash_host.rs). The plain WASI 0.3 component behind the policy
//! (`fixtures/components/p3-app`) says in each answer how many requests its instance has handled.

use crate::common::*;
use crate::p3::protected_app;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// What [`interleave_callers`] saw.
pub(crate) struct Interleaved {
    /// Allowed answers per subject (`-` for a public route).
    pub allowed: BTreeMap<String, usize>,
    /// The most requests one instance had handled when it answered: above 1, instances were reused.
    pub most_calls_on_one_instance: u64,
}

/// 1,000 calls, 4 at a time, from two keys, a wrong key and no credential, to a public, a keyed
/// and an admin route of the protected p3-app (policy fixtures/policies/http-component.toml), with
/// `host` as the `Host` header: every answer must be the one its own credential earns, name its
/// own caller, carry no credential and a trace of its own.
pub(crate) fn interleave_callers(addr: &str, host: &str) -> Interleaved {
    // (credential, its subject) × (path, the scope it needs): the answer each pair earns.
    let callers = [
        (Some("test-reader-key"), Some("reader")),
        (Some("test-admin-key"), Some("admin")),
        (Some("not-a-key"), None),
        (None, None),
    ];
    let paths = ["/health", "/items/1", "/admin/x"];
    let expected = |caller: usize, path: usize| -> (u16, Option<&str>) {
        let subject = callers[caller].1;
        match (paths[path], subject) {
            ("/health", _) => (200, None),
            (_, None) => (401, None),
            ("/admin/x", Some("reader")) => (403, None),
            (_, subject) => (200, subject),
        }
    };
    let answers = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (answers, callers) = (&answers, &callers);
            scope.spawn(move || {
                for i in 0..250 {
                    let n = thread * 250 + i;
                    let (caller, path) = (n % callers.len(), (n / callers.len()) % paths.len());
                    let bearer = callers[caller].0.map(|k| format!("Bearer {k}"));
                    let mut headers = vec![("host", host)];
                    if let Some(bearer) = &bearer {
                        headers.push(("authorization", bearer));
                    }
                    let r = http(addr, "GET", paths[path], &headers, b"");
                    answers.lock().unwrap().push((caller, path, r));
                }
            });
        }
    });
    let answers = answers.into_inner().unwrap();
    assert_eq!(answers.len(), 1000);
    let mut traces = HashSet::new();
    let mut seen = Interleaved {
        allowed: BTreeMap::new(),
        most_calls_on_one_instance: 0,
    };
    for (caller, path, r) in &answers {
        let (status, subject) = expected(*caller, *path);
        let what = format!("{:?} {}", callers[*caller].0, paths[*path]);
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        if status != 200 {
            assert_eq!(
                r.json()["app"],
                Value::Null,
                "{what}: the component answered"
            );
            continue;
        }
        let answer = r.json();
        assert_eq!(
            answer["faas-caller-subject"].as_str(),
            subject,
            "{what}: {answer}"
        );
        assert_eq!(answer["authorization"], Value::Null, "{what}");
        let trace = answer["traceparent"].as_str().unwrap().to_string();
        assert!(
            traces.insert(trace.clone()),
            "{what}: trace {trace} seen twice"
        );
        *seen
            .allowed
            .entry(subject.unwrap_or("-").to_string())
            .or_default() += 1;
        seen.most_calls_on_one_instance = seen
            .most_calls_on_one_instance
            .max(answer["instance-calls"].as_u64().unwrap());
    }
    seen
}

/// The audit events of the 1,000 calls name the same callers as many times as the answers did.
pub(crate) fn audited_as_answered(events: &[Value], allowed: &BTreeMap<String, usize>) {
    assert_eq!(events.len(), 1000);
    let mut audited: BTreeMap<String, usize> = BTreeMap::new();
    for event in events.iter().filter(|e| e["decision"] == "allowed") {
        let subject = event["subject"].as_str().unwrap_or("-").to_string();
        *audited.entry(subject).or_default() += 1;
    }
    assert_eq!(&audited, allowed);
}

fn calls(r: &HttpResponse) -> u64 {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["instance-calls"].as_u64().unwrap()
}

#[test]
fn warm_instances_are_reused_and_one_that_traps_or_times_out_is_replaced() {
    let (tmp, artifact) = protected_app();
    let key = [("authorization", "Bearer test-reader-key")];
    let get = |addr: &str, path: &str| http(addr, "GET", path, &key, b"");

    // Without the option every request gets a fresh instance.
    let fresh = Served::start(tmp.path(), &artifact);
    for _ in 0..3 {
        assert_eq!(calls(&get(&fresh.addr, "/items")), 1);
    }
    drop(fresh);

    let served = Served::start_with(
        tmp.path(),
        &artifact,
        &["--pool-size", "1", "--timeout", "2s"],
    );
    let addr = served.addr.clone();
    assert_eq!(
        (1..=3)
            .map(|_| calls(&get(&addr, "/items")))
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // A trap ends the instance: answered 500, and the next request gets a new one.
    assert_eq!(get(&addr, "/trap").status, 500);
    assert_eq!(calls(&get(&addr, "/items")), 1);
    assert_eq!(calls(&get(&addr, "/items")), 2);
    // So does a call past the deadline.
    assert_eq!(get(&addr, "/sleep?ms=10000").status, 504);
    assert_eq!(calls(&get(&addr, "/items")), 1);
    // A request that finds the one warm instance taken gets a fresh one, and the warm one goes on.
    let (slow, quick) = std::thread::scope(|scope| {
        let slow = scope.spawn(|| get(&addr, "/sleep?ms=800"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let quick = get(&addr, "/items");
        (slow.join().unwrap(), quick)
    });
    assert_eq!((calls(&slow), calls(&quick)), (2, 1));
    assert_eq!(calls(&get(&addr, "/items")), 3);
    let (_, log) = served.stop();
    assert!(log.contains("GET /trap 500"), "{log}");
    assert!(log.contains("ran past its 2s deadline"), "{log}");
}

#[test]
fn a_warm_instance_under_faas_serve_keeps_no_caller_from_one_request_to_the_next() {
    let (tmp, artifact) = protected_app();
    let served = Served::start_with(tmp.path(), &artifact, &["--pool-size", "4"]);
    let seen = interleave_callers(&served.addr, "pooled.test");
    assert!(
        seen.most_calls_on_one_instance > 100,
        "the instances were not reused: {}",
        seen.most_calls_on_one_instance
    );
    let (_, log) = served.stop();
    audited_as_answered(&audit_events(&log), &seen.allowed);
}
