"""The columns of the census file and how a cell becomes a value (django-import-export fields).

``CensusResource`` declares one import-export ``Field`` per column of the campus form (the
《微博、微信登记备案表》 of 004 with the fields of the forms in 000, 001 and 003): the Chinese
header, the widget that reads the cell, whether it is required, and the explanation printed on
the template's 填写说明 sheet. The resource is the single list of columns: the template is
written from it, uploaded headers are matched against it and each row is cleaned through it.

Rows are not imported through ``Resource.import_data``: that loads the whole file into a
``tablib.Dataset`` and saves row by row (the benchmark in ``census.bench`` measures it as the
baseline). ``clean_row`` turns one row into the values ``campusmedia.services.accounts_import``
takes, and the census services stream the file through it in chunks.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from import_export.fields import Field
from import_export.resources import Resource
from import_export.widgets import Widget

from campusmedia.choices import AccountStatus, ContentCategory, ContentForm, TeamRole, Verification
from campusmedia.masking import mask_mobile
from campusmedia.models import MediaAccount, Person, Platform, Unit
from campusmedia.spreadsheets import FORMULA_START
from campusmedia.validators import normalize_mobile

# The team groups of the form: the supervising leader and up to two administrators.
TEAM_GROUPS: tuple[tuple[str, str, Any], ...] = (
    ("supervisor", TeamRole.SUPERVISOR, gettext_lazy("主要负责人")),
    ("admin1", TeamRole.ADMINISTRATOR, gettext_lazy("管理员1")),
    ("admin2", TeamRole.ADMINISTRATOR, gettext_lazy("管理员2")),
)
# A group filled in at all needs these; the supervisor and the first administrator always.
TEAM_REQUIRED = ("name", "mobile")
ALWAYS_REQUIRED_GROUPS = ("supervisor", "admin1")

_SPLIT = re.compile(r"[、,，;；/\s]+")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YES = {"是", "yes", "y", "true", "1", "√", "✓"}
_NO = {"否", "no", "n", "false", "0", "×", "✗"}


@dataclass
class Lookups:
    """The units and platforms a file may name, loaded once per check or import."""

    units_by_id: dict[int, Unit] = field(default_factory=dict)
    units_by_code: dict[str, Unit] = field(default_factory=dict)
    units_by_name: dict[str, list[Unit]] = field(default_factory=dict)
    platforms_by_id: dict[int, Platform] = field(default_factory=dict)
    platforms_by_key: dict[str, Platform] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Lookups:
        lookups = cls()
        for unit in Unit.objects.filter(is_active=True).only("id", "code", "name", "kind"):
            lookups.units_by_id[unit.pk] = unit
            lookups.units_by_code[unit.code.casefold()] = unit
            lookups.units_by_name.setdefault(unit.name, []).append(unit)
        for platform in Platform.objects.all():
            lookups.platforms_by_id[platform.pk] = platform
            lookups.platforms_by_key[platform.code.casefold()] = platform
            lookups.platforms_by_key[platform.name.casefold()] = platform
        return lookups


def text_of(value: Any) -> str:
    """A cell as text: numbers without a trailing ``.0``, dates as ISO, a leading ``'`` that a
    spreadsheet export put before formula-like text removed, surrounding blanks stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        value = value.date() if not value.time() else value
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    text = str(value).strip().strip("\u3000")
    if text[:1] == "'" and text[1:2] and text[1:2] in FORMULA_START:
        text = text[1:]
    return text


class TextWidget(Widget):
    """Text as written; the model's own validators judge it."""

    empty: Any = ""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        return text_of(value)


