#!/usr/bin/env python3
"""Writes the sample city of egov: data/sample/matters.jsonl and data/sample/records.jsonl.

The files are committed; this script documents how they were made and lets them be remade
(`python3 data/sample/generate.py`, no dependencies beyond Python 3.9). The output is
deterministic: running it again gives the same bytes.

What the sample holds (see README.md for the story of each case):
- 8 matters of Hangzhou (region 3301) in 4 departments, of the four kinds (immediate,
  promised, joint, reported), counted on the bundled calendar "cn";
- 40 cases received between 2026-10-08 and 2026-11-20 in districts of Hangzhou, as seen on
  2026-11-26: most completed on time, and some built to raise each deadline warning when
  imported (promised limit passed, statutory limit passed, acceptance overdue, approaching
  deadline, step overdue, certificate overdue) and a few rule warnings (irregular fee,
  missing reasons, repeated correction, suspension over its planned end);
- one resent record (the same event_id twice) and one deliberately invalid line.

Working days come from the platform's own calendar file
(crates/domain/data/cn-statutory-calendar.csv): 2026-10-01..07 are National Day holidays and
Saturday 2026-10-10 is an adjusted working day. The script checks that the cases meant to be
on time are, so an edit cannot silently turn a good case into a warning.
"""

import csv
import datetime as dt
import hashlib
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CALENDAR = ROOT / "crates" / "domain" / "data" / "cn-statutory-calendar.csv"
TODAY = dt.date(2026, 11, 26)  # the day the sample is "seen" on
TZ = "+08:00"  # Asia/Shanghai

# --- calendar -------------------------------------------------------------------------------

HOLIDAYS, WORKDAYS = set(), set()
with open(CALENDAR, newline="", encoding="utf-8") as f:
    for row in csv.reader(line for line in f if not line.startswith("#")):
        if not row or row[0] == "date":
            continue
        day = dt.date.fromisoformat(row[0])
        (HOLIDAYS if row[1] == "holiday" else WORKDAYS).add(day)


def is_workday(d):
    if d in WORKDAYS:
        return True
    if d in HOLIDAYS:
        return False
    return d.weekday() < 5


def add_wd(d, n):
    """The n-th working day strictly after d (ALL Art. 82, Civil Code Art. 201); d for n=0."""
    while n > 0:
        d += dt.timedelta(days=1)
        if is_workday(d):
            n -= 1
    return d


def day(s):
    return dt.date.fromisoformat(s)


assert not is_workday(day("2026-10-01")) and not is_workday(day("2026-10-07"))
assert is_workday(day("2026-10-10")), "Saturday 2026-10-10 is an adjusted working day"

# --- the catalogue --------------------------------------------------------------------------

WD = "LIMIT_UNIT_WORKING_DAYS"
CD = "LIMIT_UNIT_CALENDAR_DAYS"


def limit(amount, unit=WD):
    return {"amount": amount, "unit": unit}


MARKET, HOUSING, TRANSPORT, CIVIL = "hz-market", "hz-housing", "hz-transport", "hz-civil"

