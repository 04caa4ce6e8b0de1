import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "py_tools"))

# Hypothesis: the same examples on every run in CI (no flaky CI), random locally.
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def device_data() -> str:
    """tests_device/data (blobs, inputs, reference outputs, bad blobs), written once per
    run for every test that reads it, whatever the order the tests run in."""
    from emlml_dev.devicedata import write_device_data
    from runtimes import DEVICE_DATA

    write_device_data(DEVICE_DATA)
    return DEVICE_DATA
