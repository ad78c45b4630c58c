"""Fixtures of the Python binding's tests (run by meson test, suite 'python').

meson sets PYTHONPATH to the built module, FR_PYPEER to the C peer
(python/peer.c) and FR_SOURCE_ROOT; run by hand:

    PYTHONPATH=build/python FR_PYPEER=build/python/framering-pypeer \\
        /usr/bin/python3 -m pytest -p no:cacheprovider tests/python
"""
import os
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("FR_SOURCE_ROOT", os.path.dirname(os.path.dirname(HERE)))


@pytest.fixture
def name(request):
    """A segment name of this test's own, removed afterwards."""
    n = f"frpy-{os.getpid()}-{request.node.name}"[:120]
    n = "".join(c if c.isalnum() or c in "._-" else "_" for c in n)
    yield n
    try:
        os.unlink(f"/dev/shm/{n}")
    except FileNotFoundError:
        pass


@pytest.fixture(scope="session")
def peer():
    """The C peer program (framering-pypeer)."""
    path = os.environ.get("FR_PYPEER") or os.path.join(SOURCE_ROOT, "build", "python",
                                                       "framering-pypeer")
    assert os.access(path, os.X_OK), f"no C peer at {path}: build it or set FR_PYPEER"
    return path