MATTERS = [
    {
        "matterCode": "HZ-SCJ-001",
        "name": "食品经营许可",
        "department": MARKET,
        "kind": "MATTER_KIND_PROMISED",
        "statutoryLimit": limit(20),
        "promisedLimit": limit(10),
        "stepLimits": [{"step": "review", "limit": limit(3)}],
        "allowedSuspensionKinds": ["SUSPENSION_KIND_TESTING"],
        "calendar": "cn",
        "region": "3301",
    },
    {
        "matterCode": "HZ-SCJ-002",
        "name": "个体工商户设立登记",
        "department": MARKET,
        "kind": "MATTER_KIND_IMMEDIATE",
        "statutoryLimit": limit(0),
        "promisedLimit": limit(0),
        "calendar": "cn",
        "region": "3301",
    },
    {
        "matterCode": "HZ-ZJJ-001",
        "name": "建筑工程施工许可",
        "department": HOUSING,
        "kind": "MATTER_KIND_PROMISED",
        "statutoryLimit": limit(20),
        "promisedLimit": limit(5),
        "stepLimits": [
            {"step": "undertake", "limit": limit(2)},
            {"step": "review", "limit": limit(2)},
        ],
        "allowedSuspensionKinds": ["SUSPENSION_KIND_EXPERT_REVIEW"],
        "calendar": "cn",
        "region": "3301",
    },
    {
        "matterCode": "HZ-ZJJ-002",
        "name": "商品房预售许可",
        "department": HOUSING,
        "kind": "MATTER_KIND_JOINT",
        "statutoryLimit": limit(45),
        "promisedLimit": limit(15),
        "allowedSuspensionKinds": ["SUSPENSION_KIND_APPRAISAL", "SUSPENSION_KIND_HEARING"],
        "calendar": "cn",
        "region": "3301",
    },
    {
        "matterCode": "HZ-JTJ-001",
        "name": "道路货物运输经营许可",
        "department": TRANSPORT,
        "kind": "MATTER_KIND_PROMISED",
        "statutoryLimit": limit(20),
        "promisedLimit": limit(10),
        "feeItems": [{"feeItem": "permit-card", "name": "道路运输证工本费", "maxFen": "1500"}],
        "calendar": "cn",
        "region": "3301",
    },
    {
        "matterCode": "HZ-JTJ-002",
        "name": "出租汽车驾驶员从业资格证核发",
        "department": TRANSPORT,
        "kind": "MATTER_KIND_PROMISED",
        "statutoryLimit": limit(20),
        "promisedLimit": limit(7),
        "feeItems": [{"feeItem": "certificate", "name": "从业资格证工本费", "maxFen": "1000"}],
        "allowedSuspensionKinds": ["SUSPENSION_KIND_TESTING"],
        "calendar": "cn",
        "region": "3301",
    },
    {
        "matterCode": "HZ-MZJ-001",
        "name": "社会团体成立登记",
        "department": CIVIL,
        "kind": "MATTER_KIND_PROMISED",
        # The Regulations on Registration of Social Organizations count 60 days, not working
        # days; the city promises 20 working days.
        "statutoryLimit": limit(60, CD),
        "promisedLimit": limit(20),
        "allowedSuspensionKinds": ["SUSPENSION_KIND_EXPERT_REVIEW"],
        "calendar": "cn",
        "region": "3301",
    },
    {
        "matterCode": "HZ-MZJ-002",
        "name": "民办非企业单位成立登记初审（上报省厅）",
        "department": CIVIL,
        "kind": "MATTER_KIND_REPORTED",
        "statutoryLimit": limit(20),
        "promisedLimit": limit(15),
        "calendar": "cn",
        "region": "3301",
    },
]
MATTER = {m["matterCode"]: m for m in MATTERS}

# --- cases ----------------------------------------------------------------------------------

SOURCES = {
    MARKET: "hz-market-system",
    HOUSING: "hz-housing-system",
    TRANSPORT: "hz-transport-system",
    CIVIL: "hz-civil-system",
}
STAFF = {MARKET: "scj", HOUSING: "zjj", TRANSPORT: "jtj", CIVIL: "mzj"}


