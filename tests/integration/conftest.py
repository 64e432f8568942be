import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon  # noqa: E402


@pytest.fixture
def daemon():
    d = Daemon().start()
    yield d
    rc = d.stop()
    d.cleanup()
    assert rc == 0, "dogeboxd exited with %s" % rc
