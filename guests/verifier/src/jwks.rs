//! Keys fetched at run time (`[auth.jwt] jwks-uri`): the identity provider's JWKS, fetched through
//! `wasi:http/outgoing-handler` (the artifact's grants allow that host), kept in the host's
//! key-value store for `cache-seconds` so that instances share one fetch, and fetched again early
//! when a token names a `kid` the cached keys lack, at most once per `min-refresh-seconds`
//! (recorded in the store too, so a flood of made-up kids cannot make every request fetch).
//!
//! Fail closed: keys past their time are not used; a provider that cannot be reached, answers
//! other than 200, or sends something that is not a JWKS leaves only the policy's inline keys, and
//! a token signed by another key is refused with the reason.

use crate::{atomics, open_store, shown};
use faas_policy_core::jwt::{JwtError, VerifiedToken};
use faas_policy_core::{Jwt, RemoteJwks};
use wasip2::clocks::monotonic_clock;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};

/// The largest JWKS document read: identity providers publish a few keys, a few KB.
const MAX_DOCUMENT_BYTES: u64 = 256 * 1024;
/// Each of connecting, the first byte and the gaps between bytes may take this long.
const TIMEOUT_NANOS: u64 = 3_000_000_000;
/// The whole fetch, body included, may take this long.
const TOTAL_NANOS: u64 = 5_000_000_000;

/// Verifies `token` with the inline keys and the provider's.
pub fn verify(
    jwt: &Jwt,
    remote: &RemoteJwks,
    token: &str,
    now: u64,
    secret: &dyn Fn(&str) -> Option<String>,
) -> Result<VerifiedToken, String> {
    let cache = Cache::new(remote, &jwt.algorithms)?;
    let with = |keys: &[String]| {
        let mut jwt = jwt.clone();
        jwt.jwks.extend(keys.iter().cloned());
        faas_policy_core::jwt::verify(&jwt, token, now, secret)
    };
    let (keys, fetch_error) = match cache.fresh(now) {
        Some(keys) => (keys, None),
        None => match cache.refresh(now) {
            Ok(keys) => (keys, None),
            Err(reason) => (Vec::new(), Some(reason)),
        },
    };
    match with(&keys) {
        // A kid the cached keys lack: the provider may have rotated; ask it, within the interval.
        Err(JwtError::UnknownKey) if fetch_error.is_none() => match cache.refresh(now) {
            Ok(keys) => with(&keys).map_err(|e| e.to_string()),
            Err(reason) => Err(format!("{}; {reason}", JwtError::UnknownKey)),
        },
        Err(JwtError::UnknownKey) => Err(format!(
            "{}; {}",
            JwtError::UnknownKey,
            fetch_error.unwrap_or_default()
        )),
        other => other.map_err(|e| e.to_string()),
    }
}

/// The cached keys and the last fetch attempt, in the host's store.
struct Cache<'a> {
    remote: &'a RemoteJwks,
    bucket: crate::store::Bucket,
    keys_name: String,
    attempt_name: String,
    algorithms: &'a [String],
}

impl<'a> Cache<'a> {
    fn new(remote: &'a RemoteJwks, algorithms: &'a [String]) -> Result<Self, String> {
        use sha2::Digest;
        let id = faas_policy_core::hex(&sha2::Sha256::digest(remote.uri.as_bytes())[..8]);
        Ok(Cache {
            remote,
            bucket: open_store().map_err(|e| format!("no key cache: {e}"))?,
            keys_name: format!("faas-jwks/{id}/keys"),
            attempt_name: format!("faas-jwks/{id}/attempt"),
            algorithms,
        })
    }

    /// The cached keys, when they are younger than `cache-seconds`. What the store holds is
    /// checked as a fetched document is, not trusted: a time in the future (which would never
    /// expire), a key this policy could not have taken from the provider, or anything malformed
    /// is no cache at all.
    fn fresh(&self, now: u64) -> Option<Vec<String>> {
        self.cached(now).map(|(_, keys)| keys)
    }

