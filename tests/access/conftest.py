# The real-broker and real-worker fixtures of the audit fault tests, reused here.
from tests.audit.conftest import broker, workers  # noqa: F401
