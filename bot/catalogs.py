"""Keep the gettext catalogs in step with the code: ``python -m bot.catalogs``.

Extracts every msgid from the product code into ``locales/messages.pot`` and updates each language's
``messages.po`` (new msgids added untranslated, gone ones dropped). ``--check`` only reports."""

from __future__ import annotations

import argparse
import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LOCALES_DIR
from bot.settings import LANGUAGES
from bot.uz_cyrillic import to_cyrillic

ROOT = LOCALES_DIR.parent
SOURCES = ("bot", "handlers", "services", "jobs")
KEYWORDS = {"_": None, "gettext": None, "__": None, "lazy_gettext": None, "ngettext": (1, 2),
            "lazy_ngettext": (1, 2)}
SKIP = ("emulator",)
# Python code, and the dashboard's Jinja2 templates (``{{ _("…") }}``, ``{% trans %}``) through Jinja2's extractor.
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
# Catalogs written from another by transliteration, where no translator wrote the entry.
DERIVED = {"uz_Cyrl": ("uz", to_cyrillic)}
MACHINE = "transliterated from uz"


def extract() -> Catalog:
    """Every msgid the product code passes to gettext."""
    template = Catalog(project="Jamaat", domain=DOMAIN, charset="utf-8")
    for source in SOURCES:
        for filename, line, message, comments, context in extract_from_dir(
            ROOT / source, method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS
        ):
            if any(part in SKIP for part in Path(filename).parts):
                continue
            template.add(message, None, [(f"{source}/{filename}", line)], auto_comments=comments, context=context)
    for message in template:
        # The code formats with str.format only; Babel takes "30 %" for a %-directive, and msgfmt -c then fails.
        message.flags.discard("python-format")
    return template


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN, project="Jamaat")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def save(catalog: Catalog, path: Path, **options: bool) -> None:
    buffer = BytesIO()
    # Sorted by msgid and without source locations: moving code changes no catalog line, and two branches that
    # add different msgids touch different lines (catalogs merge like code).
    write_po(buffer, catalog, width=0, no_location=True, sort_output=True, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(one_line_entries(buffer.getvalue().decode("utf-8")), encoding="utf-8")


def one_line_entries(po: str) -> str:
    """Each msgid/msgstr on one line (``\\n`` escapes kept), so an empty ``msgstr ""`` line always means an
    untranslated entry, for people and for simple checks alike."""
    lines: list[str] = []
    for line in po.splitlines():
        if line.startswith('"') and lines and lines[-1].endswith('"') and not lines[-1].startswith("#"):
            lines[-1] = lines[-1][:-1] + line[1:]
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def update() -> dict[str, int]:
    """Write the template and update every catalog; returns untranslated counts per language."""
    template = extract()
    save(template, LOCALES_DIR / f"{DOMAIN}.pot", omit_header=False)
    missing = {}
    for language in sorted(LANGUAGES, key=lambda code: code in DERIVED):  # sources before what is derived
        catalog = load(language)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        for message in catalog:
            message.flags.discard("python-format")
        catalog.obsolete.clear()
        if language in DERIVED:
            derive(catalog, load(DERIVED[language][0]), DERIVED[language][1])
        save(catalog, po_path(language), include_previous=False)
        missing[language] = sum(1 for m in catalog if m.id and not translated(m.string))
    return missing


def derive(catalog: Catalog, source: Catalog, convert) -> None:  # noqa: ANN001
    """Fill ``catalog`` from ``source`` through ``convert``, keeping what a translator wrote (entries without
    the machine's comment)."""
    catalog.fuzzy = False
    catalog.last_translator = source.last_translator
    catalog.language_team = f"{source.language_team} (Cyrillic, transliterated)"
    catalog.revision_date = source.revision_date
    for message in catalog:
        if not message.id or (translated(message.string) and MACHINE not in message.user_comments):
            continue
        original = source.get(message.id)
        strings = original.string if original is not None else None
        if not translated(strings):
            message.string = tuple("" for _ in message.string) if isinstance(message.string, tuple) else ""
            message.user_comments = [c for c in message.user_comments if c != MACHINE]
            continue
        message.string = tuple(convert(s) for s in strings) if isinstance(strings, tuple) else convert(strings)
        if MACHINE not in message.user_comments:
            message.user_comments.append(MACHINE)


def translated(string: str | tuple[str, ...] | None) -> bool:
    if isinstance(string, tuple):
        return all(string)
    return bool(string)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.catalogs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="report missing translations, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        template = extract()
        bad = 0
        for language in LANGUAGES:
            catalog = load(language)
            gaps = [m.id for m in template if m.id and not (catalog.get(m.id) and translated(catalog[m.id].string))]
            print(f"{language}: {len(gaps)} msgids without a translation")
            bad += len(gaps) if language in ("ky", "ru") else 0  # the others fall back
        return 1 if bad else 0
    for language, count in update().items():
        print(f"{language}: {count} msgids without a translation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