    /// The cached keys and when they were fetched, checked as [`Cache::fresh`] says.
    fn cached(&self, now: u64) -> Option<(u64, Vec<String>)> {
        let stored = self.bucket.get(&self.keys_name).ok().flatten()?;
        let text = String::from_utf8(stored).ok()?;
        let (fetched, keys) = text.split_once('\n')?;
        let fetched: u64 = fetched.parse().ok()?;
        if fetched > now || now >= fetched.saturating_add(u64::from(self.remote.cache_seconds)) {
            return None;
        }
        let keys: Vec<String> = keys.lines().map(str::to_string).collect();
        let document = format!("{{\"keys\":[{}]}}", keys.join(","));
        let usable =
            faas_policy_core::jwt::usable_keys(document.as_bytes(), self.algorithms).ok()?;
        (usable.len() == keys.len()).then_some((fetched, keys))
    }

    /// Fetches the keys, unless the last attempt was less than `min-refresh-seconds` ago. Of
    /// instances that ask at once, one fetches (it claims the attempt with an atomic increment);
    /// the others wait for its keys, up to the fetch's deadline.
    fn refresh(&self, now: u64) -> Result<Vec<String>, String> {
        let interval = u64::from(self.remote.min_refresh_seconds);
        let last = self.attempt();
        let too_soon = |last: u64| {
            format!(
                "the keys were last fetched {} s ago without success; next fetch in {} s",
                now.saturating_sub(last),
                (last + interval).saturating_sub(now)
            )
        };
        if let Some((last, state)) = last
            && now < last.saturating_add(interval)
        {
            // An attempt under way: wait for its keys. Otherwise, keys that attempt fetched,
            // if it succeeded, are in the cache.
            if state == Attempt::Pending {
                return self.wait_for_keys(last).ok_or_else(|| too_soon(last));
            }
            return self.fresh(now).ok_or_else(|| too_soon(last));
        }
        let claim = |slot: u64| format!("{}/{slot}", self.attempt_name);
        let slot = now / interval.max(1);
        let claimed = atomics::increment(&self.bucket, &claim(slot), 1)
            .map_err(|e| format!("no key cache: {}", shown(&e)))?;
        if claimed > 1 {
            let since = slot * interval.max(1);
            return self.wait_for_keys(since).ok_or_else(|| too_soon(since));
        }
        if let Some((last, _)) = last
            && last / interval.max(1) != slot
        {
            let _ = self.bucket.delete(&claim(last / interval.max(1)));
        }
        self.record(now, Attempt::Pending)
            .map_err(|e| format!("no key cache: {}", shown(&e)))?;
        let fetched = fetch(&self.remote.uri)
            .and_then(|document| faas_policy_core::jwt::usable_keys(&document, self.algorithms));
        let keys = match fetched {
            Ok(keys) => keys,
            Err(reason) => {
                let _ = self.record(now, Attempt::Failed);
                let reason = format!("cannot fetch the keys from {}: {reason}", self.remote.uri);
                eprintln!("faas verifier: {reason}");
                return Err(reason);
            }
        };
        let mut value = now.to_string();
        for key in &keys {
            value.push('\n');
            value.push_str(key);
        }
        // A cache that cannot be written costs a fetch next time, not a refusal now.
        let _ = self.bucket.set(&self.keys_name, value.as_bytes());
        let _ = self.record(now, Attempt::Done);
        Ok(keys)
    }

    /// The last attempt to fetch: its time and how it went.
    fn attempt(&self) -> Option<(u64, Attempt)> {
        let stored = self.bucket.get(&self.attempt_name).ok().flatten()?;
        let text = String::from_utf8(stored).ok()?;
        let (time, state) = text.split_once(' ').unwrap_or((&text, "done"));
        let state = match state {
            "pending" => Attempt::Pending,
            "failed" => Attempt::Failed,
            _ => Attempt::Done,
        };
        Some((time.parse().ok()?, state))
    }

    fn record(&self, time: u64, state: Attempt) -> Result<(), crate::store::Error> {
        let state = match state {
            Attempt::Pending => "pending",
            Attempt::Failed => "failed",
            Attempt::Done => "done",
        };
        self.bucket
            .set(&self.attempt_name, format!("{time} {state}").as_bytes())
    }
}

