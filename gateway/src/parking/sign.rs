//! Guidance sign frames, pure: what each sign shows from what each lot looks like now.
//!
//! - A lot line shows the free spaces (reservations already taken off), `满` at zero, `暂停`
//!   for a closed lot and `--` for a lot whose data is stale (never an old number).
//! - Hysteresis near full, per lot (so every sign agrees): a lot turns FULL at 0 free and
//!   stays FULL until `full_release` spaces are free again. Inside that band (1 ..
//!   `full_release - 1` free) a sign may say 满 while spaces are free; it never flickers.
//! - Rate limit, per sign: a changed frame is sent at most once per `min_interval_ms`; a change
//!   that arrives sooner is held and sent when the interval is over (the latest value wins).
//!
//! Plain text, per line: the label (Chinese, cut or padded with U+3000 to `label_chars`
//! cells of two columns), the arrow glyph, then a value of four columns: the number
//! right-aligned, `  满`, `暂停` or `  --`.

use district::contract::sign::{LineState, SignFrame, SignLineFrame};
use district::contract::time::format_millis;
use district::{Lot, Sign};

/// What a lot looks like to the signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LotView {
    /// Fresh data, `free` spaces free after reservations.
    Open {
        /// Free spaces, reservations taken off.
        free: u32,
    },
    /// Closed by the operator.
    Closed,
    /// No recent data.
    Stale,
}

/// Sign settings.
#[derive(Debug, Clone, Copy)]
pub struct SignSettings {
    /// At most one frame per sign per this many ms (gateway clock).
    pub min_interval_ms: i64,
    /// A FULL lot shows numbers again only from this many free spaces (hysteresis).
    pub full_release: u32,
    /// Label width in Chinese characters.
    pub label_chars: usize,
}

