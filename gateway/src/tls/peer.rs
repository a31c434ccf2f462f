//! The common name (CN) in the subject of a client certificate that the handshake verified.
//!
//! A small DER walk over the fields before the subject (X.509, RFC 5280 §4.1): the
//! certificate was verified already, so anything unexpected here means "no CN".

/// The OID of `commonName`, 2.5.4.3, as DER content bytes.
const CN_OID: &[u8] = &[0x55, 0x04, 0x03];

/// The first common name in the subject of DER certificate `der`, when it is a string.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (cert, _) = element(der, 0x30)?;
    let (tbs, _) = element(cert, 0x30)?;
    let mut rest = tbs;
    // version [0] EXPLICIT, optional.
    if rest.first() == Some(&0xa0) {
        rest = element(rest, 0xa0)?.1;
    }
    rest = element(rest, 0x02)?.1; // serialNumber
    rest = element(rest, 0x30)?.1; // signature algorithm
    rest = element(rest, 0x30)?.1; // issuer
    rest = element(rest, 0x30)?.1; // validity
    let (mut subject, _) = element(rest, 0x30)?;
    while !subject.is_empty() {
        let (mut rdn, next) = element(subject, 0x31)?;
        subject = next;
        while !rdn.is_empty() {
            let (atv, next) = element(rdn, 0x30)?;
            rdn = next;
            let (oid, value) = element(atv, 0x06)?;
            if oid == CN_OID {
                return string(value);
            }
        }
    }
    None
}

/// A DER string value (UTF8String, PrintableString, IA5String, TeletexString as Latin-1).
fn string(der: &[u8]) -> Option<String> {
    let tag = *der.first()?;
    let (bytes, _) = element(der, tag)?;
    match tag {
        0x0c | 0x13 | 0x16 => String::from_utf8(bytes.to_vec()).ok(),
        0x14 => Some(bytes.iter().map(|&b| b as char).collect()),
        _ => None,
    }
}

/// The content of the DER element at the start of `der` when its tag is `tag`, and what
/// follows it.
fn element(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *der.first()? != tag {
        return None;
    }
    let first = *der.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = der.get(2..2 + n)?;
        (
            bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize),
            2 + n,
        )
    };
    let end = head.checked_add(len)?;
    Some((der.get(head..end)?, der.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cn_of_a_generated_client_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let made = crate::tls::certs::init(dir.path(), &["localhost".into()]).unwrap();
        let client = crate::tls::certs::client(dir.path(), "ps-001").unwrap();
        let der = crate::tls::load::certs(&client.cert).unwrap();
        assert_eq!(common_name(&der[0]).as_deref(), Some("ps-001"));
        let ca = crate::tls::load::certs(&made.ca_cert).unwrap();
        assert_eq!(
            common_name(&ca[0]).as_deref(),
            Some(crate::tls::certs::CA_NAME)
        );
    }

    #[test]
    fn garbage_has_no_cn() {
        assert_eq!(common_name(&[]), None);
        assert_eq!(common_name(&[0x30, 0x82, 0xff]), None);
        assert_eq!(common_name(&[0x30, 0x03, 0x02, 0x01, 0x01]), None);
    }
}
