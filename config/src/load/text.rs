//! Byte offsets to line numbers in the district file.

use std::ops::Range;

/// Line starts of a text, for turning byte offsets into 1-based line numbers.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// The line where `key =` is written inside a span, if it can be found.
    pub fn find_key(&self, text: &str, span: Range<usize>, key: &str) -> Option<usize> {
        let slice = text.get(span.clone())?;
        let mut from = 0;
        while let Some(i) = slice[from..].find(key) {
            let at = from + i;
            let before_ok = at == 0
                || !slice.as_bytes()[at - 1].is_ascii_alphanumeric()
                    && slice.as_bytes()[at - 1] != b'_';
            let after = slice[at + key.len()..].trim_start();
            if before_ok && after.starts_with('=') {
                return Some(self.line_of(span.start + at));
            }
            from = at + key.len();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines() {
        let t = "a = 1\nbb = 2\n\nccc = 3\n";
        let idx = LineIndex::new(t);
        assert_eq!(idx.line_of(0), 1);
        assert_eq!(idx.line_of(6), 2);
        assert_eq!(idx.line_of(14), 4);
        assert_eq!(idx.find_key(t, 0..t.len(), "ccc"), Some(4));
        assert_eq!(idx.find_key(t, 0..t.len(), "c"), None);
    }
}
