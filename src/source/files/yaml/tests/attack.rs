//! Generated hostile input: Lists and streams of documents mixing every construct the
//! List cutter must either cut around or leave to the whole document's parser. Whatever
//! the input, cutting must read exactly as the whole document does.

use proptest::prelude::*;

use super::{outcome, outcome_whole};

/// One item of a List: its kind, the constructs put into it, and a number that varies
/// them.
type ItemShape = (u8, Vec<u8>, u8);

/// One document: its shape, the order of its root keys, the column of its items' `- `,
/// its items, how it ends.
type DocShape = (u8, u8, u8, Vec<ItemShape>, u8);

/// How many constructs [`Builder::construct`] knows.
const CONSTRUCTS: u8 = 36;

/// Builds the text of an input from its shapes.
struct Builder {
    out: String,
    /// Numbers names, so that objects are distinct unless made twice on purpose.
    next: usize,
}

impl Builder {
    fn name(&mut self) -> usize {
        self.next += 1;
        self.next
    }

    /// An item whose `- ` is at column `dash`.
    fn item(&mut self, dash: usize, (kind, constructs, vary): &ItemShape) {
        let d = " ".repeat(dash);
        let i = " ".repeat(dash + 2);
        // Now and then a name made twice (told as a duplicate, with both lines).
        let n = if vary % 23 == 0 { 0 } else { self.name() };
        let (api, kind_name) = match kind % 6 {
            0 | 1 => ("v1", "Service"),
            2 => ("v1", "Namespace"),
            3 => ("metallb.io/v1beta1", "IPAddressPool"),
            4 => ("v1", "ConfigMap"),
            _ => ("metallb.io/v1beta1", "L2Advertisement"),
        };
        // Where the constructs go: after the first line, inside metadata, or at the end.
        let at = usize::from(*vary % 3);
        let mut parts = vec![
            format!("{d}- apiVersion: {api}\n{i}kind: {kind_name}\n"),
            format!("{i}metadata:\n{i}  name: o{n}\n{i}  namespace: ns\n"),
        ];
        parts.push(match kind_name {
            // Now and then a field of the wrong type (an error once typed).
            "Service" if vary % 29 == 1 => format!("{i}spec:\n{i}  type: [LoadBalancer]\n"),
            "Service" => format!("{i}spec:\n{i}  type: LoadBalancer\n"),
            "IPAddressPool" => format!("{i}spec:\n{i}  addresses:\n{i}  - 10.0.{}.0/28\n", n % 250),
            "ConfigMap" => {
                format!("{i}data:\n{i}  k: |\n{i}    - apiVersion: v1\n{i}    kind: x\n")
            }
            _ => String::new(),
        });
        for (k, c) in constructs.iter().enumerate() {
            let text = self.construct(*c, dash, n * 10 + k, *vary);
            parts.insert(at + 1, text);
        }
        for part in parts {
            self.out.push_str(&part);
        }
    }

    /// A construct inside an item whose `- ` is at `dash`, its keys numbered `k`.
    fn construct(&mut self, c: u8, dash: usize, k: usize, vary: u8) -> String {
        let d = " ".repeat(dash);
        let i = " ".repeat(dash + 2);
        let j = " ".repeat(dash + 4);
        let a = vary % 3;
        match c % CONSTRUCTS {
            0 => "# - apiVersion: v1\n".into(),
            1 => format!("{i}# a comment: \"open [\n"),
            2 => "\n".into(),
            3 => format!("{i}x{k}: |\n{j}- apiVersion: v1\n{j}kind: Service\n\n{j}- x: y\n"),
            4 => format!("{i}x{k}: >2\n{j} - folded\n{j}text\n{i}y{k}: 1\n"),
            5 => format!("{i}x{k}: |-\n{j}- a\n{d}- b: c\n"),
            6 => format!("{i}x{k}: \"a\n- apiVersion: v1\n{i}  b\"\n"),
            7 => format!("{i}x{k}: 'it''s\n- kind: Service\n'\n"),
            8 => format!("{i}x{k}: {{a: 1,\n{d}- b: 2}}\n"),
            9 => format!("{i}x{k}: [a,\n- b,\n{j}c]\n"),
            10 => format!("{i}x{k}: &a{a} v\n"),
            11 => format!("{i}x{k}: *a{a}\n"),
            12 => format!(
                "{i}p{k}:\n{i}- port: 80\n{i}  name: a - x\n{i}- port: 81\n{i}q{k}:\n{j}- - 1\n{j}  - [2]\n"
            ),
            13 => format!("{i}x{k}: a - b\n{i}y{k}: '- c'\n"),
            14 => format!("{i}x{k}:\tv\n"),
            15 => format!("\t{i}x{k}: v\n"),
            16 => format!("{} x{k}: v\n", " ".repeat(dash)),
            17 => format!("{i}x{k}: \"open\n"),
            18 => format!("zz{k}: 1\n"),
            19 => "---\n".into(),
            20 => "...\n".into(),
            21 => format!("{d}-\n"),
            22 => format!("{d}- {{apiVersion: v1, kind: Namespace, metadata: {{name: f{k}}}}}\n"),
            23 => format!("{i}x{k}: \"a\\\n- b\"\n"),
            24 => format!("{i}x{k}: v # it's [ {{ \"\n"),
            25 => format!("{i}x{k}: v\r\n"),
            26 => format!("{d}- x{k}: |\n{d}  - a\n{d}- y: 1\n"),
            27 => format!("{i}l{k}:\n{j}a: \"- b\"\n{j}c: d - e\n"),
            28 => format!("{d}  - nested\n"),
            29 => format!("{i}? x{k}\n{i}: v\n"),
            30 => format!("{i}x{k}: !!str &b{a} |2\n{j}  - x\n"),
            31 => format!("{i}x{k}: [\n{d}]\n"),
            32 => format!("{d}- &a{a}\n{i}x{k}: 1\n"),
            33 => format!("{i}x{k}: - c\n"),
            34 => format!("{i}x{k}: a\r{i}y{k}: b\r{d}- z{k}: 1\n"),
            _ => format!("{i}<<: *a{a}\n"),
        }
    }

