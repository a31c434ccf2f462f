//! TLS for the end-to-end tests: certificates made by `gateway certs`' own code in a folder,
//! and an HTTPS GET that trusts their CA.

use super::*;

use std::sync::Arc;

/// A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate per id
/// in `ids`, in `dir` (as `gateway certs init` and `gateway certs client` write them).
pub fn make_certs(dir: &Path, ids: &[&str]) -> gateway::tls::certs::Made {
    let made = gateway::tls::certs::init(dir, &["127.0.0.1".into(), "localhost".into()]).unwrap();
    for id in ids {
        gateway::tls::certs::client(dir, id).unwrap();
    }
    made
}

/// The rustls client configuration trusting CA file `ca`.
pub fn tls_client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    let security = district::client::ClientSecurity {
        cafile: Some(ca.to_path_buf()),
        ..Default::default()
    };
    match security.tls().unwrap() {
        Some(rumqttc::TlsConfiguration::Rustls(c)) => c,
        _ => unreachable!("a CA file gives a rustls configuration"),
    }
}

/// An HTTP/1.0 GET over TLS to 127.0.0.1:`port` with the test admin's token, trusting CA
/// file `ca`: (status, body).
pub fn https_get(port: u16, path: &str, ca: &Path) -> std::io::Result<(u16, String)> {
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(tls_client_config(ca), name)
        .map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
        admin_token()
    )?;
    s.flush()?;
    let mut buf = Vec::new();
    match s.read_to_end(&mut buf) {
        Ok(_) => {}
        // A server that closes without close_notify after the whole answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => {}
        Err(e) => return Err(e),
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}