def h(text, n=6):
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class Case:
    """A case under construction: records are added in the order they happened."""

    def __init__(self, number, matter, region, channel="CHANNEL_WINDOW"):
        self.case_no = f"HZ-2026-{number:04d}"
        self.matter = MATTER[matter]
        self.department = self.matter["department"]
        self.region = region
        self.channel = channel
        self.records = []
        self.staff = STAFF[self.department]

    def handler(self, role):
        return f"{self.staff}-{role}-{int(h(self.case_no + role, 2), 16) % 40 + 10:02d}"

    def add(self, when, body_name, body, source=None):
        date, hm = when
        n = len(self.records) + 1
        record = {
            "eventId": f"{self.case_no}-{n:02d}",
            "caseNo": self.case_no,
            "occurredAt": f"{date.isoformat()}T{hm}:00{TZ}",
            "source": source
            or ("hz-hall-window" if body_name == "application" else SOURCES[self.department]),
            body_name: body,
        }
        self.records.append(((date, hm), record))
        return self

    # The life of a case, one method per record kind (DESIGN §6).
    def application(self, when):
        return self.add(
            when,
            "application",
            {
                "matterCode": self.matter["matterCode"],
                "department": self.department,
                "region": self.region,
                "applicantRef": "ap-" + h("applicant" + self.case_no, 10),
                "channel": self.channel,
            },
            source="hz-online-portal" if self.channel == "CHANNEL_ONLINE" else None,
        )

    def acceptance(self, when):
        return self.add(when, "acceptance", {"handler": self.handler("window")})

    def correction_notice(self, when, materials):
        return self.add(
            when,
            "correctionNotice",
            {"materials": materials, "handler": self.handler("window")},
        )

    def correction_received(self, when):
        return self.add(when, "correctionReceived", {})

    def refusal(self, when, reason):
        body = {"handler": self.handler("window")}
        if reason:
            body["reason"] = reason
        return self.add(when, "refusal", body)

    def step(self, start, end, step, opinion="同意"):
        self.add(start, "stepStarted", {"step": step, "handler": self.handler(step)})
        if end:
            self.add(
                end,
                "stepCompleted",
                {"step": step, "handler": self.handler(step), "opinion": opinion},
            )
        return self

    def suspension(self, when, kind, reason, planned_end):
        return self.add(
            when,
            "suspensionStarted",
            {
                "kind": kind,
                "reason": reason,
                "plannedEnd": f"{planned_end.isoformat()}T17:00:00{TZ}",
                "approver": self.handler("head"),
            },
        )

    def suspension_ended(self, when, result):
        return self.add(when, "suspensionEnded", {"result": result})

    def extension(self, when, days, reason):
        return self.add(
            when,
            "extension",
            {"workingDays": days, "approver": self.handler("head"), "reason": reason},
        )

    def decision(self, when, approved=True, reason=""):
        body = {
            "outcome": "DECISION_OUTCOME_APPROVED" if approved else "DECISION_OUTCOME_DENIED",
            "handler": self.handler("head"),
        }
        if reason:
            body["reason"] = reason
        return self.add(when, "decision", body)

    def certificate_no(self):
        return f"{self.matter['matterCode']}-{self.case_no[-4:]}"

    def completion(self, when, result="准予许可", certificate=True):
        body = {"result": result}
        if certificate:
            body["certificateNo"] = self.certificate_no()
        return self.add(when, "completion", body)

    def certificate(self, when, method="CERTIFICATE_METHOD_ELECTRONIC"):
        return self.add(
            when,
            "certificateIssued",
            {"certificateNo": self.certificate_no(), "method": method},
        )

    def fee(self, when, item, fen):
        return self.add(
            when,
            "fee",
            {"feeItem": item, "amountFen": str(fen), "receiptNo": "R" + h(self.case_no + item, 8)},
        )

    def withdrawal(self, when, reason):
        return self.add(when, "withdrawal", {"reason": reason})

    def rating(self, when, level, comment=""):
        body = {"level": level, "channel": "CHANNEL_ONLINE"}
        if comment:
            body["comment"] = comment
        return self.add(when, "rating", body)


def at(date, hm):
    return (date, hm)


DISTRICTS = ["330102", "330105", "330106", "330108", "330110"]  # 上城 拱墅 西湖 滨江 余杭
CASES = []
ON_TIME = []  # cases checked below to finish within their promised limit


def new_case(matter, region, channel="CHANNEL_WINDOW"):
    case = Case(len(CASES) + 1, matter, region, channel)
    CASES.append(case)
    return case


def ordinary(matter, applied, days_to_decide, region, channel="CHANNEL_WINDOW", rating=None):
    """A case handled by the book: accepted the next working day, undertaken, reviewed and
    approved, decided `days_to_decide` working days after acceptance, completed and its
    electronic certificate issued the same day."""
    c = new_case(matter, region, channel)
    accepted = add_wd(applied, 1)
    decided = add_wd(accepted, days_to_decide)
    c.application(at(applied, "09:%02d" % (len(CASES) * 7 % 60)))
    c.acceptance(at(accepted, "10:05"))
    if MATTER[matter]["kind"] != "MATTER_KIND_IMMEDIATE":
        c.step(at(accepted, "14:00"), at(add_wd(accepted, 1), "11:00"), "undertake")
        c.step(at(add_wd(accepted, 1), "14:30"), at(add_wd(accepted, 2), "16:00"), "review")
        c.step(at(decided, "09:00"), at(decided, "10:30"), "approve")
    c.decision(at(decided, "11:00"))
    c.completion(at(decided, "15:00"))
    c.certificate(at(decided, "15:30"))
    if rating:
        c.rating(at(add_wd(decided, 1), "10:00"), rating)
    ON_TIME.append(c)
    return c


