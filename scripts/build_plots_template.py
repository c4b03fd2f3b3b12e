"""Build dvc_plots/offline.html: a `dvc plots show --html-template` page with vega, vega-lite and vega-embed inlined.

DVC's default page loads those three scripts from a CDN, so its plots render blank offline. This template has no
scripts placeholder, so DVC's CDN tags are never inserted; the libraries it inlines are the exact versions DVC
names, read from dvc_render. Run once, commit the output (the JS is not a runtime dependency):

    (cd /tmp/js && npm pack vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2)
    python scripts/build_plots_template.py /tmp/js/vega-5.20.2.tgz /tmp/js/vega-lite-5.2.0.tgz \\
        /tmp/js/vega-embed-6.18.2.tgz
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.core.io import atomic_write_text  # noqa: E402

TARGET = Path(__file__).resolve().parents[1] / "dvc_plots" / "offline.html"
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")


def expected_packages() -> dict[str, str]:
    """name -> version of the scripts DVC's vega renderer would load from the CDN."""
    from dvc_render.vega import VegaRenderer

    return dict(re.findall(r"/npm/([\w-]+)@([\d.]+)", VegaRenderer.SCRIPTS))


def read_package(tarball: Path) -> tuple[str, str, str]:
    """(name, version, minified browser build) from an `npm pack` tarball."""
    with tarfile.open(tarball) as archive:
        meta = json.load(archive.extractfile("package/package.json"))
        script = archive.extractfile(f"package/{meta['jsdelivr']}").read().decode()
    script = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", script)  # no map for a browser to look up
    for token in (*PLACEHOLDERS, "</script", "<!--"):
        if token in script:
            raise SystemExit(f"{tarball}: the script contains {token!r} and cannot be inlined safely")
    return meta["name"], meta["version"], script


def build(tarballs: list[Path]) -> str:
    expected = expected_packages()
    packages = {name: (version, script) for name, version, script in map(read_package, tarballs)}
    found = {name: version for name, (version, _) in packages.items()}
    if found != expected:
        raise SystemExit(f"DVC loads {expected}, the tarballs hold {found}")
    provenance = "\n".join(f"  {name}@{version} sha256 {hashlib.sha256(script.encode()).hexdigest()}"
                           for name, (version, script) in packages.items())
    scripts = "\n".join(f"<script>\n{packages[name][1]}\n</script>" for name in expected)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{{refresh_tag}}
<title>DVC Plot</title>
<!-- Offline DVC plots template from scripts/build_plots_template.py; inlined (sha256 of the code):
{provenance}
-->
{scripts}
<style>
body {{ font-family: system-ui, sans-serif; }}
table {{ border-spacing: 15px; }}
</style>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tarballs", nargs=3, type=Path, help="npm pack tarballs of vega, vega-lite, vega-embed")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args()
    atomic_write_text(args.output, build(args.tarballs))
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
