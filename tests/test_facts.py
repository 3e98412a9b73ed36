"""Every fact of the trial's public listing appears on the built pages; nothing it hides is made up.

The listing (tests/data/trial-listing.txt) is read line by line. A line is expected verbatim in the site's
text (case and whitespace folded; long lines sentence by sentence) unless REWRITTEN below says how the site
states the same fact, or LAYOUT says why the line is not a fact (page furniture, an avatar's initials).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sitetext import html_pages, normalize

LISTING = Path(__file__).resolve().parent / "data" / "trial-listing.txt"

LAYOUT = {
    "AP": "the initials avatar of the principal investigator, whose name is shown",
    "Trial Summary": "a section heading of the listing's own layout",
    "Treatment Details": "a section heading of the listing's own layout",
    "Participant Groups": "a section heading of the listing's own layout",
    "Find a Clinic Near You": "a button of the listing's own site",
    "Dr. Douglas R. Lowy profile image": "an image's alternative text; the name is shown",
    "Dr. Monica Bertagnolli profile image": "an image's alternative text; the name is shown",
}

REF1 = "Nivolumab plus ipilimumab versus nivolumab in individuals with treatment-naive programmed death-ligand 1 positive metastatic soft tissue sarcomas: a multicentre retrospective study."
REWRITTEN: dict[str, list[str]] = {
    "~29 spots leftby May 2026": ["About 29 spots left by May 2026"],
    "Recruiting in Palo Alto (17 mi)": ["Recruiting in Palo Alto (17 mi from where the listing was viewed)"],
    "+27 other locations": ["27 other locations (the listing does not name them"],
    "Overseen byA P Chen": ["Overseen by A P Chen"],
    "Age: 18+": ["Age 18+ (18 years and older)"],
    "Sex: Any": ["Sex Any"],
    "Travel: May Be Covered": ["Travel May Be Covered"],
    "Time Reimbursement: Varies": ["Time reimbursement Varies"],
    "Trial Phase: Phase 2": ["Phase Phase 2"],
    "Sponsor: National Cancer Institute LAO": ["Sponsor National Cancer Institute LAO"],
    "Must not be taking: CYP3A4 inducers": ["Must not be taking CYP3A4 inducers"],
    "Disqualifiers: Pregnancy, Uncontrolled illness, others": [
        "Disqualifiers Pregnancy, Uncontrolled illness, and others",
        "The listing says there are others, without naming them.",
    ],
    "Eligibility Criteria": ["Who can join"],
    "See 20 more": ["The listing shows 3 of 23 inclusion criteria: 20 more are not shown here."],
    "See 9 more": ["The listing shows 3 of 12 exclusion criteria: 9 more are not shown here."],
    "• Cabozantinib (Tyrosine Kinase Inhibitor)": ["Cabozantinib (Cabometyx): Tyrosine Kinase Inhibitor"],
    "• Ipilimumab, Nivolumab (Checkpoint Inhibitor)": [
        "Ipilimumab (Yervoy): Checkpoint Inhibitor", "Nivolumab (Opdivo): Checkpoint Inhibitor",
    ],
    "2Treatment groups": ["The 2 treatment groups side by side"],
    "Group I: Arm B (cabozantinib, nivolumab, ipilimumab)Experimental Treatment7 Interventions": [
        "Group I: Arm B (cabozantinib, nivolumab, ipilimumab) Experimental Treatment · 7 interventions",
    ],
    "Group II: Arm A (nivolumab, ipilimumab)Active Control6 Interventions": [
        "Group II: Arm A (nivolumab, ipilimumab) Active Control · 6 interventions",
    ],
    "Ipilimumab, Nivolumab is already approved in Canada, Canada, Japan, Japan for the following indications:": [
        "Ipilimumab and Nivolumab are already approved in Canada and Japan for the indications below.",
    ],
    "Approved in Canada as Yervoy for:": ["Ipilimumab 🇨🇦 Canada Approved as Yervoy for: Melanoma"],
    "Approved in Canada as Opdivo for:": ["Nivolumab 🇨🇦 Canada Approved as Opdivo for: Melanoma"],
    "Approved in Japan as Yervoy for:": ["🇯🇵 Japan Approved as Yervoy for: Melanoma"],
    "Approved in Japan as Opdivo for:": ["🇯🇵 Japan Approved as Opdivo for: Melanoma"],
    "Approved in 8 Jurisdictions": [
        "Approved in 8 Jurisdictions",
        "The listing says the trial drugs are approved in 8 jurisdictions but names only 2",
    ],
    "Who Is Running the Clinical Trial?": ["Who is running the trial?"],
    "Trials": ["Trials 2 Recruited 5,100+"],
    "5,100+": ["Trials 2 Recruited 5,100+"],
    "14,080": ["Trials 14,080 Recruited 41,180,000+"],
    "41,180,000+": ["Trials 14,080 Recruited 41,180,000+"],
    # The listing shows 2023 for references 1 and 7; the verified publication years are 2021 and 2022.
    REF1 + "Chen, Y., Liu, X., Liu, J., et al.[2023]": [REF1 + " Chen Y, Liu X, Liu J, et al. 2021"],
    "A Retrospective Analysis of the Efficacy of Immunotherapy in Metastatic Soft-Tissue Sarcomas.Monga, V., Skubitz, KM., Maliske, S., et al.[2020]": [
        "A Retrospective Analysis of the Efficacy of Immunotherapy in Metastatic Soft-Tissue Sarcomas. Monga V, Skubitz KM, Maliske S, et al. 2020",
    ],
    "Long-Term Remission with Ipilimumab/Nivolumab in Two Patients with Different Soft Tissue Sarcoma Subtypes and No PD-L1 Expression.Zhou, M., Bui, N., Lohman, M., et al.[2021]": [
        "Long-Term Remission with Ipilimumab/Nivolumab in Two Patients with Different Soft Tissue Sarcoma Subtypes and No PD-L1 Expression. Zhou M, Bui N, Lohman M, et al. 2021",
    ],
    REF1 + " [2023]": [REF1 + " BMC Cancer. 2021"],
    "Efficacy and safety of sintilimab plus doxorubicin in advanced soft tissue sarcoma: A single-arm, phase II trial. [2023]": [
        "Efficacy and safety of sintilimab plus doxorubicin in advanced soft tissue sarcoma: A single-arm, phase II trial. Front Pharmacol. 2022",
    ],
}

# The listing's superscript citation numbers, as the site shows them (with their spoken names).
SUPERSCRIPTS = {
    "12345": "[references 1–5]",
    "13467": "[reference 1, reference 3, reference 4, reference 6, reference 7]",
}


def _listing_lines() -> list[str]:
    return [normalize(line) for line in LISTING.read_text(encoding="utf-8").splitlines() if line.strip()]


def _expected(line: str) -> list[str]:
    if line in REWRITTEN:
        return REWRITTEN[line]
    if line.startswith("Trial Overview"):
        return ["Trial overview " + line.removeprefix("Trial Overview")]
    m = re.search(r"\.(\d{5})$", line)
    if m:
        return [line[: m.start() + 1] + SUPERSCRIPTS[m.group(1)]]
    line = line.replace("\\<", "<")  # an escaping artifact of the listing's Markdown source
    m = re.search(r"^(.*) \[(\d{4})\]$", line)
    if m:  # a reference list entry: title then year
        return [m.group(1)]
    if len(line) > 160:
        return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line)]
    return [line.lstrip("• ")]


@pytest.fixture(scope="module")
def site_text(site: Path) -> str:
    return " ".join(p.text for p in html_pages(site).values()).casefold()


@pytest.mark.parametrize("line", _listing_lines())
def test_listing_line_is_on_the_site(site_text: str, line: str) -> None:
    if line in LAYOUT:
        return
    for expected in _expected(line):
        assert normalize(expected).casefold() in site_text, f"listing line {line!r}: expected {expected!r} on the site"


def test_every_layout_exception_is_a_real_listing_line() -> None:
    lines = set(_listing_lines())
    assert set(LAYOUT) <= lines
    assert set(REWRITTEN) <= lines, set(REWRITTEN) - lines


def test_hidden_criteria_are_not_invented(site: Path) -> None:
    text = html_pages(site)["eligibility/index.html"].text
    assert text.count("The listing shows 3 of") == 2
    assert "https://clinicaltrials.gov/study/NCT05836571" in (site / "eligibility/index.html").read_text()
