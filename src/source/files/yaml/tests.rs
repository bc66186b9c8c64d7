//! The YAML reader's batches on worker threads, and the cutting of a List at its items.
//! Batches are small in tests ([`BATCH_BYTES`]), so that small inputs cross many.

use super::super::tests::read_text;
use super::*;
use crate::snapshot::Snapshot;

/// Everything a reading gives: the objects (in order), where each was read and the
/// notes; or the error's place and message.
fn outcome(text: &str) -> String {
    match read_text("in.yaml", text) {
        Ok(s) => {
            let mut locations: Vec<_> = s.locations.iter().collect();
            locations.sort_by_key(|(key, _)| (*key).clone());
            let notes: Vec<_> = s.input_notes.iter().map(|n| &n.message).collect();
            format!(
                "{:?}\n{:?}\n{:?}\n{:?}\n{notes:?}\n{locations:?}",
                s.services, s.events, s.pools, s.controllers
            )
        }
        Err(e) => format!("error: {e}"),
    }
}

/// The outcome with no List cut: the whole document parsed at once.
fn outcome_whole(text: &str) -> String {
    CUT_OFF.with(|off| off.set(true));
    let whole = outcome(text);
    CUT_OFF.with(|off| off.set(false));
    whole
}

/// Asserts that cutting changes nothing, and returns the outcome.
fn same_cut_or_whole(text: &str) -> String {
    let (cut, whole) = (outcome(text), outcome_whole(text));
    if cut != whole {
        let at = cut
            .bytes()
            .zip(whole.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let from = at.saturating_sub(200);
        panic!(
            "cut and whole differ:\n cut: {}\n whole: {}",
            &cut[from..cut.len().min(at + 200)],
            &whole[from..whole.len().min(at + 200)]
        );
    }
    cut
}

/// Where the cutter stands after the lines of `text` (the document not ended).
fn cut_after(text: &str) -> Cut {
    std::thread::scope(|scope| {
        let mut found = |_| Ok(());
        let mut sink = Pipeline::new(scope, "in.yaml", parse_batch, document, &mut found);
        let mut cutter = Cutter::new(1);
        for line in text.split_inclusive('\n') {
            cutter.line(line.as_bytes(), &mut sink).unwrap();
        }
        let cut = std::mem::replace(&mut cutter.cut, Cut::No);
        drop(sink);
        match cut {
            Cut::Items { dash, .. } => Cut::Items {
                dash,
                batch: Vec::new(),
                first: 0,
                lines: 0,
                sent: false,
            },
            other => other,
        }
    })
}

fn items_at(dash: usize) -> Cut {
    Cut::Items {
        dash,
        batch: Vec::new(),
        first: 0,
        lines: 0,
        sent: false,
    }
}

/// A Service as a List item (`- ` at column 0), its name `s{i}`, on 9 lines.
fn item(i: usize) -> String {
    format!(
        "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s{i}\n    namespace: ns\n    annotations:\n      metallb.io/address-pool: p\n  spec:\n    type: LoadBalancer\n"
    )
}

/// A List of `count` Services as kubectl writes it: `items` between `apiVersion` and
/// `kind`.
fn list(count: usize) -> String {
    let items: String = (0..count).map(item).collect();
    format!("apiVersion: v1\nitems:\n{items}kind: List\nmetadata:\n  resourceVersion: \"\"\n")
}

/// The items of [`list`], each line indented by two more columns (items at column 2).
fn items_at_column_2(count: usize) -> String {
    let items: String = (0..count).map(item).collect();
    items.lines().map(|l| format!("  {l}\n")).collect()
}

/// The same Services as documents.
fn documents(count: usize) -> String {
    (0..count)
        .map(|i| format!("---\n{}", item(i).replace("- ", "  ").replace("\n  ", "\n")))
        .map(|d| d.replacen("  apiVersion", "apiVersion", 1))
        .collect()
}

fn names(snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .services
        .iter()
        .map(|s| s.metadata.name.to_string())
        .collect()
}

fn line_of(text: &str, needle: &str) -> usize {
    1 + text.lines().position(|l| l.contains(needle)).unwrap()
}

#[test]
fn documents_over_many_batches_come_out_in_input_order() {
    // The object starts on the line after its `---`.
    reads_in_order_over_many_batches(&documents(2_000), 2_000);
}

/// `text` (`count` services s0, s1…, each starting 3 lines above its name, over many
/// batches) read: the services in input order, the last one's line right.
fn reads_in_order_over_many_batches(text: &str, count: usize) {
    assert!(text.len() > 20 * BATCH_BYTES, "many batches");
    let snapshot = read_text("in.yaml", text).unwrap();
    let expected: Vec<_> = (0..count).map(|i| format!("s{i}")).collect();
    assert_eq!(names(&snapshot), expected);
    let last = format!("s{}", count - 1);
    let key = ObjectKeyOf::service(&last);
    assert_eq!(
        snapshot.locations[&key.0].line,
        Some(line_of(text, &format!("name: {last}")) - 3)
    );
}

/// An object key for a Service in namespace `n`.
struct ObjectKeyOf(crate::snapshot::ObjectKey);

impl ObjectKeyOf {
    fn service(name: &str) -> ObjectKeyOf {
        ObjectKeyOf(crate::snapshot::ObjectKey {
            kind: "Service",
            namespace: "ns".into(),
            name: name.into(),
        })
    }
}

#[test]
fn a_duplicate_in_a_later_batch_is_told_with_both_lines() {
    let text = format!("{}{}", documents(1_000), documents(1));
    let snapshot = read_text("d.yaml", &text).unwrap();
    assert_eq!(snapshot.services.len(), 1_000);
    let last = text.lines().count() - 8;
    let note = snapshot
        .input_notes
        .iter()
        .map(|n| n.message.clone())
        .find(|m| m.contains("is defined at"))
        .unwrap();
    assert!(
        note.contains(&format!(
            "is defined at d.yaml:2 and again at d.yaml:{last}"
        )),
        "{note}"
    );
}

#[test]
fn an_error_in_a_later_batch_names_its_line_and_the_first_error_wins() {
    let good = documents(1_500);
    let twice = |i: usize, text: &str| kind_again_after(text, i, "");
    let text = twice(1_200, &good);
    let line = line_of(&text, "# again");
    let (place, message) = place_and_message(read_text("d.yaml", &text).unwrap_err());
    assert_eq!(place, format!("d.yaml:{line}:1"));
    assert!(message.starts_with("duplicate key kind"), "{message}");
    // An earlier error, in an earlier batch, is the one told.
    let both = twice(300, &text);
    let first = line_of(&both, "# again");
    let (place, _) = place_and_message(read_text("d.yaml", &both).unwrap_err());
    assert_eq!(place, format!("d.yaml:{first}:1"));
    // A mistyped field far in is named by its own line.
    let mistyped = good.replace(
        "name: s1300\n  namespace: ns\n  annotations:\n    metallb.io/address-pool: p\nspec:\n  type: LoadBalancer\n",
        "name: s1300\n  namespace: ns\n  annotations:\n    metallb.io/address-pool: p\nspec:\n  type: [LoadBalancer]\n",
    );
    assert_ne!(mistyped, good);
    let (place, message) = place_and_message(read_text("d.yaml", &mistyped).unwrap_err());
    assert_eq!(
        place,
        format!("d.yaml:{}", line_of(&mistyped, "type: [LoadBalancer]"))
    );
    assert!(
        message.starts_with("Service ns/s1300: spec.type"),
        "{message}"
    );
}

fn place_and_message(error: Error) -> (String, String) {
    match error {
        Error::Input { place, message } => (place, message),
        other => panic!("not an input error: {other}"),
    }
}

#[test]
fn a_list_is_cut_at_its_items_and_reads_as_its_documents_do() {
    let text = list(1_500);
    assert_eq!(cut_after(&text), Cut::Sent);
    reads_in_order_over_many_batches(&text, 1_500);
    same_cut_or_whole(&text);
    // Items at column 2, other root keys first, CRLF line ends: cut all the same.
    let indented = format!(
        "kind: List\napiVersion: v1\nitems:\n{}",
        items_at_column_2(300)
    );
    assert_eq!(cut_after(&indented), items_at(2));
    assert!(same_cut_or_whole(&indented).contains("s299"));
    let crlf = list(300).replace('\n', "\r\n");
    assert_eq!(cut_after(&crlf), Cut::Sent);
    assert!(same_cut_or_whole(&crlf).contains("s299"));
}

#[test]
fn lists_and_documents_mixed_keep_their_order() {
    let text = format!(
        "{}---\n{}---\n{}",
        documents(200).trim_start_matches("---\n"),
        list(400).replace("name: s", "name: l"),
        documents(100).replace("name: s", "name: t")
    );
    let snapshot = read_text("m.yaml", &text).unwrap();
    let expected: Vec<_> = (0..200)
        .map(|i| format!("s{i}"))
        .chain((0..400).map(|i| format!("l{i}")))
        .chain((0..100).map(|i| format!("t{i}")))
        .collect();
    assert_eq!(names(&snapshot), expected);
    same_cut_or_whole(&text);
}

#[test]
fn an_error_in_a_cut_item_names_its_line() {
    let good = list(1_000);
    // A wrongly typed field far into the List, with good items after it.
    let mistyped = good.replace(
        "name: s700\n    namespace: ns\n    annotations:\n      metallb.io/address-pool: p\n  spec:\n    type: LoadBalancer\n",
        "name: s700\n    namespace: ns\n    annotations:\n      metallb.io/address-pool: p\n  spec:\n    type: [LoadBalancer]\n",
    );
    assert_ne!(mistyped, good);
    let line = line_of(&mistyped, "type: [LoadBalancer]");
    assert_eq!(
        &same_cut_or_whole(&mistyped)[..45],
        &format!("error: in.yaml:{line}: Service ns/s700: spec.type")[..45]
    );
    // A key twice far into the List: its line.
    let again = |i: usize, text: &str| kind_again_after(text, i, "  ");
    let twice = again(800, &good);
    let line = line_of(&twice, "# again");
    assert_eq!(
        same_cut_or_whole(&twice),
        format!(
            "error: in.yaml:{line}:1: duplicate key kind (is a --- line between two objects missing?)"
        )
    );
    // The first in the List is told, whichever batch has it.
    let both = again(100, &twice);
    let line = line_of(&both, "# again");
    assert!(same_cut_or_whole(&both).starts_with(&format!("error: in.yaml:{line}:1:")));
}

#[test]
fn an_anchor_in_an_item_stops_the_cut_for_the_items_after_it() {
    let mut text = list(600);
    text = text.replace(
        "name: s100\n    namespace: ns\n    annotations:\n",
        "name: s100\n    namespace: ns\n    annotations: &shared\n",
    );
    text = text.replace(
        "name: s500\n    namespace: ns\n    annotations:\n      metallb.io/address-pool: p\n",
        "name: s500\n    namespace: ns\n    annotations: *shared\n",
    );
    let before_anchor = text[..text.find("&shared").unwrap()]
        .rsplit_once("- apiVersion")
        .unwrap()
        .0;
    assert!(matches!(cut_after(before_anchor), Cut::Items { .. }));
    assert_eq!(cut_after(&text), Cut::Stopped);
    let outcome = same_cut_or_whole(&text);
    assert!(outcome.contains("s599"), "{outcome}");
}

#[test]
fn an_anchor_before_the_items_keeps_the_list_whole() {
    s50_reads_the_pool_anchored_in(100, "x-defaults: &pool\n  metallb.io/address-pool: q\n");
}

#[test]
fn what_cutting_cannot_prove_safe_is_read_whole() {
    let flow = "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Service, metadata: {name: a, namespace: ns}}]\n";
    assert_eq!(cut_after(flow), Cut::No);
    assert!(same_cut_or_whole(flow).contains("\"a\""));
    let empty = "apiVersion: v1\nkind: List\nitems: []\n";
    assert_eq!(cut_after(empty), Cut::No);
    assert!(read_text("e.yaml", empty).unwrap().services.is_empty());
    // An item of another form (a flow mapping) stops the cut.
    let other_form = list(300).replace(
        "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s200\n",
        "- {apiVersion: v1, kind: Service, metadata: {name: s200, namespace: ns}}\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: x200\n",
    );
    assert_eq!(cut_after(&other_form), Cut::Stopped);
    assert!(same_cut_or_whole(&other_form).contains("x200"));
    // A tab where the items' indentation is: the whole document's parser decides.
    let tabbed = list(300).replace(
        "  kind: Service\n  metadata:\n    name: s200\n",
        "\tkind: Service\n  metadata:\n    name: s200\n",
    );
    assert_eq!(cut_after(&tabbed), Cut::Stopped);
    same_cut_or_whole(&tabbed);
    // A line less indented than the items, not at column 0.
    let indented = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}",
        items_at_column_2(300).replace(
            "    kind: Service\n    metadata:\n      name: s200\n",
            "    kind: Service\n    metadata:\n      name: s200\n x: y\n"
        )
    );
    assert_eq!(cut_after(&indented), Cut::Stopped);
    same_cut_or_whole(&indented);
    // A directive may give tags another meaning in the whole document.
    let directive = format!("%YAML 1.2\n---\n{}", list(300));
    assert_eq!(cut_after(&directive), Cut::No);
    same_cut_or_whole(&directive);
}