def immediate(applied, region, rating=None):
    """An immediate matter (即办件): applied, accepted, completed and certified at the window
    within the hour."""
    c = new_case("HZ-SCJ-002", region)
    c.application(at(applied, "09:40"))
    c.acceptance(at(applied, "09:45"))
    c.completion(at(applied, "10:20"), result="准予登记")
    c.certificate(at(applied, "10:25"), "CERTIFICATE_METHOD_IN_PERSON")
    if rating:
        c.rating(at(applied, "10:30"), rating)
    return c


# Cases handled on time, from the week after National Day to mid-November.
ordinary("HZ-SCJ-001", day("2026-10-08"), 6, "330102", rating=1)
ordinary("HZ-SCJ-001", day("2026-10-12"), 8, "330106", "CHANNEL_ONLINE", rating=2)
ordinary("HZ-ZJJ-001", day("2026-10-13"), 3, "330110")
ordinary("HZ-JTJ-001", day("2026-10-14"), 7, "330105", rating=1)
ordinary("HZ-MZJ-001", day("2026-10-15"), 12, "330106")
ordinary("HZ-ZJJ-002", day("2026-10-16"), 11, "330110")
ordinary("HZ-SCJ-001", day("2026-10-19"), 5, "330108", "CHANNEL_ONLINE", rating=1)
ordinary("HZ-JTJ-002", day("2026-10-20"), 4, "330102", "CHANNEL_ONLINE")
ordinary("HZ-ZJJ-001", day("2026-10-22"), 4, "330106", rating=2)
ordinary("HZ-MZJ-002", day("2026-10-23"), 10, "330105")
ordinary("HZ-JTJ-001", day("2026-10-27"), 9, "330110")
ordinary("HZ-SCJ-001", day("2026-10-28"), 7, "330102", rating=5)  # on time, yet a bad review
ordinary("HZ-ZJJ-001", day("2026-11-02"), 3, "330108", "CHANNEL_ONLINE")
ordinary("HZ-JTJ-002", day("2026-11-03"), 6, "330106", rating=1)
ordinary("HZ-MZJ-001", day("2026-11-04"), 9, "330102")
ordinary("HZ-SCJ-001", day("2026-11-05"), 8, "330105", "CHANNEL_ONLINE")
ordinary("HZ-ZJJ-002", day("2026-11-06"), 8, "330106")
ordinary("HZ-JTJ-001", day("2026-11-10"), 6, "330108", rating=1)
ordinary("HZ-SCJ-001", day("2026-11-12"), 4, "330110", "CHANNEL_ONLINE", rating=2)
immediate(day("2026-10-09"), "330102", rating=1)
immediate(day("2026-10-10"), "330106")  # Saturday, an adjusted working day: the hall is open
immediate(day("2026-10-21"), "330110", rating=1)
immediate(day("2026-11-09"), "330105")
immediate(day("2026-11-18"), "330108", rating=2)

# Fees within the catalogue: a road transport permit card, charged at the catalogue amount.
c = ordinary("HZ-JTJ-001", day("2026-10-29"), 5, "330106")
c.fee(at(add_wd(day("2026-10-29"), 6), "16:00"), "permit-card", 1500)

# A suspension for testing (ALL Art. 45): decided after 13 working days, on time only because
# the 5 working days of the suspension (10-23, 10-26..10-29) are not counted.
c = new_case("HZ-SCJ-001", "330106")
c.application(at(day("2026-10-16"), "09:20"))
c.acceptance(at(day("2026-10-19"), "10:00"))
c.step(at(day("2026-10-19"), "14:00"), at(day("2026-10-20"), "17:00"), "undertake")
c.suspension(
    at(day("2026-10-22"), "09:30"),
    "SUSPENSION_KIND_TESTING",
    "后厨水质与餐具抽样送检",
    day("2026-10-30"),
)
c.suspension_ended(at(day("2026-10-29"), "16:00"), "检测合格")
c.step(at(day("2026-10-30"), "09:00"), at(day("2026-11-02"), "15:00"), "review")
c.decision(at(day("2026-11-05"), "10:00"))
c.completion(at(day("2026-11-05"), "14:00"))
c.certificate(at(day("2026-11-05"), "14:30"))
c.rating(at(day("2026-11-06"), "09:00"), 1, "送检期间不计时，说明清楚")
SUSPENDED_ON_TIME = c

