"""Without axe-core the accessibility checks skip locally and fail on CI."""

from __future__ import annotations

import pytest

from tests.browser.conftest import AXE, require_axe


def test_a_missing_axe_is_a_skip_that_says_how_to_install_it(tmp_path):
    with pytest.raises(pytest.skip.Exception, match=r"axe.min.js is missing\): run `npm ci`"):
        require_axe(tmp_path / "axe.min.js", {})


def test_a_missing_axe_fails_on_ci(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="axe-core is not installed"):
        require_axe(tmp_path / "axe.min.js", {"CI": "true"})


def test_an_installed_axe_is_used(tmp_path):
    bundle = tmp_path / "axe.min.js"
    bundle.write_text("/* axe */")
    assert require_axe(bundle, {"CI": "true"}) == bundle
    assert AXE.parts[-3:] == ("node_modules", "axe-core", "axe.min.js")
