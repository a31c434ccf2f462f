//! Configuration errors that a district manager can act on: file, place, what to fix.

use std::fmt;
use std::path::PathBuf;

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A line of a TOML file (1-based).
    Line(usize),
    /// A feature of a GeoJSON FeatureCollection (0-based index, and its `id` if it has one).
    Feature {
        /// Index in `features`.
        index: usize,
        /// The feature's `properties.id`.
        id: Option<String>,
    },
    /// The file as a whole.
    File,
}

/// One problem found in a district file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file it is in.
    pub file: PathBuf,
    /// Where in the file.
    pub place: Place,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.place {
            Place::Line(line) => write!(f, "{file}:{line}: {}", self.message),
            Place::Feature {
                index,
                id: Some(id),
            } => {
                write!(
                    f,
                    "{file}: feature #{index} (id \"{id}\"): {}",
                    self.message
                )
            }
            Place::Feature { index, id: None } => {
                write!(f, "{file}: feature #{index}: {}", self.message)
            }
            Place::File => write!(f, "{file}: {}", self.message),
        }
    }
}

/// Why a district could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but has problems; every one found is listed.
    #[error("{} problem(s) in the district configuration:\n{}", .0.len(), Problems(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The problems found (empty for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(p) => p,
            ConfigError::Read { .. } => &[],
        }
    }
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {p}")?;
        }
        Ok(())
    }
}
