"""The municipal offices of the three cities whose notices the project follows, for
``manage.py seed_demo``: 备案地址 of Binzhou (000, 附件1), Rizhao (001, 附件2) and Langfang (003,
with contact people). Spelled as the notices print them; the first office of each city is its
municipal office, the others are its district offices.

The demo uploads no materials: there are no scans of certificates or ID cards in it, so a demo
batch lists every unit's papers as missing in its covering letter.

Idempotent: offices are looked up by city and name and only created or brought up to date, and
an account is given a district office only while it has none.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from campusmedia.models import MediaAccount, Office
from filing import office_services

# city → offices: (name, address, duty phone, e-mail, contacts)
OFFICES: dict[str, list[tuple[str, str, str, str, str]]] = {
    "binzhou": [
        ("滨州市网络文化办公室", "滨州市黄河五路385号420室", "0543-3162200", "bzwlb@sina.com", ""),
        (
            "滨城区网络文化办公室",
            "滨州市黄河十六路969号创业大厦",
            "0543-3336610",
            "bcwwb6610@126.com",
            "",
        ),
        ("沾化区网络文化办公室", "沾化区金海五路166号", "0543-7810068", "zhqwlb@126.com", ""),
        ("惠民县网络文化办公室", "惠民县府前街1号", "0543-5322552", "hmxwlb@163.com", ""),
        (
            "阳信县网络文化办公室",
            "阳信县阳城六路商务中心C307室",
            "0543-8232663",
            "yxwlwh@163.com",
            "",
        ),
        (
            "无棣县网络文化办公室",
            "无棣县新区政务中心1415室",
            "0543-6781108",
            "wdxwlwhbgs@163.com",
            "",
        ),
        ("博兴县网络文化办公室", "博兴县行政中心县委宣传部", "0543-2395328", "bxxwlb@163.com", ""),
        ("邹平县网络管理中心", "邹平县政务中心809室", "0543-4261983", "zpxwwxb@163.com", ""),
        (
            "经济技术开发区网络文化办公室",
            "滨州市渤海十八路667号中海大厦裙楼204室",
            "0543-3186169",
            "bzjjkfqxc@163.com",
            "",
        ),
        (
            "高新区新闻宣传办公室",
            "滨州高新区创新路1号高创中心428室",
            "0543-3160137",
            "gxqxcwh@126.com",
            "",
        ),
        (
            "北海经济开发区宣传网络文化中心",
            "北海经济开发区管委会1319房间",
            "0543-2258230",
            "bhxqxc@126.com",
            "",
        ),
    ],
    "rizhao": [
        (
            "日照市互联网信息办公室",
            "市级机关办公区东区1号楼904室（日照市烟台路29号）",
            "8827067",
            "rzwxba@163.com",
            "",
        ),
        ("东港区委宣传部网络管理中心", "日照市海曲中路19号606室", "8254005", "86522728@qq.com", ""),
        ("岚山区委宣传部网络管理办公室", "岚山区国税局507室", "2612378", "lanshanfabu@163.com", ""),
        ("莒县网络文化管理中心", "莒县银杏大道489号8楼网管中心", "6227675", "jzwzbs@126.com", ""),
        (
            "五莲县委宣传部互联网信息科",
            "五莲县富强路101号1413室 互联网信息科",
            "5231090",
            "wulianfabu@126.com",
            "",
        ),
        (
            "开发区组宣统战部",
            "日照市天津路99号 开发区管委401室",
            "8352823",
            "rzkfqxwzx@126.com",
            "",
        ),
        (
            "山海天旅游度假区宣传办信息中心",
            "太公一路23号山海天旅游度假区管委会4026室",
            "8316036",
            "rzshtxcb@163.com",
            "",
        ),
    ],
    "langfang": [
        (
            "廊坊市互联网信息办公室",
            "廊坊市广阳道300号行政北楼518房间",
            "0316-2339541",
            "lfwlk2010@163.com",
            "张伟健、郝会仙",
        ),
        (
            "三河市互联网信息办公室",
            "三河市鼎盛东大街5号市委大院6113房间",
            "0316-3252645",
            "wxsh3252645@163.com",
            "贾可玉",
        ),
        (
            "大厂县互联网信息办公室",
            "大厂回族自治县大安东街6号县委宣传部3楼",
            "0316-8822623",
            "dcjdxc@163.com",
            "王云龙",
        ),
        (
            "香河县互联网信息办公室",
            "香河县委宣传部迎宾路1号416室",
            "0316-8311324",
            "xhwxb2015@126.com",
            "吕舫",
        ),
        (
            "广阳区互联网信息办公室",
            "广阳区康宁街2号东三楼310（西侧）",
            "0316-2315536",
            "gywaixuan@163.com",
            "王锦妍",
        ),
        (
            "安次区互联网信息办公室",
            "金光道2号安次区委宣传部2008室",
            "0316-2389207",
            "anciwlk@163.com",
            "石玉影",
        ),
        (
            "永清县互联网信息办公室",
            "永清县府东街223号县委办公楼331房间",
            "0316-6624463",
            "yqwangxinban@163.com",
            "王欢",
        ),
        (
            "固安县互联网信息办公室",
            "固安县新中街县委院内一楼129房间",
            "0316-6161058",
            "gaxwxb@163.com",
            "孙孟路",
        ),
        (
            "霸州市互联网信息办公室",
            "霸州市迎宾大厦1205房间",
            "0316-7860501",
            "bzwlk2012@163.com",
            "邓宁宜",
        ),
        (
            "文安县互联网信息办公室",
            "文安县政府大楼宣传部521房间",
            "0316-5225025",
            "wenanwangjianban@126.com",
            "王红光",
        ),
        (
            "大城县互联网信息办公室",
            "大城县永定大街9号大城县委宣传部",
            "0316-5631822",
            "dcwxbgs@163.com",
            "陈泽涛",
        ),
        (
            "廊坊开发区党政办公室",
            "廊坊开发区友谊路18号国际会展中心328房间",
            "0316-6078228",
            "xemail@126.com",
            "薛玉山",
        ),
    ],
}

# Demo units whose accounts the department files with a district office (a campus in that
# district), so a batch of the demo has more than one office.
DISTRICT_UNITS = ("hqjt", "xyy")
DISTRICT_ACCOUNTS = 2


def _fields(entry: tuple[str, str, str, str, str], order: int) -> dict[str, Any]:
    name, address, duty_phone, email, contacts = entry
    return {
        "name": name,
        "address": address,
        "duty_phone": duty_phone,
        "email": email,
        "contacts": contacts,
        "sort_order": order,
    }


def seed_demo_offices() -> int:
    """Create (or bring up to date) the offices of every city in ``OFFICES`` and give a couple of
    demo accounts a district office of the configured city; returns how many offices were made
    (0 on a second run). Writes go through ``filing.office_services`` as the system (no actor)."""
    made = 0
    for city, entries in OFFICES.items():
        municipal: Office | None = None
        for index, entry in enumerate(entries):
            fields = _fields(entry, index * 10)
            fields["parent"] = municipal
            office = Office.objects.filter(city=city, name=fields["name"]).first()
            if office is None and index == 0:
                # The department may have entered its municipal office under another name.
                office = Office.objects.of_city(city).filter(parent__isnull=True).first()
                if office is not None:
                    municipal = office
                    continue
            if office is None:
                office = office_services.office_create(city=city, actor=None, **fields)
                made += 1
            else:
                office = office_services.office_update(office=office, actor=None, **fields)
            if index == 0:
                municipal = office
    _assign_district(settings.CAMPUSMEDIA_FILING_CITY)
    return made


def _assign_district(city: str) -> None:
    entries = OFFICES.get(city)
    if not entries or len(entries) < 2:
        return
    district = Office.objects.of_city(city).filter(name=entries[1][0]).first()
    if district is None:
        return
    accounts = MediaAccount.objects.filter(
        owner_unit__code__in=DISTRICT_UNITS, status__in=office_services.SERVED_STATUSES
    ).order_by("owner_unit__sort_order", "pk")
    platforms = office_services.filed_platforms(city)
    if platforms is not None:  # accounts the city's form files, or the batch would not show it
        accounts = accounts.filter(platform__code__in=platforms)
    if accounts.filter(filing_office=district).exists():
        return  # assigned on an earlier run (or by hand): leave the demo as it is
    for account in accounts.filter(filing_office__isnull=True)[:DISTRICT_ACCOUNTS]:
        office_services.account_office_set(account=account, office=district, actor=None)