#[test]
fn a_dash_inside_a_block_scalar_is_part_of_its_item() {
    let text = list(300).replace(
        "name: s200\n",
        "name: s200\n    labels:\n      note: |\n        - apiVersion: v1\n        kind: Service\n\n        - x: y\n",
    );
    assert_eq!(cut_after(&text), Cut::Sent);
    let outcome = same_cut_or_whole(&text);
    assert!(
        outcome.contains("- apiVersion: v1\\nkind: Service\\n\\n- x: y\\n")
            || outcome.contains("s299"),
        "{outcome}"
    );
    let snapshot = read_text("b.yaml", &text).unwrap();
    assert_eq!(snapshot.services.len(), 300);
    // A tab after the indentation of a line inside an item is the item's text.
    let tab = text.replace("        kind: Service\n", "        \tkind: Service\n");
    assert_eq!(cut_after(&tab), Cut::Sent);
    assert!(same_cut_or_whole(&tab).contains("\\tkind: Service"));
    assert_eq!(
        snapshot.services[200].metadata.labels.get("note"),
        Some("- apiVersion: v1\nkind: Service\n\n- x: y\n")
    );
}

#[test]
fn items_of_a_document_that_is_no_list_are_not_objects() {
    // A kind the plugin skips, known only after its items: nothing of it is read, not
    // even items that are wrong.
    let skipped = list(300)
        .replace("kind: List\n", "kind: ConfigMap\n")
        .replace("name: s200\n", "name: [s200\n");
    assert_eq!(cut_after(&skipped), Cut::No);
    let snapshot = read_text("c.yaml", &skipped).unwrap();
    assert!(snapshot.services.is_empty());
    same_cut_or_whole(&skipped);
    // A kind the plugin reads, with `items`: only the object itself.
    let service = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: own\n  namespace: ns\nitems:\n{}",
        (0..300).map(item).collect::<String>()
    );
    let snapshot = read_text("s.yaml", &service).unwrap();
    assert_eq!(names(&snapshot), ["own"]);
    same_cut_or_whole(&service);
}

