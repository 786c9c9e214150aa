//! Plausible wrong answers, kept as small edits of the reference solution in
//! checker/wrong/NN-name.txt. An edit shows exactly the mistake, and it
//! cannot drift from the solution: if the solution changes so that an edit no
//! longer applies, the selftest says so.
//!
//! ```text
//! # A comment.
//! == forgets to round up to whole pages
//! fails: rounds_up_to_whole_pages
//! -    let len = bytes.checked_next_multiple_of(page_size()).ok_or_else(too_large)?;
//! +    let len = bytes;
//! ```
//! `-` lines are replaced by the `+` lines that follow them; an answer may
//! hold several such edits. `fails:` names the hidden tests that must catch it.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongAnswer {
    pub title: String,
    /// Hidden tests that must fail on this answer.
    pub fails: Vec<String>,
    /// (text of the solution, text that replaces it)
    pub edits: Vec<(String, String)>,
}

pub fn parse(text: &str) -> Result<Vec<WrongAnswer>, String> {
    let mut answers: Vec<Draft> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(title) = line.strip_prefix("== ") {
            answers.push(Draft { title: title.trim().to_string(), ..Draft::default() });
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(answer) = answers.last_mut() else {
            return Err(format!("line {number}: expected `== title` before anything else"));
        };
        if let Some(tests) = line.strip_prefix("fails:") {
            answer.fails.extend(tests.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()));
        } else if let Some(old) = line.strip_prefix('-') {
            answer.old_line(old);
        } else if let Some(new) = line.strip_prefix('+') {
            answer.new_line(new).map_err(|e| format!("line {number}: {e}"))?;
        } else {
            return Err(format!("line {number}: expected `== title`, `fails:`, `-old` or `+new`, got {line:?}"));
        }
    }
    answers.into_iter().map(Draft::finish).collect()
}

/// A wrong answer while its lines are being read.
#[derive(Default)]
struct Draft {
    title: String,
    fails: Vec<String>,
    /// (`-` lines, `+` lines) of each edit.
    edits: Vec<(Vec<String>, Vec<String>)>,
}

impl Draft {
    /// A `-` line continues the current edit until its `+` lines begin.
    fn old_line(&mut self, line: &str) {
        match self.edits.last_mut() {
            Some((_, new)) if new.is_empty() => {}
            _ => self.edits.push((Vec::new(), Vec::new())),
        }
        if let Some((old, _)) = self.edits.last_mut() {
            old.push(line.to_string());
        }
    }

    fn new_line(&mut self, line: &str) -> Result<(), String> {
        match self.edits.last_mut() {
            Some((_, new)) => {
                new.push(line.to_string());
                Ok(())
            }
            None => Err("a `+` line needs `-` lines before it".to_string()),
        }
    }

    fn finish(self) -> Result<WrongAnswer, String> {
        if self.edits.is_empty() || self.fails.is_empty() {
            return Err(format!("wrong answer '{}' needs `fails:` and at least one edit", self.title));
        }
        let edits = self.edits.into_iter().map(|(old, new)| (old.join("\n"), new.join("\n"))).collect();
        Ok(WrongAnswer { title: self.title, fails: self.fails, edits })
    }
}

/// The solution with the answer's edits made. Each `-` block must occur
/// exactly once, so an edit can never apply to the wrong place.
pub fn apply(solution: &str, answer: &WrongAnswer) -> Result<String, String> {
    let mut text = solution.to_string();
    for (before, after) in &answer.edits {
        match text.matches(before.as_str()).count() {
            1 => text = text.replacen(before.as_str(), after, 1),
            0 => {
                return Err(format!(
                    "wrong answer '{}': its `-` lines are not in the solution:\n{before}",
                    answer.title
                ));
            }
            n => {
                return Err(format!(
                    "wrong answer '{}': its `-` lines occur {n} times in the solution:\n{before}",
                    answer.title
                ));
            }
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# comment
== off by one
fails: a, b
-    let x = 1;
-    let y = 2;
+    let x = 2;
-    drop(z);

== deletes a line
fails: c
-    let gone = 0;
";

    #[test]
    fn parses_edits_with_several_lines_and_deletions() {
        let answers = parse(FILE).unwrap();
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0].fails, vec!["a", "b"]);
        assert_eq!(
            answers[0].edits,
            vec![
                ("    let x = 1;\n    let y = 2;".into(), "    let x = 2;".into()),
                ("    drop(z);".into(), "".into())
            ]
        );
        assert_eq!(answers[1].edits, vec![("    let gone = 0;".into(), "".into())]);
    }

    #[test]
    fn applies_edits_only_where_they_match_once() {
        let answers = parse(FILE).unwrap();
        let solution = "fn f() {\n    let x = 1;\n    let y = 2;\n    drop(z);\n}\n";
        assert_eq!(apply(solution, &answers[0]).unwrap(), "fn f() {\n    let x = 2;\n\n}\n");
        assert!(apply(solution, &answers[1]).is_err());
        assert!(apply("    drop(z);    drop(z);    let x = 1;\n    let y = 2;", &answers[0]).is_err());
    }

    #[test]
    fn refuses_malformed_files() {
        assert!(parse("fails: x").is_err());
        assert!(parse("== t\nfails: x\n+new").is_err());
        assert!(parse("== t\n-old").is_err());
        assert!(parse("== t\nfails: x\nstray").is_err());
    }
}
