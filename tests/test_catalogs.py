"""The catalogs: every msgid in the code is translated into Kyrgyz and Russian, placeholders intact."""

from __future__ import annotations

import re

import pytest

from bot.catalogs import extract, load, translated
from bot.i18n import in_language, make_i18n

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z-]+")


@pytest.fixture(scope="module")
def template():
    return extract()


@pytest.mark.parametrize("language", ["ky", "ru"])
def test_every_msgid_is_translated(template, language: str) -> None:
    catalog = load(language)
    missing = [m.id for m in template if m.id and not (catalog.get(m.id) and translated(catalog[m.id].string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing, f"{language}: {len(missing)} msgids without a translation, e.g. {missing[:5]}"
    assert not fuzzy, f"{language}: fuzzy entries are not used: {fuzzy[:5]}"


@pytest.mark.parametrize("language", ["ky", "ru", "uz", "uz_Cyrl", "en"])
def test_translations_keep_placeholders_and_tags(language: str) -> None:
    for message in load(language):
        if not message.id or not translated(message.string):
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(sources[-1]))
        for target in targets:
            assert set(PLACEHOLDER.findall(target)) == wanted, f"{language}: {message.id!r} → {target!r}"
            assert sorted(TAG.findall(target)) == sorted(TAG.findall(sources[0])), f"{language}: {target!r}"


def test_uzbek_falls_back_to_russian_and_english_to_the_msgid() -> None:
    i18n = make_i18n("ky")
    uz = load("uz")
    untranslated_in_uz = next((m.id for m in load("ru") if m.id and isinstance(m.id, str) and m.string
                               and not (uz.get(m.id) and uz[m.id].string)), None)
    if untranslated_in_uz is not None:
        with in_language(i18n, "uz"):
            assert i18n.gettext(untranslated_in_uz) == load("ru")[untranslated_in_uz].string
    with in_language(i18n, "en"):
        assert i18n.gettext("Choose your language:") == "Choose your language:"
    with in_language(i18n, "ky"):
        assert i18n.gettext("Choose your language:") != "Choose your language:"


@pytest.mark.parametrize("language", ["ky", "ru", "uz", "uz_Cyrl", "en"])
def test_msgfmt_check_passes(language: str, tmp_path) -> None:
    """GNU msgfmt's own checks (format strings, headers) pass on every catalog."""
    import os
    import shutil
    import subprocess

    from bot.catalogs import po_path

    if shutil.which("msgfmt") is None:
        if os.environ.get("CI"):
            pytest.fail("msgfmt (gettext) is not installed")
        pytest.skip("msgfmt (gettext) is not installed")
    result = subprocess.run(["msgfmt", "-c", "-o", str(tmp_path / "out.mo"), str(po_path(language))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
