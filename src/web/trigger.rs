//! Who may start a run over HTTP (`POST /api/runs`), and how hard guessing is made.
//!
//! The trigger is off unless [`ADMIN_TOKEN_ENV`] is set. When it is on, the server refuses to start with a token
//! shorter than [`MIN_TOKEN_CHARS`] characters, or on an address other than loopback unless the operator says a
//! TLS proxy is in front (`--allow-remote-trigger`): crimewatch speaks plain HTTP, so elsewhere the token would
//! cross the network readable. A guess is compared in constant time ([`token_matches`]), and every client
//! address gets a small budget of failed attempts that refills slowly ([`Throttle`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{WebConfig, WebError};
use crate::domain::Secret;

/// The environment variable holding the admin token for `POST /api/runs`.
pub const ADMIN_TOKEN_ENV: &str = "CRIMEWATCH_ADMIN_TOKEN";

/// The shortest admin token accepted: 32 characters (`openssl rand -hex 32` gives 64).
pub const MIN_TOKEN_CHARS: usize = 32;

/// Reads the admin token from [`ADMIN_TOKEN_ENV`] (empty counts as unset).
pub fn admin_token_from_env() -> Option<Secret> {
    std::env::var(ADMIN_TOKEN_ENV).ok().filter(|t| !t.trim().is_empty()).map(|t| Secret::new(t.trim()))
}

/// Refuses to serve the trigger with a guessable token, or in plain HTTP beyond this machine unless
/// `config.allow_remote_trigger` says a TLS proxy is in front. Without a token the trigger is off: nothing to check.
pub fn check_exposure(config: &WebConfig, token: Option<&Secret>) -> Result<(), WebError> {
    let Some(token) = token else { return Ok(()) };
    let chars = token.expose().chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(WebError::WeakAdminToken { chars });
    }
    if !config.addr.ip().to_canonical().is_loopback() && !config.allow_remote_trigger {
        return Err(WebError::RemoteTrigger { addr: config.addr });
    }
    Ok(())
}

/// Whether `given` is the token. Both are hashed first, so the comparison always covers 32 bytes and neither its
/// time nor a length check says anything about the token; the digests are compared in constant time.
pub fn token_matches(given: &str, expected: &Secret) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.expose().as_bytes());
    given.as_slice().ct_eq(expected.as_slice()).into()
}

/// Failed attempts allowed from one address at once.
const BURST: f64 = 5.0;
/// Attempts given back per second (one every two seconds).
const REFILL_PER_SECOND: f64 = 0.5;
/// Addresses remembered at most; past that, new addresses share one budget (memory stays bounded).
const MAX_ADDRESSES: usize = 4096;

/// A token bucket of failed authorisations per client address (per /64 for IPv6, which a single host may hold
/// whole). Only failures take from it; while it is empty, the address is answered 429 without its token being
/// looked at, so a guesser gets one try every two seconds.
#[derive(Debug, Default)]
pub struct Throttle {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// Whether the refusal of this empty bucket was logged (once per time it empties).
    refusal_logged: bool,
}

impl Bucket {
    fn refilled(self, now: Instant) -> Bucket {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * REFILL_PER_SECOND;
        Bucket { tokens: (self.tokens + gained).min(BURST), at: now, ..self }
    }
}

/// What the throttle says about an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admit {
    /// Look at the token.
    Try,
    /// Refuse without looking; `first` is true for the first refusal since the budget ran out (log that one).
    Wait { retry_after: Duration, first: bool },
}

impl Throttle {
    /// Whether `client` may try a token at `now`.
    pub fn admit(&self, client: IpAddr, now: Instant) -> Admit {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(bucket) = buckets.get_mut(&key(client)) else { return Admit::Try };
        *bucket = bucket.refilled(now);
        if bucket.tokens >= 1.0 {
            bucket.refusal_logged = false;
            return Admit::Try;
        }
        let first = !bucket.refusal_logged;
        bucket.refusal_logged = true;
        Admit::Wait { retry_after: Duration::from_secs_f64((1.0 - bucket.tokens) / REFILL_PER_SECOND), first }
    }