# An extension (ALL Art. 42): +10 working days approved by the head of the bureau, decided
# within the extended promised limit.
c = new_case("HZ-MZJ-002", "330110")
c.application(at(day("2026-10-12"), "10:10"))
c.acceptance(at(day("2026-10-13"), "09:30"))
c.step(at(day("2026-10-13"), "14:00"), at(day("2026-10-15"), "17:00"), "undertake")
c.extension(at(day("2026-10-30"), "16:00"), 10, "需征求省民政厅意见")
c.decision(at(day("2026-11-10"), "10:00"))
c.completion(at(day("2026-11-10"), "15:00"))
c.certificate(at(day("2026-11-11"), "10:00"), "CERTIFICATE_METHOD_MAIL")

# A withdrawal by the applicant.
c = new_case("HZ-JTJ-002", "330105", "CHANNEL_ONLINE")
c.application(at(day("2026-11-09"), "20:15"))
c.acceptance(at(day("2026-11-10"), "09:10"))
c.withdrawal(at(day("2026-11-12"), "11:00"), "申请人改报其他区")

# A denial with reasons (ALL Art. 38): no certificate is due.
c = new_case("HZ-ZJJ-001", "330102")
c.application(at(day("2026-11-11"), "09:00"))
c.acceptance(at(day("2026-11-11"), "11:00"))
c.step(at(day("2026-11-11"), "14:00"), at(day("2026-11-12"), "17:00"), "undertake")
c.step(at(day("2026-11-13"), "09:00"), at(day("2026-11-16"), "11:00"), "review", "施工图审查未通过")
c.decision(at(day("2026-11-16"), "15:00"), approved=False, reason="施工图设计文件审查未通过，消防设计不符合规范")
c.completion(at(day("2026-11-16"), "16:00"), result="不予许可", certificate=False)

# --- cases built to raise warnings -----------------------------------------------------------

# Promised limit passed (yellow): accepted 11-02, 10 working days -> due 11-16; the statutory
# 20 days run to 11-30, so on 11-26 only the promised limit has passed.
c = new_case("HZ-SCJ-001", "330106")
c.application(at(day("2026-10-30"), "15:20"))
c.acceptance(at(day("2026-11-02"), "09:40"))
c.step(at(day("2026-11-02"), "14:00"), at(day("2026-11-03"), "16:30"), "undertake")
c.step(at(day("2026-11-04"), "09:00"), at(day("2026-11-06"), "17:00"), "review", "需现场核查")
YELLOW = c

# Statutory limit passed (red): accepted Friday 10-09; Saturday 10-10 counts (adjusted working
# day), so 10 working days end 10-22 and 20 end 11-05. Still undecided on 11-26.
c = new_case("HZ-JTJ-001", "330110")
c.application(at(day("2026-10-08"), "10:30"))
c.acceptance(at(day("2026-10-09"), "09:15"))
c.step(at(day("2026-10-09"), "14:00"), at(day("2026-10-12"), "17:00"), "undertake")
c.step(at(day("2026-10-13"), "09:00"), None, "review")
RED = c

# Statutory limit passed across National Day, and a step over its own limit: received on the
# last day before the holiday, accepted the first day after it (10-08); the review step
# (limit 2 working days) started 10-12 and never completed.
c = new_case("HZ-ZJJ-001", "330108")
c.application(at(day("2026-09-30"), "16:40"))
c.acceptance(at(day("2026-10-08"), "09:05"))
c.step(at(day("2026-10-08"), "10:00"), at(day("2026-10-09"), "17:00"), "undertake")
c.step(at(day("2026-10-12"), "09:00"), None, "review")
RED_HOLIDAY = c

# Acceptance overdue (yellow, ALL Art. 32): received Monday 11-16, no decision on acceptance
# within 5 working days (due 11-23).
c = new_case("HZ-MZJ-001", "330102", "CHANNEL_ONLINE")
c.application(at(day("2026-11-16"), "08:55"))
ACCEPTANCE_OVERDUE = c

# Acceptance overdue after a correction: the clock stopped at the notice (11-10) and ran again
# from the day the materials came in (11-12), 5 working days -> due 11-19.
c = new_case("HZ-SCJ-001", "330105")
c.application(at(day("2026-11-09"), "14:00"))
c.correction_notice(at(day("2026-11-10"), "10:00"), ["食品安全管理制度文本", "从业人员健康证明"])
c.correction_received(at(day("2026-11-12"), "15:00"))
ACCEPTANCE_OVERDUE_2 = c

