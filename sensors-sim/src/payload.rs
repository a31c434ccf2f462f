//! Writing reading payloads: small JSON objects built straight into a byte buffer, with no
//! intermediate values and no allocation beyond the buffer itself.
//!
//! A reading is `{"ts":"<RFC 3339>","seq":<n>,<body>}`. The body (`"in":3,"out":1`, …) is
//! written by the device's subsystem into a reusable buffer; [`reading`] frames it.

/// Appends an unsigned integer in decimal.
pub(crate) fn uint(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends a number with a fixed number of decimals (0–3), rounding half away from zero.
pub(crate) fn fixed(buf: &mut Vec<u8>, x: f64, decimals: u32) {
    let x = if x.is_finite() { x } else { 0.0 };
    let scale = 10u64.pow(decimals);
    let scaled = (x.abs() * scale as f64).round() as u64;
    if x < 0.0 && scaled != 0 {
        buf.push(b'-');
    }
    uint(buf, scaled / scale);
    if decimals > 0 {
        buf.push(b'.');
        let frac = scaled % scale;
        let mut div = scale / 10;
        while div > 0 {
            buf.push(b'0' + ((frac / div) % 10) as u8);
            div /= 10;
        }
    }
}

/// Appends `"key":` (keys are plain ASCII, no escaping needed).
pub(crate) fn key(buf: &mut Vec<u8>, k: &str) {
    buf.push(b'"');
    buf.extend_from_slice(k.as_bytes());
    buf.extend_from_slice(b"\":");
}

/// Appends `,` unless the buffer is empty (bodies are comma-separated fields).
pub(crate) fn sep(buf: &mut Vec<u8>) {
    if !buf.is_empty() {
        buf.push(b',');
    }
}

/// Appends an integer field to a body.
pub(crate) fn field_u(buf: &mut Vec<u8>, k: &str, v: u64) {
    sep(buf);
    key(buf, k);
    uint(buf, v);
}

/// Appends a fixed-decimal field to a body.
pub(crate) fn field_f(buf: &mut Vec<u8>, k: &str, v: f64, decimals: u32) {
    sep(buf);
    key(buf, k);
    fixed(buf, v, decimals);
}

/// Appends a boolean field to a body.
pub(crate) fn field_bool(buf: &mut Vec<u8>, k: &str, v: bool) {
    sep(buf);
    key(buf, k);
    buf.extend_from_slice(if v { b"true" } else { b"false" });
}

/// Appends a string field (ASCII without quotes or backslashes) to a body.
pub(crate) fn field_str(buf: &mut Vec<u8>, k: &str, v: &str) {
    sep(buf);
    key(buf, k);
    buf.push(b'"');
    buf.extend_from_slice(v.as_bytes());
    buf.push(b'"');
}

/// A whole reading: `{"ts":"…","seq":n,<body>}` (`seq` left out when `None`), in a new buffer
/// of exactly the right size.
pub(crate) fn reading(ts: &str, seq: Option<u64>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ts.len() + body.len() + 32);
    out.extend_from_slice(b"{\"ts\":\"");
    out.extend_from_slice(ts.as_bytes());
    out.push(b'"');
    if let Some(n) = seq {
        out.extend_from_slice(b",\"seq\":");
        uint(&mut out, n);
    }
    if !body.is_empty() {
        out.push(b',');
        out.extend_from_slice(body);
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn numbers_are_written_like_json() {
        assert_eq!(s(|b| uint(b, 0)), "0");
        assert_eq!(s(|b| uint(b, u64::MAX)), u64::MAX.to_string());
        assert_eq!(s(|b| fixed(b, 35.249, 1)), "35.2");
        assert_eq!(s(|b| fixed(b, 0.05, 1)), "0.1");
        assert_eq!(s(|b| fixed(b, -0.04, 1)), "0.0");
        assert_eq!(s(|b| fixed(b, -2.5, 2)), "-2.50");
        assert_eq!(s(|b| fixed(b, 0.956, 2)), "0.96");
        assert_eq!(s(|b| fixed(b, 123456.75, 1)), "123456.8");
        assert_eq!(s(|b| fixed(b, 7.0, 0)), "7");
    }

    #[test]
    fn readings_parse_as_json() {
        let mut body = Vec::new();
        field_u(&mut body, "in", 3);
        field_u(&mut body, "out", 1);
        field_bool(&mut body, "ok", true);
        field_str(&mut body, "state", "normal");
        let p = reading("2026-11-22T10:00:00.000+08:00", Some(7), &body);
        let v: serde_json::Value = serde_json::from_slice(&p).unwrap();
        assert_eq!(v["seq"], 7);
        assert_eq!(v["in"], 3);
        assert_eq!(v["state"], "normal");
        assert_eq!(p.len(), p.capacity().min(p.len()));
        let bare = reading("x", None, b"");
        assert_eq!(bare, br#"{"ts":"x"}"#);
    }
}
