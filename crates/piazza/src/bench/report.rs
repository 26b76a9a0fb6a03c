//! The result of one bench: named figures printed as an aligned table or as
//! one JSON object, plus the failures that make the run exit non-zero.

use std::io::Write;

use anyhow::bail;
use serde_json::{Map, Value};

/// How to print a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

pub struct Report {
    bench: &'static str,
    rows: Vec<Row>,
    failures: Vec<String>,
}

struct Row {
    /// The JSON key, with the unit last (`latency_p99_ms`).
    key: &'static str,
    /// What the table shows.
    label: &'static str,
    figure: Figure,
    unit: &'static str,
}

enum Figure {
    Count(u64),
    Measure {
        value: f64,
        decimals: usize,
    },
    Text(String),
    /// Not measurable in this run, such as a remote server's memory.
    Unknown,
}

impl Report {
    pub fn new(bench: &'static str) -> Report {
        Report {
            bench,
            rows: Vec::new(),
            failures: Vec::new(),
        }
    }

    pub fn count(
        &mut self,
        key: &'static str,
        label: &'static str,
        value: u64,
        unit: &'static str,
    ) {
        self.push(key, label, Figure::Count(value), unit);
    }

    pub fn measure(
        &mut self,
        key: &'static str,
        label: &'static str,
        value: f64,
        decimals: usize,
        unit: &'static str,
    ) {
        self.push(key, label, Figure::Measure { value, decimals }, unit);
    }

    pub fn text(&mut self, key: &'static str, label: &'static str, value: String) {
        self.push(key, label, Figure::Text(value), "");
    }

    /// A memory figure read from `/proc`, shown in MiB.
    pub fn memory_mib(&mut self, key: &'static str, label: &'static str, kib: Option<u64>) {
        let figure = match kib {
            Some(kib) => Figure::Measure {
                value: kib as f64 / 1024.0,
                decimals: 1,
            },
            None => Figure::Unknown,
        };
        self.push(key, label, figure, "MiB");
    }

    /// Records something that went wrong: the report is still printed, and
    /// then the run exits non-zero with this message.
    pub fn fail(&mut self, failure: String) {
        self.failures.push(failure);
    }

    pub fn print(&self, output: Output) -> anyhow::Result<()> {
        let text = match output {
            Output::Table => self.table(),
            Output::Json => serde_json::to_string_pretty(&self.json())? + "\n",
        };
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    /// Ok when nothing failed; otherwise an error naming every failure.
    pub fn verdict(&self) -> anyhow::Result<()> {
        if self.failures.is_empty() {
            return Ok(());
        }
        bail!(
            "bench {} failed:\n  - {}",
            self.bench,
            self.failures.join("\n  - ")
        )
    }

    fn push(&mut self, key: &'static str, label: &'static str, figure: Figure, unit: &'static str) {
        self.rows.push(Row {
            key,
            label,
            figure,
            unit,
        });
    }

    fn table(&self) -> String {
        let values: Vec<String> = self.rows.iter().map(|row| row.figure.display()).collect();
        let label_width = self.rows.iter().map(|row| row.label.chars().count()).max();
        let value_width = values.iter().map(|value| value.chars().count()).max();
        let (label_width, value_width) = (label_width.unwrap_or(0), value_width.unwrap_or(0));
        let mut table = format!("piazza bench {}\n", self.bench);
        for (row, value) in self.rows.iter().zip(&values) {
            // "n/a MiB" would read as if something were measured.
            let unit = match row.figure {
                Figure::Unknown => "",
                _ => row.unit,
            };
            let line = format!(
                "  {:<label_width$}  {value:>value_width$} {unit}",
                row.label
            );
            table.push_str(line.trim_end());
            table.push('\n');
        }
        let verdict = if self.failures.is_empty() {
            "ok".to_owned()
        } else {
            format!("FAILED ({})", self.failures.join("; "))
        };
        table.push_str(&format!("  {:<label_width$}  {verdict}\n", "result"));
        table
    }

    fn json(&self) -> Value {
        let mut object = Map::new();
        object.insert("bench".to_owned(), Value::from(self.bench));
        for row in &self.rows {
            object.insert(row.key.to_owned(), row.figure.json());
        }
        object.insert("ok".to_owned(), Value::from(self.failures.is_empty()));
        object.insert("failures".to_owned(), Value::from(self.failures.clone()));
        Value::Object(object)
    }
}

impl Figure {
    fn display(&self) -> String {
        match self {
            Figure::Count(value) => value.to_string(),
            Figure::Measure { value, decimals } => format!("{value:.decimals$}"),
            Figure::Text(text) => text.clone(),
            Figure::Unknown => "n/a".to_owned(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Figure::Count(value) => Value::from(*value),
            // Rounded as shown, so JSON and table agree.
            Figure::Measure { value, decimals } => {
                let scale = 10f64.powi(*decimals as i32);
                Value::from((value * scale).round() / scale)
            }
            Figure::Text(text) => Value::from(text.clone()),
            Figure::Unknown => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut report = Report::new("demo");
        report.count("messages_sent", "messages sent", 1200, "");
        report.measure("latency_p99_ms", "latency p99", 4.256, 2, "ms");
        report.memory_mib("server_rss_mib", "server RSS", None);
        report
    }

    #[test]
    fn the_table_aligns_values_and_units() {
        let table = sample().table();
        assert_eq!(
            table,
            "piazza bench demo\n\
             \x20 messages sent  1200\n\
             \x20 latency p99    4.26 ms\n\
             \x20 server RSS      n/a\n\
             \x20 result         ok\n"
        );
    }

    #[test]
    fn json_has_one_key_per_row_and_the_verdict() {
        let mut report = sample();
        report.fail("2 messages lost".to_owned());
        let json = report.json();
        assert_eq!(json["messages_sent"], 1200);
        assert_eq!(json["latency_p99_ms"], 4.26);
        assert_eq!(json["server_rss_mib"], Value::Null);
        assert_eq!(json["ok"], false);
        assert_eq!(json["failures"][0], "2 messages lost");
        assert!(report.verdict().is_err());
    }
}
