"""Copy the front-end files Lanner ships from the npm registry into the package (`make ui`).

Running Lanner never needs Node: the files are committed under
``src/lanner/web/static/vendor/``.  This script installs the exact versions of
``ui/package-lock.json`` (``npm ci``, no install scripts), copies the files each page
needs with their licences, and writes ``MANIFEST.json`` (package, version, SHA-256 of
each file), which a test checks against the files and the lockfile.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "ui"
VENDOR = ROOT / "src" / "lanner" / "web" / "static" / "vendor"
# package -> (folder under VENDOR, files to ship)
SHIPPED = {
    "swagger-ui-dist": ("swagger-ui", ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE",
                                       "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"]),
}


def main() -> None:
    if shutil.which("npm") is None:
        sys.exit("error: npm is needed to rebuild the vendored front-end files (Debian: apt-get install npm)")
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=UI, check=True)
    lock = json.loads((UI / "package-lock.json").read_text())
    for package, (folder, files) in SHIPPED.items():
        source = UI / "node_modules" / package
        target = VENDOR / folder
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        digests = {}
        for name in files:
            shutil.copyfile(source / name, target / name)
            digests[name] = hashlib.sha256((target / name).read_bytes()).hexdigest()
        manifest = {"package": package, "version": lock["packages"][f"node_modules/{package}"]["version"],
                    "license": json.loads((source / "package.json").read_text()).get("license"), "files": digests}
        (target / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"{package} {manifest['version']} -> {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