#[test]
fn a_quoted_scalar_running_over_an_item_line_is_read_as_the_whole_document_reads_it() {
    let text = list(300).replace(
        "name: s200\n    namespace: ns\n",
        "name: s200\n    namespace: \"ns\n- apiVersion: v1\n\"\n",
    );
    same_cut_or_whole(&text);
    let text = list(300).replace(
        "name: s200\n    namespace: ns\n",
        "name: s200\n    namespace: \"ns\nkind: x\"\n",
    );
    same_cut_or_whole(&text);
    for (what, with) in [
        ("single", "    namespace: 'ns\n- apiVersion: v1\n'\n"),
        ("flow", "    namespace: ns\n    labels: [a,\n- b]\n"),
        (
            "flow mapping",
            "    namespace: ns\n    labels: {a: b,\nkind: c}\n",
        ),
        ("plain", "    namespace: ns\n    labels: a\n- b\n"),
        ("plain at 0", "    namespace: ns\n    labels: a\nkind b\n"),
    ] {
        let text = list(300).replace("    namespace: ns\n", with);
        assert_ne!(text, list(300));
        let outcome = same_cut_or_whole(&text);
        eprintln!("{what}: {}", &outcome[..outcome.len().min(100)]);
    }
}

#[test]
fn only_the_first_root_items_line_may_be_cut() {
    // Reading the document again at every `items:` line would make many such lines cost
    // their square.
    let text = "apiVersion: v1\nitems:\n  x: 1\nitems:\n- a: 1\n- b: 2\n";
    assert_eq!(cut_after(text), Cut::No);
    let first = "apiVersion: v1\nitems:\n- a: 1\n- b: 2\n";
    assert_eq!(cut_after(first), items_at(0));
}

