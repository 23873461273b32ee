"""The generated country table: fresh, deterministic, compact, and one region per country."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pycountry
import pytest
import yaml

from feed_archiver.tag import REGIONS
from feed_archiver.tag_matcher import term_key

ROOT = Path(__file__).resolve().parents[2]
GAZETTEER = ROOT / "functions" / "feed_archiver" / "data" / "gazetteer.json"
COUNTRIES = ROOT / "functions" / "feed_archiver" / "data" / "countries.json"


def _load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_gazetteer", ROOT / "scripts" / "build_gazetteer.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


build_gazetteer = _load_build_script()


@pytest.fixture(scope="module")
def gazetteer() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GAZETTEER.read_text(encoding="utf-8"))
    return data


def test_committed_gazetteer_is_fresh() -> None:
    # Given the committed file / When the gazetteer is rebuilt in memory from its sources
    rebuilt = build_gazetteer.render(build_gazetteer.build())
    # Then they are identical: run scripts/build_gazetteer.py after editing the additions
    assert GAZETTEER.read_text(encoding="utf-8") == rebuilt


def test_committed_country_table_is_fresh() -> None:
    # Given the committed names and numeric codes / When rebuilt from the sources
    rebuilt = build_gazetteer.render(build_gazetteer.build_countries(build_gazetteer.build()))
    # Then they are identical
    assert COUNTRIES.read_text(encoding="utf-8") == rebuilt


def test_country_table_covers_the_gazetteer_with_iso_numeric_codes(
    gazetteer: dict[str, Any],
) -> None:
    # Given the generated country table
    table = json.loads(COUNTRIES.read_text(encoding="utf-8"))["countries"]
    # Then every gazetteer code has a name, its region, and ISO's numeric code (Kosovo has none)
    assert set(table) == set(gazetteer["terms"])
    for code, entry in table.items():
        assert entry["region"] == gazetteer["regions"][code]
        iso = pycountry.countries.get(alpha_2=code)
        assert entry["numeric"] == (iso.numeric if iso else None), code
    assert table["TR"]["name"] == "Türkiye" and table["XK"]["numeric"] is None
    assert table["AT"]["numeric"] == "040"


def test_build_is_deterministic() -> None:
    assert build_gazetteer.render(build_gazetteer.build()) == build_gazetteer.render(
        build_gazetteer.build()
    )


def test_check_mode_fails_on_a_stale_file_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stale copy of the output
    stale = tmp_path / "gazetteer.json"
    stale.write_text('{"stale": true}\n', encoding="utf-8")
    monkeypatch.setattr(build_gazetteer, "ROOT", tmp_path)
    monkeypatch.setattr(build_gazetteer, "OUTPUT", stale)
    monkeypatch.setattr(build_gazetteer, "COUNTRIES_OUTPUT", tmp_path / "countries.json")
    # When checked / Then the exit status is 1 and the file is untouched
    assert build_gazetteer.main(["--check"]) == 1
    assert stale.read_text(encoding="utf-8") == '{"stale": true}\n'
    assert "stale" in capsys.readouterr().err
    # When rebuilt, then checked again / Then the check passes
    assert build_gazetteer.main([]) == 0
    assert build_gazetteer.main(["--check"]) == 0


def test_gazetteer_is_compact() -> None:
    assert GAZETTEER.stat().st_size < 200_000


def test_every_code_has_exactly_one_icmpd_region(gazetteer: dict[str, Any]) -> None:
    # Given the generated table / Then region and term tables cover the same codes
    assert set(gazetteer["regions"]) == set(gazetteer["terms"])
    # And every region is one of ICMPD's
    assert set(gazetteer["regions"].values()) == set(REGIONS)


def test_codes_are_iso_3166_alpha2_or_kosovo(gazetteer: dict[str, Any]) -> None:
    iso = {c.alpha_2 for c in pycountry.countries}
    assert set(gazetteer["terms"]) - iso == {"XK"}
    assert len(gazetteer["terms"]) > 240


def _codes(text: str) -> set[str]:
    return set(text.split())


def _members(gazetteer: dict[str, Any], region: str) -> set[str]:
    return {code for code, r in gazetteer["regions"].items() if r == region}


def test_icmpd_regions_have_exactly_their_members(gazetteer: dict[str, Any]) -> None:
    # The mapping of the issue, written out independently of the additions file.
    assert _members(gazetteer, "Silk Routes") == _codes("AF BD IN IR IQ PK LK")
    assert _members(gazetteer, "Eastern Europe and Central Asia") == _codes(
        "AM AZ BY GE KZ KG MD RU TJ TM UA UZ"
    )
    assert _members(gazetteer, "Western Balkans and Türkiye") == _codes("AL BA XK ME MK RS TR")
    assert _members(gazetteer, "Mediterranean and Middle East") == _codes(
        "MA DZ TN LY EG JO LB SY PS IL SA YE OM AE QA BH KW"
    )


def test_europe_is_the_eu_efta_uk_and_microstates(gazetteer: dict[str, Any]) -> None:
    eu = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
    others = "IS LI NO CH GB AD MC SM VA"
    assert _codes(eu) | _codes(others) <= _members(gazetteer, "Europe")


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("NG", "Africa"),
        ("SD", "Africa"),
        ("US", "Americas"),
        ("BR", "Americas"),
        ("CN", "Asia and Pacific"),
        ("AU", "Asia and Pacific"),
        ("FJ", "Asia and Pacific"),
        ("GL", "Americas"),
    ],
)
def test_other_countries_follow_their_continent(
    gazetteer: dict[str, Any], code: str, region: str
) -> None:
    assert gazetteer["regions"][code] == region


def test_every_term_means_one_country_and_starts_with_a_capital(
    gazetteer: dict[str, Any],
) -> None:
    owners: dict[str, str] = {}
    for code, forms in gazetteer["terms"].items():
        for form in forms:
            assert form[:1].isupper(), form
            assert owners.setdefault(term_key(form), code) == code, form


def test_source_forms_turn_catalogue_names_into_running_text() -> None:
    forms = build_gazetteer.source_forms
    assert forms("Korea, Republic of") == ["Republic of Korea"]
    assert forms("Congo, The Democratic Republic of the") == ["Democratic Republic of the Congo"]
    assert forms("Virgin Islands, British") == ["British Virgin Islands"]
    assert forms("Bonaire, Sint Eustatius and Saba") == ["Bonaire"]
    assert forms("Holy See (Vatican City State)") == ["Holy See"]
    assert forms("the State of Palestine") == ["State of Palestine"]


# --- the build refuses inconsistent additions ---------------------------------


def _build_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Any) -> None:
    additions = yaml.safe_load(build_gazetteer.ADDITIONS.read_text(encoding="utf-8"))
    edit(additions)
    path = tmp_path / "additions.yaml"
    path.write_text(yaml.safe_dump(additions, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(build_gazetteer, "ADDITIONS", path)
    build_gazetteer.build()


def test_build_refuses_a_term_country_converter_reads_as_another_country(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given additions without the reason why "Turks" is Türkiye, not Turks and Caicos
    def edit(additions: dict[str, Any]) -> None:
        del additions["cc_overrides"]["Turks"]

    # When built / Then the cross-check with country_converter's regexes fails
    with pytest.raises(build_gazetteer.GazetteerError, match="Turks"):
        _build_with(tmp_path, monkeypatch, edit)


def test_build_refuses_a_term_naming_two_countries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "Congo" added to the DRC while it is the Republic of the Congo's name
    def edit(additions: dict[str, Any]) -> None:
        additions["names"]["CD"].append("Congo")

    with pytest.raises(build_gazetteer.GazetteerError, match="two countries"):
        _build_with(tmp_path, monkeypatch, edit)


def test_build_refuses_a_country_in_two_regions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def edit(additions: dict[str, Any]) -> None:
        additions["regions"]["Silk Routes"].append("TR")

    with pytest.raises(build_gazetteer.GazetteerError, match="two regions"):
        _build_with(tmp_path, monkeypatch, edit)


def test_build_refuses_an_exclusion_that_is_a_term(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def edit(additions: dict[str, Any]) -> None:
        additions["exclusions"].append("Kabul")

    with pytest.raises(build_gazetteer.GazetteerError, match="exclusions"):
        _build_with(tmp_path, monkeypatch, edit)


def test_build_refuses_a_lowercase_term(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def edit(additions: dict[str, Any]) -> None:
        additions["names"]["US"].append("the States")

    with pytest.raises(build_gazetteer.GazetteerError, match="capital"):
        _build_with(tmp_path, monkeypatch, edit)