class UrlWidget(TextWidget):
    """A homepage link; without a scheme ``https://`` is assumed, as on the account form."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        text = text_of(value)
        if text and "://" not in text:
            text = "https://" + text
        return text


class UnitWidget(Widget):
    """A unit by its code or its exact name."""

    empty: Any = None

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Unit | None:
        text = text_of(value)
        if not text:
            return None
        lookups: Lookups = kwargs["lookups"]
        unit = lookups.units_by_code.get(text.casefold())
        if unit is not None:
            return unit
        named = lookups.units_by_name.get(text, [])
        if len(named) > 1:
            raise ValueError(_("有多个单位叫这个名称，请改填单位代码（见“填写说明”）。"))
        if not named:
            raise ValueError(_("没有这个单位：请填写单位代码或完整的单位名称（见“填写说明”）。"))
        return named[0]


class PlatformWidget(Widget):
    """A platform by its Chinese name or its code."""

    empty: Any = None

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Platform | None:
        text = text_of(value)
        if not text:
            return None
        lookups: Lookups = kwargs["lookups"]
        platform = lookups.platforms_by_key.get(text.casefold())
        if platform is None:
            names = "、".join(p.name for p in lookups.platforms_by_id.values())
            raise ValueError(_("没有这个平台，可填：%(names)s。") % {"names": names})
        return platform


class ChoicesWidget(Widget):
    """Several options of one vocabulary, by label or code, separated by 、 or a comma."""

    empty: Any = []

    def __init__(self, choices: Any) -> None:
        super().__init__()
        self.choices = choices
        self._keys: dict[str | None, dict[str, str]] = {}

    def _by_key(self) -> dict[str, str]:
        language = get_language()
        if language not in self._keys:
            keys = {str(label): code for code, label in self.choices.choices}
            keys.update({code: code for code in self.choices.values})
            self._keys[language] = keys
        return self._keys[language]

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> list[str]:
        text = text_of(value)
        if not text:
            return []
        codes: list[str] = []
        by_key = self._by_key()
        for part in _SPLIT.split(text):
            if not part:
                continue
            code = by_key.get(part) or by_key.get(part.casefold())
            if code is None:
                raise ValueError(
                    _("无效选项“%(value)s”，可填：%(labels)s（多项用顿号或逗号分隔）。")
                    % {"value": part[:20], "labels": "、".join(map(str, self.choices.labels))}
                )
            if code not in codes:
                codes.append(code)
        return codes


class DateWidget(Widget):
    """A date cell, or text like 2020-09-01, 2020/9/1 or 2020年9月1日."""

    empty: Any = None

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> datetime.date | None:
        if value is None or value == "":
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = text_of(value)
        match = _DATE.fullmatch(text)
        if match is None and re.fullmatch(r"\d{8}", text):
            match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
        if match is None:
            raise ValueError(_("日期格式不对，应如 2020-09-01。"))
        try:
            return datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise ValueError(_("不是有效的日期。")) from None


class CountWidget(Widget):
    """A whole number not below zero (thousands separators allowed)."""

    empty: Any = None

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ValueError(_("应为不小于 0 的整数。"))
        if isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        else:
            text = re.sub(r"[,，\s]", "", text_of(value))
            if not text.isdigit() or not text.isascii():
                raise ValueError(_("应为不小于 0 的整数。"))
            number = int(text)
        if number < 0:
            raise ValueError(_("应为不小于 0 的整数。"))
        return number


class VerificationWidget(Widget):
    empty: Any = ""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        text = text_of(value).casefold()
        if not text:
            return ""
        if text in _YES or text == str(Verification.VERIFIED.label) or text == "认证":
            return Verification.VERIFIED
        if text in _NO or text == str(Verification.NOT_VERIFIED.label):
            return Verification.NOT_VERIFIED
        raise ValueError(_("应填“已认证”或“未认证”。"))


class YesNoWidget(Widget):
    empty: Any = False

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = text_of(value).casefold()
        if not text or text in _NO:
            return False
        if text in _YES or text == "学生":
            return True
        raise ValueError(_("应填“是”或“否”。"))


class CensusField(Field):
    """A column: import-export's Field with whether it is required and its explanation."""

    def __init__(
        self, *, key: str, label: Any, widget: Widget, required: bool = False, help: Any = ""
    ) -> None:
        super().__init__(attribute=key, column_name=str(label), widget=widget)
        self.key = key
        self.label = label
        self.required = required
        self.help = help

    @property
    def group(self) -> str:
        return self.key.split(".", 1)[0] if "." in self.key else ""

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[-1]


def _team_fields(group: str, label: Any, administrator: bool) -> list[CensusField]:
    always = group in ALWAYS_REQUIRED_GROUPS
    fields = [
        CensusField(
            key=f"{group}.name",
            label=f"{label}姓名",
            widget=TextWidget(),
            required=always,
            help=gettext_lazy("本单位人员；同一单位同名同手机号的人员只登记一次。"),
        ),
        CensusField(
            key=f"{group}.office_phone",
            label=f"{label}办公电话",
            widget=TextWidget(),
            help=gettext_lazy("固定电话，如 0543-3162200。"),
        ),
        CensusField(
            key=f"{group}.mobile",
            label=f"{label}手机",
            widget=TextWidget(),
            required=always,
            help=gettext_lazy("11 位手机号，可带 +86。"),
        ),
    ]
    if administrator:
        fields += [
            CensusField(
                key=f"{group}.email",
                label=f"{label}电子邮箱",
                widget=TextWidget(),
                help=gettext_lazy("如 name@example.edu.cn。"),
            ),
            CensusField(key=f"{group}.wechat_id", label=f"{label}微信号", widget=TextWidget()),
            CensusField(
                key=f"{group}.is_student",
                label=f"{label}是否学生",
                widget=YesNoWidget(),
                help=gettext_lazy("是／否，不填为否。"),
            ),
        ]
    return fields