#[test]
fn a_quote_open_at_the_next_documents_marker_meets_that_marker() {
    // The whole stream's parser finds the `---` inside the quote, not the input's end.
    let small = "apiVersion: v1\nkind: Service\nitems:\n- a: 1\n  b: \"open\nc: 1\n--- # next\n";
    assert!(same_cut_or_whole(small).contains("document indicator"));
    // Items sent already, the last one open at the marker.
    let items: String = (0..300).map(item).collect();
    let sent = format!("kind: List\nitems:\n{items}  b: \"open\n---\n");
    assert!(same_cut_or_whole(&sent).contains("document indicator"));
    let flow = format!("kind: List\nitems:\n{items}  b: [open,\n---\nkind: x\n");
    same_cut_or_whole(&flow);
    // Documents enough for a batch, the last one open at the next one's marker.
    let many = format!("{}b: \"open\n---\nkind: x\n", documents(300));
    assert!(same_cut_or_whole(&many).contains("document indicator"));
    // The same before a document of a kind that is skipped as it is cut.
    let skipped = format!(
        "{}b: 'open\n---\napiVersion: v1\nkind: ConfigMap\n",
        documents(3)
    );
    assert!(same_cut_or_whole(&skipped).contains("document indicator"));
}

#[test]
fn a_line_between_the_dash_and_the_items_keys_is_left_to_the_document() {
    let shifted: String = (0..300)
        .map(item)
        .flat_map(|i| i.lines().map(|l| format!("  {l}\n")).collect::<Vec<_>>())
        .collect();
    for (dash, text) in [
        ("", list(300)),
        ("  ", format!("kind: List\nitems:\n{shifted}")),
    ] {
        let at = format!("{dash}  metadata:\n{dash}    name: s200\n");
        let wrong = text.replacen(&at, &format!("{dash} x: v\n{at}"), 1);
        assert!(wrong != text, "{dash:?}");
        assert_eq!(cut_after(&wrong), Cut::Stopped, "{dash:?}");
        assert!(same_cut_or_whole(&wrong).starts_with("error:"), "{dash:?}");
    }
}

