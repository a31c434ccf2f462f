//! `gateway credentials import`: identities from a CSV file with the columns `id,role,devices`
//! (a header line starting with `id,` is skipped; `devices` is empty but for bridges, its
//! ids separated by `;` or spaces, or by commas inside a quoted field).

use std::path::Path;

use super::{AuthError, Identity, Role};

/// The identities of CSV text `text` read from `path`, each with its line.
pub fn parse(path: &Path, text: &str) -> Result<Vec<(usize, Identity)>, AuthError> {
    let mut out: Vec<(usize, Identity)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || (n == 1 && line.starts_with("id,")) {
            continue;
        }
        let err = |what: String| AuthError::Line {
            path: path.to_path_buf(),
            line: n,
            what,
        };
        let fields = fields(line).map_err(|w| err(w.into()))?;
        let (id, role, devices) = match fields.as_slice() {
            [id, role] => (id, role, ""),
            [id, role, devices] => (id, role, devices.as_str()),
            _ => {
                return Err(err(format!(
                    "expected 2 or 3 fields (id,role,devices), found {}",
                    fields.len()
                )))
            }
        };
        let role: Role = role.trim().parse().map_err(err)?;
        let devices = devices
            .split([';', ',', ' '])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(String::from)
            .collect();
        let identity = Identity::new(id.trim(), role, devices).map_err(|e| err(e.to_string()))?;
        if let Some((first, _)) = out.iter().find(|(_, x)| x.id == identity.id) {
            return Err(err(format!(
                "identity \"{}\" again (first on line {first})",
                identity.id
            )));
        }
        out.push((n, identity));
    }
    Ok(out)
}

/// The fields of one CSV line (RFC 4180 quoting: `"a,b"`, `""` for a quote).
fn fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut out = vec![String::new()];
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        let cur = out.last_mut().expect("one field at least");
        match (c, quoted) {
            ('"', false) if cur.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => out.push(String::new()),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_and_without_devices() {
        let text = "id,role,devices\nps-1,device,\nps-2,device\nlns,bridge,\"ps-1,ps-2\"\nsim,bridge,fc-1;fc-2\ntwin,reader,\n";
        let got = parse(Path::new("bays.csv"), text).unwrap();
        let ids: Vec<&str> = got.iter().map(|(_, i)| i.id.as_str()).collect();
        assert_eq!(ids, ["ps-1", "ps-2", "lns", "sim", "twin"]);
        assert_eq!(got[2].1.devices.len(), 2);
        assert!(got[3].1.devices.contains("fc-2"));
        assert_eq!(got[4].1.role, Role::Reader);
    }

    #[test]
    fn broken_rows_name_their_line() {
        for (text, want) in [
            ("ps-1,device\nps-2\n", "bays.csv:2: expected 2 or 3 fields"),
            ("ps-1,admin\n", "bays.csv:1: unknown role \"admin\""),
            (
                "ps-1,device\nps-1,device\n",
                "bays.csv:2: identity \"ps-1\" again",
            ),
            (
                "lns,bridge,\n",
                "bays.csv:1: bridge \"lns\" needs the devices",
            ),
            (
                "\"ps-1,device\n",
                "bays.csv:1: a quoted field is not closed",
            ),
            ("ps 1,device\n", "bays.csv:1: invalid identity \"ps 1\""),
        ] {
            let e = parse(Path::new("bays.csv"), text).unwrap_err().to_string();
            assert!(e.contains(want), "want {want:?}, got {e:?}");
        }
    }
}
