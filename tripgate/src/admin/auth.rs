//! Bearer-token authentication of the admin API.

use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;
use sha2::{Digest, Sha256};

/// Why a request is not let in.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `[admin] token` is configured: the API is off.
    Disabled,
    /// No `Authorization` header, or not `Bearer <token>` (401).
    Unauthenticated,
    /// A well-formed bearer token that is not the configured one (403).
    Forbidden,
}

pub fn check(headers: &HeaderMap, configured: Option<&str>) -> Result<(), Refusal> {
    let Some(configured) = configured else {
        return Err(Refusal::Disabled);
    };
    let header = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(Refusal::Unauthenticated)?;
    let (scheme, token) = header.split_once(' ').ok_or(Refusal::Unauthenticated)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(Refusal::Unauthenticated);
    }
    // Compare digests so the time taken says nothing about how much of the
    // token matched.
    if Sha256::digest(token.as_bytes()) == Sha256::digest(configured.as_bytes()) {
        Ok(())
    } else {
        Err(Refusal::Forbidden)
    }
}

/// Who is asking, for the audit log: the `x-tripgate-operator` header (a
/// name the caller chooses; the token proves only that it may act) and the
/// peer address.
pub fn who(headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> String {
    let name: String = headers
        .get("x-tripgate-operator")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("operator")
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    let name = if name.is_empty() {
        "operator".to_string()
    } else {
        name
    };
    match peer {
        Some(peer) => format!("{name}@{peer}"),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn answers_401_403_or_ok() {
        let token = Some("0123456789abcdef");
        assert_eq!(
            check(&HeaderMap::new(), token),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(
            check(&with("Basic abc"), token),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(check(&with("Bearer"), token), Err(Refusal::Unauthenticated));
        assert_eq!(check(&with("Bearer wrong"), token), Err(Refusal::Forbidden));
        assert_eq!(check(&with("Bearer 0123456789abcdef"), token), Ok(()));
        assert_eq!(check(&with("bearer 0123456789abcdef"), token), Ok(()));
        assert_eq!(check(&with("Bearer x"), None), Err(Refusal::Disabled));
    }
}