# Approaching the promised deadline (reminder): accepted 11-19, 5 working days end today
# 11-26 at 24:00 (a yellow card follows tonight if nothing happens).
c = new_case("HZ-ZJJ-001", "330110")
c.application(at(day("2026-11-18"), "09:30"))
c.acceptance(at(day("2026-11-19"), "09:00"))
c.step(at(day("2026-11-19"), "10:00"), at(day("2026-11-20"), "16:00"), "undertake")
c.step(at(day("2026-11-23"), "09:00"), at(day("2026-11-24"), "17:00"), "review")
c.step(at(day("2026-11-25"), "09:00"), None, "approve")
REMINDER = c

# Approaching (reminder): accepted 11-18, 7 working days -> due 11-27.
c = new_case("HZ-JTJ-002", "330106", "CHANNEL_ONLINE")
c.application(at(day("2026-11-17"), "19:45"))
c.acceptance(at(day("2026-11-18"), "09:20"))
c.step(at(day("2026-11-18"), "14:00"), at(day("2026-11-20"), "11:00"), "undertake")
REMINDER_2 = c

# Completed late: accepted 10-12, promised 10 working days -> due 10-26, decided 11-03. The
# promised clock stopped late; the statutory one (11-09) was kept.
c = new_case("HZ-JTJ-001", "330102")
c.application(at(day("2026-10-10"), "10:00"))
c.acceptance(at(day("2026-10-12"), "09:30"))
c.step(at(day("2026-10-12"), "14:00"), at(day("2026-10-14"), "17:00"), "undertake")
c.step(at(day("2026-10-15"), "09:00"), at(day("2026-10-30"), "17:00"), "review")
c.decision(at(day("2026-11-03"), "10:00"))
c.completion(at(day("2026-11-03"), "15:00"))
c.certificate(at(day("2026-11-04"), "10:00"), "CERTIFICATE_METHOD_MAIL")
c.rating(at(day("2026-11-05"), "09:00"), 4, "比承诺时间晚了一周")
LATE = c

# Certificate overdue (yellow, ALL Art. 44): approved 11-05, no certificate issued within 10
# working days (due 11-19).
c = new_case("HZ-ZJJ-002", "330106")
c.application(at(day("2026-10-26"), "09:00"))
c.acceptance(at(day("2026-10-26"), "15:00"))
c.step(at(day("2026-10-27"), "09:00"), at(day("2026-10-30"), "17:00"), "undertake")
c.decision(at(day("2026-11-05"), "10:00"))
c.completion(at(day("2026-11-05"), "16:00"))
CERTIFICATE_OVERDUE = c

# Suspension over its planned end (yellow): appraisal planned to end 11-20, still open.
c = new_case("HZ-ZJJ-002", "330102")
c.application(at(day("2026-10-29"), "10:00"))
c.acceptance(at(day("2026-10-30"), "09:00"))
c.step(at(day("2026-10-30"), "14:00"), at(day("2026-11-04"), "17:00"), "undertake")
c.suspension(
    at(day("2026-11-09"), "10:00"),
    "SUSPENSION_KIND_APPRAISAL",
    "预售资金监管账户第三方鉴定",
    day("2026-11-20"),
)
SUSPENSION_OVERDUE = c

# Irregular fee (red, ALL Arts. 58-59): 20 yuan charged where the catalogue allows 10.
c = ordinary("HZ-JTJ-002", day("2026-11-02"), 3, "330110", rating=4)
c.fee(at(add_wd(day("2026-11-02"), 1), "16:00"), "certificate", 2000)
IRREGULAR_FEE = c

# Refusal without reasons (yellow, ALL Art. 38).
c = new_case("HZ-MZJ-001", "330105")
c.application(at(day("2026-11-03"), "10:00"))
c.refusal(at(day("2026-11-04"), "11:00"), "")
MISSING_REASONS = c

# Repeated correction (yellow): a second notice breaks "tell everything once" (ALL Art. 32).
c = new_case("HZ-SCJ-001", "330110")
c.application(at(day("2026-10-13"), "09:00"))
c.correction_notice(at(day("2026-10-14"), "10:00"), ["营业场所平面图"])
c.correction_received(at(day("2026-10-16"), "14:00"))
c.correction_notice(at(day("2026-10-19"), "10:00"), ["设备布局图", "法定代表人身份证明"])
c.correction_received(at(day("2026-10-21"), "10:00"))
c.acceptance(at(day("2026-10-21"), "15:00"))
c.step(at(day("2026-10-22"), "09:00"), at(day("2026-10-23"), "17:00"), "undertake")
c.step(at(day("2026-10-26"), "09:00"), at(day("2026-10-27"), "17:00"), "review")
c.decision(at(day("2026-10-30"), "10:00"))
c.completion(at(day("2026-10-30"), "15:00"))
c.certificate(at(day("2026-10-30"), "15:30"))
REPEATED_CORRECTION = c