    /// A document: a List (or a kind with `items`), or a plain object.
    fn document(&mut self, (shape, order, dash, items, end): &DocShape) {
        let dash = usize::from(*dash % 3) * 2;
        let kind = match shape % 6 {
            0..=2 => "List",
            3 => "ServiceList",
            4 => "ConfigMap",
            _ => "Service",
        };
        let n = self.name();
        let keys = [
            "apiVersion: v1\n".to_string(),
            format!("kind: {kind}\n"),
            format!("metadata:\n  name: d{n}\n  namespace: ns\n"),
            String::new(), // the items
            "x-other: |\n  - a\nx-flow: [a,\n  b]\n".to_string(),
            // Now and then a root key the cutter must see before the items, or a second
            // `items`.
            match shape / 6 % 8 {
                0 => "x-open: \"a\nitems:\n- b\"\n".into(),
                1 => "x-anchor: &a0 v\n".into(),
                2 => "items:\n- apiVersion: v1\n  kind: Namespace\n".into(),
                3 => "x-flow-open: {a: [\nitems: b]}\n".into(),
                4 => "x-unread:\n  a: &a1 v\n".into(),
                _ => String::new(),
            },
        ];
        let mut indices = [0, 1, 2, 3, 4, 5];
        // Turn the order by `order`: items first, last, or between.
        indices.rotate_left(usize::from(*order % 6));
        if order & 8 != 0 {
            indices.swap(0, 1);
        }
        for index in indices {
            if index == 3 {
                self.out.push_str("items:\n");
                if order & 16 != 0 {
                    self.out.push_str("# before the first item\n\n");
                }
                for item in items {
                    self.item(dash, item);
                }
            } else {
                self.out.push_str(&keys[index]);
            }
        }
        match end % 4 {
            0 => self.out.push_str("---\n"),
            1 => self.out.push_str("...\n---\n"),
            2 => self.out.push_str("--- # next\n"),
            _ => self.out.push_str("\n---\n"),
        }
    }
}

/// Constructs the cutter cuts across (comments, blank lines, block scalars, plain text
/// with `- `, nested sequences): most items have only these, so that many batches of
/// items are sent before something stops the cut.
const CUT_ACROSS: [u8; 8] = [0, 1, 2, 3, 4, 12, 13, 27];

fn item_strategy() -> impl Strategy<Value = ItemShape> {
    let plain = proptest::collection::vec(proptest::sample::select(&CUT_ACROSS[..]), 0..3);
    let hostile = proptest::collection::vec(0..CONSTRUCTS, 1..3);
    (
        any::<u8>(),
        prop_oneof![30 => plain, 1 => hostile],
        any::<u8>(),
    )
}

fn document_strategy() -> impl Strategy<Value = DocShape> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(item_strategy(), 0..60),
        any::<u8>(),
    )
}

/// The text of an input: its documents, then how its lines end (LF, CRLF) and whether
/// it has a last newline.
fn input(documents: &[DocShape], line_ends: u8) -> String {
    let mut builder = Builder {
        out: String::new(),
        next: 0,
    };
    if line_ends & 4 != 0 {
        builder.out.push_str("# a stream\n\n");
    }
    for document in documents {
        builder.document(document);
    }
    let mut text = builder.out;
    if line_ends & 1 != 0 {
        text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    }
    if line_ends & 2 != 0 {
        text.truncate(text.trim_end().len());
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn cutting_reads_generated_input_as_the_whole_document_does(
        documents in proptest::collection::vec(document_strategy(), 1..4),
        line_ends in 0u8..8,
    ) {
        let text = input(&documents, line_ends);
        let (cut, whole) = (outcome(&text), outcome_whole(&text));
        prop_assert_eq!(cut, whole, "input:\n{}", text);
    }
}
