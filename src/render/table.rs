//! kubectl's table look: UPPERCASE headers, no borders, columns three spaces apart.

use tabled::builder::Builder;
use tabled::settings::{Padding, Style};

/// Lays out `rows` under `headers`; cells may carry colour codes.
pub fn layout(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut builder = Builder::default();
    builder.push_record(headers.iter().map(|h| h.to_string()));
    for row in rows {
        builder.push_record(row);
    }
    let mut table = builder.build();
    table.with(Style::empty()).with(Padding::new(0, 3, 0, 0));
    let mut text = String::new();
    for line in table.to_string().lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_three_spaces_apart_without_trailing_space() {
        let text = layout(
            &["NAME", "USED"],
            vec![
                vec!["public-ips".into(), "3".into()],
                vec!["a".into(), "10".into()],
            ],
        );
        assert_eq!(text, "NAME         USED\npublic-ips   3\na            10\n");
    }
}
