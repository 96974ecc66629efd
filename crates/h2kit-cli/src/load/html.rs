//! `--report FILE.html`: one self-contained page (inline SVG and CSS, no script, no CDN) with
//! the summary, throughput and latency over time, and the latency histogram.

use std::fmt::Write;

use super::report::Report;

const W: f64 = 860.0;
const H: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 45.0;

pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>h2kit load report</title>\
         <style>body{{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse}}td,th{{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left}}\
         td.n{{text-align:right}}svg{{background:#fafafa;border:1px solid #eee}}</style></head><body>\n\
         <h1>h2kit load</h1><p>{} — {}</p>\n",
        esc(r.url),
        esc(&r.model())
    );
    let secs = r.secs();
    let mut summary = vec![
        ("duration", format!("{secs:.2} s")),
        ("requests", r.requests().to_string()),
        ("succeeded", r.rec.succeeded.to_string()),
        ("failed", r.rec.failed().to_string()),
        ("requests/s", format!("{:.0}", r.requests() as f64 / secs)),
        ("MB/s", format!("{:.2}", r.rec.bytes as f64 / secs / 1e6)),
    ];
    if let Some(w) = r.warm_up {
        summary.push(("warm-up (not counted)", format!("{:.1} s", w.as_secs_f64())));
    }
    if let Some(l) = r.latency() {
        for (k, v) in [
            ("latency min", l.min),
            ("latency p50", l.p50),
            ("latency p90", l.p90),
            ("latency p99", l.p99),
            ("latency p99.9", l.p99_9),
            ("latency max", l.max),
        ] {
            summary.push((k, format!("{} µs", v)));
        }
    }
    for (k, v) in &r.rec.statuses {
        summary.push(("status", format!("{k}: {v}")));
    }
    for (k, v) in &r.rec.failures {
        summary.push(("failure", format!("{}: {v}", esc(k))));
    }
    o.push_str("<table>");
    for (k, v) in summary {
        let _ = write!(o, "<tr><th>{k}</th><td class=\"n\">{v}</td></tr>");
    }
    o.push_str("</table>\n");

    let t = &r.rec.timeline;
    let slot_s = t.slot_ms as f64 / 1000.0;
    let at = |i: usize| (i as f64 + 0.5) * slot_s;
    let rate = |n: u64| n as f64 / slot_s;
    let ok: Vec<_> = (t.slots.iter().enumerate())
        .map(|(i, s)| (at(i), rate(s.succeeded)))
        .collect();
    let failed: Vec<_> = (t.slots.iter().enumerate())
        .map(|(i, s)| (at(i), rate(s.failed)))
        .collect();
    o.push_str("<h2>Throughput over time</h2>\n");
    o.push_str(&line_chart(
        "responses per second",
        &[("succeeded", "#2a7", ok), ("failed", "#d33", failed)],
        false,
    ));
    let q = |p: f64| -> Vec<(f64, f64)> {
        (t.slots.iter().enumerate())
            .filter_map(|(i, s)| s.quantile(p).map(|v| (at(i), v as f64 / 1000.0)))
            .collect()
    };
    let max: Vec<_> = (t.slots.iter().enumerate())
        .filter(|(_, s)| s.succeeded > 0)
        .map(|(i, s)| (at(i), s.max_us as f64 / 1000.0))
        .collect();
    let _ = write!(
        o,
        "<h2>Latency over time</h2>\n<p>Per {} ms slot, by completion time{}.</p>\n",
        t.slot_ms,
        if r.rate.is_some() {
            "; measured from each request's scheduled time"
        } else {
            ""
        }
    );
    o.push_str(&line_chart(
        "latency (ms, log scale)",
        &[
            ("p50", "#36c", q(0.5)),
            ("p99", "#e80", q(0.99)),
            ("max", "#c33", max),
        ],
        true,
    ));
    o.push_str("<h2>Latency histogram</h2>\n");
    let mut bars = Vec::new();
    if !r.rec.latency.is_empty() {
        for v in r.rec.latency.iter_log(1, 2.0) {
            bars.push((v.value_iterated_to(), v.count_since_last_iteration() as f64));
        }
    }
    // Start at the first bucket with any responses.
    let first = bars.iter().position(|b| b.1 > 0.0).unwrap_or(0);
    o.push_str(&histogram(&bars[first..]));
    o.push_str("</body></html>\n");
    o
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// "Nice" tick values covering 0..=max.
fn ticks(max: f64) -> Vec<f64> {
    if max <= 0.0 {
        return vec![0.0];
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (0..=((max / step).ceil() as usize))
        .map(|i| i as f64 * step)
        .collect()
}

fn fmt_num(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn frame(o: &mut String, y_label: &str) {
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-size=\"11\">\
         <text x=\"{LEFT}\" y=\"16\" font-size=\"12\">{y_label}</text>"
    );
}

/// Lines over time (x in seconds). `log_y` plots on powers of ten.
/// A named, coloured line: (name, CSS colour, points).
type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

fn line_chart(y_label: &str, series: &[Series], log_y: bool) -> String {
    let mut o = String::new();
    frame(&mut o, y_label);
    let pts = series.iter().flat_map(|s| s.2.iter());
    let x_max = pts.clone().map(|p| p.0).fold(0.0, f64::max).max(1e-3);
    let y_max = pts.clone().map(|p| p.1).fold(0.0, f64::max);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + x / x_max * pw;
    let (y_ticks, sy): (Vec<f64>, Box<dyn Fn(f64) -> f64>) = if log_y {
        let lo = pts
            .clone()
            .map(|p| p.1)
            .filter(|v| *v > 0.0)
            .fold(f64::MAX, f64::min)
            .min(y_max)
            .max(1e-3);
        let (a, b) = (lo.log10().floor(), y_max.max(lo * 10.0).log10().ceil());
        let ticks = (a as i32..=b as i32).map(|e| 10f64.powi(e)).collect();
        (
            ticks,
            Box::new(move |y: f64| TOP + ph - (y.max(1e-9).log10() - a) / (b - a) * ph),
        )
    } else {
        let t = ticks(y_max);
        let top = *t.last().unwrap_or(&1.0);
        let top = if top > 0.0 { top } else { 1.0 };
        (t, Box::new(move |y: f64| TOP + ph - y / top * ph))
    };
    axes(&mut o, &y_ticks, &sy, &ticks(x_max), &sx, "seconds");
    for (i, (name, color, points)) in series.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let d: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            o,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{}\" y=\"16\" fill=\"{color}\">■ {name}</text>",
            d.join(" "),
            W - RIGHT - 240.0 + i as f64 * 80.0
        );
    }
    o.push_str("</svg>\n");
    o
}