/// How the last attempt to fetch the keys went, as the store records it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// Under way: another instance is fetching.
    Pending,
    /// The provider could not be reached or sent no JWKS.
    Failed,
    /// The keys are in the cache.
    Done,
}

impl Cache<'_> {
    /// Keys another instance fetched at `since` or later, waited for up to the fetch deadline;
    /// none when that attempt failed.
    fn wait_for_keys(&self, since: u64) -> Option<Vec<String>> {
        let deadline = monotonic_clock::now() + TOTAL_NANOS;
        loop {
            let now = wasip2::clocks::wall_clock::now().seconds;
            if let Some((fetched, keys)) = self.cached(now)
                && fetched >= since
            {
                return Some(keys);
            }
            let failed = matches!(self.attempt(), Some((time, Attempt::Failed)) if time >= since);
            if failed || monotonic_clock::now() >= deadline {
                return None;
            }
            monotonic_clock::subscribe_duration(50_000_000).block();
        }
    }
}

/// Waits for `pollable` until the fetch's `deadline` (monotonic nanoseconds); false when the
/// deadline came first.
fn ready_by(pollable: &wasip2::io::poll::Pollable, deadline: u64) -> bool {
    let timeout = monotonic_clock::subscribe_instant(deadline);
    let ready = wasip2::io::poll::poll(&[pollable, &timeout]);
    ready.contains(&0)
}

/// GETs `uri` and returns the body of a 200 answer, within [`TOTAL_NANOS`] in all (a provider
/// that sends a byte at a time must not hold the request).
fn fetch(uri: &str) -> Result<Vec<u8>, String> {
    let deadline = monotonic_clock::now() + TOTAL_NANOS;
    let late = || {
        format!(
            "the provider took longer than {} s",
            TOTAL_NANOS / 1_000_000_000
        )
    };
    let (https, rest) = match (uri.strip_prefix("https://"), uri.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => return Err("not an http(s) URL".into()),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let headers = Fields::from_list(&[("accept".into(), b"application/json".to_vec())])
        .map_err(|e| format!("{e:?}"))?;
    let request = OutgoingRequest::new(headers);
    let scheme = if https { Scheme::Https } else { Scheme::Http };
    let set = [
        request.set_method(&Method::Get),
        request.set_scheme(Some(&scheme)),
        request.set_authority(Some(authority)),
        request.set_path_with_query(Some(path)),
    ];
    if set.iter().any(Result::is_err) {
        return Err("the host refused the request's URL".into());
    }
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(TIMEOUT_NANOS));
    let _ = options.set_first_byte_timeout(Some(TIMEOUT_NANOS));
    let _ = options.set_between_bytes_timeout(Some(TIMEOUT_NANOS));
    let body = request.body().map_err(|_| "no request body")?;
    let future = outgoing_handler::handle(request, Some(options)).map_err(|e| format!("{e:?}"))?;
    let _ = OutgoingBody::finish(body, None);
    if !ready_by(&future.subscribe(), deadline) {
        return Err(late());
    }
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(format!("{code:?}")),
        _ => return Err("no response".into()),
    };
    if response.status() != 200 {
        return Err(format!("the provider answered {}", response.status()));
    }
    let body = response.consume().map_err(|_| "no response body")?;
    let stream = body.stream().map_err(|_| "no response body")?;
    let mut document = Vec::new();
    loop {
        if !ready_by(&stream.subscribe(), deadline) {
            return Err(late());
        }
        match stream.read(16 * 1024) {
            Ok(chunk) => {
                document.extend_from_slice(&chunk);
                if document.len() as u64 > MAX_DOCUMENT_BYTES {
                    return Err(format!(
                        "the JWKS is larger than {MAX_DOCUMENT_BYTES} bytes"
                    ));
                }
            }
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(e) => return Err(format!("reading the JWKS: {e:?}")),
        }
    }
    Ok(document)
}