mod attack;

#[test]
fn the_first_error_wins_when_the_pipeline_is_full() {
    // A List (its items cut) fails when it is handed on, once later entries (documents
    // of skipped kinds) fill the pipeline; the document after it, queued, fails too.
    let skipped = "---\napiVersion: v1\nkind: ConfigMap\n".repeat(10);
    let list = "kind: List\nitems:\n- apiVersion: v1\n  kind: Service\n";
    let text = format!("{list}---\nx: [\n{skipped}");
    assert_eq!(
        same_cut_or_whole(&text),
        "error: in.yaml:3: Service has no metadata.name"
    );
}

#[test]
fn an_anchor_inside_a_field_no_kind_reads_may_be_named_after_it() {
    s50_reads_the_pool_anchored_in(
        300,
        "x-defaults:\n  a: &pool\n    metallb.io/address-pool: q\n",
    );
    // Without an anchor such a field is still not parsed: what is wrong in it is not told.
    let unread = "apiVersion: v1\nkind: Service\nx-data:\n  a: [unclosed\nmetadata:\n  name: a\n  namespace: ns\n";
    assert!(read_text("u.yaml", unread).is_ok());
}

#[test]
fn a_lone_carriage_return_breaks_a_line_as_the_parser_reads_it() {
    let wrong = "name: s250\n    namespace: [ns]\n";
    let text = list(300)
        .replace("name: s10\n", "name: s10\r    labels: {}\n")
        .replace("name: s250\n    namespace: ns\n", wrong);
    // The lone CR counts as a line end before the error.
    let line = line_of(&text, "namespace: [ns]") + 1;
    assert!(
        same_cut_or_whole(&text).starts_with(&format!("error: in.yaml:{line}: Service s250")),
        "{}",
        outcome(&text).chars().take(100).collect::<String>()
    );
    // A lone CR before the first item: the item after it is the document's.
    let before = "kind: List\nitems:\n# c\r- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: first\n";
    let text = format!("{before}{}", (0..300).map(item).collect::<String>());
    assert_eq!(cut_after(&text), Cut::No);
    same_cut_or_whole(&text);
    // Documents after one are numbered as the parser numbers them.
    let documents = format!(
        "a: 1\rb: 2\n---\n{}",
        documents(600).trim_start_matches("---\n")
    );
    let snapshot = read_text("d.yaml", &documents).unwrap();
    let key = ObjectKeyOf::service("s599");
    assert_eq!(
        snapshot.locations[&key.0].line,
        Some(line_of(&documents, "name: s599") - 2)
    );
}

