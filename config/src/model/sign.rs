//! Parking guidance signs (停车诱导屏).

use geo::Point;
use serde::{Deserialize, Serialize};

use super::Names;

/// Arrow on a sign line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arrow {
    /// ←
    Left,
    /// →
    Right,
    /// ↑
    Ahead,
    /// ↖
    AheadLeft,
    /// ↗
    AheadRight,
    /// ↓
    Back,
}

impl Arrow {
    /// The arrow character LED signs show.
    pub fn glyph(self) -> char {
        match self {
            Arrow::Left => '←',
            Arrow::Right => '→',
            Arrow::Ahead => '↑',
            Arrow::AheadLeft => '↖',
            Arrow::AheadRight => '↗',
            Arrow::Back => '↓',
        }
    }
}

impl From<crate::spec::ArrowSpec> for Arrow {
    fn from(a: crate::spec::ArrowSpec) -> Self {
        use crate::spec::ArrowSpec as A;
        match a {
            A::Left => Arrow::Left,
            A::Right => Arrow::Right,
            A::Ahead => Arrow::Ahead,
            A::AheadLeft => Arrow::AheadLeft,
            A::AheadRight => Arrow::AheadRight,
            A::Back => Arrow::Back,
        }
    }
}

/// One line of a sign.
#[derive(Debug, Clone)]
pub struct SignLine {
    /// Lot index.
    pub lot: usize,
    /// Arrow.
    pub arrow: Arrow,
    /// Label (the lot's name unless the file gives a shorter one).
    pub label: Names,
}

/// A validated sign.
#[derive(Debug, Clone)]
pub struct Sign {
    /// Id, unique in the district.
    pub id: String,
    /// Where it stands.
    pub names: Names,
    /// Position.
    pub location: Point<f64>,
    /// Lines, top to bottom.
    pub lines: Vec<SignLine>,
}
