#!/usr/bin/env python3
"""Plot docs/bench/peers.csv (written by scripts/bench-peers.sh) as SVG.

    scripts/plot-bench.py CSV OUT_DIR

Writes OUT_DIR/whole-pulse.svg (wall time against N, log-log, certbridge
against the lego pipelines) and OUT_DIR/certbridge-stages.svg (certbridge's
pulse split into issuance, deploy and handlers). Standard library only, so
the benchmark needs nothing beyond Debian's python3.
"""

import csv
import math
import sys
from pathlib import Path

W, H = 720, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 200, 50, 60


def load(path):
    lines = Path(path).read_text().splitlines()
    note = lines[0].lstrip("# ") if lines and lines[0].startswith("#") else ""
    rows = list(csv.DictReader(l for l in lines if not l.startswith("#")))

    def num(v):
        return None if v in ("", "-") else float(v)

    return note, [{k: num(v) for k, v in r.items()} for r in rows]


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def frame(title, note):
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">{esc(title)}</text>',
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle" font-size="10" '
        f'fill="#555">{esc(note)}</text>',
    ]


def log_axes(out, xs, ymin, ymax, ylabel):
    x0, x1 = math.log10(min(xs)), math.log10(max(xs))
    y0, y1 = math.floor(math.log10(ymin)), math.ceil(math.log10(ymax))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x):
        return LEFT + (math.log10(x) - x0) / max(x1 - x0, 1e-9) * pw

    def py(y):
        return TOP + ph - (math.log10(y) - y0) / max(y1 - y0, 1e-9) * ph

    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    for e in range(y0, y1 + 1):
        y = py(10**e)
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{10**e:g}</text>')
    for x in xs:
        out.append(f'<line x1="{px(x)}" x2="{px(x)}" y1="{TOP}" y2="{TOP + ph}" stroke="#eee"/>')
        out.append(f'<text x="{px(x)}" y="{TOP + ph + 16}" text-anchor="middle">{x:g}</text>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{TOP + ph + 34}" text-anchor="middle">certificates (N)</text>')
    out.append(
        f'<text x="18" y="{TOP + ph / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {TOP + ph / 2})">{esc(ylabel)}</text>'
    )
    return px, py


def whole_pulse(note, rows, dest):
    series = [
        ("certbridge pulse", "#1b7837", lambda r: r["certbridge_pulse"]),
        ("lego parallel + scp/ssh", "#2166ac", lambda r: r["lego_parallel"] + r["scp_ssh_deploy"]),
        (
            "lego sequential + scp/ssh",
            "#b2182b",
            lambda r: None if r["lego_sequential"] is None else r["lego_sequential"] + r["scp_ssh_deploy"],
        ),
    ]
    xs = [r["n"] for r in rows]
    ys = [f(r) for _, _, f in series for r in rows if f(r)]
    out = frame("Whole pulse: issue + deploy + reload, wall time", note)
    px, py = log_axes(out, xs, min(ys), max(ys), "seconds (log scale)")
    for i, (label, colour, f) in enumerate(series):
        pts = [(px(r["n"]), py(f(r))) for r in rows if f(r)]
        if len(pts) > 1:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
        ly = TOP + 14 + i * 20
        out.append(f'<line x1="{W - RIGHT + 12}" x2="{W - RIGHT + 32}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{W - RIGHT + 38}" y="{ly + 4}">{esc(label)}</text>')
    out.append("</svg>")
    Path(dest).write_text("\n".join(out) + "\n")


def stages(note, rows, dest):
    parts = [
        ("issuance", "#1b7837", "certbridge_issue"),
        ("deploy", "#762a83", "certbridge_deploy"),
        ("handlers", "#e08214", "certbridge_handlers"),
    ]
    out = frame("certbridge pulse by stage", note)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    top = max(sum(r[k] or 0 for _, _, k in parts) for r in rows) or 1
    step = 10 ** math.floor(math.log10(top))
    ticks = [i * step for i in range(int(top // step) + 2)]
    top = ticks[-1]
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    for t in ticks:
        y = TOP + ph - t / top * ph
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{t:g}</text>')
    out.append(f'<text x="18" y="{TOP + ph / 2}" text-anchor="middle" transform="rotate(-90 18 {TOP + ph / 2})">seconds</text>')
    slot = pw / len(rows)
    for i, r in enumerate(rows):
        x = LEFT + i * slot + slot * 0.2
        y = TOP + ph
        for _, colour, key in parts:
            h = (r[key] or 0) / top * ph
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}" fill="{colour}"/>')
        out.append(f'<text x="{x + slot * 0.3:.1f}" y="{TOP + ph + 16}" text-anchor="middle">N={r["n"]:g}</text>')
    for i, (label, colour, _) in enumerate(parts):
        ly = TOP + 14 + i * 20
        out.append(f'<rect x="{W - RIGHT + 12}" y="{ly - 6}" width="20" height="12" fill="{colour}"/>')
        out.append(f'<text x="{W - RIGHT + 38}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    Path(dest).write_text("\n".join(out) + "\n")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot-bench.py CSV OUT_DIR")
    note, rows = load(sys.argv[1])
    if not rows:
        sys.exit(f"{sys.argv[1]}: no rows")
    out = Path(sys.argv[2])
    whole_pulse(note, rows, out / "whole-pulse.svg")
    stages(note, rows, out / "certbridge-stages.svg")


if __name__ == "__main__":
    main()
