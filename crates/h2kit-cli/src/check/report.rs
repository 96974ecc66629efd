//! The check's reports: text by group as cases finish, a summary line, JSON, and JUnit XML
//! for CI systems.

use std::fmt::Write as _;

use serde_json::json;

use super::case::{Group, Outcome, Verdict};

pub struct Summary {
    pub cases: usize,
    pub passed: usize,
    pub failed: usize,
    pub not_applicable: usize,
}

pub fn summary(outcomes: &[Outcome]) -> Summary {
    let count = |f: fn(&Verdict) -> bool| outcomes.iter().filter(|o| f(&o.verdict)).count();
    Summary {
        cases: outcomes.len(),
        passed: count(|v| matches!(v, Verdict::Passed(_))),
        failed: count(|v| matches!(v, Verdict::Failed(_))),
        not_applicable: count(|v| matches!(v, Verdict::NotApplicable(_))),
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases, {} passed, {} failed, {} not applicable",
            self.cases, self.passed, self.failed, self.not_applicable
        )
    }
}

/// The outcomes of a run, printed as they come unless the report is JSON.
pub struct Progress {
    json: bool,
    pub outcomes: Vec<Outcome>,
}

impl Progress {
    /// Starts a run; the text report opens with `title`.
    pub fn new(json: bool, title: &str) -> Progress {
        if !json {
            println!("{title}");
        }
        Progress {
            json,
            outcomes: Vec::new(),
        }
    }

    pub fn push(&mut self, o: Outcome) {
        if !self.json {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            if self.outcomes.last().map(|l| l.group) != Some(o.group) {
                let _ = write!(out, "{}", heading(o.group));
            }
            let _ = write!(out, "{}", text(&o));
            let _ = out.flush();
        }
        self.outcomes.push(o);
    }
}

/// A group's heading, printed before its first case.
pub fn heading(g: Group) -> String {
    format!("\n{}\n", g.name())
}

/// One case in the text report: a line, and for a failure what came back and the frames.
pub fn text(o: &Outcome) -> String {
    let mark = match o.verdict {
        Verdict::Passed(_) => "pass",
        Verdict::Failed(_) => "FAIL",
        Verdict::NotApplicable(_) => "n/a ",
    };
    let mut s = format!("  {mark}  {:<34} {} ({})\n", o.id, o.title, o.section);
    match &o.verdict {
        // The citizen cases' figures (streams, rates, resets seen) are worth reading.
        Verdict::Passed(what) if o.group == Group::Citizen => {
            let _ = writeln!(s, "        {what}");
        }
        Verdict::Passed(_) => {}
        Verdict::NotApplicable(why) => {
            let _ = writeln!(s, "        {why}");
        }
        Verdict::Failed(why) => {
            let _ = writeln!(s, "        got: {why}");
            if !o.frames.is_empty() {
                let _ = writeln!(s, "        frames:");
                for line in o.frames.lines() {
                    let _ = writeln!(s, "          {line}");
                }
            }
        }
    }
    s
}

pub fn json(target: &str, outcomes: &[Outcome]) -> serde_json::Value {
    let s = summary(outcomes);
    json!({
        "target": target,
        "summary": {
            "cases": s.cases,
            "passed": s.passed,
            "failed": s.failed,
            "not_applicable": s.not_applicable,
        },
        "cases": outcomes.iter().map(|o| json!({
            "group": o.group.name(),
            "id": o.id,
            "section": o.section,
            "title": o.title,
            "result": o.verdict.word(),
            "detail": o.verdict.detail(),
            "frames": o.frames,
            "millis": o.millis as u64,
        })).collect::<Vec<_>>(),
    })
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no way to write most control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test suite per group, a test case per case; "not applicable" is `skipped`.
pub fn junit(name: &str, outcomes: &[Outcome]) -> String {
    let s = summary(outcomes);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
        xml(name),
        s.cases,
        s.failed,
        s.not_applicable
    );
    let mut groups: Vec<Group> = outcomes.iter().map(|o| o.group).collect();
    groups.dedup();
    for g in groups {
        let cases: Vec<&Outcome> = outcomes.iter().filter(|o| o.group == g).collect();
        let failed = cases
            .iter()
            .filter(|o| matches!(o.verdict, Verdict::Failed(_)))
            .count();
        let skipped = cases
            .iter()
            .filter(|o| matches!(o.verdict, Verdict::NotApplicable(_)))
            .count();
        let secs: f64 = cases.iter().map(|o| o.millis as f64 / 1000.0).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{secs:.3}\">",
            g.name(),
            cases.len()
        );
        for o in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}: {} ({})\" time=\"{:.3}\"",
                g.name(),
                xml(&o.id),
                xml(&o.title),
                xml(&o.section),
                o.millis as f64 / 1000.0
            );
            match &o.verdict {
                Verdict::Passed(_) => out.push_str("/>\n"),
                Verdict::NotApplicable(why) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(why)
                    );
                }
                Verdict::Failed(why) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(why),
                        xml(&o.frames)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
