"""Code-env tests reuse the per-backend `sandbox` fixture of the sandbox tests."""

from tests.sandboxes.conftest import sandbox  # noqa: F401  (re-exported fixture)
