"""Data and helpers behind ``manage.py seed_demo`` and ``manage.py seed_scale``.

Everything here is pure: given a seed (and today's date) it returns the same names, numbers and
tree every time, so the commands can look rows up by their natural keys (unit code, staff number,
username, platform + name + owning unit) and create only what is missing.

The demo university is fictional: 北辰大学 in Daqing, Heilongjiang (area code 0459, resident ID
prefixes 2306xx). Its ID numbers and credit codes carry valid check characters and belong to no one.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from campusmedia.choices import (
    TIER_OF_KIND,
    AccountStatus,
    ContentCategory,
    ContentForm,
    Role,
    Tier,
    UnitDuty,
    UnitKind,
    Verification,
)
from campusmedia.validators import check_char_uscc, check_digit_id

PASSWORD = "Demo@2026"
SCHOOL_CODE = "bcu"
SCHOOL_NAME = "北辰大学"
SCHOOL_ADDRESS = "黑龙江省大庆市高新技术产业开发区学府街99号"
EMAIL_DOMAIN = "example.edu.cn"
AREA_CODE = "0459"
DEMO_SOURCE = "演示数据"
SCALE_SOURCE = "批量生成"
SCALE_PREFIX = "s-"

# Daqing districts and a few Harbin ones (GB/T 2260), province 23 = Heilongjiang.
ID_PREFIXES = (
    "230602",
    "230603",
    "230604",
    "230605",
    "230606",
    "230621",
    "230102",
    "230103",
    "230104",
    "230108",
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "199",
)  # fmt: skip

SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"),
    ("徐", "xu"), ("孙", "sun"), ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"),
    ("何", "he"), ("郭", "guo"), ("马", "ma"), ("罗", "luo"), ("梁", "liang"), ("宋", "song"),
    ("郑", "zheng"), ("谢", "xie"), ("韩", "han"), ("唐", "tang"), ("冯", "feng"),
    ("于", "yu"), ("董", "dong"), ("萧", "xiao"), ("程", "cheng"), ("曹", "cao"),
    ("袁", "yuan"), ("邓", "deng"), ("许", "xu"), ("傅", "fu"), ("沈", "shen"), ("曾", "zeng"),
    ("彭", "peng"), ("吕", "lyu"), ("苏", "su"), ("卢", "lu"), ("蒋", "jiang"), ("蔡", "cai"),
    ("贾", "jia"), ("丁", "ding"), ("魏", "wei"), ("薛", "xue"), ("叶", "ye"), ("阎", "yan"),
    ("潘", "pan"), ("杜", "du"), ("戴", "dai"), ("夏", "xia"), ("钟", "zhong"), ("田", "tian"),
    ("任", "ren"), ("姜", "jiang"), ("范", "fan"), ("方", "fang"), ("石", "shi"),
    ("姚", "yao"), ("谭", "tan"), ("廖", "liao"), ("邹", "zou"), ("熊", "xiong"),
    ("金", "jin"), ("陆", "lu"), ("郝", "hao"), ("孔", "kong"), ("白", "bai"), ("崔", "cui"),
    ("康", "kang"), ("毛", "mao"), ("邱", "qiu"), ("秦", "qin"), ("江", "jiang"),
    ("史", "shi"), ("顾", "gu"), ("侯", "hou"), ("邵", "shao"), ("孟", "meng"), ("龙", "long"),
    ("万", "wan"), ("段", "duan"), ("雷", "lei"), ("钱", "qian"), ("汤", "tang"),
    ("尹", "yin"), ("黎", "li"), ("易", "yi"), ("常", "chang"), ("武", "wu"), ("乔", "qiao"),
    ("贺", "he"), ("龚", "gong"),
)  # fmt: skip
GIVEN_STAFF: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"),
    ("超", "chao"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("建华", "jianhua"),
    ("建国", "jianguo"), ("志强", "zhiqiang"), ("海燕", "haiyan"), ("晓东", "xiaodong"),
    ("振华", "zhenhua"), ("立新", "lixin"), ("春梅", "chunmei"), ("玉兰", "yulan"),
    ("德胜", "desheng"), ("国庆", "guoqing"), ("卫东", "weidong"), ("丽娟", "lijuan"),
    ("晓燕", "xiaoyan"), ("鹏", "peng"), ("辉", "hui"), ("斌", "bin"), ("宁", "ning"),
    ("颖", "ying"), ("红梅", "hongmei"), ("志刚", "zhigang"), ("丹", "dan"), ("岩", "yan"),
    ("旭", "xu"), ("冬梅", "dongmei"), ("永生", "yongsheng"), ("丽华", "lihua"),
    ("雅琴", "yaqin"), ("海涛", "haitao"), ("文博", "wenbo"), ("晓梅", "xiaomei"),
    ("宏伟", "hongwei"), ("秀云", "xiuyun"), ("庆丰", "qingfeng"), ("淑华", "shuhua"),
)  # fmt: skip
GIVEN_STUDENT: tuple[tuple[str, str], ...] = (
    ("欣怡", "xinyi"), ("子涵", "zihan"), ("浩然", "haoran"), ("思远", "siyuan"),
    ("宇轩", "yuxuan"), ("梓萱", "zixuan"), ("博文", "bowen"), ("嘉怡", "jiayi"),
    ("天宇", "tianyu"), ("雨桐", "yutong"), ("俊杰", "junjie"), ("佳琪", "jiaqi"),
    ("一鸣", "yiming"), ("晨曦", "chenxi"), ("思琪", "siqi"), ("明轩", "mingxuan"),
    ("诗涵", "shihan"), ("泽宇", "zeyu"), ("悦", "yue"), ("哲", "zhe"), ("瑶", "yao"),
    ("昊", "hao"), ("凯", "kai"), ("婷", "ting"), ("倩", "qian"), ("子豪", "zihao"),
    ("若曦", "ruoxi"), ("语嫣", "yuyan"), ("奕辰", "yichen"), ("可欣", "kexin"), ("家乐", "jiale"),
    ("梦琪", "mengqi"), ("宇航", "yuhang"), ("雨萱", "yuxuan"), ("子墨", "zimo"), ("安琪", "anqi"),
    ("皓轩", "haoxuan"), ("心怡", "xinyi"), ("逸飞", "yifei"), ("书瑶", "shuyao"),
)  # fmt: skip

PLATFORM_OPENED: dict[str, datetime.date] = {
    # Earliest plausible opening date of a university account on each platform.
    "wechat": datetime.date(2013, 3, 1),
    "wechat_channels": datetime.date(2020, 10, 1),
    "weibo": datetime.date(2011, 1, 1),
    "douyin": datetime.date(2018, 3, 1),
    "kuaishou": datetime.date(2018, 6, 1),
    "bilibili": datetime.date(2017, 3, 1),
    "xiaohongshu": datetime.date(2019, 9, 1),
    "toutiao": datetime.date(2016, 3, 1),
    "qq": datetime.date(2012, 3, 1),
    "app": datetime.date(2015, 9, 1),
    "mini_program": datetime.date(2017, 9, 1),
    "other": datetime.date(2011, 1, 1),
}
PLATFORM_FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "wechat": (("text", "image"), ("text", "image", "video"), ("text", "image", "voice", "video")),
    "wechat_channels": (("video",),),
    "weibo": (("text", "image"), ("text", "image", "video")),
    "douyin": (("video",),),
    "kuaishou": (("video",),),
    "bilibili": (("video",), ("video", "text")),
    "xiaohongshu": (("image", "text"), ("image", "text", "video")),
    "toutiao": (("text", "image", "video"),),
    "qq": (("text", "image"),),
    "app": (("text", "image", "video"),),
    "mini_program": (("text", "image"),),
    "other": (("text", "image"),),
}
PLATFORM_STYLE: dict[str, str] = {
    "wechat": "以图文推送",
    "wechat_channels": "以短视频和直播",
    "weibo": "以微博短讯和话题互动",
    "douyin": "以短视频",
    "kuaishou": "以短视频",
    "bilibili": "以中长视频和直播",
    "xiaohongshu": "以图文笔记",
    "toutiao": "以资讯文章",
    "qq": "以 QQ 空间动态和群消息",
    "app": "以移动客户端",
    "mini_program": "以小程序在线服务",
    "other": "以资讯推送",
}
# Relative weight of each platform among ordinary (non-flagship) accounts.
PLATFORM_WEIGHTS: dict[str, int] = {
    "wechat": 40,
    "wechat_channels": 6,
    "weibo": 10,
    "douyin": 14,
    "kuaishou": 3,
    "bilibili": 7,
    "xiaohongshu": 5,
    "toutiao": 2,
    "qq": 6,
    "app": 1,
    "mini_program": 4,
    "other": 2,
}
VERIFIABLE = frozenset(PLATFORM_OPENED) - {"app", "other"}

CATEGORIES_BY_KIND: dict[str, tuple[tuple[str, ...], ...]] = {
    UnitKind.SCHOOL: (("news", "policy", "social"),),
    UnitKind.FUNCTIONAL: (("news", "policy"), ("policy", "convenience"), ("news", "convenience")),
    UnitKind.DIRECT: (("convenience", "news"), ("convenience",)),
    UnitKind.COLLEGE: (("news", "policy"), ("news", "technical"), ("news", "social")),
    UnitKind.SUB_UNIT: (("news", "convenience"), ("technical", "news"), ("convenience",)),
    UnitKind.COLLEGE_STUDENT_ORG: (("community", "news"), ("community", "other"), ("community",)),
    UnitKind.SCHOOL_STUDENT_ORG: (("community", "social"), ("community", "other"), ("community",)),
}
DESCRIPTION_BY_KIND: dict[str, str] = {
    UnitKind.SCHOOL: (
        "发布学校权威信息、重要新闻和通知公告，展示办学成就与校园风貌，回应师生和社会关切。"
    ),
    UnitKind.FUNCTIONAL: "发布{unit}工作动态、政策解读和办事指南，服务全校师生。",
    UnitKind.DIRECT: "发布{unit}服务信息、办理指南和通知提醒，提供在线咨询与查询服务。",
    UnitKind.COLLEGE: (
        "发布{unit}新闻动态和通知公告，展示人才培养、科学研究和校友风采，服务本院师生。"
    ),
    UnitKind.SUB_UNIT: "发布{unit}工作动态与服务信息，服务相关师生。",
    UnitKind.COLLEGE_STUDENT_ORG: "展示{unit}活动风采，发布活动通知与招新信息，服务同学成长成才。",
    UnitKind.SCHOOL_STUDENT_ORG: (
        "展示{unit}活动风采，发布校园文化活动预告与招新信息，服务全校同学。"
    ),
}


# --- Identity numbers ------------------------------------------------------------------------


def random_date(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    """A day in [start, end] (start if the range is empty)."""
    span = (end - start).days
    return start + datetime.timedelta(days=rng.randint(0, span)) if span > 0 else start


def make_id_number(
    rng: random.Random, *, born: tuple[int, int] = (1965, 1985), prefix: str | None = None
) -> str:
    """A valid 18-digit resident ID number (GB 11643-1999) with a Heilongjiang prefix."""
    birth = random_date(rng, datetime.date(born[0], 1, 1), datetime.date(born[1], 12, 31))
    body = f"{prefix or rng.choice(ID_PREFIXES)}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    return body + check_digit_id(body)


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714) with its check character."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(rng: random.Random, *, registration: str = "12", region: str = "230600") -> str:
    """A valid unified social credit code (GB 32100-2015). ``12`` = public institution."""
    body = f"{registration}{region}{_org_code(rng)}"
    return body + check_char_uscc(body)


class Identities:
    """Names and contact data that look real, never repeat, and follow from the seed."""

    def __init__(self, rng: random.Random, *, unique_names: bool = True) -> None:
        self.rng = rng
        self.unique_names = unique_names
        self._names: set[str] = set()
        self._emails: set[str] = set()
        self._wechat: set[str] = set()
        self._mobiles: set[str] = set()
        self._id_numbers: set[str] = set()
        self._staff_nos: set[str] = set()

    def name(self, *, student: bool = False) -> tuple[str, str]:
        """(Chinese name, pinyin) — unique within this generator while combinations last."""
        given = GIVEN_STUDENT if student else GIVEN_STAFF
        for _ in range(40):
            (s, sp), (g, gp) = self.rng.choice(SURNAMES), self.rng.choice(given)
            if not self.unique_names or s + g not in self._names:
                break
        self._names.add(s + g)
        return s + g, sp + gp

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if number not in self._mobiles:
                self._mobiles.add(number)
                return number

    def office_phone(self) -> str:
        return f"{AREA_CODE}-65{self.rng.randint(0, 99_999):05d}"

    def email(self, pinyin: str) -> str:
        local, n = pinyin, 1
        while local in self._emails:
            n += 1
            local = f"{pinyin}{n}"
        self._emails.add(local)
        return f"{local}@{EMAIL_DOMAIN}"

    def wechat_id(self, pinyin: str) -> str:
        while True:
            style = self.rng.randint(0, 2)
            if style == 0:
                value = f"{pinyin}{self.rng.randint(100, 9999)}"
            elif style == 1:
                place = self.rng.choice(("bcu", "dq", "hlj", "wx"))
                value = f"{pinyin}_{place}{self.rng.randint(1, 99)}"
            else:
                value = "wxid_" + "".join(
                    self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12)
                )
            if value not in self._wechat:
                self._wechat.add(value)
                return value

    def id_number(self, *, born: tuple[int, int] = (1965, 1985)) -> str:
        while True:
            number = make_id_number(self.rng, born=born)
            if number not in self._id_numbers:
                self._id_numbers.add(number)
                return number

    def staff_no(self, *, since: tuple[int, int] = (1990, 2022)) -> str:
        """A staff number: year of appointment and a sequence, e.g. ``20080317``."""
        while True:
            value = f"{self.rng.randint(*since)}{self.rng.randint(1, 9999):04d}"
            if value not in self._staff_nos:
                self._staff_nos.add(value)
                return value

    def student_no(self, *, entry_year: int, college_no: int) -> str:
        """A student number: entry year, college, class and seat, e.g. ``2023070215``."""
        while True:
            value = f"{entry_year}{college_no:02d}{self.rng.randint(1, 9999):04d}"
            if value not in self._staff_nos:
                self._staff_nos.add(value)
                return value


# --- The demo university ----------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSeed:
    code: str
    name: str
    kind: str
    parent: str | None
    short_name: str = ""
    duty: str = ""
    slug: str = ""  # latin stem of the unit's account ids
    uscc: str = ""
    address: str = ""
    phone: str = ""
    sort_order: int = 0


@dataclass
class PersonSeed:
    staff_no: str
    name: str
    unit: str
    title: str
    office_phone: str = ""
    mobile: str = ""
    email: str = ""
    wechat_id: str = ""
    id_number: str = ""
    is_student: bool = False
    expected_end: datetime.date | None = None
    username: str = ""
    roles: tuple[str, ...] = ()
    since: datetime.date | None = None


@dataclass
class AccountSeed:
    unit: str
    platform: str
    name: str
    status: str
    fields: dict[str, Any]
    supervisor: str  # staff number
    administrators: list[str]
    team_since: datetime.date


@dataclass(frozen=True)
class LoginSeed:
    username: str
    role: str  # shown in the logins table
    staff_no: str
    is_superuser: bool = False


@dataclass
class DemoPlan:
    units: list[UnitSeed] = field(default_factory=list)
    people: list[PersonSeed] = field(default_factory=list)
    accounts: list[AccountSeed] = field(default_factory=list)
    logins: list[LoginSeed] = field(default_factory=list)


# code, name, short name, duty, slug, title of the head
FUNCTIONAL: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("dwb", "党委办公室", "党办", "", "dwb", "主任"),
    ("zzb", "党委组织部", "组织部", "", "zzb", "部长"),
    ("xcb", "党委宣传部", "宣传部", UnitDuty.PROPAGANDA, "xcb", "部长"),
    ("tw", "校团委", "团委", UnitDuty.YOUTH_LEAGUE, "youth", "书记"),
    ("jwc", "教务处", "教务处", "", "jwc", "处长"),
    ("xgb", "学生工作部", "学工部", "", "xgb", "部长"),
    ("zsjy", "招生就业处", "招就处", "", "zsjy", "处长"),
    ("yjsy", "研究生院", "研究生院", "", "grad", "常务副院长"),
    ("kjc", "科学技术处", "科技处", "", "kjc", "处长"),
    ("gjc", "国际合作与交流处", "国际处", "", "intl", "处长"),
    ("bwc", "保卫处", "保卫处", "", "bwc", "处长"),
    ("sjc", "审计处", "审计处", "", "sjc", "处长"),
)
DIRECT: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("tsg", "图书馆", "图书馆", "", "lib", "馆长"),
    ("xxzx", "信息化中心", "信息中心", "", "nic", "主任"),
    ("hqjt", "后勤集团", "后勤", "", "hq", "总经理"),
    ("xyy", "校医院", "校医院", "", "hospital", "院长"),
    ("dag", "档案馆", "档案馆", "", "archives", "馆长"),
)
# Sub-units of functional departments and directly affiliated units: code, name, parent, slug.
DEPARTMENT_SUB_UNITS: tuple[tuple[str, str, str, str], ...] = (
    ("xgb-xl", "心理健康教育中心", "xgb", "xinli"),
    ("zsjy-jy", "就业指导中心", "zsjy", "jiuye"),
    ("hqjt-ys", "饮食服务中心", "hqjt", "canyin"),
)
# code, name, short name, slug
COLLEGES: tuple[tuple[str, str, str, str], ...] = (
    ("cs", "计算机科学与技术学院", "计算机学院", "cs"),
    ("me", "机械工程学院", "机械学院", "me"),
    ("pet", "石油工程学院", "石工学院", "pet"),
    ("ee", "电气信息工程学院", "电信学院", "ee"),
    ("chem", "化学化工学院", "化工学院", "chem"),
    ("civ", "土木建筑工程学院", "土建学院", "civil"),
    ("geo", "地球科学学院", "地科学院", "geo"),
    ("sem", "经济管理学院", "经管学院", "sem"),
    ("math", "数学与统计学院", "数统学院", "math"),
    ("phy", "物理与电子工程学院", "物电学院", "phy"),
    ("sfl", "外国语学院", "外语学院", "sfl"),
    ("marx", "马克思主义学院", "马院", "marx"),
    ("art", "艺术学院", "艺术学院", "art"),
    ("hum", "人文法学院", "人文学院", "hum"),
    ("pe", "体育学院", "体育学院", "pe"),
)
COLLEGE_SUB_UNITS: tuple[tuple[str, str], ...] = (
    ("xgb", "学生工作办公室"),
    ("sy", "实验教学中心"),
    ("tw", "团委"),
    ("yjs", "研究生工作办公室"),
)
COLLEGE_ORGS: tuple[tuple[str, str], ...] = (
    ("xsh", "学生会"),
    ("zyz", "青年志愿者协会"),
    ("kx", "科技创新协会"),
    ("yjsh", "研究生会"),
    ("rmt", "学生融媒体中心"),
)
# code, unit name, account name stem, slug
SCHOOL_ORGS: tuple[tuple[str, str, str, str], ...] = (
    ("tw-xsh", "校学生会", "北辰大学学生会", "su"),
    ("tw-yjsh", "研究生会", "北辰大学研究生会", "gsu"),
    ("tw-yst", "大学生艺术团", "北辰大学大学生艺术团", "arts"),
    ("tw-zyz", "校青年志愿者协会", "北辰青年志愿者", "volunteer"),
    ("tw-txs", "大学生通讯社", "北辰大学通讯社", "press"),
    ("tw-stl", "社团联合会", "北辰社联", "clubs"),
    ("tw-sy", "摄影协会", "北辰摄影", "photo"),
    ("tw-dm", "动漫社", "北辰动漫社", "acg"),
    ("tw-bl", "大学生辩论协会", "北辰辩论", "debate"),
    ("tw-xl", "大学生心理健康协会", "北辰心协", "mind"),
)
DEPARTMENT_DESCRIPTIONS: dict[str, str] = {
    "xcb": "发布学校新闻、媒体报道和校园文化作品，汇集融媒体中心原创内容。",
    "tw": "发布共青团工作动态、青年典型和第二课堂活动，服务青年学生成长。",
    "zzb": "发布党建工作动态、组织生活指南和干部教育信息。",
    "dwb": "公开学校信息，发布党委和学校重要工作部署。",
    "jwc": "发布教学运行、考试安排、选课与学籍通知，提供成绩和课表查询。",
    "xgb": "发布奖助学金、资助育人、学生事务和思想政治教育信息。",
    "zsjy": "发布本科招生政策、录取查询和就业双选信息，解答考生及家长咨询。",
    "yjsy": "发布研究生招生、培养、学位工作通知与政策解读。",
    "kjc": "发布科研项目申报、成果转化和学术活动信息。",
    "gjc": "发布国际交流项目、留学生服务和外事工作动态。",
    "bwc": "发布校园安全提示、消防和交通管理信息，开展防诈骗宣传。",
    "sjc": "发布内部审计制度、审计工作动态和经济责任审计信息。",
    "tsg": "发布馆藏资源、开馆时间和讲座培训信息，提供图书续借、座位预约服务。",
    "xxzx": "发布校园网、统一身份认证和信息系统服务通知，受理网络报修。",
    "hqjt": "发布餐饮、宿舍、水电和维修服务信息，受理后勤报修与意见反馈。",
    "xyy": "发布就医指南、医保报销和健康教育知识，提示传染病防控信息。",
    "dag": "发布档案查询利用、校史文化和档案征集信息。",
    "xgb-xl": "普及心理健康知识，发布心理咨询预约和团体辅导活动信息。",
    "zsjy-jy": "发布招聘会、宣讲会和生涯规划辅导信息，提供岗位查询。",
    "hqjt-ys": "发布各食堂菜品、营业时间和餐饮服务评价信息。",
}

# (unit code, platform) → status of accounts that are not active.
STATUS_OVERRIDES: dict[tuple[str, str], str] = {
    ("sjc", "wechat"): AccountStatus.APPROVED,
    ("cs", "xiaohongshu"): AccountStatus.APPROVED,
    ("tsg", "douyin"): AccountStatus.APPROVED,
    ("tw-xsh", "wechat_channels"): AccountStatus.APPROVED,
    ("me", "kuaishou"): AccountStatus.SUSPENDED,
    ("hqjt-ys", "douyin"): AccountStatus.SUSPENDED,
    ("tw-dm", "bilibili"): AccountStatus.SUSPENDED,
    ("tw-sy", "weibo"): AccountStatus.SUSPENDED,
    ("sem-xsh", "qq"): AccountStatus.ORDERED_TO_CLOSE,
    ("bcu", "other"): AccountStatus.CLOSED,
    ("dag", "weibo"): AccountStatus.CLOSED,
    ("cs-kx", "qq"): AccountStatus.CLOSED,
    ("tw-txs", "weibo"): AccountStatus.CLOSED,
}
# Platforms some units must have besides the generated ones (so the overrides above apply).
FORCED_PLATFORMS: dict[str, tuple[str, ...]] = {
    "cs": ("douyin", "bilibili", "xiaohongshu"),
    "me": ("douyin", "kuaishou"),
    "cs-xsh": ("wechat", "douyin"),
    "cs-kx": ("wechat", "qq"),
    "sem-xsh": ("wechat", "qq"),
    "tw-xsh": ("wechat", "douyin", "wechat_channels"),
    "tw-dm": ("wechat", "bilibili"),
    "tw-sy": ("wechat", "weibo"),
    "tw-txs": ("wechat", "weibo"),
}
# Student administrators who leave soon, so the home page shows "graduating" reminders.
GRADUATING_SOON: dict[str, int] = {"cs-xsh": 23, "tw-xsh": 47}

# (unit code, platform, account name, account type, account id or "")
DEPARTMENT_ACCOUNTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("bcu", "wechat", "北辰大学", "订阅号", "beichen1958"),
    ("bcu", "weibo", "北辰大学官方微博", "", ""),
    ("bcu", "douyin", "北辰大学", "", "beichendaxue1958"),
    ("bcu", "bilibili", "北辰大学", "", ""),
    ("bcu", "wechat_channels", "北辰大学", "", ""),
    ("bcu", "kuaishou", "北辰大学", "", "bcu1958"),
    ("bcu", "xiaohongshu", "北辰大学", "", ""),
    ("bcu", "toutiao", "北辰大学", "", ""),
    ("bcu", "app", "i北辰", "", "cn.edu.bcu.ibeichen"),
    ("bcu", "other", "北辰大学腾讯微博", "", "t.qq.com/beichen1958"),
    ("xcb", "wechat", "北辰融媒", "订阅号", "bcu_rongmei"),
    ("xcb", "toutiao", "北辰大学新闻中心", "", ""),
    ("tw", "wechat", "北辰青年", "订阅号", "bcu_youth"),
    ("tw", "weibo", "北辰大学团委", "", ""),
    ("tw", "douyin", "北辰青年", "", ""),
    ("tw", "bilibili", "北辰青年", "", ""),
    ("tw", "qq", "北辰大学团委", "QQ空间", ""),
    ("dwb", "wechat", "北辰大学信息公开", "订阅号", ""),
    ("zzb", "wechat", "北辰组工", "订阅号", ""),
    ("jwc", "wechat", "北辰大学教务处", "服务号", ""),
    ("xgb", "wechat", "北辰学工", "订阅号", ""),
    ("xgb", "douyin", "北辰学工", "", ""),
    ("zsjy", "wechat", "北辰大学招生", "服务号", "bcu_zhaosheng"),
    ("zsjy", "wechat", "北辰大学就业", "订阅号", "bcu_jiuye"),
    ("zsjy", "douyin", "北辰大学招生办", "", ""),
    ("zsjy", "xiaohongshu", "北辰大学招生办", "", ""),
    ("yjsy", "wechat", "北辰大学研究生教育", "订阅号", ""),
    ("kjc", "wechat", "北辰科技", "订阅号", ""),
    ("gjc", "wechat", "北辰大学国际交流", "订阅号", ""),
    ("bwc", "wechat", "北辰平安校园", "订阅号", ""),
    ("bwc", "douyin", "北辰保卫", "", ""),
    ("sjc", "wechat", "北辰大学审计", "订阅号", ""),
    ("tsg", "wechat", "北辰大学图书馆", "服务号", "bcu_library"),
    ("tsg", "mini_program", "北辰图书馆座位预约", "微信小程序", ""),
    ("tsg", "weibo", "北辰大学图书馆", "", ""),
    ("tsg", "douyin", "北辰大学图书馆", "", ""),
    ("xxzx", "wechat", "北辰大学信息化", "服务号", ""),
    ("xxzx", "mini_program", "北辰校园卡", "微信小程序", ""),
    ("hqjt", "wechat", "北辰后勤", "服务号", ""),
    ("hqjt", "mini_program", "北辰报修", "微信小程序", ""),
    ("xyy", "wechat", "北辰大学校医院", "订阅号", ""),
    ("dag", "wechat", "北辰大学档案馆", "订阅号", ""),
    ("dag", "weibo", "北辰大学档案馆", "", ""),
    ("xgb-xl", "wechat", "北辰心理", "订阅号", ""),
    ("xgb-xl", "qq", "北辰心理", "QQ公众号", ""),
    ("zsjy-jy", "mini_program", "北辰就业双选会", "微信小程序", ""),
    ("hqjt-ys", "wechat", "北辰食堂", "订阅号", ""),
    ("hqjt-ys", "douyin", "北辰食堂", "", ""),
)
FIXED_DATES: dict[tuple[str, str], tuple[datetime.date, datetime.date | None]] = {
    # (opened_on, closed_on) of accounts with a known history.
    ("bcu", "wechat"): (datetime.date(2013, 5, 20), None),
    ("bcu", "weibo"): (datetime.date(2011, 6, 18), None),
    # Tencent Weibo stopped service on 2020-09-28.
    ("bcu", "other"): (datetime.date(2011, 3, 1), datetime.date(2020, 9, 28)),
}
EXTRA_PLATFORMS = ("douyin", "weibo", "bilibili", "wechat_channels", "kuaishou", "xiaohongshu")
ORG_PLATFORMS = ("wechat", "wechat", "wechat", "douyin", "douyin", "qq", "bilibili", "weibo")


def build_demo_plan(today: datetime.date) -> DemoPlan:
    """The whole demo university: the same tree, people and accounts on every run."""
    return _DemoBuilder(today).build()


class _DemoBuilder:
    def __init__(self, today: datetime.date) -> None:
        self.today = today
        # Names, numbers and the tree come from ``rng`` only, which never sees today's date: the
        # natural keys stay the same whenever the command runs. Dates come from ``when``.
        self.rng = random.Random(1958)
        self.when = random.Random(2026)
        self.ids = Identities(self.rng)
        self.plan = DemoPlan()
        self.units: dict[str, UnitSeed] = {}
        self.college_no: dict[str, int] = {}
        self.supervisors: dict[str, list[str]] = defaultdict(list)
        self.admins: dict[str, list[str]] = defaultdict(list)
        self.account_ids: dict[str, set[str]] = defaultdict(set)
        self.approval_seq: dict[int, int] = defaultdict(int)

    def build(self) -> DemoPlan:
        self._build_units()
        self._build_people()
        self._build_accounts()
        return self.plan

    # Units

    def _unit(self, seed: UnitSeed) -> None:
        self.units[seed.code] = seed
        self.plan.units.append(seed)

    def _build_units(self) -> None:
        rng = self.rng
        self._unit(
            UnitSeed(
                SCHOOL_CODE,
                SCHOOL_NAME,
                UnitKind.SCHOOL,
                None,
                short_name="北辰",
                slug="bcu",
                uscc=make_uscc(rng, region="230604"),
                address=SCHOOL_ADDRESS,
                phone=f"{AREA_CODE}-6503000",
                sort_order=0,
            )
        )
        order = 10
        for code, name, short, duty, slug, _title in FUNCTIONAL:
            order += 10
            building = "学生活动中心" if code == "tw" else "行政楼"
            self._unit(
                UnitSeed(
                    code,
                    name,
                    UnitKind.FUNCTIONAL,
                    SCHOOL_CODE,
                    short_name=short,
                    duty=duty,
                    slug=slug,
                    address=f"{building} {rng.randint(1, 6)}{rng.randint(1, 30):02d} 室",
                    phone=self.ids.office_phone(),
                    sort_order=order,
                )
            )
        for code, name, short, _duty, slug, _title in DIRECT:
            order += 10
            uscc = ""
            if code == "xyy":
                uscc = make_uscc(rng)
            elif code == "hqjt":
                uscc = make_uscc(rng, registration="91")  # registered as a company
            self._unit(
                UnitSeed(
                    code,
                    name,
                    UnitKind.DIRECT,
                    SCHOOL_CODE,
                    short_name=short,
                    slug=slug,
                    uscc=uscc,
                    address=f"{name}楼 {rng.randint(1, 3)}{rng.randint(1, 20):02d} 室",
                    phone=self.ids.office_phone(),
                    sort_order=order,
                )
            )
        for code, name, parent, slug in DEPARTMENT_SUB_UNITS:
            order += 10
            self._unit(
                UnitSeed(
                    code,
                    name,
                    UnitKind.SUB_UNIT,
                    parent,
                    slug=slug,
                    phone=self.ids.office_phone(),
                    sort_order=order,
                )
            )
        for code, name, short, slug in SCHOOL_ORGS:
            order += 10
            self._unit(
                UnitSeed(
                    code,
                    name,
                    UnitKind.SCHOOL_STUDENT_ORG,
                    "tw",
                    slug=slug,
                    short_name=short.removeprefix("北辰大学").removeprefix("北辰"),
                    address=f"学生活动中心 {rng.randint(2, 4)}{rng.randint(1, 30):02d} 室",
                    sort_order=order,
                )
            )
        for number, (code, name, short, slug) in enumerate(COLLEGES, start=1):
            order = 1000 + number * 100
            self.college_no[code] = number
            self._unit(
                UnitSeed(
                    code,
                    name,
                    UnitKind.COLLEGE,
                    SCHOOL_CODE,
                    short_name=short,
                    slug=slug,
                    address=f"{short}楼 {rng.randint(1, 5)}{rng.randint(1, 20):02d} 室",
                    phone=self.ids.office_phone(),
                    sort_order=order,
                )
            )
            subs = (
                list(COLLEGE_SUB_UNITS[:2])
                if code == "cs"
                else rng.sample(COLLEGE_SUB_UNITS, rng.randint(1, 2))
            )
            for i, (suffix, sub_name) in enumerate(subs, start=1):
                self._unit(
                    UnitSeed(
                        f"{code}-{suffix}",
                        f"{short}{sub_name}",
                        UnitKind.SUB_UNIT,
                        code,
                        slug=f"{slug}_{suffix}",
                        phone=self.ids.office_phone(),
                        sort_order=order + i,
                    )
                )
            forced = [s for s, _ in COLLEGE_ORGS if f"{code}-{s}" in FORCED_PLATFORMS]
            orgs = [o for o in COLLEGE_ORGS if o[0] in forced]
            others = [o for o in COLLEGE_ORGS if o[0] not in forced]
            orgs += rng.sample(others, max(0, rng.randint(1, 3) - len(orgs)))
            if code == "cs":
                orgs = [o for o in COLLEGE_ORGS if o[0] in ("xsh", "zyz", "kx")]
            for i, (suffix, org_name) in enumerate(orgs, start=10):
                self._unit(
                    UnitSeed(
                        f"{code}-{suffix}",
                        f"{short}{org_name}",
                        UnitKind.COLLEGE_STUDENT_ORG,
                        code,
                        slug=f"{slug}_{suffix}",
                        sort_order=order + i,
                    )
                )

    # People

    def _person(
        self,
        unit: str,
        title: str,
        *,
        roles: tuple[str, ...] = (),
        id_number: bool = False,
        username: str = "",
        student: bool = False,
        leaves_in_days: int | None = None,
    ) -> str:
        rng, ids = self.rng, self.ids
        name, pinyin = ids.name(student=student)
        expected_end = None
        if student:
            entry_year = rng.randint(2023, 2025)
            college = self._college_of(unit)
            staff_no = ids.student_no(
                entry_year=entry_year, college_no=self.college_no.get(college, 40)
            )
            # Graduation in June; never in the past, never within the reminder window by chance.
            expected_end = datetime.date(max(entry_year + 4, self.today.year + 1), 6, 30)
            if leaves_in_days is not None:
                expected_end = self.today + datetime.timedelta(days=leaves_in_days)
            since = random_date(self.when, datetime.date(self.today.year - 1, 9, 10), self.today)
        else:
            staff_no = ids.staff_no(since=(1988, 2016) if id_number else (1995, 2023))
            since = random_date(self.when, datetime.date(2019, 7, 1), datetime.date(2025, 9, 1))
        seed = PersonSeed(
            staff_no=staff_no,
            name=name,
            unit=unit,
            title=title,
            office_phone="" if student else ids.office_phone(),
            mobile=ids.mobile(),
            email=ids.email(pinyin),
            wechat_id=ids.wechat_id(pinyin),
            id_number=ids.id_number() if id_number else "",
            is_student=student,
            expected_end=expected_end,
            username=username,
            roles=roles,
            since=min(since, self.today),
        )
        self.plan.people.append(seed)
        if username:
            role = roles[0] if roles else ""
            label = str(Role(role).label) if role else "超级管理员"
            self.plan.logins.append(
                LoginSeed(username, label, staff_no, is_superuser=username == "admin")
            )
        return staff_no

    def _college_of(self, code: str) -> str:
        unit = self.units[code]
        while unit.kind not in (UnitKind.COLLEGE, UnitKind.SCHOOL) and unit.parent:
            unit = self.units[unit.parent]
        return unit.code

    def _build_people(self) -> None:
        rng = self.rng
        for code, _name, _short, _duty, _slug, head_title in FUNCTIONAL + DIRECT:
            if code == "xcb":
                head = self._person(
                    code,
                    head_title,
                    roles=(Role.PROPAGANDA_HEAD,),
                    id_number=True,
                    username="propaganda_head",
                )
                deputy = self._person(code, "副部长")
                self._person(
                    code,
                    "网络宣传科科长",
                    roles=(Role.PROPAGANDA_REVIEWER,),
                    username="propaganda",
                )
                secretary = self._person(code, "办公室主任", roles=(Role.SECRETARY,))
                editors = [self._person(code, "融媒体中心编辑") for _ in range(3)]
                self.supervisors[SCHOOL_CODE] = [head, deputy]
                self.admins[SCHOOL_CODE] = editors
                self.supervisors[code] = [deputy]
                self.admins[code] = [secretary, *editors[:1]]
                continue
            head = self._person(code, head_title, roles=(Role.HEAD,), id_number=True)
            secretary = self._person(code, "办公室主任", roles=(Role.SECRETARY,))
            staff = self._person(code, rng.choice(("科员", "宣传信息员", "综合科科长")))
            self.supervisors[code] = [head]
            self.admins[code] = [secretary, staff]
            if code == "tw":
                self._person(code, "副书记", roles=(Role.LEAGUE_APPROVER,), username="league")
                advisers = [self._person(code, t) for t in ("组织部部长", "宣传部部长")]
                self.admins[code].append(advisers[1])
                for org_code, *_rest in SCHOOL_ORGS:
                    self.supervisors[org_code] = advisers
            elif code == "sjc":
                self._person(code, "审计科科长", roles=(Role.AUDITOR,), username="auditor")
            elif code == "xxzx":
                self._person(code, "系统管理员", username="admin")
        for code, _name, _parent, _slug in DEPARTMENT_SUB_UNITS:
            self.supervisors[code] = [self._person(code, "主任")]
            self.admins[code] = [self._person(code, "干事")]
        for code, *_rest in SCHOOL_ORGS:
            self._students(code, liaison=True)
        for code, _name, _short, _slug in COLLEGES:
            logins = {"cs": ("sec_cs", "head_cs"), "me": ("sec_me", "")}.get(code, ("", ""))
            head = self._person(
                code, "党委书记", roles=(Role.HEAD,), id_number=True, username=logins[1]
            )
            deputy = self._person(code, "党委副书记")
            secretary = self._person(code, "党委秘书", roles=(Role.SECRETARY,), username=logins[0])
            youth = self._person(code, "团委书记")
            college_staff = [
                self._person(code, rng.choice(("宣传干事", "辅导员", "办公室科员")))
                for _ in range(rng.randint(1, 2))
            ]
            self.supervisors[code] = [deputy, head]
            self.admins[code] = [secretary, *college_staff]
            for unit in self.plan.units:
                if unit.parent != code:
                    continue
                if unit.kind == UnitKind.SUB_UNIT:
                    self.supervisors[unit.code] = [self._person(unit.code, "主任")]
                    self.admins[unit.code] = [*college_staff, youth]
                else:
                    self.supervisors[unit.code] = [youth]
                    self._students(unit.code, liaison=False)

    def _students(self, code: str, *, liaison: bool) -> None:
        leader = "团长" if code == "tw-yst" else "社长" if code in ("tw-sy", "tw-dm") else "主席"
        first = self._person(
            code,
            leader,
            student=True,
            roles=(Role.SECRETARY,) if liaison else (),
            leaves_in_days=GRADUATING_SOON.get(code),
        )
        others = [
            self._person(code, title, student=True)
            for title in ("新媒体中心负责人", "宣传部部长")[: self.rng.randint(1, 2)]
        ]
        self.admins[code] = [first, *others]

    # Accounts

    def _account_id(self, platform: str, slug: str) -> str:
        rng = self.rng
        taken = self.account_ids[platform]
        for attempt in range(100):
            tail = "" if attempt == 0 else str(rng.randint(1, 99))
            if platform in ("wechat", "kuaishou"):
                value = f"bcu_{slug}{tail}"
            elif platform == "douyin":
                value = f"bcu{slug}{tail or rng.randint(1958, 2025)}"
            elif platform == "wechat_channels":
                value = "sph" + "".join(
                    rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789")
                    for _ in range(7)
                )
            elif platform == "weibo":
                value = str(rng.randint(5_000_000_000, 7_999_999_999))
            elif platform == "bilibili":
                value = str(rng.randint(400_000_000, 3_999_999_999))
            elif platform == "xiaohongshu":
                value = str(rng.randint(200_000_000, 999_999_999))
            elif platform == "toutiao":
                value = str(rng.randint(50_000_000_000, 99_999_999_999))
            elif platform == "qq":
                value = str(rng.randint(1_000_000_000, 3_999_999_999))
            elif platform == "app":
                value = f"cn.edu.bcu.{slug}{tail}"
            elif platform == "mini_program":
                value = "wx" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
            else:
                value = f"bcu_{slug}_{platform}{tail}"
            if len(value) > 20 and platform in ("wechat", "kuaishou"):
                value = value[:20]
            if value not in taken:
                taken.add(value)
                return value
        raise RuntimeError(f"no free account id for {slug} on {platform}")

    def _approval_number(self, year: int) -> str:
        self.approval_seq[year] += 1
        return f"XCB-{year}-{self.approval_seq[year]:04d}"

    def _followers(self, tier: int, platform: str) -> int:
        ranges: dict[int, tuple[int, int]] = {
            Tier.ONE: (40_000, 320_000),
            Tier.TWO: (1_200, 36_000),
        }
        low, high = ranges.get(tier, (150, 9_000))
        if platform in ("qq", "mini_program", "app", "other"):
            high //= 3
        return self.rng.randint(low, max(low + 1, high))

    def _add_account(
        self,
        unit: UnitSeed,
        platform: str,
        name: str,
        *,
        account_type: str = "",
        account_id: str = "",
    ) -> None:
        rng, when, today = self.rng, self.when, self.today
        tier = TIER_OF_KIND[unit.kind]
        status = STATUS_OVERRIDES.get((unit.code, platform), AccountStatus.ACTIVE)
        opened, closed = FIXED_DATES.get((unit.code, platform), (None, None))
        earliest = max(PLATFORM_OPENED[platform], datetime.date(2013, 1, 1))
        if tier == Tier.THREE:
            earliest = max(earliest, datetime.date(2016, 3, 1))
        if opened is None:
            # A closed account had a life of a year or more before it closed.
            latest = today - datetime.timedelta(days=450 if status == AccountStatus.CLOSED else 45)
            opened = random_date(when, earliest, latest)
        if status == AccountStatus.CLOSED and closed is None:
            closed = random_date(
                when, opened + datetime.timedelta(days=400), today - datetime.timedelta(days=20)
            )
        categories = list(rng.choice(CATEGORIES_BY_KIND[unit.kind]))
        if unit.code.endswith("-kx") and "technical" not in categories:
            categories.append(ContentCategory.TECHNICAL.value)
        label = unit.name if unit.kind != UnitKind.SCHOOL else SCHOOL_NAME
        description = DEPARTMENT_DESCRIPTIONS.get(
            unit.code, DESCRIPTION_BY_KIND[unit.kind].format(unit=label)
        )
        fields: dict[str, Any] = {
            "account_type": account_type,
            "content_categories": [ContentCategory(c).value for c in categories],
            "content_forms": [ContentForm(f).value for f in rng.choice(PLATFORM_FORMS[platform])],
            "function_description": f"{PLATFORM_STYLE[platform]}形式，{description}",
            "operator_count": rng.randint(6, 15) if tier == Tier.ONE else rng.randint(1, 6),
        }
        if status == AccountStatus.APPROVED:
            approved_on = today - datetime.timedelta(days=when.randint(3, 40))
            fields |= {
                "planned_opening_on": today + datetime.timedelta(days=when.randint(10, 75)),
                "approval_number": self._approval_number(approved_on.year),
            }
            team_since = approved_on
        else:
            account_id = account_id or self._account_id(platform, unit.slug)
            verified = platform in VERIFIABLE and (tier != Tier.THREE or rng.random() < 0.25)
            fields |= {
                "account_id": account_id,
                "opened_on": opened,
                "follower_count": self._followers(tier, platform),
                "approval_number": self._approval_number(opened.year),
                "verification": Verification.VERIFIED if verified else Verification.NOT_VERIFIED,
                "verification_note": f"认证主体：{SCHOOL_NAME}" if verified else "",
            }
            if platform == "weibo":
                fields["url"] = f"https://weibo.com/u/{account_id}"
            elif platform == "bilibili":
                fields["url"] = f"https://space.bilibili.com/{account_id}"
            if closed is not None:
                fields["closed_on"] = closed
            team_since = opened
        pool = self.admins[unit.code]
        count = min(len(pool), rng.randint(1, 3))
        if unit.code in GRADUATING_SOON and platform != "wechat":
            # The student who leaves soon runs only the WeChat account: one reminder, not three.
            administrators = rng.sample(pool[1:], max(1, min(count, len(pool) - 1)))
        elif unit.kind in (UnitKind.SCHOOL_STUDENT_ORG, UnitKind.COLLEGE_STUDENT_ORG):
            administrators = [pool[0], *rng.sample(pool[1:], count - 1)]
        else:
            administrators = rng.sample(pool, count)
        supervisors = self.supervisors[unit.code]
        # The flagship WeChat and Weibo answer to the department head, the rest to the deputy.
        supervisor = (
            supervisors[0]
            if unit.kind == UnitKind.SCHOOL and platform in ("wechat", "weibo")
            else supervisors[-1]
            if unit.kind == UnitKind.SCHOOL
            else rng.choice(supervisors)
        )
        self.plan.accounts.append(
            AccountSeed(
                unit=unit.code,
                platform=platform,
                name=name,
                status=status,
                fields=fields,
                supervisor=supervisor,
                administrators=administrators,
                team_since=team_since,
            )
        )

    def _build_accounts(self) -> None:
        rng = self.rng
        for _code, platform, _name, _type, account_id in DEPARTMENT_ACCOUNTS:
            if account_id:
                self.account_ids[platform].add(account_id)
        for code, platform, name, account_type, account_id in DEPARTMENT_ACCOUNTS:
            self._add_account(
                self.units[code], platform, name, account_type=account_type, account_id=account_id
            )
        for unit in self.plan.units:
            if unit.kind == UnitKind.COLLEGE:
                extra = rng.sample(EXTRA_PLATFORMS, rng.randint(0, 2))
                platforms = ["wechat", *extra]
            elif unit.kind == UnitKind.SUB_UNIT and unit.parent in self.college_no:
                platforms = ["wechat"] if unit.parent == "cs" or rng.random() < 0.5 else []
            elif unit.kind == UnitKind.COLLEGE_STUDENT_ORG:
                platforms = [rng.choice(ORG_PLATFORMS)]
            elif unit.kind == UnitKind.SCHOOL_STUDENT_ORG:
                platforms = ["wechat", *rng.sample((*EXTRA_PLATFORMS, "qq"), rng.randint(0, 1))]
            else:
                continue
            for forced in FORCED_PLATFORMS.get(unit.code, ()):
                if forced not in platforms:
                    platforms.append(forced)
            for platform in platforms:
                name, account_type = self._naming(unit, platform)
                self._add_account(unit, platform, name, account_type=account_type)

    def _naming(self, unit: UnitSeed, platform: str) -> tuple[str, str]:
        """(account name, account type) of a generated account."""
        if unit.kind == UnitKind.SCHOOL_STUDENT_ORG:
            stem = next(s for c, _n, s, _slug in SCHOOL_ORGS if c == unit.code)
        elif unit.kind == UnitKind.COLLEGE:
            stem = (
                f"北辰大学{unit.short_name}" if platform == "wechat" else f"北辰{unit.short_name}"
            )
        else:
            stem = f"北辰大学{unit.name}" if platform == "wechat" else f"北辰{unit.name}"
        account_type = {"wechat": "订阅号", "qq": "QQ空间", "mini_program": "微信小程序"}.get(
            platform, ""
        )
        if platform == "weibo" and unit.kind == UnitKind.COLLEGE:
            stem += "官方微博"
        return stem, account_type


# --- Scale data --------------------------------------------------------------------------------

ROOT = "@root"
LEAGUE = "@league"
SCALE_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("党委办公室", UnitKind.FUNCTIONAL),
    ("教务处", UnitKind.FUNCTIONAL),
    ("学生工作部", UnitKind.FUNCTIONAL),
    ("科学技术处", UnitKind.FUNCTIONAL),
    ("审计处", UnitKind.FUNCTIONAL),
    ("图书馆", UnitKind.DIRECT),
    ("信息化中心", UnitKind.DIRECT),
    ("后勤集团", UnitKind.DIRECT),
)
SCALE_COLLEGES: tuple[str, ...] = (
    *(name for _c, name, _s, _slug in COLLEGES),
    "材料科学与工程学院",
    "环境科学与工程学院",
    "建筑学院",
    "能源与动力工程学院",
    "海洋工程学院",
    "生命科学学院",
    "新闻传播学院",
    "公共管理学院",
    "音乐学院",
    "继续教育学院",
)
SCALE_CHINESE_NUMBERS = "一二三四五六七八九十"


@dataclass(frozen=True)
class ScaleUnit:
    code: str
    name: str
    kind: str
    parent: str  # a code, ROOT or LEAGUE


def scale_units() -> Iterator[ScaleUnit]:
    """The scale tree in creation order, endless: departments, then blocks of a college with two
    sub-units and three student organisations, followed by one school-level organisation."""
    for number, (name, kind) in enumerate(SCALE_DEPARTMENTS, start=1):
        yield ScaleUnit(f"{SCALE_PREFIX}f{number:02d}", name, kind, ROOT)
    number = 0
    while True:
        number += 1
        base = SCALE_COLLEGES[(number - 1) % len(SCALE_COLLEGES)]
        cycle = (number - 1) // len(SCALE_COLLEGES)
        name = base if cycle == 0 else f"{base}（第{cycle + 1}校区）"
        code = f"{SCALE_PREFIX}c{number:04d}"
        yield ScaleUnit(code, name, UnitKind.COLLEGE, ROOT)
        for i, (suffix, sub_name) in enumerate(COLLEGE_SUB_UNITS[:2], start=1):
            yield ScaleUnit(f"{code}-{suffix}{i}", f"{name}{sub_name}", UnitKind.SUB_UNIT, code)
        for suffix, org_name in COLLEGE_ORGS[:3]:
            yield ScaleUnit(
                f"{code}-{suffix}", f"{name}{org_name}", UnitKind.COLLEGE_STUDENT_ORG, code
            )
        _c, org, _s, _slug = SCHOOL_ORGS[(number - 1) % len(SCHOOL_ORGS)]
        yield ScaleUnit(
            f"{SCALE_PREFIX}t{number:04d}",
            f"{org}{SCALE_CHINESE_NUMBERS[(number - 1) % 10]}分会"
            if number > len(SCHOOL_ORGS)
            else org,
            UnitKind.SCHOOL_STUDENT_ORG,
            LEAGUE,
        )


def scale_account_id(platform: str, n: int) -> str:
    """A unique id for scale account ``n`` in the platform's style, outside the demo's ranges."""
    return {
        "weibo": lambda: str(1_000_000_000 + n),
        "bilibili": lambda: str(10_000_000 + n),
        "xiaohongshu": lambda: str(100_000_000 + n),
        "toutiao": lambda: str(10_000_000_000 + n),
        "qq": lambda: str(800_000_000 + n),
        "app": lambda: f"cn.edu.bcs.app{n}",
        "mini_program": lambda: f"wx{n:016x}",
        "wechat_channels": lambda: f"sph{n:08d}",
        "douyin": lambda: f"dy{n:09d}",
        "kuaishou": lambda: f"ks{n:09d}",
    }.get(platform, lambda: f"bcs{n:08d}")()


SCALE_NAME_WORDS: tuple[str, ...] = (
    "",
    "青年",
    "之声",
    "资讯",
    "视界",
    "在线",
    "微课堂",
    "服务",
    "风采",
    "新闻",
)