/// A List of `items` services with `root` (defining the anchor `pool`: annotations naming
/// pool q) before its items, and s50's annotations written as `*pool`: read whole, s50 gets
/// pool q, as the cut reading would say.
fn s50_reads_the_pool_anchored_in(items: usize, root: &str) {
    let text = list(items)
        .replace(
            "apiVersion: v1\nitems:\n",
            &format!("apiVersion: v1\n{root}items:\n"),
        )
        .replace(
            "name: s50\n    namespace: ns\n    annotations:\n      metallb.io/address-pool: p\n",
            "name: s50\n    namespace: ns\n    annotations: *pool\n",
        );
    assert_eq!(cut_after(&text), Cut::No);
    let snapshot = read_text("a.yaml", &text).unwrap();
    let s50 = &snapshot.services[50];
    assert_eq!(s50.metadata.name, "s50");
    assert_eq!(
        s50.metadata.annotations.get("metallb.io/address-pool"),
        Some("q")
    );
    same_cut_or_whole(&text);
}

/// `text` with a second `kind` key after service s`i`'s metadata, the object's keys starting
/// at `indent` (none for documents, two spaces for a List's items).
fn kind_again_after(text: &str, i: usize, indent: &str) -> String {
    let metadata = format!(
        "name: s{i}\n{indent}  namespace: ns\n{indent}  annotations:\n{indent}    metallb.io/address-pool: p\n"
    );
    text.replace(
        &metadata,
        &format!("{metadata}{indent}kind: Service # again\n"),
    )
}
