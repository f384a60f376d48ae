"""The PHI tag set: the 18 HIPAA safe-harbor identifier categories and the dummy strings that replace them.

GatorTron replaced identifiers with dummy strings such as ``[**NAME**]``; we keep that surface form so the
tags can be registered as single tokens in the vocabulary. Ages over 89 are part of the safe-harbor
"dates" category but get their own tag because the age itself is clinically informative.
"""

from __future__ import annotations

# category -> (tag, safe-harbor item it implements)
CATEGORIES: dict[str, tuple[str, str]] = {
    "NAME": ("[**NAME**]", "(A) names"),
    "LOCATION": ("[**LOCATION**]", "(B) geographic subdivisions smaller than a state: street, city, county, ZIP"),
    "DATE": ("[**DATE**]", "(C) all elements of dates (except year) directly related to an individual"),
    "AGE": ("[**AGE>89**]", "(C) ages over 89"),
    "PHONE": ("[**PHONE**]", "(D) telephone numbers"),
    "FAX": ("[**FAX**]", "(E) fax numbers"),
    "EMAIL": ("[**EMAIL**]", "(F) electronic mail addresses"),
    "SSN": ("[**SSN**]", "(G) social security numbers"),
    "MRN": ("[**MRN**]", "(H) medical record numbers"),
    "HEALTHPLAN": ("[**HEALTHPLAN**]", "(I) health plan beneficiary numbers"),
    "ACCOUNT": ("[**ACCOUNT**]", "(J) account numbers"),
    "LICENSE": ("[**LICENSE**]", "(K) certificate/license numbers"),
    "VEHICLE": ("[**VEHICLE**]", "(L) vehicle identifiers and serial numbers, including license plates"),
    "DEVICE": ("[**DEVICE**]", "(M) device identifiers and serial numbers"),
    "URL": ("[**URL**]", "(N) web universal resource locators"),
    "IP": ("[**IP**]", "(O) internet protocol addresses"),
    "BIOMETRIC": ("[**BIOMETRIC**]", "(P) biometric identifiers, including finger and voice prints"),
    "PHOTO": ("[**PHOTO**]", "(Q) full-face photographs and comparable images"),
    "ID": ("[**ID**]", "(R) any other unique identifying number, characteristic, or code"),
}

TAGS: dict[str, str] = {cat: tag for cat, (tag, _) in CATEGORIES.items()}
ALL_TAGS: list[str] = list(TAGS.values())
# Tie-break when overlapping spans of equal length and score are merged: the earlier category wins.
CATEGORY_ORDER: dict[str, int] = {cat: i for i, cat in enumerate(TAGS)}


def tag_for(category: str) -> str:
    """The replacement string for a category; unknown categories are a programming error, not PHI to keep."""
    try:
        return TAGS[category]
    except KeyError:
        raise KeyError(f"unknown PHI category {category!r}; known: {sorted(TAGS)}") from None
