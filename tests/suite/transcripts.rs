//! The command transcripts of the docs, run again: every `$ kubectl metalpool …` line of a
//! ```` ```text ```` or ```` ```console ```` block in README.md and docs/*.md that reads only
//! the repository (`-f`, `-k`, `--base` on its files) or nothing at all (`--help`, `options`,
//! `version --client`, `completion`, `__complete`) is run through `bash -c`, from the
//! repository, with the built plugin on PATH and the real kubectl beside it, and what it prints
//! must be the text under the line, up to the next `$` line or the end of the block.
//!
//! Stdout and stderr share one pipe (`exec 2>&1`), so they appear in the order written, as on
//! a terminal; `NO_COLOR` is set, and there is no kubeconfig. Transcripts that need a cluster,
//! or a file the reader is asked to save first, are left alone by that rule. One whose output
//! depends on the machine opts out with `<!-- transcript-unchecked: WHY -->` as the last line
//! before its block. `UPDATE_TRANSCRIPTS=1 cargo test --test suite transcripts` rewrites the
//! outputs in place (review the diff, and the prose around it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempDir;

use crate::support::kubectl::kubectl_binary;

const OPT_OUT: &str = "<!-- transcript-unchecked:";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and docs/*.md, relative to the repository, sorted.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| path.strip_prefix(root()).unwrap().to_path_buf())
        .collect();
    docs.sort();
    docs.insert(0, PathBuf::from("README.md"));
    docs
}

/// One `$` line of a document and the output shown under it.
#[derive(Debug, Clone, PartialEq)]
struct Transcript {
    /// 1-based line of the `$`.
    line: usize,
    /// What follows `$ `, with the body of a here-document when there is one.
    command: String,
    /// 0-based, end exclusive: the lines of the shown output.
    output: std::ops::Range<usize>,
    /// The reason given by an opt-out marker before the block.
    unchecked: Option<String>,
}

/// Every `$` line inside the text and console blocks of `text`.
fn transcripts(text: &str) -> Vec<Transcript> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_end() == "```")
            .unwrap_or(lines.len());
        if matches!(info.trim(), "text" | "console") {
            let unchecked = opt_out(&lines[..i]);
            found.extend(block(&lines, i + 1..end, unchecked));
        }
        i = end + 1;
    }
    found
}

/// The reason of an opt-out marker on the last non-blank line of `before`.
fn opt_out(before: &[&str]) -> Option<String> {
    let last = before.iter().rev().find(|line| !line.trim().is_empty())?;
    let reason = last.trim().strip_prefix(OPT_OUT)?.strip_suffix("-->")?;
    Some(reason.trim().to_string())
}

/// The transcripts of one block, whose lines are `body`.
fn block(
    lines: &[&str],
    body: std::ops::Range<usize>,
    unchecked: Option<String>,
) -> Vec<Transcript> {
    let mut found = Vec::new();
    let mut i = body.start;
    while i < body.end {
        let Some(first) = lines[i].strip_prefix("$ ") else {
            i += 1;
            continue;
        };
        let line = i + 1;
        let mut command = first.to_string();
        i += 1;
        if let Some(word) = heredoc_delimiter(first) {
            while i < body.end {
                command.push('\n');
                command.push_str(lines[i]);
                i += 1;
                if lines[i - 1] == word {
                    break;
                }
            }
        }
        let start = i;
        while i < body.end && !lines[i].starts_with("$ ") {
            i += 1;
        }
        found.push(Transcript {
            line,
            command,
            output: start..i,
            unchecked: unchecked.clone(),
        });
    }
    found
}

/// The word that ends the here-document `<<'EOF'` (or `<<EOF`, `<<"EOF"`) of `command`.
fn heredoc_delimiter(command: &str) -> Option<String> {
    let after = &command[command.find("<<")? + 2..];
    let word = after.split_whitespace().next()?;
    Some(word.trim_matches(|c| c == '\'' || c == '"').to_string())
}

/// The words of a shell command line, with `|`, `;`, `&` and redirections as words of their
/// own; quotes are removed. Enough for the commands of the docs, not a shell.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => flush(&mut word, &mut words),
            (None, '|' | ';' | '&' | '<' | '>') => {
                // `2>` keeps its descriptor; `2>&1` is one redirection.
                if !word.chars().all(|d| d.is_ascii_digit()) {
                    flush(&mut word, &mut words);
                }
                word.push(c);
                while let Some(&next) = chars.peek() {
                    let digit_after_amp = word.ends_with('&') && next.is_ascii_digit();
                    if matches!(next, '|' | '&' | '<' | '>') || digit_after_amp {
                        word.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                flush(&mut word, &mut words);
            }
            (None, c) => word.push(c),
        }
    }
    flush(&mut word, &mut words);
    words
}

fn flush(word: &mut String, words: &mut Vec<String>) {
    if !word.is_empty() {
        words.push(std::mem::take(word));
    }
}

fn is_separator(word: &str) -> bool {
    matches!(word, "|" | "||" | "&&" | ";" | "&")
}

/// A redirection that names its target in the next word (`>`, `2>`, `<<`), not in itself
/// (`2>&1`).
fn takes_target(word: &str) -> bool {
    word.contains(['<', '>']) && !word.contains('&')
}

/// The arguments of each plugin run on the command line (`kubectl metalpool ARGS` or
/// `kubectl-metalpool ARGS`), redirections left out; `None` when the command line does not
/// start with the plugin.
fn plugin_runs(command: &str) -> Option<Vec<Vec<String>>> {
    let first_line = command.lines().next().unwrap_or("");
    let mut simple_commands = vec![Vec::new()];
    let mut words = words(first_line).into_iter();
    while let Some(word) = words.next() {
        if is_separator(&word) {
            simple_commands.push(Vec::new());
        } else if takes_target(&word) {
            words.next();
        } else if !word.contains(['<', '>']) {
            simple_commands.last_mut().unwrap().push(word);
        }
    }
    let runs: Vec<Option<Vec<String>>> = simple_commands.iter().map(|c| plugin_args(c)).collect();
    runs.first()?.as_ref()?;
    Some(runs.into_iter().flatten().collect())
}

/// The arguments given to the plugin by one simple command, if it runs the plugin.
fn plugin_args(command: &[String]) -> Option<Vec<String>> {
    match command {
        [kubectl, metalpool, args @ ..] if kubectl == "kubectl" && metalpool == "metalpool" => {
            Some(args.to_vec())
        }
        [plugin, args @ ..] if plugin == "kubectl-metalpool" => Some(args.to_vec()),
        _ => None,
    }
}

/// Whether the plugin run with `args` reads nothing but the repository at `root`: commands
/// that read no input, or every `-f`/`-k`/`--base` naming stdin or a path of the repository.
fn offline(args: &[String], root: &Path) -> bool {
    let reads_nothing = ["-h", "--help", "-V", "--version"]
        .iter()
        .any(|flag| args.iter().any(|arg| arg == flag))
        || match args
            .iter()
            .find(|arg| !arg.starts_with('-'))
            .map(String::as_str)
        {
            Some("options" | "completion" | "__complete" | "help") => true,
            Some("version") => args.iter().any(|arg| arg == "--client"),
            _ => false,
        };
    if reads_nothing {
        return true;
    }
    let inputs = input_paths(args);
    !inputs.is_empty()
        && inputs
            .iter()
            .all(|path| path == "-" || root.join(path).exists())
}

/// The values of `-f`, `--filename`, `-k`, `--kustomize` and `--base`, in any spelling.
fn input_paths(args: &[String]) -> Vec<String> {
    const FLAGS: [&str; 5] = ["-f", "--filename", "-k", "--kustomize", "--base"];
    let mut paths = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if FLAGS.contains(&arg.as_str()) {
            paths.extend(args.next().cloned());
        } else if let Some((flag, value)) = arg.split_once('=') {
            if FLAGS.contains(&flag) {
                paths.push(value.to_string());
            }
        } else if let Some(value) = ["-f", "-k"].iter().find_map(|f| arg.strip_prefix(f))
            && !value.is_empty()
        {
            paths.push(value.to_string());
        }
    }
    paths
}

/// Whether a transcript is to be run: the plugin, on offline input, and not opted out.
fn checked(transcript: &Transcript, root: &Path) -> bool {
    transcript.unchecked.is_none()
        && plugin_runs(&transcript.command)
            .is_some_and(|runs| runs.iter().all(|args| offline(args, root)))
}

/// A directory holding `kubectl-metalpool`, the binary under test, to put first on PATH.
fn plugin_dir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("kubectl-metalpool-transcripts-")
        .tempdir()
        .expect("temporary directory");
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_kubectl-metalpool"),
        dir.path().join("kubectl-metalpool"),
    )
    .expect("link the plugin");
    dir
}

/// What `command` prints, stdout and stderr together, run as a shell runs it.
fn run(command: &str, plugin: &Path, path: &str) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("exec 2>&1\n{command}\n"))
        .current_dir(root())
        .env("PATH", path)
        // No kubeconfig and no in-cluster account: a transcript that reaches for a cluster
        // fails instead of reading whatever this machine has.
        .env("HOME", plugin)
        .env("KUBECONFIG", plugin.join("no-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// The lines of what a command printed, as a document shows them.
fn shown(output: &str) -> Vec<String> {
    output
        .strip_suffix('\n')
        .unwrap_or(output)
        .split('\n')
        .filter(|_| !output.is_empty())
        .map(str::to_string)
        .collect()
}

/// The lines of `expected` and `actual` that differ, with a line of context around each
/// change, as `-` (the document) and `+` (the plugin); at most 40 lines.
fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    // Longest common subsequence, from the end.
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            ops.push((' ', &expected[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', &expected[i]));
            i += 1;
        } else {
            ops.push(('+', &actual[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(1)..(k + 2).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    let mut text = Vec::new();
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            if skipped {
                text.push("  …".to_string());
                skipped = false;
            }
            text.push(format!("{op} {line}"));
        } else {
            skipped = true;
        }
    }
    if text.len() > 40 {
        text.truncate(40);
        text.push("  … (more)".to_string());
    }
    text.join("\n")
}

/// One checked transcript and what the plugin printed for it.
struct Outcome {
    document: PathBuf,
    transcript: Transcript,
    /// What the document shows.
    expected: Vec<String>,
    /// What the plugin printed.
    actual: Vec<String>,
}

#[test]
fn every_offline_transcript_in_the_docs_is_what_the_plugin_prints() {
    let root = root();
    let mut todo = Vec::new();
    for document in documents() {
        let text = fs::read_to_string(root.join(&document)).expect("read document");
        let lines: Vec<&str> = text.lines().collect();
        for transcript in transcripts(&text) {
            if let Some(reason) = &transcript.unchecked {
                assert!(
                    !reason.is_empty(),
                    "{}:{}: an opt-out marker must say why",
                    document.display(),
                    transcript.line
                );
            }
            if checked(&transcript, &root) {
                let expected: Vec<String> = lines[transcript.output.clone()]
                    .iter()
                    .map(|line| line.to_string())
                    .collect();
                todo.push((document.clone(), transcript, expected));
            }
        }
    }
    assert!(
        todo.len() >= 50,
        "only {} transcripts found: is the parser broken?",
        todo.len()
    );

    let plugin = plugin_dir();
    let kubectl = kubectl_binary();
    let path = std::env::join_paths(
        [plugin.path(), kubectl.parent().unwrap()]
            .into_iter()
            .map(Path::to_path_buf)
            .chain(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            )),
    )
    .unwrap();
    let path = path.to_str().expect("UTF-8 PATH");

    // Two workers: each transcript is one or two short processes.
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some((document, transcript, expected)) = todo.get(k) else {
                        break;
                    };
                    let actual = shown(&run(&transcript.command, plugin.path(), path));
                    outcomes.lock().unwrap().push(Outcome {
                        document: document.clone(),
                        transcript: transcript.clone(),
                        expected: expected.clone(),
                        actual,
                    });
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap();
    outcomes
        .sort_by(|a, b| (&a.document, a.transcript.line).cmp(&(&b.document, b.transcript.line)));

    let mut failures = Vec::new();
    for outcome in &outcomes {
        let expected = &outcome.expected;
        if expected != outcome.actual.as_slice() {
            failures.push(format!(
                "{}:{}: $ {}\n{}",
                outcome.document.display(),
                outcome.transcript.line,
                outcome.transcript.command.lines().next().unwrap(),
                diff(expected, &outcome.actual)
            ));
        }
    }
    if std::env::var_os("UPDATE_TRANSCRIPTS").is_some() {
        rewrite(&root, &outcomes);
        eprintln!("{} transcripts rewritten", failures.len());
        return;
    }
    assert!(
        failures.is_empty(),
        "{} of {} transcripts differ from what the plugin prints (- the document, + the \
         plugin; UPDATE_TRANSCRIPTS=1 rewrites them):\n\n{}",
        failures.len(),
        outcomes.len(),
        failures.join("\n\n")
    );
}

/// Puts what the plugin printed under each `$` line, changing nothing else.
fn rewrite(root: &Path, outcomes: &[Outcome]) {
    let mut documents: Vec<&PathBuf> = outcomes.iter().map(|o| &o.document).collect();
    documents.dedup();
    for document in documents {
        let file = root.join(document);
        let text = fs::read_to_string(&file).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        // From the bottom up, so that the ranges above stay right.
        for outcome in outcomes.iter().rev().filter(|o| &o.document == document) {
            lines.splice(outcome.transcript.output.clone(), outcome.actual.clone());
        }
        let mut new = lines.join("\n");
        if text.ends_with('\n') {
            new.push('\n');
        }
        fs::write(&file, new).unwrap();
    }
}

#[cfg(test)]
mod rules {
    use super::*;

    fn words_of(command: &str) -> Vec<&'static str> {
        words(command)
            .into_iter()
            .map(|w| &*Box::leak(w.into_boxed_str()))
            .collect()
    }

    #[test]
    fn a_block_holds_several_transcripts_and_a_here_document() {
        let doc = "text\n```text\n$ kubectl metalpool usage -f - <<'EOF'\nkind: List\nEOF\nNAME\n\
                   row\n$ kubectl metalpool ips -f examples/\n```\n```sh\n$ kubectl metalpool x\n```\n";
        let found = transcripts(doc);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].line, 3);
        assert_eq!(
            found[0].command,
            "kubectl metalpool usage -f - <<'EOF'\nkind: List\nEOF"
        );
        assert_eq!(found[0].output, 5..7);
        assert_eq!(found[1].line, 8);
        assert_eq!(found[1].output, 8..8);
    }

    #[test]
    fn a_marker_before_the_block_opts_it_out_with_its_reason() {
        let doc = "<!-- transcript-unchecked: the timing varies -->\n\n```text\n$ kubectl-metalpool x\n```\n";
        assert_eq!(
            transcripts(doc)[0].unchecked.as_deref(),
            Some("the timing varies")
        );
        assert_eq!(transcripts("```text\n$ a\n```\n")[0].unchecked, None);
    }

    #[test]
    fn operators_and_redirections_are_words_of_their_own() {
        assert_eq!(
            words_of(
                r#"kubectl metalpool x -f a/; echo "exit code $?" 2>&1 >/dev/null|jq '.a | .b'"#
            ),
            [
                "kubectl",
                "metalpool",
                "x",
                "-f",
                "a/",
                ";",
                "echo",
                "exit code $?",
                "2>&1",
                ">",
                "/dev/null",
                "|",
                "jq",
                ".a | .b"
            ]
        );
        assert_eq!(words_of("a 2>/dev/null"), ["a", "2>", "/dev/null"]);
    }

    #[test]
    fn every_plugin_run_of_a_pipeline_is_found_without_redirections() {
        let runs = plugin_runs(
            "kubectl metalpool dump -f x > /dev/null | kubectl-metalpool usage -f - | head -n 2",
        )
        .unwrap();
        assert_eq!(runs, [vec!["dump", "-f", "x"], vec!["usage", "-f", "-"]]);
        assert_eq!(
            plugin_runs("kubectl get pods; kubectl metalpool usage"),
            None
        );
        assert_eq!(plugin_runs("krew/package.sh --help"), None);
    }

    #[test]
    fn offline_means_inputs_of_the_repository_or_no_input() {
        let root = super::root();
        let offline = |command: &str| {
            plugin_runs(command)
                .unwrap()
                .iter()
                .all(|args| offline(args, &root))
        };
        assert!(offline("kubectl metalpool usage -f examples/"));
        assert!(offline("kubectl metalpool usage --filename=examples/ -f -"));
        assert!(offline(
            "kubectl metalpool plan --base examples/ -f example-plans/tenant-scope/"
        ));
        assert!(offline("kubectl metalpool version --client"));
        assert!(offline("kubectl metalpool --version"));
        assert!(offline("kubectl metalpool why --help"));
        assert!(offline("kubectl-metalpool __complete why ''"));
        assert!(!offline("kubectl metalpool usage"));
        assert!(!offline("kubectl metalpool version"));
        assert!(!offline("kubectl metalpool usage --context staging"));
        assert!(!offline(
            "kubectl metalpool why svc/a -f examples/ -f controller.yaml"
        ));
        assert!(!offline(
            "kubectl metalpool dump | kubectl metalpool usage -f -"
        ));
    }

    #[test]
    fn shown_output_drops_only_the_final_newline() {
        assert_eq!(shown(""), Vec::<String>::new());
        assert_eq!(shown("a\n\nb\n"), ["a", "", "b"]);
        assert_eq!(shown("a\n\n"), ["a", ""]);
    }

    #[test]
    fn the_diff_shows_changed_lines_with_context() {
        let lines = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        let text = diff(&lines("a b c d e f"), &lines("a b X d e f g"));
        assert_eq!(text, "  …\n  b\n- c\n+ X\n  d\n  …\n  f\n+ g");
    }
}
