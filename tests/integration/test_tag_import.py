"""The tagger in a fresh interpreter: importing it does no work; tagging needs no source library."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_no_work_and_tagging_needs_neither_library() -> None:
    # Given a fresh interpreter
    code = (
        "import sys\n"
        "import feed_archiver.tag as t\n"
        "assert t._gazetteer.cache_info().currsize == 0, 'data loaded at import'\n"
        "assert t._countries.cache_info().currsize == 0, 'regex compiled at import'\n"
        "print(t.tag('Project News: Turkey', 'Kabul').countries)\n"
        "assert 'pycountry' not in sys.modules and 'country_converter' not in sys.modules\n"
    )
    # When the module is imported and used
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    # Then nothing was loaded at import, and tagging did not import the source libraries
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('AF', 'TR')"
