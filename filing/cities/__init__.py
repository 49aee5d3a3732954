"""The cities' own registration forms (000 Binzhou, 001 Rizhao, 003 Langfang).

A city is one module here that defines ``FORM``, an instance of a ``CityForm`` subclass, plus
its template ``templates/print/cities/<code>.html`` and stylesheet
``static/campusmedia/print/cities/<code>.css``. The setting ``CAMPUSMEDIA_FILING_CITY`` names
the module; adding a city touches nothing else.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from filing.data import FilingData

__all__ = ["CityForm", "Column", "available_cities", "city_form"]


@dataclass(frozen=True)
class Column:
    """One column of the summary sheet: its header and the key of ``CityForm.fields``."""

    header: str
    key: str


class CityForm:
    """A city's registration form: which accounts it files, what it asks, how it prints.

    ``fields`` is the heart of it: the values the form prints, as JSON (strings, numbers,
    booleans, ``None`` and lists of them). They are what a batch freezes, encrypts and
    fingerprints, so an account is filed again exactly when one of them changes, and personal
    data the form does not ask for never leaves.
    """

    code: ClassVar[str]  # the module name, e.g. "binzhou"
    city_name: ClassVar[str]  # "滨州市"
    title: ClassVar[str]  # "滨州市微信公众账号登记表"
    office_title: ClassVar[str]  # how the covering letter addresses the office's kind
    # Platform codes the form is for (campusmedia Platform.code); None files every platform.
    platforms: ClassVar[frozenset[str] | None] = None
    columns: ClassVar[list[Column]]  # the summary sheet

    def files(self, data: FilingData) -> bool:
        return self.platforms is None or data.platform_code in self.platforms

    def fields(self, data: FilingData) -> dict[str, Any]:
        raise NotImplementedError

    def context(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The template's context from frozen ``fields`` (checkbox rows and the like)."""
        return {"f": fields}

    @property
    def template(self) -> str:
        """The print template and stylesheet name (``print/<template>.html``)."""
        return f"cities/{self.code}"


def available_cities() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


@functools.cache
def _load(code: str) -> CityForm:
    if code not in available_cities():
        raise ImproperlyConfigured(
            f"CAMPUSMEDIA_FILING_CITY={code!r}: no module filing/cities/{code}.py"
        )
    form = importlib.import_module(f"filing.cities.{code}").FORM
    if not isinstance(form, CityForm) or form.code != code:
        raise ImproperlyConfigured(f"filing/cities/{code}.py must define FORM with code {code!r}")
    return form


def city_form(code: str | None = None) -> CityForm:
    """The form of ``code``, by default the city the school files in."""
    return _load(code or settings.CAMPUSMEDIA_FILING_CITY)
