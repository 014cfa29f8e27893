//! Wrapping styled lines to the pane's width: by columns (wide characters count two), breaking
//! after a space where it can, every character and style kept.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Wraps lines to `width` columns, keeping each span's style: at the last space that fits when
/// there is one in the second half of the line, else mid-word. Continuations are not indented,
/// so copied JSON stays valid.
pub fn wrap(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    if width == 0 {
        return lines;
    }
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let cells: Vec<(char, Style)> = line
            .spans
            .iter()
            .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
            .collect();
        let mut start = 0;
        while start < cells.len() {
            let (mut end, mut used) = (start, 0);
            while end < cells.len() {
                let w = cells[end].0.width().unwrap_or(0);
                if used + w > width && end > start {
                    break;
                }
                used += w;
                end += 1;
            }
            if end < cells.len() {
                let space = cells[start..end].iter().rposition(|(c, _)| *c == ' ');
                if let Some(at) = space.filter(|at| *at >= (end - start) / 2) {
                    end = start + at + 1;
                }
            }
            out.push(spans_of(&cells[start..end]));
            start = end;
        }
    }
    out
}

/// Groups styled characters back into spans.
fn spans_of(cells: &[(char, Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = cells.first().map(|c| c.1).unwrap_or_default();
    for (c, s) in cells {
        if *s != style && !text.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut text), style));
        }
        style = *s;
        text.push(*c);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::{ERROR, GOOD};

    #[test]
    fn wrapping_keeps_styles_and_every_character() {
        let line = Line::from(vec![
            Span::styled("abcd", GOOD),
            Span::raw("efgh"),
            Span::styled("ij", ERROR),
        ]);
        let wrapped = wrap(vec![line, Line::raw("short")], 3);
        let text: Vec<String> = wrapped.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, vec!["abc", "def", "ghi", "j", "sho", "rt"]);
        let words = wrap(vec![Line::raw("a file: https://x.example/y")], 12);
        let text: Vec<String> = words.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, vec!["a file: ", "https://x.ex", "ample/y"]);
        assert_eq!(wrapped[1].spans[0].style, GOOD);
        assert_eq!(wrapped[1].spans[1].content, "ef");
        assert_eq!(wrapped[3].spans[0].style, ERROR);
        // Wide characters count as two columns.
        let wide = wrap(vec![Line::raw("日本語")], 4);
        assert_eq!(wide.len(), 2);
    }
}
