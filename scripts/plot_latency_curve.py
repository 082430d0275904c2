#!/usr/bin/env python3
"""Table, monotonicity check and SVG plot of scripts/latency-curve.sh's output folder.

Reads OUT/bench.json (the dense model first, then latency_T.pare and ratio_R.pare) and the
--target-latency reports (predicted latency); writes OUT/curve.md (a Markdown table) and
OUT/curve.svg (measured latency against MACs, both as shares of the dense model, for the
latency-aware targets and the uniform ratios, and measured against target). Exits 1 when the
measured latency-aware curve is not monotone (a tighter target measured slower than a looser one).
No third-party packages: the SVG is written by hand.
"""
import json
import os
import re
import sys


def main(out):
    rows = json.load(open(os.path.join(out, "bench.json")))["rows"]
    dense = rows[0]
    points = []
    for row in rows[1:]:
        name = os.path.basename(row["model"])
        match = re.match(r"(latency|ratio)_([0-9.]+)\.pare$", name)
        if not match:
            continue
        kind, value = match.group(1), float(match.group(2))
        point = {
            "kind": kind,
            "value": value,
            "ms": row["latency_ms"]["median"],
            "share": row["latency_ms"]["median"] / dense["latency_ms"]["median"],
            "macs": row["macs"] / dense["macs"],
            "params": row["params"] / dense["params"],
        }
        if kind == "latency":
            report = json.load(open(os.path.join(out, "latency_%s.report.json" % match.group(2))))
            latency = report["latency"]
            point["predicted_share"] = latency["predicted_ms"] / latency["dense_predicted_ms"]
            point["predicted_ms"] = latency["predicted_ms"]
            point["optimal"] = latency["optimal"]
        points.append(point)
    aware = sorted((p for p in points if p["kind"] == "latency"), key=lambda p: -p["value"])
    uniform = sorted((p for p in points if p["kind"] == "ratio"), key=lambda p: p["value"])

    lines = [
        "dense: %.3f ms median, batch %d, %d thread(s)"
        % (dense["latency_ms"]["median"], dense["batch"], dense["threads"]),
        "",
        "| pruning | measured ms | measured / dense | predicted / dense | MACs / dense | params / dense |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for p in aware:
        lines.append(
            "| --target-latency %.1f | %.3f | %.3f | %.3f | %.3f | %.3f |"
            % (p["value"], p["ms"], p["share"], p["predicted_share"], p["macs"], p["params"])
        )
    for p in uniform:
        lines.append(
            "| --ratio %.1f (uniform) | %.3f | %.3f | - | %.3f | %.3f |"
            % (p["value"], p["ms"], p["share"], p["macs"], p["params"])
        )
    monotone = all(b["ms"] <= a["ms"] for a, b in zip(aware, aware[1:]))
    errors = [abs(p["predicted_ms"] / p["ms"] - 1) for p in aware]
    lines.append("")
    lines.append("latency-aware curve monotone (each tighter target measured no slower): %s"
                 % ("yes" if monotone else "NO"))
    lines.append("prediction error |predicted / measured - 1|: max %.1f%%, mean %.1f%%"
                 % (100 * max(errors), 100 * sum(errors) / len(errors)))
    text = "\n".join(lines) + "\n"
    open(os.path.join(out, "curve.md"), "w").write(text)
    sys.stdout.write(text)
    write_svg(os.path.join(out, "curve.svg"), aware, uniform, dense)
    return 0 if monotone else 1


def write_svg(path, aware, uniform, dense):
    width, height, margin = 760, 340, 50
    panel = (width - 3 * margin) / 2

    def axes(x0, title, xlabel):
        parts = ['<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>'
                 % (x0, margin, panel, height - 2 * margin)]
        for tick in range(0, 11, 2):
            t = tick / 10
            x = x0 + t * panel
            y = height - margin - t * (height - 2 * margin)
            parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%.1f</text>'
                         % (x, height - margin + 14, t))
            parts.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%.1f</text>'
                         % (x0 - 4, y + 3, t))
        parts.append('<text x="%.1f" y="%d" font-size="12" text-anchor="middle">%s</text>'
                     % (x0 + panel / 2, margin - 10, title))
        parts.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>'
                     % (x0 + panel / 2, height - 12, xlabel))
        parts.append('<line x1="%d" y1="%d" x2="%.1f" y2="%d" stroke="#ccc" stroke-dasharray="4"/>'
                     % (x0, height - margin, x0 + panel, margin))
        return parts

    def series(x0, pts, xkey, colour):
        coords = []
        for p in pts:
            x = x0 + min(p[xkey], 1.0) * panel
            y = height - margin - min(p["share"], 1.2) * (height - 2 * margin)
            coords.append((x, y))
        parts = ['<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                 % (colour, " ".join("%.1f,%.1f" % c for c in coords))]
        parts += ['<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (x, y, colour) for x, y in coords]
        return parts

    body = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">'
            % (width, height), '<rect width="100%" height="100%" fill="white"/>']
    left, right = margin, 2 * margin + panel
    body += axes(left, "measured latency vs MACs (shares of dense)", "MACs / dense")
    body += series(left, aware, "macs", "#d62728")
    body += series(left, uniform, "macs", "#1f77b4")
    body += axes(right, "measured latency vs --target-latency", "target")
    body += series(right, aware, "value", "#d62728")
    body.append('<text x="%d" y="%d" font-size="11" fill="#d62728">latency-aware (--target-latency)</text>'
                % (left + 8, margin + 16))
    body.append('<text x="%d" y="%d" font-size="11" fill="#1f77b4">uniform --ratio (Torch-Pruning style)</text>'
                % (left + 8, margin + 30))
    body.append('<text x="%d" y="%d" font-size="10" fill="#555">y: measured latency / dense (%.2f ms, batch %d, %d thread)</text>'
                % (margin, height - 28 + 26, dense["latency_ms"]["median"], dense["batch"], dense["threads"]))
    body.append("</svg>")
    open(path, "w").write("\n".join(body) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: plot_latency_curve.py OUT\n")
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
