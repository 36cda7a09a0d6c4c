"""Deterministic demo data for the settlement core and the wallet.

A pure generator: no Django models, no I/O, no clock. ``generate(seed)`` builds
regions, insured persons (in households, so that families can be formed),
designated institutions, a drug and service catalogue and per-region policy
parameters. The same seed always gives the same data (``DemoData.digest()``);
ages are counted at ``REFERENCE_DATE``, never at "today".

Formats (the settlement core's conventions, see core_platform/README.md):

- ``psn_no``: 20 digits, the insured region's 6-digit admdvs followed by a
  14-digit sequence within that region (``44010000000000000001``).
- ID numbers: GB 11643, the first 6 digits are the insured region's admdvs.
- ``fixmedins_code``: ``H`` (hospital) or ``P`` (pharmacy) + admdvs + 5 digits.
- catalogue codes: ``X`` Western drug, ``Z`` Chinese patent drug, ``F`` medical
  service, ``C`` material, followed by 8 digits.
- money in integer fen; ratios in permille.

``core_seed_demo`` (core_platform) loads it into the core; the wallet uses
``Institution.secret`` to seed terminal credentials and ``DEMO_PERSONAS`` in
docs and tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass, field

from . import idnumber

DEFAULT_SEED = 20260101
REFERENCE_DATE = dt.date(2026, 1, 1)


@dataclass(frozen=True)
class Region:
    admdvs: str
    name: str
    province: str
    evoucher_open: bool


@dataclass(frozen=True)
class Person:
    psn_no: str
    name: str
    id_number: str
    gender: str  # '1' male, '2' female
    birth_date: dt.date
    insutype: str  # '310' employee, '390' resident
    psn_type: str  # see core_platform/README.md
    insured_region: str
    enrolment_status: str  # active / suspended / terminated
    employer: str
    enrolled_on: dt.date
    balance_fen: int  # opening personal-account balance
    household: str  # households share a region; members may be bound as family
    role: str  # head / spouse / child / parent: relation to the household head

    def age(self, on: dt.date = REFERENCE_DATE) -> int:
        years = on.year - self.birth_date.year
        if (on.month, on.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True)
class Institution:
    fixmedins_code: str
    name: str
    kind: str  # 'hospital' / 'pharmacy'
    level: str  # '1' / '2' / '3' hospitals, '9' 未定级 (pharmacies)
    region: str
    designated: bool
    secret: str  # demo terminal secret for the wallet's gateway (deterministic)
    outpatient_pooling: bool = False  # designated for employee outpatient pooling (门诊统筹)


@dataclass(frozen=True)
class CatalogueItem:
    med_list_codg: str
    name: str
    kind: str  # drug / service / material
    list_class: str  # 'A' 甲类 / 'B' 乙类 / 'C' 丙类
    self_pay_ratio_permille: int  # 0 for A, 1000 for C, B: 先行自付
    price_cap_fen: int | None
    unit: str
    spec: str
    mulaid_excluded: bool = False  # never paid from a family member's account (家庭共济)


@dataclass(frozen=True)
class Policy:
    region: str
    insutype: str
    version: int
    effective_from: dt.date
    params: dict


@dataclass(frozen=True)
class Household:
    """A household register (户籍, 户口簿): ``members`` are (psn_no, role),
    the role being the relation to the head (head / spouse / child / parent)."""

    hh_no: str
    region: str
    members: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Relation:
    """A civil-status relation: ``spouse`` (psn_no < rel_psn_no) or
    ``parent_child`` (psn_no is the parent of rel_psn_no)."""

    kind: str
    psn_no: str
    rel_psn_no: str


@dataclass(frozen=True)
class Identity:
    """A special identity (人员身份, 1101 idetinfo) of a person: the region's
    codes (core_platform/README.md), e.g. 2101 特困供养人员."""

    psn_no: str
    psn_idet_type: str
    psn_type_lv: str
    begntime: dt.date
    endtime: dt.date | None
    memo: str


@dataclass
class RegionCatalogueTerm:
    """A treatment region's own terms for a catalogue item (就医地目录)."""

    region: str
    med_list_codg: str
    list_class: str
    self_pay_ratio_permille: int
    price_cap_fen: int | None


