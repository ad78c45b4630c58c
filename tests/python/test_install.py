"""`meson install` puts the module where the interpreter looks for it, and the
installed module works alone: the library is linked in, nothing else exported."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

pytest.importorskip("numpy", reason="python3-numpy is not installed")

BUILD = os.environ.get("FR_BUILD_ROOT")


@pytest.mark.skipif(not BUILD or not shutil.which("meson"), reason="needs meson's build dir")
def test_meson_install_puts_the_module_on_sys_path():
    with tempfile.TemporaryDirectory() as dest:
        subprocess.run(["meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                        "--tags", "python-runtime", "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        found = [os.path.join(d, f) for d, _, files in os.walk(dest) for f in files
                 if f.startswith("framering.") and f.endswith(".so")]
        assert len(found) == 1, found
        installed_dir = os.path.dirname(found[0])[len(dest):]
        options = json.loads(subprocess.run(["meson", "introspect", BUILD, "--buildoptions"],
                                            check=True, capture_output=True, text=True).stdout)
        if [o["value"] for o in options if o["name"] == "prefix"] == ["/usr/local"]:
            # The default prefix: this interpreter finds it without PYTHONPATH.
            assert installed_dir in sys.path, (installed_dir, sys.path)
        env = dict(os.environ, PYTHONPATH=os.path.dirname(found[0]))
        out = subprocess.run([sys.executable, "-c", "import framering as fr; print(fr.__file__)"],
                             env=env, check=True, capture_output=True, text=True, cwd=dest).stdout
        assert out.strip() == found[0]
        ldd = subprocess.run(["ldd", found[0]], capture_output=True, text=True).stdout
        assert "libframering" not in ldd
        syms = subprocess.run(["nm", "-D", "--defined-only", found[0]], capture_output=True,
                              text=True).stdout.split()
        assert [s for s in syms if s.startswith(("fr_", "fri_", "pyfr_"))] == []
