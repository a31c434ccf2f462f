//! Cross-site requests: a browser sends `Origin` with every request that changes state and
//! with a WebSocket handshake. Those from a page on another site are refused unless its
//! origin is listed in `[http] allowed_origins`; a request without `Origin` (curl, a server,
//! a sign controller) is not a browser's cross-site request and passes.

/// Whether a request with `origin` (the `Origin` header) to `host` (the `Host` header) may
/// go on: no origin, an origin on the same host and port, or one listed in `allowed`
/// (compared without case and without a trailing `/`).
pub fn allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin.map(|o| o.trim().trim_end_matches('/')) else {
        return true;
    };
    if allowed
        .iter()
        .any(|a| a.trim().trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let authority = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    match host {
        Some(h) => !authority.is_empty() && authority.eq_ignore_ascii_case(h.trim()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_host_and_listed_origins_pass_others_are_refused() {
        let list = vec!["https://screen.example.org/".to_string()];
        let host = Some("127.0.0.1:8080");
        assert!(allowed(None, host, &[]));
        assert!(allowed(Some("http://127.0.0.1:8080"), host, &[]));
        assert!(allowed(Some("HTTP://127.0.0.1:8080/"), host, &[]));
        assert!(!allowed(Some("http://127.0.0.1:9999"), host, &[]));
        assert!(!allowed(Some("https://evil.example"), host, &[]));
        assert!(!allowed(Some("null"), host, &[]));
        assert!(!allowed(Some("http://127.0.0.1:8080"), None, &[]));
        assert!(allowed(Some("https://Screen.example.org"), host, &list));
        assert!(!allowed(
            Some("https://screen.example.org.evil"),
            host,
            &list
        ));
    }
}