def _account_fields() -> list[CensusField]:
    return [
        CensusField(
            key="owner_unit",
            label=gettext_lazy("主办单位"),
            widget=UnitWidget(),
            required=True,
            help=gettext_lazy("单位代码或完整的单位名称，见下方单位列表。"),
        ),
        CensusField(
            key="name",
            label=gettext_lazy("账号名称（昵称）"),
            widget=TextWidget(),
            required=True,
        ),
        CensusField(
            key="platform",
            label=gettext_lazy("平台"),
            widget=PlatformWidget(),
            required=True,
            help=gettext_lazy("平台名称或代码，见下方平台列表。"),
        ),
        CensusField(
            key="account_type",
            label=gettext_lazy("账号类型"),
            widget=TextWidget(),
            help=gettext_lazy("如微信公众号的“服务号”“订阅号”；平台没有类型的不填。"),
        ),
        CensusField(
            key="account_id",
            label=gettext_lazy("账号ID"),
            widget=TextWidget(),
            required=True,
            help=gettext_lazy("平台上的账号ID（如微信原始ID或微信号）；同一平台不能重复。"),
        ),
        CensusField(
            key="content_categories",
            label=gettext_lazy("内容类别"),
            widget=ChoicesWidget(ContentCategory),
            help=gettext_lazy("可多选，用顿号或逗号分隔。"),
        ),
        CensusField(
            key="content_forms",
            label=gettext_lazy("内容形式"),
            widget=ChoicesWidget(ContentForm),
            help=gettext_lazy("可多选，用顿号或逗号分隔。"),
        ),
        CensusField(
            key="function_description", label=gettext_lazy("功能定位"), widget=TextWidget()
        ),
        CensusField(
            key="opened_on",
            label=gettext_lazy("开通日期"),
            widget=DateWidget(),
            help=gettext_lazy("如 2020-09-01，不能晚于今天。"),
        ),
        CensusField(
            key="verification",
            label=gettext_lazy("认证情况"),
            widget=VerificationWidget(),
            help=gettext_lazy("已认证／未认证。"),
        ),
        CensusField(key="verification_note", label=gettext_lazy("认证说明"), widget=TextWidget()),
        CensusField(
            key="follower_count",
            label=gettext_lazy("粉丝量"),
            widget=CountWidget(),
            help=gettext_lazy("整数。"),
        ),
        CensusField(
            key="operator_count",
            label=gettext_lazy("运营人数"),
            widget=CountWidget(),
            help=gettext_lazy("整数。"),
        ),
        CensusField(key="url", label=gettext_lazy("主页链接"), widget=UrlWidget()),
    ]


class CensusResource(Resource):
    """The census columns, in the order of the template."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        columns = _account_fields()
        for group, role, label in TEAM_GROUPS:
            columns += _team_fields(group, label, administrator=role == TeamRole.ADMINISTRATOR)
        self.fields = {column.key: column for column in columns}
        self.columns: list[CensusField] = columns
        # What clean_row walks for every row, worked out once.
        self.widgets = [(column.key, column.widget) for column in columns]
        self.account_keys = [column.key for column in columns if not column.group]
        self.required_keys = [column.key for column in columns if column.required]
        self.groups = [
            (group, str(role), str(label), [(c.name, c.key) for c in columns if c.group == group])
            for group, role, label in TEAM_GROUPS
        ]

    def get_import_fields(self) -> list[Field]:
        return list(self.columns)


# --- Headers ------------------------------------------------------------------------------


def header_key(text: Any) -> str:
    """A header cell, compared without blanks, line breaks and required-field stars."""
    return re.sub(r"[\s*＊（）()]", "", text_of(text))


@dataclass
class HeaderMap:
    """Which position of a row holds which column."""

    positions: dict[str, int]  # field key → index in the row
    missing_required: list[str]


def map_header(header: Iterable[Any], resource: CensusResource) -> HeaderMap:
    keys = {header_key(column.column_name): column for column in resource.columns}
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        column = keys.get(header_key(cell))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    missing = [c.column_name for c in resource.columns if c.required and c.key not in positions]
    return HeaderMap(positions, missing)


# --- Rows -----------------------------------------------------------------------------------


@dataclass
class CleanRow:
    """One data row: the values for ``accounts_import`` and the problems found in its cells."""

    line: int
    account: dict[str, Any]
    team: list[dict[str, Any]]
    errors: list[tuple[str, str]]  # (field key, message)

    def as_service_row(self) -> dict[str, Any]:
        return {"line": self.line, "account": self.account, "team": self.team}

    def staged(self) -> dict[str, Any]:
        """JSON for the staged file: the values as the check accepted them (units and platforms
        by id, mobiles normalised as ``Person.clean`` does), for an import that does not run the
        models' validation again."""
        account = dict(self.account)
        account["owner_unit"] = account["owner_unit"].pk
        account["platform"] = account["platform"].pk
        if account.get("opened_on"):
            account["opened_on"] = account["opened_on"].isoformat()
        team = [
            {**m, "mobile": normalize_mobile(m["mobile"])} if m.get("mobile") else m
            for m in self.team
        ]
        return {"line": self.line, "account": account, "team": team}

    def sample(self) -> dict[str, Any]:
        """What the preview shows of a valid row; mobiles masked."""
        account = self.account
        return {
            "line": self.line,
            "unit": account["owner_unit"].name,
            "name": account["name"],
            "platform": account["platform"].name,
            "account_id": account["account_id"],
            "team": [
                {"label": m["label"], "name": m["name"], "mobile": mask_mobile(m["mobile"])}
                for m in self.team
            ],
        }