fn axes(
    o: &mut String,
    y_ticks: &[f64],
    sy: &dyn Fn(f64) -> f64,
    x_ticks: &[f64],
    sx: &dyn Fn(f64) -> f64,
    x_label: &str,
) {
    for y in y_ticks {
        let py = sy(*y);
        let _ = write!(
            o,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            fmt_num(*y)
        );
    }
    for x in x_ticks {
        let px = sx(*x);
        let _ = write!(
            o,
            "<text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            H - BOTTOM + 15.0,
            fmt_num(*x)
        );
    }
    let _ = write!(
        o,
        "<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#888\"/>\
         <line x1=\"{LEFT}\" x2=\"{}\" y1=\"{b}\" y2=\"{b}\" stroke=\"#888\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{x_label}</text>",
        H - BOTTOM,
        W - RIGHT,
        (LEFT + W - RIGHT) / 2.0,
        H - 8.0,
        b = H - BOTTOM
    );
}

/// Bars per power-of-two latency bucket: (upper bound in µs, count).
fn histogram(bars: &[(u64, f64)]) -> String {
    let mut o = String::new();
    frame(&mut o, "responses per latency bucket");
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let y_ticks = ticks(bars.iter().map(|b| b.1).fold(0.0, f64::max));
    let top = y_ticks.last().copied().filter(|t| *t > 0.0).unwrap_or(1.0);
    let sy = move |y: f64| TOP + ph - y / top * ph;
    let n = bars.len().max(1) as f64;
    let bw = pw / n;
    axes(
        &mut o,
        &y_ticks,
        &sy,
        &[],
        &|x| x,
        "latency (upper bound of each bucket)",
    );
    for (i, (upper, count)) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * bw;
        let y = sy(*count);
        let label = if *upper >= 1000 {
            format!("{}ms", fmt_num(*upper as f64 / 1000.0))
        } else {
            format!("{upper}µs")
        };
        let _ = write!(
            o,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#36c\">\
             <title>≤ {label}: {count}</title></rect>\
             <text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>",
            x + 1.0,
            (bw - 2.0).max(1.0),
            (TOP + ph - y).max(0.0),
            x + bw / 2.0,
            H - BOTTOM + 15.0,
        );
    }
    o.push_str("</svg>\n");
    o
}