@dataclass
class DemoData:
    seed: int
    reference_date: dt.date
    regions: list[Region] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    institutions: list[Institution] = field(default_factory=list)
    catalogue: list[CatalogueItem] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    civil_servants: list[str] = field(default_factory=list)  # psn_no of persons with cvlserv_flag
    households: list[Household] = field(default_factory=list)  # 户籍, derived from Person.household / role
    relations: list[Relation] = field(default_factory=list)  # civil relations (spouse, parent-child)
    region_catalogue: list[RegionCatalogueTerm] = field(default_factory=list)  # 就医地目录 overrides

    def as_dict(self) -> dict:
        return json.loads(self.to_json())

    def to_json(self) -> str:
        def default(value):
            if isinstance(value, dt.date):
                return value.isoformat()
            raise TypeError(type(value))

        raw = dataclasses.asdict(self)
        return json.dumps(raw, default=default, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def region(self, admdvs: str) -> Region:
        return next(r for r in self.regions if r.admdvs == admdvs)


# --- static vocabularies -----------------------------------------------------

# (province, [(admdvs, city, evoucher_open)]). City-level pooling regions (统筹区).
_REGIONS = [
    ("北京市", [("110100", "北京市", True)]),
    ("上海市", [("310100", "上海市", True)]),
    ("广东省", [("440100", "广州市", True), ("440300", "深圳市", True), ("440600", "佛山市", True)]),
    ("浙江省", [("330100", "杭州市", True), ("330200", "宁波市", True), ("330300", "温州市", True)]),
    ("四川省", [("510100", "成都市", True), ("510700", "绵阳市", True), ("511300", "南充市", False)]),
    ("湖北省", [("420100", "武汉市", True), ("420500", "宜昌市", True), ("420600", "襄阳市", True)]),
    ("河南省", [("410100", "郑州市", True), ("410300", "洛阳市", True), ("410200", "开封市", False)]),
    ("甘肃省", [("620100", "兰州市", True), ("620400", "白银市", False)]),
]

# Regions whose policies use the 'account_first' model (personal account pays first).
_ACCOUNT_FIRST = {"440300", "330200"}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
_GIVEN_MALE = "伟强磊军勇杰涛明超辉刚健斌鹏浩宇俊凯峰建国华文志东海波龙"
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲红梅琳雪婷慧颖倩琴兰云萍燕洁佳欣怡"
_EMPLOYER_STEMS = ["恒信科技", "华联商贸", "长城建设", "新纪元教育", "东方物流", "瑞康医药", "金桥制造", "明德会计师事务所",
                   "四方软件", "安泰保险代理", "宏远机械", "百川食品"]
_EMPLOYER_SUFFIX = ["有限公司", "股份有限公司", "集团有限公司"]

_HOSPITAL_NAMES = {"1": ["{city}{n}社区卫生服务中心", "{city}{n}镇卫生院"],
                   "2": ["{city}第{n}人民医院", "{city}中医院第{n}分院"],
                   "3": ["{city}第{n}中心医院", "{city}医科大学附属第{n}医院"]}
_PHARMACY_NAMES = ["{city}老百姓大药房第{n}分店", "{city}益丰大药房第{n}店", "{city}国大药房第{n}店", "{city}同仁堂药店第{n}店"]
_CN_NUM = "一二三四五六七八九十"

_DRUGS = [
    "阿莫西林", "头孢克肟", "头孢呋辛酯", "阿奇霉素", "左氧氟沙星", "布洛芬", "对乙酰氨基酚", "奥美拉唑", "雷贝拉唑",
    "二甲双胍", "格列美脲", "阿卡波糖", "硝苯地平", "氨氯地平", "缬沙坦", "厄贝沙坦", "美托洛尔", "阿托伐他汀",
    "瑞舒伐他汀", "阿司匹林", "氯吡格雷", "孟鲁司特", "氯雷他定", "西替利嗪", "蒙脱石", "多潘立酮", "甲硝唑",
    "氢氯噻嗪", "呋塞米", "螺内酯", "左甲状腺素", "泼尼松", "地塞米松", "胰岛素", "甘精胰岛素", "沙丁胺醇",
    "布地奈德", "氨溴索", "右美沙芬", "维生素C", "维生素B1", "叶酸", "碳酸钙", "骨化三醇", "别嘌醇",
]
_DRUG_FORMS = [("片", "0.25g*24片", "盒"), ("胶囊", "0.25g*12粒", "盒"), ("缓释片", "30mg*7片", "盒"),
               ("注射液", "2ml:10mg*5支", "盒"), ("颗粒", "5g*10袋", "盒")]
_TCM_DRUGS = ["连花清瘟胶囊", "板蓝根颗粒", "六味地黄丸", "复方丹参滴丸", "藿香正气水", "银黄颗粒", "感冒灵颗粒",
              "速效救心丸", "血塞通软胶囊", "双黄连口服液", "逍遥丸", "香砂养胃丸", "云南白药胶囊", "安宫牛黄丸",
              "小柴胡颗粒", "蒲地蓝消炎片", "健胃消食片", "通心络胶囊", "脑心通胶囊", "清开灵颗粒"]
_SERVICES = [
    ("普通门诊诊查费", "次", 1000), ("副主任医师诊查费", "次", 2500), ("主任医师诊查费", "次", 4000),
    ("血常规", "次", 2000), ("尿常规", "次", 1000), ("肝功能", "次", 6000), ("肾功能", "次", 4500),
    ("血脂四项", "次", 4000), ("空腹血糖", "次", 800), ("糖化血红蛋白", "次", 6000), ("心电图", "次", 2500),
    ("胸部X线摄影", "次", 8000), ("头颅CT平扫", "次", 25000), ("腹部彩超", "次", 15000), ("心脏彩超", "次", 28000),
    ("核磁共振平扫", "部位", 60000), ("胃镜检查", "次", 30000), ("肠镜检查", "次", 40000), ("静脉输液", "组", 600),
    ("肌肉注射", "次", 300), ("清创缝合", "次", 5000), ("普通换药", "次", 1500), ("针灸", "次", 3000),
    ("推拿治疗", "次", 4000), ("床位费（三人间）", "日", 4500), ("一级护理", "日", 3000), ("血液透析", "次", 45000),
    ("康复训练", "次", 5000), ("口腔检查", "次", 1000), ("洗牙", "次", 15000),
]
_MATERIALS = [("一次性输液器", "套", 350), ("一次性注射器", "支", 80), ("医用纱布", "包", 500), ("医用胶带", "卷", 600),
              ("留置针", "支", 2500), ("弹力绷带", "卷", 1200), ("导尿管", "根", 1800), ("血糖试纸", "盒", 6000),
              ("人工晶体", "个", 300000), ("冠脉支架", "个", 70000)]


def _rng_secret(seed: int, code: str) -> str:
    return hashlib.sha256(f"yibao-demo-terminal/{seed}/{code}".encode()).hexdigest()[:32]


def generate(seed: int = DEFAULT_SEED) -> DemoData:
    """Build the demo data for ``seed``. Pure and deterministic."""
    rng = random.Random(seed)
    data = DemoData(seed=seed, reference_date=REFERENCE_DATE)
    for province, cities in _REGIONS:
        for admdvs, city, open_ in cities:
            data.regions.append(Region(admdvs=admdvs, name=city, province=province, evoucher_open=open_))
    data.persons = _persons(rng, data.regions)
    data.institutions = _institutions(rng, seed, data.regions)
    data.catalogue = _catalogue(rng)
    data.policies = _policies(rng, data.regions)
    # After every use of ``rng``: the policy-form regions add to the data
    # without changing anything generated above.
    _policy_form_regions(data, seed)
    _cross_province(data, seed)  # issue #14, also built without ``rng``
    _family_demo(data, seed)  # issue #13, built without ``rng``
    _households(data)  # from every person above: nothing drawn, nothing changed
    return data


# --- persons -----------------------------------------------------------------


class _PersonFactory:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used_ids: set[str] = set()
        self.sequence: dict[str, int] = {}
        self.persons: list[Person] = []

    def birth(self, min_age: int, max_age: int) -> dt.date:
        # Days back from the reference date, so ages are exact at REFERENCE_DATE.
        lo = min_age * 365 + min_age // 4 + 1
        hi = (max_age + 1) * 365 + (max_age + 1) // 4 - 1
        return REFERENCE_DATE - dt.timedelta(days=self.rng.randint(lo, hi))

    def id_number(self, region: str, born: dt.date, gender: str) -> str:
        while True:
            seq = self.rng.randint(1, 499) * 2 - (1 if gender == "1" else 0)
            number = idnumber.make(region, born, seq)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def name(self, surname: str, gender: str) -> str:
        pool = _GIVEN_MALE if gender == "1" else _GIVEN_FEMALE
        given = self.rng.choice(pool) + (self.rng.choice(pool) if self.rng.random() < 0.6 else "")
        return surname + given

    def employer(self, city: str) -> str:
        return f"{city}{self.rng.choice(_EMPLOYER_STEMS)}{self.rng.choice(_EMPLOYER_SUFFIX)}"

    def add(self, region: Region, household: str, role: str, surname: str, gender: str, born: dt.date) -> Person:
        age = REFERENCE_DATE.year - born.year
        rng = self.rng
        if 18 <= age < 60 and rng.random() < 0.7:
            insutype, psn_type, employer = "310", "11", self.employer(region.name)
            balance = rng.randint(200, 8000) * 100 + rng.randint(0, 99)
        elif age >= 60 and rng.random() < 0.5:
            insutype, psn_type, employer = "310", "21", ""
            balance = rng.randint(1000, 20000) * 100 + rng.randint(0, 99)
        else:
            insutype, employer = "390", ""
            psn_type = "32" if age < 18 else ("33" if age >= 60 else "31")
            balance = rng.choice([0, 0, 0, rng.randint(1, 50) * 100])
        roll = rng.random()
        status = "suspended" if roll < 0.04 else ("terminated" if roll < 0.05 else "active")
        enrolled_year = max(born.year, 2000 + rng.randint(0, 20))
        enrolled_on = max(born, dt.date(enrolled_year, rng.randint(1, 12), rng.randint(1, 28)))
        if enrolled_on > REFERENCE_DATE:
            enrolled_on = born
        self.sequence[region.admdvs] = self.sequence.get(region.admdvs, 0) + 1
        person = Person(
            psn_no=f"{region.admdvs}{self.sequence[region.admdvs]:014d}",
            name=self.name(surname, gender),
            id_number=self.id_number(region.admdvs, born, gender),
            gender=gender,
            birth_date=born,
            insutype=insutype,
            psn_type=psn_type,
            insured_region=region.admdvs,
            enrolment_status=status,
            employer=employer,
            enrolled_on=enrolled_on,
            balance_fen=balance,
            household=household,
            role=role,
        )
        self.persons.append(person)
        return person


def _persons(rng: random.Random, regions: list[Region]) -> list[Person]:
    factory = _PersonFactory(rng)
    number = 0
    while len(factory.persons) < 320:
        for region in regions:
            number += 1
            household = f"H{number:04d}"
            surname = rng.choice(_SURNAMES)
            head_gender = rng.choice("12")
            head_born = factory.birth(28, 55)
            factory.add(region, household, "head", surname, head_gender, head_born)
            if rng.random() < 0.85:
                spouse_gender = "2" if head_gender == "1" else "1"
                factory.add(region, household, "spouse", rng.choice(_SURNAMES), spouse_gender, factory.birth(26, 55))
            head_age = REFERENCE_DATE.year - head_born.year
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                max_child = max(0, min(17, head_age - 22))
                factory.add(region, household, "child", surname, rng.choice("12"), factory.birth(0, max_child))
            for _ in range(rng.choice([0, 0, 1, 2])):
                min_parent = min(95, max(62, head_age + 22))
                factory.add(region, household, "parent", surname if rng.random() < 0.5 else rng.choice(_SURNAMES),
                            rng.choice("12"), factory.birth(min_parent, min(96, min_parent + 12)))
    return factory.persons


# --- institutions ------------------------------------------------------------


def _institutions(rng: random.Random, seed: int, regions: list[Region]) -> list[Institution]:
    result: list[Institution] = []
    counters: dict[str, int] = {}
    levels = ["3", "2", "1"]

    def add(region: Region, kind: str, level: str, index: int) -> None:
        counters[region.admdvs] = counters.get(region.admdvs, 0) + 1
        prefix = "H" if kind == "hospital" else "P"
        code = f"{prefix}{region.admdvs}{counters[region.admdvs]:05d}"
        pattern = rng.choice(_HOSPITAL_NAMES[level] if kind == "hospital" else _PHARMACY_NAMES)
        name = pattern.format(city=region.name, n=_CN_NUM[(index - 1) % len(_CN_NUM)])
        designated = len(result) % 7 != 6  # every seventh is not (or no longer) designated
        result.append(Institution(code, name, kind, level, region.admdvs, designated, _rng_secret(seed, code)))

    for i, region in enumerate(regions):
        add(region, "pharmacy", "9", 1)
        add(region, "hospital", levels[i % 3], 1)
        if i % 2 == 0:
            add(region, "pharmacy", "9", 2)
            add(region, "hospital", levels[(i + 1) % 3], 2)
    return result


# --- catalogue ---------------------------------------------------------------


def _class(rng: random.Random) -> tuple[str, int]:
    roll = rng.random()
    if roll < 0.4:
        return "A", 0
    if roll < 0.8:
        return "B", rng.choice([50, 100, 200])
    return "C", 1000


def _catalogue(rng: random.Random) -> list[CatalogueItem]:
    items: list[CatalogueItem] = []
    n = 0
    for drug in _DRUGS:
        for suffix, spec, unit in rng.sample(_DRUG_FORMS, 4):
            n += 1
            cls, ratio = _class(rng)
            cap = rng.randint(5, 300) * 100 if rng.random() < 0.3 else None
            items.append(CatalogueItem(f"X{n:08d}", drug + suffix, "drug", cls, ratio, cap, unit, spec))
    for drug in _TCM_DRUGS:
        for spec in rng.sample(["6g*9袋", "0.35g*24粒", "10ml*6支", "60丸"], 3):
            n += 1
            cls, ratio = _class(rng)
            cap = rng.randint(10, 200) * 100 if rng.random() < 0.2 else None
            items.append(CatalogueItem(f"Z{n:08d}", drug, "drug", cls, ratio, cap, "盒", spec))
    for name, unit, base in _SERVICES:
        for grade in ["", "（加急）"]:
            n += 1
            cls, ratio = _class(rng)
            cap = base * (2 if grade else 1) if rng.random() < 0.7 else None
            items.append(CatalogueItem(f"F{n:08d}", name + grade, "service", cls, ratio, cap, unit, ""))
    for name, unit, base in _MATERIALS:
        for spec in ["标准型", "加强型"]:
            n += 1
            cls, ratio = _class(rng)
            items.append(CatalogueItem(f"C{n:08d}", name, "material", cls, ratio, base, unit, spec))
    return items


# --- policies ----------------------------------------------------------------


def _policies(rng: random.Random, regions: list[Region]) -> list[Policy]:
    result = []
    for region in regions:
        for insutype in ("310", "390"):
            employee = insutype == "310"
            step = rng.choice([0, 50, 100])  # small regional differences, in permille
            deductible = {"1": 20000, "2": 50000, "3": 80000, "9": 0} if not employee else \
                {"1": 30000, "2": 60000, "3": 90000, "9": 0}
            base = {"1": 900, "2": 850, "3": 800, "9": 700} if employee else {"1": 750, "2": 650, "3": 550, "9": 500}
            params = {
                "model": "account_first" if region.admdvs in _ACCOUNT_FIRST else "standard",
                "deductible_fen": deductible,
                "bands": [
                    {"upto_fen": 5_000_000, "ratio_permille": {lv: r - step for lv, r in base.items()}},
                    {"upto_fen": None, "ratio_permille": {lv: min(1000, r - step + 50) for lv, r in base.items()}},
                ],
                "annual_ceiling_fen": 40_000_000 if employee else 20_000_000,
                "account_may_pay_self_part": employee,
            }
            result.append(Policy(region.admdvs, insutype, 1, dt.date(2026, 1, 1), params))
    return result


# --- regions that show each policy form (issue #12) ---------------------------
#
# Appended after everything drawn from the seeded ``rng`` and built without
# it, so the persons, institutions and policies above are the same as before
# they existed. docs/subsystems/policy-engine.md works examples with them.
#
# - 500100 重庆市, employees (310): account_first with the deductible measured
#   on the year's cumulative eligible cost (the source's form: the self-pay
#   stage is the first 400 yuan of treatment, whatever paid for it), 400 yuan
#   at every level; retiree ratios; 职工大额医疗费用补助 (hifob) above the
#   basic ceiling. Residents (390): account_first with the Shanghai-style
#   自负段 (the deductible counted in cash paid after the account).
# - 320100 南京市, employees (310): standard, with employee outpatient pooling
#   (职工门诊共济: its own deductible, ratios and ceiling, higher for retirees,
#   at hospitals and at pharmacies designated for it), retiree ratios for
#   inpatient care, hifob, and the civil-servant subsidy (cvlserv). Residents
#   (390): standard with 居民大病保险 (hifmi) and 医疗救助 (maf) for persons
#   holding identity 2101 特困供养人员 or 2201 最低生活保障对象.

POLICY_FORM_REGIONS = [("重庆市", "500100", "重庆市"), ("江苏省", "320100", "南京市")]
CHONGQING_OPENING_FEN = 33_280  # the source's worked example: 332.80 yuan on the IC card

_EFFECTIVE = dt.date(2026, 1, 1)


def _levels(one: int, two: int, three: int, nine: int) -> dict[str, int]:
    return {"1": one, "2": two, "3": three, "9": nine}


def _policy_form_params() -> list[tuple[str, str, dict]]:
    chongqing_310 = {
        "model": "account_first",
        "deductible_basis": "cumulative_cost",
        # "个人治疗费用在400元以下者…自付": 400 yuan at every level, pharmacies included.
        "deductible_fen": _levels(40_000, 40_000, 40_000, 40_000),
        "bands": [
            {"upto_fen": 1_000_000, "ratio_permille": _levels(900, 850, 800, 800),
             "retired_ratio_permille": _levels(950, 920, 900, 900)},
            {"upto_fen": 5_000_000, "ratio_permille": _levels(920, 880, 850, 850),
             "retired_ratio_permille": _levels(960, 940, 920, 920)},
            {"upto_fen": None, "ratio_permille": _levels(950, 900, 900, 900),
             "retired_ratio_permille": _levels(970, 950, 950, 950)},
        ],
        "annual_ceiling_fen": 15_000_000,
        "account_may_pay_self_part": True,
        "supplements": [
            {"fund": "hifob", "basis": "over_basic_ceiling", "deductible_fen": 0,
             "bands": [{"upto_fen": None, "ratio_permille": 800}], "annual_ceiling_fen": 50_000_000},
        ],
    }
    chongqing_390 = {
        "model": "account_first",
        "deductible_basis": "cash_after_account",
        "deductible_fen": _levels(10_000, 30_000, 50_000, 10_000),
        "bands": [
            {"upto_fen": 5_000_000, "ratio_permille": _levels(750, 650, 550, 500)},
            {"upto_fen": None, "ratio_permille": _levels(800, 700, 600, 550)},
        ],
        "annual_ceiling_fen": 15_000_000,
        "account_may_pay_self_part": False,
    }
    nanjing_310 = {
        "model": "standard",
        "deductible_fen": _levels(30_000, 60_000, 90_000, 0),
        "bands": [
            {"upto_fen": 5_000_000, "ratio_permille": _levels(900, 880, 850, 700),
             "retired_ratio_permille": _levels(950, 930, 900, 750)},
            {"upto_fen": None, "ratio_permille": _levels(950, 920, 900, 700),
             "retired_ratio_permille": _levels(970, 950, 930, 750)},
        ],
        "annual_ceiling_fen": 30_000_000,
        "account_may_pay_self_part": True,
        "outpatient": {
            "deductible_fen": {"in_service": 70_000, "retired": 50_000},
            "ratio_permille": {"in_service": _levels(700, 600, 500, 500), "retired": _levels(800, 700, 600, 600)},
            "annual_ceiling_fen": {"in_service": 300_000, "retired": 400_000},
        },
        "supplements": [
            {"fund": "hifob", "basis": "over_basic_ceiling", "deductible_fen": 0,
             "bands": [{"upto_fen": None, "ratio_permille": 850}], "annual_ceiling_fen": 50_000_000},
            {"fund": "cvlserv", "basis": "personal_eligible", "deductible_fen": 50_000,
             "bands": [{"upto_fen": 1_000_000, "ratio_permille": 500}, {"upto_fen": None, "ratio_permille": 800}],
             "annual_ceiling_fen": 2_000_000},
        ],
    }
    nanjing_390 = {
        "model": "standard",
        "deductible_fen": _levels(20_000, 50_000, 80_000, 0),
        "bands": [
            {"upto_fen": 5_000_000, "ratio_permille": _levels(750, 650, 550, 500)},
            {"upto_fen": None, "ratio_permille": _levels(800, 700, 600, 500)},
        ],
        "annual_ceiling_fen": 20_000_000,
        "account_may_pay_self_part": False,
        "supplements": [
            {"fund": "hifmi", "basis": "personal_eligible", "deductible_fen": 1_500_000,
             "bands": [{"upto_fen": 10_000_000, "ratio_permille": 600}, {"upto_fen": None, "ratio_permille": 700}],
             "annual_ceiling_fen": 40_000_000},
            {"fund": "maf", "basis": "personal_eligible", "deductible_fen": 0,
             "bands": [{"upto_fen": None, "ratio_permille": 700}], "annual_ceiling_fen": 3_000_000,
             "identities": ["2101", "2201"]},
        ],
    }
    return [("500100", "310", chongqing_310), ("500100", "390", chongqing_390),
            ("320100", "310", nanjing_310), ("320100", "390", nanjing_390)]


# (region, name, gender, birth date, insutype, psn_type, employer, balance fen)
_POLICY_FORM_PERSONS = [
    ("500100", "陈国庆", "1", dt.date(1985, 3, 12), "310", "11", "重庆长江航运有限公司", CHONGQING_OPENING_FEN),
    ("500100", "周淑华", "2", dt.date(1958, 9, 2), "310", "21", "", 520_000),
    ("500100", "谭小雨", "2", dt.date(1996, 6, 18), "390", "31", "", 4_000),
    ("320100", "孙立新", "1", dt.date(1979, 11, 5), "310", "11", "南京市玄武区人民政府办公室", 260_000),
    ("320100", "吴桂兰", "2", dt.date(1957, 4, 23), "310", "21", "", 810_000),
    ("320100", "钱大勇", "1", dt.date(1970, 1, 30), "390", "31", "", 0),
    ("320100", "赵秀英", "2", dt.date(1950, 8, 8), "390", "33", "", 0),
]


def _add_listed_persons(data: DemoData, rows, *, household_prefix: str) -> None:
    """Persons written out by hand (region, name, gender, birth date, insutype,
    psn_type, employer, balance in fen), each the head of a household of one,
    numbered per region in list order."""
    sequence: dict[str, int] = {}
    for n, (region, name, gender, born, insutype, psn_type, employer, balance) in enumerate(rows, 1):
        sequence[region] = sequence.get(region, 0) + 1
        # ID sequence: odd for men, even for women (GB 11643).
        id_number = idnumber.make(region, born, 2 * sequence[region] - (1 if gender == "1" else 0))
        data.persons.append(Person(
            psn_no=f"{region}{sequence[region]:014d}", name=name, id_number=id_number, gender=gender,
            birth_date=born, insutype=insutype, psn_type=psn_type, insured_region=region,
            enrolment_status="active", employer=employer, enrolled_on=max(born, dt.date(2010, 1, 1)),
            balance_fen=balance, household=f"{household_prefix}{n:03d}", role="head",
        ))


def _policy_form_regions(data: DemoData, seed: int) -> None:
    for province, admdvs, city in POLICY_FORM_REGIONS:
        data.regions.append(Region(admdvs=admdvs, name=city, province=province, evoucher_open=True))
    _add_listed_persons(data, _POLICY_FORM_PERSONS, household_prefix="HP")
    # 孙立新 is a civil servant; 钱大勇 特困供养人员 (open-ended); 赵秀英 was a
    # 低保对象 until the end of 2025 (no medical assistance on a 2026 bill).
    data.civil_servants.append("32010000000000000001")
    data.identities.append(Identity("32010000000000000003", "2101", "", dt.date(2024, 1, 1), None, "特困供养人员"))
    data.identities.append(Identity("32010000000000000004", "2201", "", dt.date(2023, 1, 1), dt.date(2025, 12, 31),
                                    "最低生活保障对象（已退出）"))
    for _, admdvs, city in POLICY_FORM_REGIONS:
        for n, (kind, level, name, pooling) in enumerate([
            ("pharmacy", "9", f"{city}老百姓大药房门诊统筹定点店", True),
            ("pharmacy", "9", f"{city}益丰大药房第一店", False),
            ("hospital", "3", f"{city}医科大学附属第一医院", False),
            ("hospital", "2", f"{city}第二人民医院", False),
            ("hospital", "1", f"{city}城南社区卫生服务中心", False),
        ], 1):
            code = f"{'H' if kind == 'hospital' else 'P'}{admdvs}{n:05d}"
            data.institutions.append(Institution(code, name, kind, level, admdvs, True, _rng_secret(seed, code),
                                                 outpatient_pooling=pooling or kind == "hospital"))
    for region, insutype, params in _policy_form_params():
        data.policies.append(Policy(region, insutype, 1, _EFFECTIVE, params))


# --- cross-province filing (issue #14) ---------------------------------------
#
# Appended after everything above and built without ``rng``: nothing above
# changes. docs/subsystems/filing.md and policy-engine.md work examples with it.
#
# - 130100 石家庄市 (河北省): the insured region of the README/browser story.
#   Its policy states the cross-province defaults explicitly: ratio
#   adjustment long-term 0, referral and emergency −10 points, other
#   temporary −20 points; unfiled bills refused; another region of 河北省
#   (130600 保定市) is local; filing rules open, 6 months, 6 months.
#   Employees (310) at a pharmacy (level 9): no deductible, 80 % (85 % above
#   50 000 yuan of the year's eligible cost).
# - 210100 沈阳市 (辽宁省): unfiled bills are settled at the lowest temporary
#   ratio (``lowest_ratio``), and another region of 辽宁省 (210200 大连市)
#   needs a filing too (``same_province`` ``filed``); other temporary −15
#   points. Employees at a pharmacy: 70 % (75 % above 50 000).
# - 150100 呼和浩特市 (内蒙古自治区): has not opened cross-province direct
#   settlement (``open`` false).
# - Pharmacies in the treatment regions 440300 深圳市, 510100 成都市 and
#   420100 武汉市 (the unfiled visit), a referral hospital in 深圳市, and the
#   treatment regions' own catalogue terms for two items: in 深圳市
#   X00000005 头孢克肟缓释片 is 甲类 (乙类 20 % nationally) and X00000011
#   头孢呋辛酯胶囊 乙类 10 % (20 % nationally) with a price cap of 30.00; in
#   成都市 X00000001 阿莫西林片 has a price cap of 15.00 (none nationally).

CROSS_PROVINCE_REGIONS = [("河北省", "130100", "石家庄市"), ("河北省", "130600", "保定市"),
                          ("辽宁省", "210100", "沈阳市"), ("辽宁省", "210200", "大连市"),
                          ("内蒙古自治区", "150100", "呼和浩特市")]
CROSS_ADJUST_DEFAULTS = {"long_term": 0, "referral": -100, "emergency": -100, "temporary_other": -200}


def _cross_province_params() -> list[tuple[str, str, dict]]:
    def standard(employee: bool, nine: tuple[int, int], cross: dict) -> dict:
        deductible = _levels(30_000, 60_000, 90_000, 0) if employee else _levels(20_000, 50_000, 80_000, 0)
        low = _levels(900, 850, 800, nine[0]) if employee else _levels(750, 650, 550, nine[0])
        high = _levels(950, 900, 850, nine[1]) if employee else _levels(800, 700, 600, nine[1])
        return {"model": "standard", "deductible_fen": deductible,
                "bands": [{"upto_fen": 5_000_000, "ratio_permille": low}, {"upto_fen": None, "ratio_permille": high}],
                "annual_ceiling_fen": 30_000_000 if employee else 20_000_000,
                "account_may_pay_self_part": employee, "cross_province": cross}

    hebei = {"adjust_permille": dict(CROSS_ADJUST_DEFAULTS), "unfiled": "refuse", "same_province": "local",
             "open": True, "long_term_min_months": 6, "temporary_valid_months": 6}
    liaoning = {"adjust_permille": {**CROSS_ADJUST_DEFAULTS, "temporary_other": -150}, "unfiled": "lowest_ratio",
                "same_province": "filed"}
    neimenggu = {"open": False}
    return [("130100", "310", standard(True, (800, 850), hebei)), ("130100", "390", standard(False, (600, 600), hebei)),
            ("210100", "310", standard(True, (700, 750), liaoning)),
            ("210100", "390", standard(False, (550, 550), liaoning)),
            ("130600", "310", standard(True, (800, 850), hebei)), ("130600", "390", standard(False, (600, 600), hebei)),
            ("210200", "310", standard(True, (700, 750), liaoning)),
            ("210200", "390", standard(False, (550, 550), liaoning)),
            ("150100", "310", standard(True, (750, 800), neimenggu)),
            ("150100", "390", standard(False, (500, 500), neimenggu))]


# (region, name, gender, birth date, insutype, psn_type, employer, balance fen)
_CROSS_PROVINCE_PERSONS = [
    ("130100", "林志远", "1", dt.date(1980, 5, 16), "310", "11", "石家庄华北重工有限公司", 300_000),
    ("130100", "冯淑珍", "2", dt.date(1958, 2, 9), "310", "21", "", 500_000),
    ("130100", "马晓燕", "2", dt.date(1993, 10, 21), "390", "31", "", 0),
    ("210100", "高建华", "1", dt.date(1983, 7, 3), "310", "11", "沈阳北方机床有限公司", 200_000),
    ("150100", "包丽娜", "2", dt.date(1988, 12, 1), "310", "11", "呼和浩特乳业有限公司", 150_000),
]
# (code, name, kind, level, region)
_CROSS_PROVINCE_INSTITUTIONS = [
    ("P13010000001", "石家庄市乐仁堂大药房第一店", "pharmacy", "9", "130100"),
    ("P13060000001", "保定市乐仁堂大药房第一店", "pharmacy", "9", "130600"),
    ("P21010000001", "沈阳市天益堂大药房第一店", "pharmacy", "9", "210100"),
    ("P21020000001", "大连市德生堂大药房第一店", "pharmacy", "9", "210200"),
    ("P15010000001", "呼和浩特市大药房第一店", "pharmacy", "9", "150100"),
    ("P44030000011", "深圳市海王星辰大药房跨省直接结算店", "pharmacy", "9", "440300"),
    ("H44030000012", "深圳市人民医院", "hospital", "3", "440300"),
    ("P51010000011", "成都市一心堂大药房跨省直接结算店", "pharmacy", "9", "510100"),
    ("P42010000011", "武汉市九州通大药房第一店", "pharmacy", "9", "420100"),
]
_CROSS_PROVINCE_CATALOGUE = [
    RegionCatalogueTerm("440300", "X00000005", "A", 0, 10_800),
    RegionCatalogueTerm("440300", "X00000011", "B", 100, 3_000),
    RegionCatalogueTerm("510100", "X00000001", "A", 0, 1_500),
]


def _cross_province(data: DemoData, seed: int) -> None:
    for province, admdvs, city in CROSS_PROVINCE_REGIONS:
        data.regions.append(Region(admdvs=admdvs, name=city, province=province, evoucher_open=True))
    _add_listed_persons(data, _CROSS_PROVINCE_PERSONS, household_prefix="HX")
    for code, name, kind, level, region in _CROSS_PROVINCE_INSTITUTIONS:
        data.institutions.append(Institution(code, name, kind, level, region, True, _rng_secret(seed, code)))
    data.region_catalogue.extend(_CROSS_PROVINCE_CATALOGUE)
    for region, insutype, params in _cross_province_params():
        data.policies.append(Policy(region, insutype, 1, _EFFECTIVE, params))


# --- family accounts (issue #13) ---------------------------------------------
#
# Appended after everything above and built without ``rng``: nothing above
# changes. README's family story and docs/subsystems/family.md use it.
#
# - Household registers (户籍) and civil relations for EVERY person, derived
#   from ``Person.household`` / ``role``: the head and the spouse are
#   spouses; the head is the parent of each ``child`` member (and so is the
#   spouse when at least 18 years older than the child); each ``parent``
#   member is the head's parent. Grandparents and siblings follow from
#   those (the core derives them, services/relations.py).
# - 370200 青岛市 (山东省), the family of the story: 刘建明 (employee 310,
#   3 000.00 yuan), his wife 王丽 (employee), their son 刘子涵 (resident,
#   30.00 yuan of his own) and his father 刘德厚 (resident, no balance). The
#   birthdays are 1 January, so 刘子涵 is 10 and 刘德厚 70 on every day of
#   2026. The region's resident policy lets a resident's own account pay
#   (the child's account pays first, then the father's account by mutual
#   aid); its employee policy allows mutual aid for all six relations,
#   directly from the account within 山东省.
# - Four catalogue items that mutual aid never pays (health products and
#   fitness, 丙类), codes X9…/F9…/C9….

FAMILY_REGION = ("山东省", "370200", "青岛市")
FAMILY_EMPLOYER = "青岛海华电子有限公司"
# (name, gender, birth date, insutype, psn_type, employer, balance fen, role)
_FAMILY_PERSONS = [
    ("刘建明", "1", dt.date(1986, 5, 20), "310", "11", FAMILY_EMPLOYER, 300_000, "head"),
    ("王丽", "2", dt.date(1988, 3, 14), "310", "11", FAMILY_EMPLOYER, 150_000, "spouse"),
    ("刘子涵", "1", dt.date(2016, 1, 1), "390", "32", "", 3_000, "child"),
    ("刘德厚", "1", dt.date(1956, 1, 1), "390", "33", "", 0, "parent"),
]
FAMILY_PSN_NOS = {"family_parent": "37020000000000000001", "family_spouse": "37020000000000000002",
                  "family_child": "37020000000000000003", "family_grandfather": "37020000000000000004"}
ALL_RELATIONS = ["spouse", "parent", "child", "sibling", "grandparent", "grandchild"]
MULAID_EXCLUDED_ITEMS = [
    CatalogueItem("X90000001", "复合维生素片（保健食品）", "drug", "C", 1000, None, "瓶", "60片", True),
    CatalogueItem("X90000002", "深海鱼油软胶囊（保健食品）", "drug", "C", 1000, None, "瓶", "1g*100粒", True),
    CatalogueItem("F90000003", "健身康复指导（健身养生类）", "service", "C", 1000, None, "次", "", True),
    CatalogueItem("C90000004", "家用电动按摩器（保健器械）", "material", "C", 1000, None, "台", "标准型", True),
]


def _family_demo(data: DemoData, seed: int) -> None:
    province, admdvs, city = FAMILY_REGION
    data.regions.append(Region(admdvs=admdvs, name=city, province=province, evoucher_open=True))
    for n, (name, gender, born, insutype, psn_type, employer, balance, role) in enumerate(_FAMILY_PERSONS, 1):
        data.persons.append(Person(
            psn_no=f"{admdvs}{n:014d}", name=name,
            id_number=idnumber.make(admdvs, born, 2 * n - (1 if gender == "1" else 0)), gender=gender,
            birth_date=born, insutype=insutype, psn_type=psn_type, insured_region=admdvs, enrolment_status="active",
            employer=employer, enrolled_on=max(born, dt.date(2010, 1, 1)), balance_fen=balance,
            household="HF001", role=role))
    for n, (kind, level, name, pooling) in enumerate([
        ("pharmacy", "9", f"{city}海慈大药房", True),
        ("hospital", "3", f"{city}市立医院", True),
        ("hospital", "1", f"{city}市南区社区卫生服务中心", True),
    ], 1):
        code = f"{'H' if kind == 'hospital' else 'P'}{admdvs}{n:05d}"
        data.institutions.append(Institution(code, name, kind, level, admdvs, True, _rng_secret(seed, code),
                                             outpatient_pooling=pooling))
    employee = {
        "model": "standard", "deductible_fen": _levels(30_000, 60_000, 90_000, 0),
        "bands": [{"upto_fen": 5_000_000, "ratio_permille": _levels(900, 850, 800, 700)},
                  {"upto_fen": None, "ratio_permille": _levels(950, 900, 850, 750)}],
        "annual_ceiling_fen": 40_000_000, "account_may_pay_self_part": True,
        "mutual_aid": {"relations": list(ALL_RELATIONS), "in_province_mode": "direct"},
    }
    resident = {
        "model": "standard", "deductible_fen": _levels(20_000, 50_000, 80_000, 0),
        "bands": [{"upto_fen": 5_000_000, "ratio_permille": _levels(750, 650, 550, 500)},
                  {"upto_fen": None, "ratio_permille": _levels(800, 700, 600, 550)}],
        "annual_ceiling_fen": 20_000_000, "account_may_pay_self_part": True,
    }
    data.policies.append(Policy(admdvs, "310", 1, _EFFECTIVE, employee))
    data.policies.append(Policy(admdvs, "390", 1, _EFFECTIVE, resident))
    data.catalogue.extend(MULAID_EXCLUDED_ITEMS)


def _households(data: DemoData) -> None:
    """Household registers and civil relations of every person, derived from
    ``household`` / ``role`` (no randomness): hh_no = region + household."""
    groups: dict[str, list[Person]] = {}
    for p in data.persons:
        groups.setdefault(p.household, []).append(p)
    relations: list[Relation] = []
    for code, members in groups.items():
        head = next((m for m in members if m.role == "head"), None)
        if head is None:
            continue
        data.households.append(Household(hh_no=f"{head.insured_region}{code}", region=head.insured_region,
                                         members=tuple((m.psn_no, m.role) for m in members)))
        spouse = next((m for m in members if m.role == "spouse"), None)
        if spouse is not None:
            relations.append(Relation("spouse", *sorted((head.psn_no, spouse.psn_no))))
        for m in members:
            if m.role == "child" and m.birth_date > head.birth_date:
                relations.append(Relation("parent_child", head.psn_no, m.psn_no))
                if spouse is not None and (m.birth_date - spouse.birth_date).days >= 18 * 365:
                    relations.append(Relation("parent_child", spouse.psn_no, m.psn_no))
            elif m.role == "parent" and m.birth_date < head.birth_date:
                relations.append(Relation("parent_child", m.psn_no, head.psn_no))
    data.relations = relations


# --- personas ----------------------------------------------------------------


def personas(data: DemoData) -> dict[str, Person]:
    """Named demo people, picked deterministically from ``data.persons``:

    - ``employee``: active adult employee (310) in an open region, balance >= 2000 yuan,
      head of a household that also has a child (for family binding);
    - ``child``: under 6, active, from the employee's household when possible;
    - ``resident``: active adult resident (390) in an open region;
    - ``elderly``: active, 80 or older, open region;
    - ``suspended``: enrolment suspended;
    - ``not_open``: active adult whose region has not opened e-voucher service;
    - ``family_parent`` (employee, 3 000.00 yuan), ``family_child`` (10 in
      2026) and ``family_grandfather`` (70 in 2026): the family of issue #13
      in 370200 青岛市, one household; ``family_spouse`` the parent's wife;
    - ``chongqing``: the active employee of 500100 whose opening balance is the
      source's worked example (332.80 yuan; account_first, cumulative-cost
      deductible of 400 yuan).
    - ``cross_filer``: employee (310) insured in 130100 石家庄市 (河北省), to
      file to 440300 深圳市 (long-term) and 510100 成都市 (temporary); an
      unfiled visit in 420100 武汉市 is refused. ``cross_retiree`` (310/21)
      and ``cross_resident`` (390) of the same region;
    - ``cross_lowest``: employee of 210100 沈阳市, whose region settles an
      unfiled bill at the lowest temporary ratio;
    - ``cross_not_open``: employee of 150100 呼和浩特市, whose region has not
      opened cross-province direct settlement.
    """
    open_regions = {r.admdvs for r in data.regions if r.evoucher_open}
    people = data.persons
    ok = [p for p in people if p.enrolment_status == "active"]
    ok_open = [p for p in ok if p.insured_region in open_regions]
    households: dict[str, list[Person]] = {}
    for p in people:
        households.setdefault(p.household, []).append(p)

    def first(candidates):
        return next(iter(candidates))

    def has_child(p: Person) -> bool:
        return any(m.role == "child" and m.age() < 6 and m.enrolment_status == "active" for m in households[p.household])

    employee = first(p for p in ok_open if p.insutype == "310" and p.psn_type == "11" and p.role == "head"
                     and p.balance_fen >= 200_000 and has_child(p))
    child = first([m for m in households[employee.household] if m.role == "child" and m.age() < 6
                   and m.enrolment_status == "active"])
    return {
        "employee": employee,
        "child": child,
        "resident": first(p for p in ok_open if p.insutype == "390" and 18 <= p.age() < 60),
        "elderly": first(p for p in ok_open if p.age() >= 80),
        "suspended": first(p for p in people if p.enrolment_status == "suspended"),
        "not_open": first(p for p in ok if p.insured_region not in open_regions and p.age() >= 18),
        "cross_filer": first(p for p in ok if p.psn_no == "13010000000000000001"),
        "cross_retiree": first(p for p in ok if p.psn_no == "13010000000000000002"),
        "cross_resident": first(p for p in ok if p.psn_no == "13010000000000000003"),
        "cross_lowest": first(p for p in ok if p.psn_no == "21010000000000000001"),
        "cross_not_open": first(p for p in ok if p.psn_no == "15010000000000000001"),
        "chongqing": first(p for p in ok if p.insured_region == "500100" and p.psn_type == "11"
                           and p.balance_fen == CHONGQING_OPENING_FEN),
        **{role: next(p for p in people if p.psn_no == psn_no) for role, psn_no in FAMILY_PSN_NOS.items()},
    }


DEMO_PERSONAS: dict[str, Person] = personas(generate(DEFAULT_SEED))