    /// Takes one attempt from `client`'s budget.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut k = key(client);
        if !buckets.contains_key(&k) && buckets.len() >= MAX_ADDRESSES {
            // A bucket that has refilled holds nothing worth keeping.
            buckets.retain(|_, b| b.refilled(now).tokens < BURST);
            if buckets.len() >= MAX_ADDRESSES {
                k = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
            }
        }
        let fresh = Bucket { tokens: BURST, at: now, refusal_logged: false };
        let bucket = buckets.entry(k).or_insert(fresh);
        *bucket = bucket.refilled(now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }
}

/// The budget an address draws on: the address itself, or its /64 for IPv6.
fn key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn config(addr: &str, allow_remote_trigger: bool) -> WebConfig {
        WebConfig { addr: addr.parse().unwrap(), allow_remote_trigger, ..WebConfig::default() }
    }

    #[test]
    fn token_comparison_needs_every_byte_and_the_length() {
        let token = Secret::new("s3cret-token");
        assert!(token_matches("s3cret-token", &token));
        assert!(!token_matches("s3cret-tokeN", &token));
        assert!(!token_matches("s3cret-toke", &token));
        assert!(!token_matches("", &token));
        assert!(!token_matches("s3cret-token\0", &token));
    }

    #[test]
    fn short_tokens_and_remote_addresses_are_refused_unless_a_proxy_is_declared() {
        let long = Secret::new("x".repeat(MIN_TOKEN_CHARS));
        let short = Secret::new("x".repeat(MIN_TOKEN_CHARS - 1));
        let loopback = config("127.0.0.1:8080", false);
        assert!(check_exposure(&loopback, None).is_ok(), "no token: the trigger is off");
        assert!(check_exposure(&loopback, Some(&long)).is_ok());
        assert!(check_exposure(&config("[::1]:8080", false), Some(&long)).is_ok());
        let err = check_exposure(&loopback, Some(&short)).unwrap_err().to_string();
        assert!(err.contains("31 characters") && err.contains("openssl rand -hex 32"), "{err}");
        for remote in ["0.0.0.0:8080", "[::]:8080", "192.0.2.7:8080"] {
            let err = check_exposure(&config(remote, false), Some(&long)).unwrap_err().to_string();
            assert!(err.contains("--allow-remote-trigger") && err.contains("TLS"), "{remote}: {err}");
            assert!(check_exposure(&config(remote, true), Some(&long)).is_ok(), "{remote}");
            assert!(check_exposure(&config(remote, false), None).is_ok(), "{remote} without a token");
        }
        assert!(check_exposure(&config("0.0.0.0:8080", true), Some(&short)).is_err(), "a proxy does not excuse it");
    }

    #[test]
    fn an_address_gets_five_failures_then_one_every_two_seconds() {
        let throttle = Throttle::default();
        let (a, b) = (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(throttle.admit(a, t0), Admit::Try);
            throttle.failed(a, t0);
        }
        let Admit::Wait { retry_after, first: true } = throttle.admit(a, t0) else { panic!("not throttled") };
        assert_eq!(retry_after, Duration::from_secs(2));
        assert!(matches!(throttle.admit(a, t0), Admit::Wait { first: false, .. }), "logged once");
        assert_eq!(throttle.admit(b, t0), Admit::Try, "another address is not held up");
        assert_eq!(throttle.admit(a, t0 + Duration::from_secs(2)), Admit::Try, "one try back after two seconds");
        throttle.failed(a, t0 + Duration::from_secs(2));
        assert!(matches!(throttle.admit(a, t0 + Duration::from_secs(3)), Admit::Wait { .. }));
    }

    #[test]
    fn memory_stays_bounded_however_many_addresses_fail() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 500) {
            throttle.failed(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)), t0);
        }
        assert!(throttle.addresses() <= MAX_ADDRESSES + 1, "{}", throttle.addresses());
        // A /64 is one budget.
        let v6 = |last: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, last));
        let fresh = Throttle::default();
        for last in 0..5 {
            fresh.failed(v6(last), t0);
        }
        assert!(matches!(fresh.admit(v6(999), t0), Admit::Wait { .. }));
    }
}