impl Default for SignSettings {
    fn default() -> Self {
        SignSettings {
            min_interval_ms: 5_000,
            full_release: 3,
            label_chars: 4,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Slot {
    sent: Option<Vec<SignLineFrame>>,
    sent_ms: Option<i64>,
}

/// Every sign of one district: hysteresis per lot, rate limit per sign.
#[derive(Debug, Clone)]
pub struct Board {
    settings: SignSettings,
    full: Vec<bool>,
    /// Per lot: minutes until it is expected to be full (shown as a note when set).
    soon_full: Vec<Option<i64>>,
    slots: Vec<Slot>,
}

impl Board {
    /// A board for `lots` lots and `signs` signs, nothing sent yet.
    pub fn new(lots: usize, signs: usize, settings: SignSettings) -> Self {
        Board {
            settings,
            full: vec![false; lots],
            soon_full: vec![None; lots],
            slots: vec![Slot::default(); signs],
        }
    }

    /// Sets lot `l`'s forecast note: full expected in `minutes` (None: not within the horizon).
    pub fn set_soon_full(&mut self, l: usize, minutes: Option<i64>) {
        if let Some(x) = self.soon_full.get_mut(l) {
            *x = minutes;
        }
    }

    /// Settings.
    pub fn settings(&self) -> SignSettings {
        self.settings
    }

    /// Updates the hysteresis from `views` (one per lot) and returns the frames to send now:
    /// those that changed since their sign's last frame and whose rate limit allows it.
    pub fn update(
        &mut self,
        signs: &[Sign],
        lots: &[Lot],
        views: &[LotView],
        now_ms: i64,
    ) -> Vec<(usize, SignFrame)> {
        for (l, v) in views.iter().enumerate() {
            if let (LotView::Open { free }, Some(full)) = (v, self.full.get_mut(l)) {
                if *free == 0 {
                    *full = true;
                } else if *free >= self.settings.full_release {
                    *full = false;
                }
            }
        }
        let mut out = Vec::new();
        for (s, sign) in signs.iter().enumerate() {
            let lines: Vec<SignLineFrame> = sign
                .lines
                .iter()
                .map(|line| {
                    let view = views.get(line.lot).copied().unwrap_or(LotView::Stale);
                    let full = self.full.get(line.lot).copied().unwrap_or(false);
                    let (state, free) = match view {
                        LotView::Open { .. } if full => (LineState::Full, None),
                        LotView::Open { free } => (LineState::Free, Some(free)),
                        LotView::Closed => (LineState::Closed, None),
                        LotView::Stale => (LineState::Stale, None),
                    };
                    let note = match (state, self.soon_full.get(line.lot).copied().flatten()) {
                        (LineState::Free, Some(m)) => Some(format!("预计{m}分钟后满")),
                        _ => None,
                    };
                    SignLineFrame {
                        note,
                        lot: lots.get(line.lot).map(|l| l.id.clone()).unwrap_or_default(),
                        label: line.label.clone(),
                        arrow: line.arrow,
                        state,
                        free,
                        text: line_text(
                            &line.label.zh,
                            line.arrow.glyph(),
                            state,
                            free,
                            self.settings.label_chars,
                        ),
                    }
                })
                .collect();
            let slot = &mut self.slots[s];
            if slot.sent.as_ref() == Some(&lines) {
                continue;
            }
            if slot
                .sent_ms
                .is_some_and(|t| now_ms - t < self.settings.min_interval_ms)
            {
                continue; // held: sent once the interval is over
            }
            let text = lines
                .iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            slot.sent = Some(lines.clone());
            slot.sent_ms = Some(now_ms);
            out.push((
                s,
                SignFrame {
                    sign: sign.id.clone(),
                    ts: format_millis(now_ms),
                    lines,
                    text,
                },
            ));
        }
        out
    }
}

/// The exact characters of one LED line.
pub fn line_text(
    label: &str,
    glyph: char,
    state: LineState,
    free: Option<u32>,
    label_chars: usize,
) -> String {
    let mut s: String = label.chars().take(label_chars).collect();
    for _ in s.chars().count()..label_chars {
        s.push('\u{3000}');
    }
    s.push(glyph);
    match state {
        LineState::Free => s.push_str(&format!("{:>4}", free.unwrap_or(0).min(9999))),
        LineState::Full => s.push_str("  满"),
        LineState::Closed => s.push_str("暂停"),
        LineState::Stale => s.push_str("  --"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use district::{Arrow, Names, SignLine};

    fn setup() -> (Vec<Sign>, Vec<Lot>) {
        let d = crate::parking::testing::hubin();
        let lots = d.lots.clone();
        let sign = Sign {
            id: "s1".into(),
            names: Names::same("s1"),
            location: geo::Point::new(0.0, 0.0),
            lines: vec![
                SignLine {
                    lot: 0,
                    arrow: Arrow::Left,
                    label: Names {
                        zh: "银泰".into(),
                        en: "in77".into(),
                    },
                },
                SignLine {
                    lot: 1,
                    arrow: Arrow::Right,
                    label: Names {
                        zh: "东坡路停车场".into(),
                        en: "x".into(),
                    },
                },
            ],
        };
        (vec![sign], lots)
    }

    fn texts(f: &SignFrame) -> Vec<&str> {
        f.lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn free_full_closed_stale_texts() {
        let (signs, lots) = setup();
        let mut b = Board::new(
            lots.len(),
            1,
            SignSettings {
                min_interval_ms: 0,
                ..Default::default()
            },
        );
        let v = |a, c| vec![a, c, LotView::Stale, LotView::Stale];
        let f = b.update(
            &signs,
            &lots,
            &v(LotView::Open { free: 123 }, LotView::Open { free: 0 }),
            0,
        );
        assert_eq!(
            texts(&f[0].1),
            vec!["银泰\u{3000}\u{3000}← 123", "东坡路停→  满"]
        );
        assert_eq!(f[0].1.text, "银泰\u{3000}\u{3000}← 123\n东坡路停→  满");
        assert_eq!(f[0].1.lines[0].free, Some(123));
        assert_eq!(f[0].1.lines[1].state, LineState::Full);
        let f = b.update(&signs, &lots, &v(LotView::Closed, LotView::Stale), 1);
        assert_eq!(
            texts(&f[0].1),
            vec!["银泰\u{3000}\u{3000}←暂停", "东坡路停→  --"]
        );
        assert_eq!(f[0].1.lines[1].state, LineState::Stale);
        assert_eq!(
            f[0].1.lines[1].free, None,
            "stale never shows an old number"
        );
    }

    #[test]
    fn hysteresis_near_full_does_not_flicker() {
        let (signs, lots) = setup();
        let mut b = Board::new(
            lots.len(),
            1,
            SignSettings {
                min_interval_ms: 0,
                full_release: 3,
                label_chars: 4,
            },
        );
        let run = |b: &mut Board, free: u32, t: i64| {
            b.update(
                &signs,
                &lots,
                &[LotView::Open { free }, LotView::Open { free: 50 }],
                t,
            )
            .first()
            .map(|f| (f.1.lines[0].state, f.1.lines[0].free))
        };
        assert_eq!(run(&mut b, 2, 0), Some((LineState::Free, Some(2))));
        assert_eq!(run(&mut b, 1, 1), Some((LineState::Free, Some(1))));
        assert_eq!(run(&mut b, 0, 2), Some((LineState::Full, None)));
        // 1 and 2 free again: still 满 (inside the band), so nothing new is sent.
        assert_eq!(run(&mut b, 1, 3), None);
        assert_eq!(run(&mut b, 2, 4), None);
        assert_eq!(run(&mut b, 0, 5), None);
        assert_eq!(run(&mut b, 3, 6), Some((LineState::Free, Some(3))));
        assert_eq!(
            run(&mut b, 1, 7),
            Some((LineState::Free, Some(1))),
            "leaving is by 0 only"
        );
    }

    #[test]
    fn forecast_note_only_on_free_lines() {
        let (signs, lots) = setup();
        let mut b = Board::new(
            lots.len(),
            1,
            SignSettings {
                min_interval_ms: 0,
                ..Default::default()
            },
        );
        b.set_soon_full(0, Some(15));
        b.set_soon_full(1, Some(30));
        let f = b.update(
            &signs,
            &lots,
            &[LotView::Open { free: 9 }, LotView::Stale],
            0,
        );
        assert_eq!(f[0].1.lines[0].note.as_deref(), Some("预计15分钟后满"));
        assert_eq!(
            f[0].1.lines[0].text, "银泰\u{3000}\u{3000}←   9",
            "the LED text is unchanged"
        );
        assert_eq!(f[0].1.lines[1].note, None, "no note on a stale line");
    }

    #[test]
    fn rate_limit_holds_changes_until_the_interval_is_over() {
        let (signs, lots) = setup();
        let mut b = Board::new(
            lots.len(),
            1,
            SignSettings {
                min_interval_ms: 1000,
                ..Default::default()
            },
        );
        let v = |n| [LotView::Open { free: n }, LotView::Open { free: 50 }];
        assert_eq!(b.update(&signs, &lots, &v(10), 0).len(), 1);
        assert!(b.update(&signs, &lots, &v(9), 500).is_empty());
        assert!(b.update(&signs, &lots, &v(8), 900).is_empty());
        let f = b.update(&signs, &lots, &v(8), 1000);
        assert_eq!(
            f[0].1.lines[0].free,
            Some(8),
            "the latest value once allowed"
        );
        assert!(
            b.update(&signs, &lots, &v(8), 5000).is_empty(),
            "unchanged: nothing sent"
        );
    }
}