def from_staged(data: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """A staged row back as ``accounts_import`` takes it (a unit or platform gone since the
    check becomes None, which the service reports)."""
    account = dict(data["account"])
    account["owner_unit"] = lookups.units_by_id.get(account["owner_unit"])
    account["platform"] = lookups.platforms_by_id.get(account["platform"])
    if account.get("opened_on"):
        account["opened_on"] = datetime.date.fromisoformat(account["opened_on"])
    return {"line": data["line"], "account": account, "team": data["team"]}


def blank_row(values: tuple[Any, ...] | list[Any], header: HeaderMap) -> bool:
    """Whether a row has nothing in the columns the import reads (such rows are skipped)."""
    width = len(values)
    for index in header.positions.values():
        if index < width:
            value = values[index]
            if value is not None and (not isinstance(value, str) or value.strip()):
                return False
    return True


def clean_row(
    line: int,
    values: tuple[Any, ...] | list[Any],
    header: HeaderMap,
    resource: CensusResource,
    lookups: Lookups,
) -> CleanRow | None:
    """Read one row through the columns' widgets; None for an empty row."""
    if blank_row(values, header):
        return None
    width = len(values)
    cells = {key: values[index] for key, index in header.positions.items() if index < width}
    errors: list[tuple[str, str]] = []
    cleaned: dict[str, Any] = {}
    for key, widget in resource.widgets:
        value = cells.get(key)
        if value is None or value == "":  # the widget's empty value; required ones fail below
            empty = widget.empty
            cleaned[key] = list(empty) if type(empty) is list else empty
            continue
        try:
            cleaned[key] = widget.clean(value, lookups=lookups)
        except ValueError as error:
            errors.append((key, str(error)))
            cleaned[key] = None
    account: dict[str, Any] = {"status": AccountStatus.ACTIVE}
    for key in resource.account_keys:
        value = cleaned[key]
        if value is None and key not in _NULLABLE:
            value = _EMPTY.get(key, "")
        account[key] = value
    team: list[dict[str, Any]] = []
    required = list(resource.required_keys)
    for group, role, label, names in resource.groups:
        member: dict[str, Any] = {"key": group, "label": label, "role": role}
        for name, key in names:
            value = cleaned[key]
            member[name] = value if value is not None else _PERSON_EMPTY.get(name, "")
        if group not in ALWAYS_REQUIRED_GROUPS:
            if not any(member[name] for name, _key in names if name != "is_student"):
                continue  # an empty second administrator
            required += [f"{group}.{name}" for name in TEAM_REQUIRED]
        team.append(member)
    failed = {key for key, _message in errors}
    for key in required:
        if key not in failed and cleaned[key] in (None, "", []):
            errors.append((key, _("必填，不能为空。")))
    return CleanRow(line=line, account=account, team=team, errors=errors)


_NULLABLE = {"owner_unit", "platform", "opened_on", "follower_count", "operator_count"}
_EMPTY: dict[str, Any] = {"content_categories": [], "content_forms": []}
_PERSON_EMPTY: dict[str, Any] = {"is_student": False}


def field_labels() -> dict[str, str]:
    """Model field names and team keys → the column they come from, for error messages."""
    labels = {column.key: column.column_name for column in CensusResource().columns}
    for group, _role, label in TEAM_GROUPS:
        labels[f"{group}.__all__"] = str(label)
        labels[f"{group}.role"] = str(label)
    return labels


# Messages of the models and validators often start with their field's label ("账号类型：…");
# the error table names the column already, so such a prefix is dropped.
def known_prefixes() -> set[str]:
    names = {str(f.verbose_name) for f in MediaAccount._meta.fields}
    names |= {str(f.verbose_name) for f in Person._meta.fields}
    return names | {_("管理队伍")}
