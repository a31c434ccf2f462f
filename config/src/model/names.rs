//! Bilingual display names.

use serde::{Deserialize, Serialize};

/// A display name in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Names {
    /// Chinese (shown first on the twin and on signs).
    pub zh: String,
    /// English.
    pub en: String,
}

impl Names {
    /// A name used for both languages (for generated ids without a name).
    pub fn same(s: &str) -> Self {
        Names {
            zh: s.to_string(),
            en: s.to_string(),
        }
    }
}

impl From<crate::spec::NamesSpec> for Names {
    fn from(s: crate::spec::NamesSpec) -> Self {
        Names { zh: s.zh, en: s.en }
    }
}
