//! InfluxDB line protocol, pure: a [`Point`] and its text, escaped as the protocol says.
//!
//! `measurement,tag=v,tag=v field=1i,field=2.5,field="s",field=true 1700000000000`
//! - measurement: commas and spaces escaped; tag keys and values: commas, `=` and spaces
//!   escaped; string fields: `"` and `\` escaped. Newlines cannot be escaped, so they are
//!   replaced by spaces (ids never hold them; alert text might).
//! - Tags are written sorted by key (InfluxDB's preferred order); empty tag values are left
//!   out (the protocol forbids them).
//! - Integers carry the `i` suffix; floats are written so they read back as floats (`1.0`, not
//!   `1`, which some servers would then take as an integer on the next write); non-finite
//!   floats are left out. A point with no field left is not written at all.
//! - Timestamps are epoch milliseconds: writes use `precision=ms`.

use std::fmt::Write;

/// A field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Integer (`12i`).
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// String.
    Str(String),
}

/// One point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Measurement.
    pub measurement: &'static str,
    /// Tags (any order; written sorted).
    pub tags: Vec<(&'static str, String)>,
    /// Fields, in order.
    pub fields: Vec<(&'static str, Field)>,
    /// Event time, epoch ms.
    pub ts_ms: i64,
}

impl Point {
    /// A point with no tags or fields yet.
    pub fn new(measurement: &'static str, ts_ms: i64) -> Self {
        Point {
            measurement,
            tags: Vec::new(),
            fields: Vec::new(),
            ts_ms,
        }
    }

    /// Adds a tag (ignored when the value is empty).
    pub fn tag(mut self, key: &'static str, value: impl Into<String>) -> Self {
        let v = value.into();
        if !v.is_empty() {
            self.tags.push((key, v));
        }
        self
    }

    /// Adds a field.
    pub fn field(mut self, key: &'static str, value: Field) -> Self {
        self.fields.push((key, value));
        self
    }

    /// Adds a float field if present.
    pub fn float(self, key: &'static str, v: Option<f64>) -> Self {
        match v {
            Some(v) => self.field(key, Field::Float(v)),
            None => self,
        }
    }

    /// Appends the point's line (with a trailing newline) to `out`; returns false (writing
    /// nothing) when no field is writable.
    pub fn write_to(&self, out: &mut String) -> bool {
        let start = out.len();
        escape(out, self.measurement, &[',', ' ']);
        let mut tags: Vec<&(&str, String)> = self.tags.iter().collect();
        tags.sort_by_key(|(k, _)| *k);
        for (k, v) in tags {
            out.push(',');
            escape(out, k, &[',', '=', ' ']);
            out.push('=');
            escape(out, v, &[',', '=', ' ']);
        }
        let mut sep = ' ';
        for (k, v) in &self.fields {
            if matches!(v, Field::Float(f) if !f.is_finite()) {
                continue;
            }
            out.push(sep);
            sep = ',';
            escape(out, k, &[',', '=', ' ']);
            out.push('=');
            match v {
                Field::Int(i) => {
                    let _ = write!(out, "{i}i");
                }
                Field::Float(f) => {
                    // `{:?}` always keeps a decimal point or an exponent: 1.0, 1e21.
                    let _ = write!(out, "{f:?}");
                }
                Field::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Field::Str(s) => {
                    out.push('"');
                    for c in s.chars() {
                        match c {
                            '"' | '\\' => {
                                out.push('\\');
                                out.push(c);
                            }
                            '\n' | '\r' => out.push(' '),
                            c => out.push(c),
                        }
                    }
                    out.push('"');
                }
            }
        }
        if sep == ' ' {
            out.truncate(start);
            return false;
        }
        let _ = writeln!(out, " {}", self.ts_ms);
        true
    }

    /// The line, without the newline (tests, logs).
    pub fn to_line(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s.truncate(s.trim_end_matches('\n').len());
        s
    }
}

fn escape(out: &mut String, s: &str, special: &[char]) {
    for c in s.chars() {
        if c == '\n' || c == '\r' {
            out.push(' ');
            continue;
        }
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_written_as_the_protocol_says() {
        let p = Point::new("zone", 1_700_000_000_123)
            .tag("zone", "z1")
            .tag("district", "hubin")
            .field("people", Field::Int(12))
            .field("density", Field::Float(0.5))
            .field("whole", Field::Float(2.0))
            .field("full", Field::Bool(true))
            .field("state", Field::Str("alarm".into()));
        assert_eq!(
            p.to_line(),
            "zone,district=hubin,zone=z1 people=12i,density=0.5,whole=2.0,full=true,state=\"alarm\" 1700000000123"
        );
    }

    #[test]
    fn special_characters_are_escaped() {
        let p = Point::new("my measure,x", 1)
            .tag("id", "a b,c=d")
            .tag("empty", "")
            .field("text", Field::Str("say \"hi\" \\ now\nok".into()));
        assert_eq!(
            p.to_line(),
            r#"my\ measure\,x,id=a\ b\,c\=d text="say \"hi\" \\ now ok" 1"#
        );
    }

    #[test]
    fn a_point_without_a_writable_field_is_not_written() {
        let mut s = String::from("before\n");
        let p = Point::new("air", 5)
            .tag("device", "a1")
            .field("pm25", Field::Float(f64::NAN));
        assert!(!p.write_to(&mut s));
        assert_eq!(s, "before\n");
        let p = p.field("pm10", Field::Float(3.25));
        assert!(p.write_to(&mut s));
        assert_eq!(s, "before\nair,device=a1 pm10=3.25 5\n");
    }
}
