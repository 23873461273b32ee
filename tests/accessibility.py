"""axe-core in the real browser: inject it into a rendered page, run it, report each violation.

axe-core comes from npm, pinned in tests/browser/package-lock.json and installed into the
gitignored tests/browser/node_modules by `make browser-deps` (`npm ci`); `.ci/run` installs it
too. Without it the accessibility checks skip and say how to install it, unless
FEED_ARCHIVER_REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
INSTALL = "`make browser-deps` (or `npm ci --prefix tests/browser`)"
REQUIRE = "FEED_ARCHIVER_REQUIRE_BROWSER"

# Selectors axe leaves out. Only for what the app cannot change (Streamlit's own chrome),
# each with its reason; never a rule switched off.
EXCLUDED: dict[str, str] = {}

_RUN = """async (exclude) => {
    const context = exclude.length ? {include: [document], exclude: exclude.map(s => [s])} : document;
    const results = await axe.run(context, {resultTypes: ['violations']});
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary}))
    }));
}"""

# What axe-core cannot judge in the charts, checked here: Vega draws text in SVG, whose
# background axe cannot determine (it reports those texts as "incomplete"), and names a
# chart without a Vega-Lite `description` "Vega visualization", which passes axe but tells
# a screen reader nothing. Axis, legend and title texts lie on the chart's background;
# the numbers on the bars and heat-map cells are left out (their background is the mark).
_CHARTS = """() => {
    const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const rgb = css => (css.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
    const problems = [];
    document.querySelectorAll('[data-testid="stVegaLiteChart"]').forEach((chart, index) => {
        const label = chart.getAttribute('aria-label') || '';
        if (!label || label === 'Vega visualization') {
            problems.push(`chart ${index + 1} has no description (aria-label "${label}")`);
        }
        const svg = chart.querySelector('svg');
        const bg = svg ? rgb(getComputedStyle(svg).backgroundColor) : [255, 255, 255];
        chart.querySelectorAll('g[class*="role-axis"] text, g[class*="role-legend"] text, g[class*="role-title"] text')
            .forEach(text => {
                const style = getComputedStyle(text);
                const alpha = Number(style.fillOpacity) * Number(style.opacity);
                const fg = rgb(style.fill).map((c, i) => alpha * c + (1 - alpha) * bg[i]);
                const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
                const ratio = (light + 0.05) / (dark + 0.05);
                const role = text.parentElement.closest('g[class]').getAttribute('class');
                const problem = `chart ${index + 1} ("${label.slice(0, 40)}"): ${role} texts such as `;
                if (ratio < 4.5 && !problems.some(p => p.startsWith(problem))) {
                    problems.push(`${problem}"${text.textContent}" have a contrast of `
                        + `${ratio.toFixed(2)} (${style.fill} on rgb(${bg})), below 4.5`);
                }
            });
    });
    return problems;
}"""


def require_axe(axe: Path = AXE) -> Path:
    """axe.min.js; skips without it, or fails when the browser checks are required."""
    if axe.is_file():
        return axe
    reason = f"axe-core is not installed ({axe} is missing): install it with {INSTALL}"
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{REQUIRE}=1 but {reason}")
    pytest.skip(reason)


def violations(page: Any, axe: Path) -> list[dict[str, Any]]:
    """Run axe-core on the whole page (less EXCLUDED); its violations, as plain dicts."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    found: list[dict[str, Any]] = page.evaluate(_RUN, list(EXCLUDED))
    return found


def describe(found: list[dict[str, Any]]) -> str:
    """One paragraph per violation: id, impact, help, then each offending node's target."""
    lines = []
    for violation in found:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"  - {' >> '.join(map(str, node['target']))}")
            lines.append(f"      {str(node.get('html') or '')[:200]}")
            summary = (node.get("summary") or "").strip().replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def assert_accessible(page: Any, axe: Path, where: str) -> None:
    """No axe-core violation on the page, and none of _CHARTS' problems; the message lists each.

    The viewport grows to the whole page first: Streamlit scrolls inside its main block,
    and axe cannot tell the colours of text outside the viewport (it reports those as
    "incomplete", not as violations).
    """
    viewport = page.viewport_size
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": int(height) + 40})
    page.wait_for_timeout(800)  # let the charts re-lay themselves out
    try:
        found = violations(page, axe)
        charts: list[str] = page.evaluate(_CHARTS)
    finally:
        page.set_viewport_size(viewport)
    report = []
    if found:
        report.append(f"axe-core found {len(found)} violation(s):\n{describe(found)}")
    if charts:
        report.append("in the charts, where axe-core cannot look:\n" + "\n".join(charts[:40]))
    assert not report, f"on {where}:\n" + "\n".join(report)
