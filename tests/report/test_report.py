"""The run report: written at the end of training (unless --no-report), every chart carrying the run's data, the
last evaluation's confusion matrix, several runs overlaid, and the page opened in a real headless browser (Debian's
chromium, where it is installed: CI installs it) with no console errors and its charts on the screen."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.helpers import finetune_sentiment_args, read_log, run_bertcli, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model, sentiment_data) -> list[Path]:
    root = tmp_path_factory.mktemp("report")
    outs = []
    for lr in ("1e-3", "3e-4"):
        out = root / f"lr{lr}"
        result = run_cli(*finetune_sentiment_args(tiny_model, out, sentiment_data, max_steps=40, eval_steps=10, lr=lr))
        assert result.code == 0, result.stderr
        outs.append(out)
    return outs


def charts(page: str) -> dict[str, list[int]]:
    """{chart title: the number of points of each line} of every line chart in a page."""
    found = {}
    for svg in re.findall(r"<svg class=\"chart\".*?</svg>", page, re.S):
        title = re.search(r'aria-label="([^"]*)"', svg).group(1)
        found[title] = [int(n) for n in re.findall(r'data-points="(\d+)"', svg)]
    return found


def test_training_writes_a_report_with_every_curve_and_the_confusion_matrix(runs):
    out = runs[0]
    page = (out / "report.html").read_text()
    drawn = charts(page)
    trained = [r for r in read_log(out) if "loss" in r]
    assert drawn["training loss"] == [len(trained)] and drawn["learning rate"] == [len(trained)]
    assert drawn["evaluation accuracy"] == [4] and drawn["evaluation loss"] == [4]  # steps 10, 20, 30, 40
    evaluation = json.loads((out / "evaluation.json").read_text())
    cells = [int(n) for n in re.findall(r'class="count"[^>]*>(\d+)<', page)]
    assert sum(cells) == sum(map(sum, evaluation["confusion_matrix"]["matrix"])) == 200
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere


def test_several_runs_overlay_their_curves_and_mark_what_differs(runs, tmp_path):
    result = run_bertcli("report", *runs, "--output-file", tmp_path / "both.html")
    assert result.code == 0, result.stderr
    page = (tmp_path / "both.html").read_text()
    assert all(len(lines) == 2 for lines in charts(page).values())
    differing = re.findall(r'<tr class="differs"><td>([^<]*)</td>', page)
    assert "train.lr" in differing and "model" not in differing


def test_no_report_when_asked(tiny_model, sentiment_data, tmp_path):
    result = run_cli(*finetune_sentiment_args(tiny_model, tmp_path / "out", sentiment_data, max_steps=2, report=False))
    assert result.code == 0, result.stderr
    assert not (tmp_path / "out" / "report.html").exists() and (tmp_path / "out" / "metrics.json").exists()


def test_report_of_something_that_is_not_a_run(tmp_path):
    result = run_bertcli("report", tmp_path)
    assert result.code == 2 and "is not a bertcli run" in result.stderr


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGBA bytes) of an 8-bit RGBA or RGB PNG, as chromium writes screenshots."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, color = header[:4]
    assert depth == 8 and color in (2, 6)
    step = 4 if color == 6 else 3
    raw, rows, previous = zlib.decompress(b"".join(chunks)), [], bytearray(width * step)
    stride = width * step
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up, corner = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(
            bytes(line) if step == 4 else b"".join(bytes(line[i : i + 3]) + b"\xff" for i in range(0, stride, 3))
        )
        previous = line
    return width, height, rows


@pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium here (CI installs Debian's chromium): the report was not opened in a browser"
)
def test_the_report_in_a_headless_browser(runs, tmp_path):
    page = runs[0] / "report.html"
    browser = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'p'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,900",
    ]
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [*browser, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert shot.is_file(), done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    throwing = tmp_path / "throws.html"  # the check would see a page's errors: here is one that has some
    throwing.write_text('<p>x</p><script>console.error("boom"); throw new Error("kaboom")</script>')
    seen = subprocess.run([*browser, "--dump-dom", throwing.as_uri()], capture_output=True, text=True, timeout=120)
    assert any("kaboom" in line for line in seen.stderr.splitlines() if "CONSOLE" in line), seen.stderr[-2000:]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert charts(dom) == charts(page.read_text())  # the browser parsed every chart with its points
    width, height, rows = png_pixels(shot)
    blue = sum(row.count(b"\x1f\x77\xb4\xff") for row in rows)  # the first series' color: lines and points drawn
    assert (width, height) == (1200, 900) and blue > 200, blue