# --- checks ---------------------------------------------------------------------------------


def when_of(case, name):
    return [w for (w, r) in case.records if name in r]


for c in ON_TIME:
    (accepted, _), = when_of(c, "acceptance")
    (decided, _), = when_of(c, "decision")
    promised = c.matter["promisedLimit"]["amount"]
    assert decided <= add_wd(accepted, promised), c.case_no
    for w, r in c.records:
        assert w[0] < TODAY, (c.case_no, w)
assert add_wd(day("2026-11-02"), 10) == day("2026-11-16")
assert add_wd(day("2026-11-02"), 20) == day("2026-11-30") > TODAY
assert add_wd(day("2026-10-09"), 10) == day("2026-10-22")
assert add_wd(day("2026-10-09"), 20) == day("2026-11-05")
assert add_wd(day("2026-11-16"), 5) == day("2026-11-23")
assert add_wd(day("2026-11-12"), 5) == day("2026-11-19")
assert add_wd(day("2026-11-19"), 5) == TODAY
assert add_wd(day("2026-11-18"), 7) == day("2026-11-27")
assert add_wd(day("2026-10-12"), 10) == day("2026-10-26")
assert add_wd(day("2026-11-05"), 10) == day("2026-11-19")
# The suspended case: 13 working days from acceptance to decision, within 10 promised + 5 suspended.
assert add_wd(day("2026-10-19"), 10) < day("2026-11-05") <= add_wd(day("2026-10-19"), 15)
assert 38 <= len(CASES) <= 42, len(CASES)

# --- output ---------------------------------------------------------------------------------


def line(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


with open(HERE / "matters.jsonl", "w", encoding="utf-8") as f:
    for m in MATTERS:
        f.write(line(m) + "\n")

records = sorted(
    ((w, r) for c in CASES for (w, r) in c.records),
    key=lambda wr: (wr[0][0], wr[0][1], wr[1]["eventId"]),
)
out = [
    "# Sample case records of Hangzhou (3301), Oct-Nov 2026: one egov.approval.v1.Record per",
    "# line, in the order they happened. See data/sample/README.md. Import with:",
    "#   egov import data/sample/records.jsonl",
]
# The market system re-sends the suspension of 10-22 after a network outage, on 10-27: the
# same event_id with the same content, which the platform answers DUPLICATE.
resent = next(r for (_, r) in SUSPENDED_ON_TIME.records if "suspensionStarted" in r)
invalid = {
    "eventId": "HZ-2026-0002-99",
    "caseNo": "HZ-2026-0002",
    "occurredAt": "2026-11-06T10:00:00+08:00",
    "source": "hz-rating-system",
    "rating": {"level": 7, "channel": "CHANNEL_ONLINE"},
}
inserts = [
    (day("2026-10-27"), ["# the market system re-sent the suspension of 10-22 after a network outage:", line(resent)]),
    (day("2026-11-06"), ["# a rating outside 1..5: rejected with its line number, the rest is stored", line(invalid)]),
]
for (w, r) in records:
    while inserts and w[0] >= inserts[0][0]:
        out.extend(inserts.pop(0)[1])
    out.append(line(r))
assert not inserts
with open(HERE / "records.jsonl", "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")

print(f"{len(MATTERS)} matters, {len(CASES)} cases, {len(records)} records")
for name in [
    "YELLOW",
    "RED",
    "RED_HOLIDAY",
    "ACCEPTANCE_OVERDUE",
    "ACCEPTANCE_OVERDUE_2",
    "REMINDER",
    "REMINDER_2",
    "LATE",
    "SUSPENDED_ON_TIME",
    "CERTIFICATE_OVERDUE",
    "SUSPENSION_OVERDUE",
    "IRREGULAR_FEE",
    "MISSING_REASONS",
    "REPEATED_CORRECTION",
]:
    case = globals()[name]
    print(f"  {case.case_no}  {case.matter['matterCode']}  {name.lower()}")
