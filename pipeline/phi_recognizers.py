"""Offline presidio recognizers for the 18 HIPAA safe-harbor categories of ``pipeline.phi_tags``.

Why custom recognizers: the only NER models presidio can use need a download, which this project cannot
do, and the built-in pattern recognizers are tuned for generic PII (US_SSN drops invalid-looking numbers,
DATE_TIME misses "March 14, 2019", the URL recognizer is a slow TLD alternation, EmailRecognizer calls
tldextract, which tries the network). So every category here is a small rule set with entity name = the
category key, detected by

* ``GroupRegexRecognizer``: regexes that report only the named group ``phi`` when present, so a label
  such as ``MRN:`` anchors the match without being redacted (a variable-length look-behind in a
  ``PatternRecognizer`` does the same 35x slower). Patterns are compiled *case-sensitive*; the few
  case-insensitive parts use inline ``(?i:...)``, because presidio's default IGNORECASE|DOTALL made
  ``[A-Z]`` match lower case and ``\\s`` run across lines.
* ``NameRecognizer``: names without NER -- honorifics (Dr., Mrs.), header/label context (``Patient:``,
  ``Attending:``, ``Dictated by:``, ``cc:``), family-member context, ``Last, First`` / ``LAST,FIRST``,
  names before credentials (``, MD``) and the 1990 US census first/last name lists shipped by the pinned
  PyPI package ``names``, looked up in Python sets (a presidio deny_list of 89k surnames is one giant
  alternation: 4 docs/s). Clinical vocabulary that collides with census names (Foley, Parkinson, PO, RA,
  Cr...) is kept out by ``CLINICAL_WORDS``; English words that are also names (Hill, May, Will...) are
  taken only in a name position.

The word lists live in this module on purpose: the stage fingerprint hashes module source, so editing a
list re-runs de-identification.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from presidio_analyzer import EntityRecognizer, RecognizerResult

from pipeline.phi_tags import TAGS

Validator = Callable[[str], bool]

# ---------------------------------------------------------------------------------------------------------
# Word lists (lower case)
# ---------------------------------------------------------------------------------------------------------

# Clinical vocabulary that is never a name outside an honorific (many are census surnames or first names:
# Foley, Parkinson, Babinski, Homan, Gleason, PO, RA, "Patient", "Plan", "Care"...).
CLINICAL_WORDS: frozenset[str] = frozenset(
    """
    md do pa np rn lpn cna dds dpm phd pharmd mph msn aprn crna fnp arnp lcsw pa-c dr mr mrs ms
    po iv im sq sc pr sl ng og pv prn bid tid qid qd qod qhs qam qpm hs ac pc st ra la lv rv lad lcx rca
    cr bun etoh abd ekg ecg eeg emg cxr ct cta mri mra us er ed icu micu sicu ccu cvicu nicu picu or pacu
    ob gyn ent gi gu cv cbc bmp cmp lft lfts inr pt ptt tsh bnp hgb hct plt wbc rbc na cl co2 ca mg phos
    alb ast alt alk ldh cpk ck trop hba1c a1c ldl hdl tg ua bcx ucx abg vbg nad nkda rrr ctab perrla
    eomi heent jvd cva hpi pmh psh ros sob doe cp uri uti copd chf cad htn dm ckd esrd afib dvt pe mi
    cabg pci tia gerd bph oa osa als sle hiv hcv hbv tb mrsa vre dnr dni fx hx dx tx rx sx bx fh sh yo
    rr hr bp sat spo2 o2 nc bipap cpap picc cvc ngt peg jp pca gtt ns lr kcl asa apap nsaid ppi ssri
    ace arb hctz cc mrn dob ssn npi dea aox aaox
    patient pt pts plan care home pain doctor nurse chief complaint history physical exam assessment
    impression diagnosis diagnoses procedure procedures medications medication allergies allergy labs
    vitals review systems social family surgical past present illness hospital course discharge
    admission admit admitted disposition condition instructions follow followup signed attending
    resident fellow intern surgeon consultant consult team service unit floor ward bed room clinic
    emergency department cardiology neurology nephrology oncology hematology pulmonology gastroenterology
    endocrinology rheumatology urology dermatology psychiatry psychology radiology pathology surgery
    orthopedics ortho anesthesia anesthesiology medicine pediatrics obstetrics gynecology ophthalmology
    otolaryngology podiatry physiatry rehab rehabilitation hospice palliative infectious disease
    critical internal general primary cardiac renal hepatic pulmonary neuro psych vascular thoracic
    normal stable negative positive unremarkable alert oriented pleasant afebrile chest heart lungs
    abdomen extremities skin neck head eyes ears nose throat back spine pelvis left right bilateral
    blood pressure pulse temp temperature weight height bmi oxygen saturation glucose sodium potassium
    chloride bicarbonate creatinine calcium magnesium phosphorus albumin bilirubin troponin lipase amylase
    lactate hemoglobin hematocrit platelets ferritin iron zinc vitamin folate thiamine insulin heparin
    foley parkinson parkinsons alzheimer alzheimers babinski crohn crohns hodgkin hodgkins cushing
    cushings addison addisons graves hashimoto raynaud raynauds guillain barre huntington kaposi
    paget wernicke korsakoff lyme tourette asperger apgar glasgow swan ganz whipple nissen roux billroth
    hartmann mcburney rovsing homan homans kernig brudzinski romberg trendelenburg valsalva tinel phalen
    lachman mcmurray spurling gleason breslow cheyne stokes kussmaul levine fogarty hickman penrose bovie
    doppler holter heimlich chvostek trousseau virchow osler janeway kerley ranson braden karnofsky
    cockcroft gault wenckebach mobitz brugada snellen rinne marfan kawasaki reiter behcet wegener
    goodpasture fanconi zollinger ellison boerhaave zenker hirschsprung meckel ogilvie charcot
    dupuytren heberden bouchard colles epstein barr kocher wilms ewing burkitt lasix furosemide
    metoprolol lisinopril atorvastatin simvastatin aspirin tylenol acetaminophen ibuprofen motrin advil
    warfarin coumadin eliquis apixaban xarelto rivaroxaban plavix clopidogrel lantus humalog novolog
    metformin glipizide prednisone solumedrol dexamethasone decadron vancomycin vanc zosyn cefepime
    ceftriaxone rocephin levaquin levofloxacin cipro azithromycin zithromax doxycycline bactrim keflex
    cephalexin augmentin amoxicillin penicillin flagyl metronidazole morphine dilaudid hydromorphone
    oxycodone percocet norco vicodin fentanyl tramadol gabapentin neurontin lyrica pregabalin ativan
    lorazepam xanax alprazolam valium diazepam haldol haloperidol seroquel quetiapine zyprexa olanzapine
    risperdal zoloft sertraline prozac fluoxetine lexapro celexa citalopram trazodone ambien zolpidem
    melatonin protonix pantoprazole omeprazole prilosec nexium pepcid famotidine zofran ondansetron
    reglan colace senna senokot miralax dulcolax lactulose amlodipine norvasc carvedilol coreg diltiazem
    cardizem digoxin amiodarone hydralazine losartan valsartan spironolactone aldactone torsemide bumex
    nitroglycerin ntg isosorbide imdur albuterol duoneb atrovent spiriva advair symbicort flovent
    singulair synthroid levothyroxine keppra dilantin depakote tegretol lamictal sinemet aricept namenda
    flomax tamsulosin finasteride allopurinol colchicine narcan naloxone epinephrine norepinephrine
    levophed vasopressin dopamine dobutamine propofol versed midazolam ketamine precedex benadryl
    lidocaine toradol ketorolac cymbalta wellbutrin buspar effexor remeron abilify lithium klonopin
    clonazepam clonidine lovenox enoxaparin humira methotrexate plaquenil entresto jardiance januvia
    ozempic crestor lipitor zocor zetia lopressor toprol atenolol labetalol nifedipine cozaar diovan
    mucinex chantix suboxone methadone cellcept tacrolimus prograf
    pugh child medicare medicaid insurance urgent bedside breast cancer alive deceased living unknown
    """.split()
)

# Function words and sentence starters that appear capitalized at the start of a sentence; some are census
# names ("Will", "May", "Case", "Long", "Early"). Never part of a name outside an honorific.
STOP_WORDS: frozenset[str] = frozenset(
    """
    a an the and or but nor of in on at by for with from to into onto upon via per as than then so
    this that these those there here his her hers him he she they them their its it we our us you your
    my me i is are was were be been being am has have had do does did done will would shall should
    may might must can could not no yes all any both each every few more most much many other some such
    only own same too very just also still even ever never always often again once well back down due
    first last next new old over off out up under after before during while when where why how what
    who whom which if else because although though since until unless
    call see saw say said show keep go goes went get got give gave take took make made let lets tell
    told ask asked note noted seen seeing will continue continued start started stop stopped hold held
    increase decrease change changed discuss discussed return returned reports reported denies denied
    states stated presents presented admits admitted complains agreed agrees understand understands
    today tomorrow yesterday tonight now day days week weeks month months year years morning evening
    night afternoon daily weekly monthly hourly
    monday tuesday wednesday thursday friday saturday sunday
    january february march september october november december
    mr mrs ms miss dr jr sr ii iii iv
    """.split()
)

# English words that are also census names: a name only in a name position (after an honorific, a label,
# a first name or an initial), e.g. "Dr. Hill", "John Park" but not "up the hill", "Park Avenue".
AMBIGUOUS_WORDS: frozenset[str] = frozenset(
    """
    hill park lane will may june april rose grace hope faith joy dawn mark bill pat sue art chase gene
    guy ray sandy summer ivy carol frank rich jack van lou sol iris ruby pearl amber crystal penny
    holly daisy violet olive ginger heather jade brook brooks dale glen forest king long little young
    brown white green black gray grey gold silver rice cook baker miller hunter fisher porter carter
    walker parker page cash rush best bond hall moore strong sharp bright swift noble wise hale hart
    love fair major minor short tall sweet good power ward case bass root wood woods stone field fields
    bush price river rain storm sky north south east west street avenue road drive court way centre
    center lake lakes bay beach spring springs valley ridge mountain port fort mount saint
    """.split()
)

# Words that make a preceding capitalized word an eponym, not a person ("Wilson disease", "Bell's palsy").
_EPONYM_NEXT = (
    r"(?:['’]s)?[ \t]+(?i:disease|syndrome|sign|signs|reflex|test|maneuver|manoeuvre|score|scale|criteria|"
    r"classification|catheter|drain|fracture|palsy|phenomenon|triad|node|nodes|tube|bag|procedure|"
    r"operation|repair|lens|stage|stages|grade|body|bodies|cell|cells|ulcer|esophagus|lymphoma|sarcoma|"
    r"tumor|hernia|contracture|ring|nodule|nodules|law|equation|formula|position|incision|space|line|lines|"
    r"murmur|fall|regimen|protocol|method|technique|solution|stain|method|rule|rules|questionnaire)\b"
)


def _names_dir() -> Path:
    """Folder of the ``names`` package (census lists), found without importing it."""
    spec = importlib.util.find_spec("names")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'names' package (census name lists) is not installed; pip install names==0.3.0")
    return Path(next(iter(spec.submodule_search_locations)))


def _read_census(*files: str) -> frozenset[str]:
    folder = _names_dir()
    out: set[str] = set()
    for name in files:
        with open(folder / name, encoding="ascii") as fh:
            out.update(line.split(maxsplit=1)[0].lower() for line in fh if line.strip())
    return frozenset(out)


@lru_cache(maxsize=1)
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names), lower case, from the 1990 US census lists in the ``names`` package."""
    return _read_census("dist.male.first", "dist.female.first"), _read_census("dist.all.last")


# ---------------------------------------------------------------------------------------------------------
# Generic regex recognizer
# ---------------------------------------------------------------------------------------------------------


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


class GroupRegexRecognizer(EntityRecognizer):
    """Reports the named group ``phi`` of each match (or the whole match), optionally validated.

    ``patterns`` are ``(name, regex, score)``; regexes are compiled with no flags (case-sensitive, ``.`` not
    crossing lines). ``validate`` sees only the reported span and returns False to drop it.
    ``trim_leading`` (lower-case words) are cut from the front of a span ("Transferred From Shands Hospital").
    """

    def __init__(
        self,
        entity: str,
        patterns: Iterable[tuple[str, str, float]],
        validate: Validator | None = None,
        name: str | None = None,
        trim_leading: frozenset[str] = frozenset(),
    ) -> None:
        self._patterns = [(pname, re.compile(rx), score) for pname, rx, score in patterns]
        self._validate = validate
        self._trim = trim_leading
        super().__init__(supported_entities=[entity], name=name or f"{entity.title()}Recognizer")

    def load(self) -> None:  # nothing to load: patterns are compiled in __init__
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        meta = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        results = []
        for _, rx, score in self._patterns:
            has_group = "phi" in rx.groupindex
            for m in rx.finditer(text):
                start, end = m.span("phi") if has_group and m.group("phi") is not None else m.span()
                if self._trim:
                    start = self._trim_start(text, start, end)
                if end <= start or (self._validate is not None and not self._validate(text[start:end])):
                    continue
                results.append(RecognizerResult(entity, start, end, score, recognition_metadata=dict(meta)))
        return results

    def _trim_start(self, text: str, start: int, end: int) -> int:
        for w in _RX_WORD.finditer(text, start, end):
            if w.group().lower() not in self._trim:
                return w.start()
        return end


_RX_WORD = re.compile(r"[^\s]+")

# ---------------------------------------------------------------------------------------------------------
# Shared regex pieces
# ---------------------------------------------------------------------------------------------------------

# An identifier value after a label: 3-40 letters/digits with inner - / . separators (validated to hold a digit).
_ID = r"(?P<phi>[A-Za-z0-9](?:[A-Za-z0-9]|[-/.](?=[A-Za-z0-9])){2,39})"
# What may sit between a label and its value: "#", "No.", "Number", ":", "=".
_SEP = r"[ \t]*(?i:(?:#|no\.?|num(?:ber)?\.?|id|code)[ \t]*)?[:#=.]?[ \t]*(?:#[ \t]*)?"


def _labelled(labels: str) -> str:
    """A case-insensitive label (alternation), a separator and an identifier value in group ``phi``."""
    return rf"(?<![A-Za-z])(?i:{labels})(?![a-z]){_SEP}{_ID}"


_PHONE = (
    r"(?:\+?1[-.\s]?)?(?:\(\d{3}\)[ \t]?|\d{3}[-.\s])\d{3}[-.\s]\d{4}"
    r"(?:[ \t]*(?:x|ext\.?|extension)[ \t]*\d{1,5})?"
)
_PHONE7 = r"\d{3}-\d{4}"

_MONTH = (
    r"(?:J(?i:an(?:uary)?)|F(?i:eb(?:ruary)?)|M(?i:ar(?:ch)?)|A(?i:pr(?:il)?)|M(?:ay|AY)|J(?i:une?)|"
    r"J(?i:uly?)|A(?i:ug(?:ust)?)|S(?i:ep(?:t(?:ember)?)?)|O(?i:ct(?:ober)?)|N(?i:ov(?:ember)?)|D(?i:ec(?:ember)?))"
    r"(?![A-Za-z])\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_MM = r"(?:0?[1-9]|1[0-2])"
_DD = r"(?:0?[1-9]|[12]\d|3[01])"
_YEAR = r"(?:1[89]\d\d|20\d\d)"

_STATE_ABBR = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    r"OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
# Abbreviations that are also clinical words/credentials: "Smith, MD" is a doctor, not Maryland.
_STATE_ABBR_SAFE = (
    r"AL|AK|AZ|AR|CA|DC|FL|IL|IA|KS|KY|MN|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_STATE_NAME = (
    r"Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|"
    r"Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|"
    r"Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|"
    r"North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|"
    r"Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming|Puerto Rico"
)
_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Court|Ct|Place|Pl|Terrace|Ter|Way|Circle|"
    r"Cir|Parkway|Pkwy|Highway|Hwy|Trail|Trl|Square|Sq|Loop|Pike|Path|Row|Alley|Plaza|Crossing|Point|Ridge|"
    r"Run|Walk|Cove|Creek|Commons|Heights|Hollow|Park|Pass|Glen|Bend|Way"
)
_CAPWORD = r"[A-Z][A-Za-z0-9'’.&-]*"  # a capitalized word in a place name ("St.", "Mary's", "O'Hare")
_FACILITY_SUFFIX = (
    r"Hospital|Medical Center|Med Ctr|Medical Centre|Health Center|Health Centre|Health System|Healthcare|"
    r"Health Care|Clinic|Clinics|Rehabilitation Center|Rehabilitation Hospital|Rehab Center|Nursing Home|"
    r"Nursing Facility|Nursing Center|Care Center|Skilled Nursing|Infirmary|Hospice|Urgent Care|"
    r"Surgery Center|Surgical Center|Cancer Center|Heart Institute|Medical Group|Medical Associates|"
    r"Physicians Group|Family Practice|Pharmacy|Memorial|University|College|Institute|Assisted Living|"
    r"Senior Living|Retirement Home|Retirement Community|Correctional Facility|Prison|Jail|Shelter|VA"
)
# Leading words that are not part of a facility/place name ("seen at The Shands Hospital").
_PLACE_LEADING_NOISE = frozenset(
    "the at to from in a an of and or seen admitted transferred discharged followed by with for per via "
    "presented went sent was is".split()
)


# ---------------------------------------------------------------------------------------------------------
# Category recognizers
# ---------------------------------------------------------------------------------------------------------


def date_recognizer() -> GroupRegexRecognizer:
    """DATE: numeric, textual and holiday dates; a bare ``m/d`` only after a date word (``5/5`` is strength)."""
    ctx = (
        r"(?<![A-Za-z])(?i:on|since|dated?|as of|starting|started|effective|until|till|thru|through|due|"
        r"seen|admitted|admission|discharged?|d/c(?:'?d)?|dos|dob|visit|f/u|follow[- ]?up|s/p|status post|"
        r"last|next|surgery|performed|done|drawn|collected|obtained|returns?|scheduled|appt|appointment)"
        r"[ \t]*:?[ \t]*(?:on[ \t]+)?"
    )
    return GroupRegexRecognizer(
        "DATE",
        [
            ("mdy", rf"(?<![\d/.-]){_DD}([/.-]){_DD}\1(?:\d{{4}}|\d{{2}})(?![\d/-]|\.\d)", 0.9),
            ("ymd", rf"(?<![\d/-]){_YEAR}([/.-]){_MM}\1{_DD}(?![\d/-]|\.\d)", 0.9),
            ("ymd_compact", rf"(?<![\d])(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?![\d])", 0.4),
            ("m_yyyy", rf"(?<![\d/.-]){_MM}[/-]{_YEAR}(?![\d/-])", 0.8),
            ("month_day_year", rf"(?<![A-Za-z]){_MONTH}[ \t]*{_DAY}(?![\d:])(?:,?[ \t]*(?:{_YEAR}|'\d\d)(?!\d))?", 0.85),
            ("day_month_year", rf"(?<![\d]){_DAY}[ \t]+(?:of[ \t]+)?{_MONTH}(?:,?[ \t]*{_YEAR}(?!\d))?", 0.85),
            ("dd_mon_yy", rf"(?<![\d]){_DD}[-/ ]{_MONTH}[-/ ](?:{_YEAR}|\d\d)(?!\d)", 0.9),
            ("month_year", rf"(?<![A-Za-z]){_MONTH}[ \t,/-]*(?:{_YEAR}|'\d\d)(?!\d)", 0.85),
            (
                "month_alone",
                r"(?<![A-Za-z])(?:January|February|March|April|June|July|August|September|October|November|December|"
                r"JANUARY|FEBRUARY|MARCH|APRIL|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER)(?![A-Za-z])",
                0.5,
            ),
            (
                "may_alone",
                r"(?<![A-Za-z])(?i:in|since|of|early|late|mid|during|until|by|last|next|this|before|after|through|"
                r"from)[ \t]+(?:-[ \t]*)?(?P<phi>May)(?![A-Za-z])",
                0.6,
            ),
            ("m_d_context", rf"{ctx}(?P<phi>(?<![\d/.]){_MM}/{_DD}(?:/\d{{2}})?)(?![\d/]|\.\d)", 0.6),
            ("m_d_range", rf"(?<![\d/.]){_MM}/{_DD}[ \t]*(?:-|to|through|until)[ \t]*{_MM}/{_DD}(?![\d/]|\.\d)", 0.6),
            ("m_d_bare", rf"(?<![\d/.]){_MM}/{_DD}(?![\d/]|\.\d)(?![ \t]*(?i:pain|strength|murmur|scale))", 0.2),
            (
                "holiday",
                r"(?<![A-Za-z])(?:Christmas(?: Eve| Day)?|Thanksgiving(?: Day)?|Easter(?: Sunday)?|"
                r"New Year['’]?s(?: Eve| Day)?|Halloween|Independence Day|Fourth of July|Memorial Day|Labor Day|"
                r"Veterans Day|Valentine['’]?s Day|Mother['’]?s Day|Father['’]?s Day|Hanukkah|Passover|Ramadan|"
                r"Yom Kippur|Rosh Hashanah|Kwanzaa|Martin Luther King Day|MLK Day)(?![A-Za-z])",
                0.6,
            ),
        ],
    )


def age_recognizer() -> GroupRegexRecognizer:
    """AGE: ages over 89 only (90-129); the number itself is the span ("a [**AGE>89**] year old")."""
    num = r"(?P<phi>(?:9\d|1[01]\d|12\d))"
    words = (
        r"(?P<phi>(?i:ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|"
        r"one[- ]hundred(?:[- ](?:and[- ])?(?:one|two|three|four|five|six|seven|eight|nine|ten))?))"
    )
    unit = r"(?:[ \t]*-?[ \t]*)(?i:y(?:ea)?rs?(?:[ \t]*-?[ \t]*old)?|y\.?[ \t]?o\.?|y/o|yo|yrs?|years?[- ]old)(?![A-Za-z])"
    return GroupRegexRecognizer(
        "AGE",
        [
            ("num_year_old", rf"(?<![\d.,/]){num}{unit}", 0.85),
            ("words_year_old", rf"(?<![A-Za-z]){words}{unit}", 0.85),
            ("age_label", rf"(?<![A-Za-z])(?i:age[ds]?|aged|age of)[ \t]*:?[ \t]*{num}(?![\d.])", 0.85),
            ("age_gender", rf"(?<![A-Za-z])(?i:an?)[ \t]+{num}[ \t]*(?:M|F|yM|yF|(?i:male|female|man|woman|gentleman|lady))(?![A-Za-z])", 0.8),
            ("decade", r"(?<![A-Za-z])(?i:in[ \t]+(?:his|her|their)[ \t]+(?:early[ \t]+|mid[ \t]+|late[ \t]+|mid-)?)(?P<phi>(?:9\d|1[01]\d)['’]?s|(?i:nineties))", 0.7),
        ],
    )


def phone_recognizer() -> GroupRegexRecognizer:
    """PHONE: US numbers with separators, +1 / ext. forms, labelled 7-digit numbers and pagers."""
    return GroupRegexRecognizer(
        "PHONE",
        [
            ("us", rf"(?<![\w-]){_PHONE}(?![\w-]|-\d)", 0.7),
            ("seven", rf"(?<![\w./-]){_PHONE7}(?![\w/-])", 0.4),
            ("pager", r"(?<![A-Za-z])(?i:pager|pgr|beeper|beep|pg)[ \t]*[#:]?[ \t]*(?:#[ \t]*)?(?P<phi>\d{4,6})(?![\d-])", 0.6),
            ("labelled_digits", r"(?<![A-Za-z])(?i:phone|tel|telephone|cell|mobile|ph)[ \t]*[#:.]?[ \t]*(?P<phi>\d{10})(?!\d)", 0.7),
        ],
    )


def fax_recognizer() -> GroupRegexRecognizer:
    """FAX: a phone number labelled as a fax (scored above PHONE so the same span resolves to FAX)."""
    label = r"(?:(?i:fax|facsimile|telefax)(?:[ \t]*(?i:#|no\.?|number|line))?[ \t]*[:#.]?|F:)"
    return GroupRegexRecognizer(
        "FAX",
        [
            ("labelled", rf"(?<![A-Za-z]){label}[ \t]*(?P<phi>{_PHONE}|{_PHONE7})(?![\w-])", 0.9),
            ("suffix", rf"(?<![\w-])(?P<phi>{_PHONE})[ \t]*\(?(?i:fax)(?![A-Za-z])", 0.9),
        ],
    )


def email_recognizer() -> GroupRegexRecognizer:
    """EMAIL: a plain regex (presidio's EmailRecognizer calls tldextract, which fetches over the network)."""
    return GroupRegexRecognizer(
        "EMAIL",
        [("email", r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])", 0.95)],
    )


def ssn_recognizer() -> GroupRegexRecognizer:
    """SSN: any ``ddd-dd-dddd`` (synthetic and test SSNs fail presidio's validity check) and labelled 9 digits."""
    label = r"(?<![A-Za-z])(?i:ssn|ss#|ss[ \t]*no\.?|soc(?:ial)?[ \t]*sec(?:urity)?(?:[ \t]*(?:no\.?|number|#))?)"
    return GroupRegexRecognizer(
        "SSN",
        [
            ("labelled", rf"{label}[ \t]*[:#]?[ \t]*(?P<phi>\d{{3}}[- ]?\d{{2}}[- ]?\d{{4}})(?![\d-])", 0.95),
            ("dashed", r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])", 0.6),
        ],
    )


def mrn_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"mrn|mr[ \t]*#|mr[ \t]*no\.?|med(?:ical)?[ \t]*rec(?:ord)?s?(?:[ \t]*(?:no\.?|number|#))?|"
        r"unit[ \t]*(?:no\.?|#|number)|hosp(?:ital)?[ \t]*(?:no\.?|#|number)|chart[ \t]*(?:#|no\.?|number)|"
        r"record[ \t]*(?:#|no\.?|number)|patient[ \t]*(?:#|no\.?|number)|pt[ \t]*#"
    )
    return GroupRegexRecognizer("MRN", [("labelled", _labelled(labels), 0.9)], validate=_has_digit)


def healthplan_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"member[ \t]*(?:id|#|no\.?|number)|policy(?:[ \t]*holder)?|insurance[ \t]*(?:id|#|no\.?|number|policy)|"
        r"subscriber[ \t]*(?:id|#|no\.?|number)?|health[ \t]*plan(?:[ \t]*(?:id|#|no\.?|number|beneficiary))?|"
        r"beneficiary[ \t]*(?:id|#|no\.?|number)?|medicare(?:[ \t]*(?:id|#|no\.?|number))?|"
        r"medicaid(?:[ \t]*(?:id|#|no\.?|number))?|mbi|hicn|group[ \t]*(?:#|no\.?|number)|plan[ \t]*(?:id|#)|"
        r"insurance"
    )
    return GroupRegexRecognizer("HEALTHPLAN", [("labelled", _labelled(labels), 0.85)], validate=_has_digit)


def account_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"acc(?:oun)?t|acct|billing(?:[ \t]*(?:#|no\.?|number|acc(?:oun)?t))?|fin(?=[ \t]*[#:])|financial[ \t]*(?:#|no\.?|number)|"
        r"bank[ \t]*acc(?:oun)?t|invoice|credit[ \t]*card|card[ \t]*(?:#|no\.?|number)"
    )
    return GroupRegexRecognizer(
        "ACCOUNT",
        [
            ("labelled", _labelled(labels), 0.85),
            ("card", r"(?<![\d-])\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}(?![\d-])", 0.6),
        ],
        validate=_has_digit,
    )


def license_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"dea|licen[cs]e|lic\.?|certificate|cert\.?|npi|driver['’]?s?[ \t]*licen[cs]e|dl(?=[ \t]*[#:])|"
        r"board[ \t]*cert(?:ification)?|medical[ \t]*licen[cs]e|state[ \t]*licen[cs]e"
    )
    return GroupRegexRecognizer(
        "LICENSE",
        [
            ("labelled", _labelled(labels), 0.85),
            ("dea_format", r"(?<![A-Za-z0-9])[A-Z]{2}\d{7}(?![A-Za-z0-9])", 0.5),
        ],
        validate=_has_digit,
    )


def _vin_ok(s: str) -> bool:
    return _has_digit(s) and any(c.isalpha() for c in s)


def vehicle_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"vin|vehicle[ \t]*id(?:entification)?(?:[ \t]*(?:no\.?|number|#))?|licen[cs]e[ \t]*plate(?:[ \t]*(?:no\.?|number|#))?|"
        r"plate(?:[ \t]*(?:no\.?|number|#))?|tag[ \t]*#|registration[ \t]*(?:#|no\.?|number)"
    )
    plate = r"(?P<phi>[A-Z0-9]{1,8}(?:[ -][A-Z0-9]{1,8})?)(?![A-Za-z0-9])"
    return GroupRegexRecognizer(
        "VEHICLE",
        [
            ("labelled", rf"(?<![A-Za-z])(?i:{labels})(?![a-z])[ \t]*[:#]?[ \t]*{plate}", 0.85),
            ("vin", r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])", 0.6),
        ],
        validate=_vin_ok,
    )


def device_recognizer() -> GroupRegexRecognizer:
    labels = (
        r"serial(?:[ \t]*(?:#|no\.?|number))?|s/n|sn|device[ \t]*(?:id|#|serial|identifier)|udi|"
        r"model[ \t]*(?:#|no\.?|number)|implant[ \t]*(?:id|#|serial)|(?:pacemaker|icd|aicd|defibrillator|pump)"
        r"[ \t]*(?:serial|id|#)(?:[ \t]*(?:#|no\.?|number))?|lot(?:[ \t]*(?:#|no\.?|number))?"
    )
    return GroupRegexRecognizer("DEVICE", [("labelled", _labelled(labels), 0.85)], validate=_has_digit)


def url_recognizer() -> GroupRegexRecognizer:
    """URL: scheme or www URLs and bare domains with common TLDs (presidio's TLD alternation is slow)."""
    tail = r"[^\s<>\"'()\[\]]*[^\s<>\"'()\[\].,;:!?]"
    return GroupRegexRecognizer(
        "URL",
        [
            ("scheme", rf"(?<![\w])(?i:https?://|ftp://|www\.){tail}", 0.9),
            (
                "domain",
                rf"(?<![@\w.-])(?:[A-Za-z0-9-]+\.)+(?i:com|org|net|edu|gov|io|us|info|biz|health|care|me|co)"
                rf"(?![\w@-])(?:/{tail})?",
                0.6,
            ),
        ],
    )


def ip_recognizer() -> GroupRegexRecognizer:
    octet = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    h = r"[0-9A-Fa-f]{1,4}"
    return GroupRegexRecognizer(
        "IP",
        [
            ("ipv4", rf"(?<![\d.]){octet}(?:\.{octet}){{3}}(?!\.?\d)", 0.8),
            ("ipv6_full", rf"(?<![\w:])(?:{h}:){{7}}{h}(?![\w:])", 0.8),
            ("ipv6_short", rf"(?<![\w:])(?:{h}:){{2,6}}:(?:{h}(?::{h}){{0,5}})?(?![\w:])", 0.6),
        ],
        validate=_has_digit,
    )


def biometric_recognizer() -> GroupRegexRecognizer:
    kinds = (
        r"(?:finger|thumb|palm|voice|hand)[ \t-]?prints?|retina(?:l)?[ \t]*scan|iris[ \t]*scan|"
        r"facial[ \t]*(?:geometry|recognition|scan)|biometric(?:s)?|dna[ \t]*profile|gait[ \t]*signature"
    )
    return GroupRegexRecognizer(
        "BIOMETRIC",
        [
            (
                "labelled",
                rf"(?<![A-Za-z])(?i:{kinds})(?:[ \t]+(?i:id|identifier|template|hash|code|record|sample|on file))*{_SEP}{_ID}",
                0.85,
            )
        ],
        validate=_has_digit,
    )


def photo_recognizer() -> GroupRegexRecognizer:
    return GroupRegexRecognizer(
        "PHOTO",
        [
            ("file", r"(?<![\w.-])[\w-]+\.(?i:jpe?g|png|gif|bmp|tiff?|heic|dcm|webp)(?![\w])", 0.8),
            (
                "labelled",
                rf"(?<![A-Za-z])(?i:photo(?:graph)?s?|image|picture|headshot|mugshot)"
                rf"(?:[ \t]+(?i:id|file|ref(?:erence)?|on file))*{_SEP}{_ID}",
                0.8,
            ),
        ],
        validate=lambda s: _has_digit(s) or "." in s,
    )


def id_recognizer() -> GroupRegexRecognizer:
    """ID: other labelled identifiers, plus long bare numbers and letter+digit codes at a low score."""
    labels = (
        r"(?:patient|pt|encounter|enc|visit|case|accession|acc|specimen|study|subject|employee|badge|claim|"
        r"order|requisition|req|reference|ref|confirmation|tracking|sample|lab|path(?:ology)?|report|document|"
        r"doc|csn|har|episode|admission|registration|member)[ \t]*(?:id|#|no\.?|number)|"
        r"id|identifier|uid|csn|accession"
    )
    return GroupRegexRecognizer(
        "ID",
        [
            ("labelled", _labelled(labels), 0.75),
            ("long_number", r"(?<![\w.,/-])\d{7,}(?![\w/-]|[.,]\d)", 0.35),
            ("code", r"(?<![A-Za-z0-9-])[A-Z]{1,4}-?\d{5,}(?:-\d+)*(?![A-Za-z0-9-])", 0.35),
            ("dashed", r"(?<![\w.-])\d{3,}(?:-\d+){2,}(?![\w-])", 0.35),
        ],
        validate=_has_digit,
    )


def location_recognizer() -> GroupRegexRecognizer:
    """LOCATION: street addresses, PO boxes, city before a state, ZIPs, facilities, labelled places.

    States themselves are kept (safe harbor allows them), so "Gainesville, FL 32601" becomes
    "[**LOCATION**], FL [**LOCATION**]".
    """
    city = r"(?P<phi>[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|de|del|la|of))*(?:[ -][A-Z][a-z]+)?)"
    return GroupRegexRecognizer(
        "LOCATION",
        [
            (
                "street",
                rf"(?<![\w-])\d{{1,6}}(?:-\d+)?[A-Z]?[ \t]+(?:[NSEW]\.?[ \t]+|(?:North|South|East|West)[ \t]+)?"
                rf"(?:{_CAPWORD}|\d+(?:st|nd|rd|th))(?:[ \t]+{_CAPWORD}){{0,3}}[ \t]+(?:{_STREET_SUFFIX})\.?(?![A-Za-z])"
                rf"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\.?(?![A-Za-z]))?"
                rf"(?:[ \t]*,?[ \t]*(?i:apt|apartment|unit|suite|ste|#|bldg|building|fl|floor|room|rm)\.?[ \t]*#?[ \t]*[A-Za-z0-9-]+)?",
                0.85,
            ),
            ("po_box", r"(?<![A-Za-z])(?i:p\.?[ \t]?o\.?[ \t]*box|post[ \t]+office[ \t]+box)[ \t]*#?[ \t]*\d+", 0.85),
            ("city_state_zip", rf"{city}[ \t]*,[ \t]*(?:{_STATE_ABBR}|{_STATE_NAME})\.?,?[ \t]+\d{{5}}(?:-\d{{4}})?(?!\d)", 0.8),
            ("city_state", rf"{city}[ \t]*,[ \t]*(?:{_STATE_ABBR_SAFE}|{_STATE_NAME})(?![A-Za-z0-9-])", 0.55),
            ("zip_after_state", rf"(?<![A-Za-z])(?:{_STATE_ABBR}|{_STATE_NAME})\.?,?[ \t]+(?P<phi>\d{{5}}(?:-\d{{4}})?)(?!\d)", 0.8),
            (
                "facility",
                rf"(?<![A-Za-z])(?P<phi>(?:{_CAPWORD}[ \t]+(?:(?:of|the|and|for|&)[ \t]+)?){{1,5}}(?:{_FACILITY_SUFFIX}))(?![A-Za-z])",
                0.6,
            ),
            ("county", r"(?<![A-Za-z])[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?[ \t]+(?:County|Parish|Township|Borough)(?![A-Za-z])", 0.7),
            (
                "labelled",
                r"(?<![A-Za-z])(?i:address|addr|home address|city|town|county|zip(?:[ \t]*code)?|zipcode|postal code|"
                r"neighborhood|hometown|birthplace|place of birth)[ \t]*:[ \t]*(?P<phi>[A-Za-z0-9#][^\n;|]{1,80}?)(?=[ \t]*(?:\n|$|;|\||\.[ \t]|[ \t]{2}))",
                0.7,
            ),
            (
                "lives_in",
                r"(?<![A-Za-z])(?i:lives|living|resides|residing|moved|relocated|born|raised|grew up|originally|"
                r"visiting|vacationing|travel(?:l?ed|l?ing)?|works|working|employed)[ \t]+(?i:in|at|to|near|from)[ \t]+"
                r"(?P<phi>[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){0,2})",
                0.6,
            ),
        ],
        trim_leading=_PLACE_LEADING_NOISE,
    )


# ---------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------

# A name token: Title ("Smith", "McDonald", "O'Brien", "Smith-Jones") or ALL CAPS ("SMITH"); a following
# "'s" is not part of it.
_TOKEN = (
    r"(?:[A-Z]['’][A-Z](?:[a-z]+|[A-Z]+)|[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:['’][A-Z][a-z]+)?(?:-[A-Z][a-z]+)?"
    r"|[A-Z]{2,}(?:['’-][A-Z]{2,})?)(?![A-Za-z0-9])"
)
_INITIAL = r"[A-Z]\.?(?![A-Za-z0-9])"
_PARTICLE = r"(?:van|von|de|del|della|der|den|da|di|du|la|le|dos|das|st\.?|bin|ibn|al|el|mac|ter)"
_SUFFIX = r",?[ \t]+(?:Jr|Sr|II|III|IV|JR|SR)\.?(?![A-Za-z])"

_RX_TOKEN = re.compile(_TOKEN)
_RX_INITIAL = re.compile(_INITIAL)
_RX_GAP = re.compile(r"[ \t]+")
_RX_PARTICLE = re.compile(rf"[ \t]+{_PARTICLE}[ \t]+(?=[A-Z])")
_RX_COMMA = re.compile(r"[ \t]*,[ \t]*")
_RX_SUFFIX = re.compile(_SUFFIX)
_RX_EPONYM_NEXT = re.compile(_EPONYM_NEXT)
_RX_LINE_END = re.compile(r"[ \t]*(?:\r|\n|\Z|[;|)])|[ \t]{2,}")

# Caps honorifics need their period: "MR" is mitral regurgitation, "DR" diabetic retinopathy, "MS" sclerosis.
_RX_HONORIFIC = re.compile(
    r"(?<![A-Za-z])(?:(?:Dr|Drs|Mr|Mrs|Ms|Mx|Prof)(?:\.[ \t]*|[ \t]+)|(?:DR|DRS|MR|MRS|MS|PROF)\.[ \t]*|"
    r"(?:Miss|Doctor|Professor|Nurse)[ \t]+)(?=[A-Z])"
)
_LABELS = (
    r"patient(?:[ \t]+name)?|pt(?:[ \t]+name)?|name|full[ \t]+name|patient[ \t]+full[ \t]+name|"
    r"attending(?:[ \t]+(?:physician|md|surgeon|of[ \t]+record))?|pcp|primary[ \t]+care(?:[ \t]+(?:physician|provider|doctor))?|"
    r"referring(?:[ \t]+(?:physician|provider|md|doctor))?|resident|fellow|intern|surgeon|assistant|"
    r"anesthesiologist|anesthesia|nurse|rn|np|provider|physician|clinician|therapist|case[ \t]+manager|"
    r"social[ \t]+worker|sw|cm|contact|emergency[ \t]+contact|nok|next[ \t]+of[ \t]+kin|"
    r"health[ \t]*care[ \t]+proxy|hcp|poa|guardian|caregiver|informant|interpreter|chaplain|"
    r"dictated[ \t]+by|dictating|signed(?:[ \t]+by)?|electronically[ \t]+signed(?:[ \t]+by)?|"
    r"transcribed[ \t]+by|reviewed[ \t]+by|authenticated[ \t]+by|cosigned(?:[ \t]+by)?|co-signed(?:[ \t]+by)?|"
    r"verified[ \t]+by|approved[ \t]+by|prepared[ \t]+by|entered[ \t]+by|author|from|to|re|attn"
)
# A label followed by ":" (or "by" forms without a colon), then the name; "CC:" is chief complaint, "cc:" is a copy.
_RX_LABEL = re.compile(
    rf"(?:^|(?<=[\s(\[;,|]))(?:(?i:{_LABELS})[ \t]*:|cc[ \t]*:|Cc[ \t]*:|"
    r"(?i:dictated|signed|transcribed|reviewed|seen|examined|evaluated|discussed|referred|accompanied|"
    r"authenticated|cosigned|co-signed|verified|approved|prepared|entered|performed|interpreted|read|"
    r"staffed|called|paged|notified|covered)[ \t]+(?i:by|with|to)(?:[ \t]+(?i:the[ \t]+)?(?i:patient['’]?s[ \t]+)?)?)"
    r"[ \t]*(?=[A-Z])",
    re.MULTILINE,
)
_RX_RELATION = re.compile(
    r"(?<![A-Za-z])(?i:wife|husband|spouse|partner|daughter|son|mother|father|mom|dad|sister|brother|niece|"
    r"nephew|grandson|granddaughter|grandmother|grandfather|aunt|uncle|cousin|friend|neighbor|neighbour|"
    r"caregiver|fianc[eé]e?|boyfriend|girlfriend|proxy|guardian|roommate|stepson|stepdaughter|"
    r"son-in-law|daughter-in-law)(?:[ \t]*[,(:]|[ \t]+(?i:is|named|was))?[ \t]+(?=[A-Z])"
)
_CREDENTIALS = r"MD|M\.D\.|DO|D\.O\.|RN|NP|PA-C|PA|PhD|MSN|APRN|CRNA|DPM|PharmD|LCSW|FNP|FNP-C|ARNP|DDS|MBBS|LPN|CNA|RD|PT|OT|DPT|MSW|FACP|FACC|FACS"
_RX_CREDENTIAL_NAME = re.compile(
    rf"(?P<phi>(?:{_TOKEN}|{_INITIAL})(?:[ \t]+(?:{_TOKEN}|{_INITIAL})){{0,3}}),?[ \t]+(?:{_CREDENTIALS})(?![A-Za-z])"
)
_RX_LAST_FIRST_CAPS = re.compile(r"(?<![A-Za-z,])(?P<phi>[A-Z]{2,}(?:['’-][A-Z]+)?,[A-Z]{2,}(?:[ \t][A-Z]\.?)?)(?![A-Za-z])")


class NameRecognizer(EntityRecognizer):
    """NAME without NER: anchors (honorific, label, relation, credential) plus census-list lookups.

    Scores: honorific 0.85, label/relation 0.8, before credentials 0.75, ``LAST,FIRST`` 0.7,
    census ``First Last`` 0.65, census ``First Unknown`` 0.5, lone census first name 0.4.
    """

    def __init__(self) -> None:
        self._first, self._last = census_names()
        self._never = CLINICAL_WORDS | STOP_WORDS
        self._not_first = self._never | AMBIGUOUS_WORDS
        super().__init__(supported_entities=["NAME"], name="NameRecognizer")

    def load(self) -> None:  # census sets are loaded (and cached) in __init__
        pass

    # -- token classification ------------------------------------------------------------------------
    def _is_census(self, tok: str) -> bool:
        low = tok.lower()
        return low in self._first or low in self._last

    def _plain_name(self, tok: str) -> bool:
        """A census name that is neither clinical vocabulary, a function word nor an English word."""
        low = tok.lower()
        return (low in self._first or low in self._last) and low not in self._never and low not in AMBIGUOUS_WORDS

    def _name_position_ok(self, tok: str) -> bool:
        """May this token continue a name already started (``John Hill``, ``J. Park``)?"""
        low = tok.lower()
        if low in self._never:
            return False
        return low in self._first or low in self._last or low in AMBIGUOUS_WORDS

    # -- scanning --------------------------------------------------------------------------------------
    def _token_at(self, text: str, pos: int) -> re.Match[str] | None:
        return _RX_TOKEN.match(text, pos)

    def _name_follows(self, text: str, pos: int, allow_end: bool) -> bool:
        """Is ``pos`` followed by another name token, ", Name", a credential, or (``allow_end``) line end?"""
        comma = _RX_COMMA.match(text, pos)
        gap = comma or _RX_GAP.match(text, pos)
        if gap is not None:
            nxt = _RX_TOKEN.match(text, gap.end()) or (_RX_INITIAL.match(text, gap.end()) if comma is None else None)
            if nxt is not None and nxt.group().lower() not in self._never:
                return True
            if nxt is not None and re.match(rf"(?:{_CREDENTIALS})(?![A-Za-z])", nxt.group()):
                return True
        return allow_end and _RX_LINE_END.match(text, pos) is not None

    def _extend(self, text: str, end: int, first_tok_end: int, allow_unknown: bool) -> int:
        """Extend a name from ``end`` over initials, particles, census tokens and a Jr/Sr suffix."""
        prev_initial = False
        count = 1
        while count < 5:
            gap = _RX_GAP.match(text, end)
            if gap is None:
                break
            pos = gap.end()
            ini = _RX_INITIAL.match(text, pos)
            if ini and not _RX_TOKEN.match(text, pos):
                end, prev_initial, count = ini.end(), True, count + 1
                continue
            part = _RX_PARTICLE.match(text, end)
            if part:
                tok = _RX_TOKEN.match(text, part.end())
                if tok:
                    end, prev_initial, count = tok.end(), False, count + 1
                    continue
            tok = _RX_TOKEN.match(text, pos)
            if tok is None:
                break
            word = tok.group()
            low = word.lower()
            unknown_ok = allow_unknown and low not in self._never and low not in AMBIGUOUS_WORDS and not self._is_census(word)
            if self._name_position_ok(word) or ((prev_initial or unknown_ok) and low not in self._never):
                if _RX_EPONYM_NEXT.match(text, tok.end()):
                    break
                end, prev_initial, count = tok.end(), False, count + 1
                continue
            break
        suf = _RX_SUFFIX.match(text, end)
        return suf.end() if suf else end

    def _anchored(self, text: str, pos: int, strict: bool) -> tuple[int, int] | None:
        """A name starting at ``pos`` after an anchor; ``strict`` (labels) refuses clinical/stop words."""
        start = pos
        ini = _RX_INITIAL.match(text, pos)
        if ini and not _RX_TOKEN.match(text, pos):  # "Dr. J. Smith"
            gap = _RX_GAP.match(text, ini.end())
            nxt = _RX_TOKEN.match(text, gap.end()) if gap else None
            if nxt is None:
                return (start, ini.end()) if not strict else None
            pos = gap.end()
        tok = _RX_TOKEN.match(text, pos)
        if tok is None:
            return None
        word = tok.group()
        low = word.lower()
        if strict:
            if low in self._never:
                return None
            if low in AMBIGUOUS_WORDS or not self._is_census(word):
                # "Pt: Will return", "Mother: Breast cancer" are not names; "Pt: Will Smith", "Patient:
                # Kowalczyk, Jadwiga" and a lone unknown word ending the line are.
                if not self._name_follows(text, tok.end(), allow_end=low not in AMBIGUOUS_WORDS):
                    return None
        end = tok.end()
        # "Last, First [M.]" directly after the anchor
        comma = _RX_COMMA.match(text, end)
        if comma:
            nxt = _RX_TOKEN.match(text, comma.end())
            if nxt and nxt.group().lower() not in self._never and (nxt.group().lower() in self._first or strict):
                if not _RX_EPONYM_NEXT.match(text, nxt.end()):
                    return start, self._extend(text, nxt.end(), nxt.end(), allow_unknown=False)
        return start, self._extend(text, end, end, allow_unknown=strict)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        meta = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        spans: list[tuple[int, int, float]] = []

        for m in _RX_HONORIFIC.finditer(text):
            if (span := self._anchored(text, m.end(), strict=False)) is not None:
                spans.append((*span, 0.85))
        for rx, score in ((_RX_LABEL, 0.8), (_RX_RELATION, 0.8)):
            for m in rx.finditer(text):
                if (span := self._anchored(text, m.end(), strict=True)) is not None:
                    spans.append((*span, score))
        for m in _RX_CREDENTIAL_NAME.finditer(text):
            spans.extend(self._credential_name(text, m))
        for m in _RX_LAST_FIRST_CAPS.finditer(text):
            last, first = m.group("phi").split(",", 1)
            first = first.split()[0] if first.split() else first
            if (self._is_census(last) or first.lower() in self._first) and not (
                last.lower() in self._never or first.lower() in self._never
            ):
                spans.append((m.start("phi"), m.end("phi"), 0.7))
        spans.extend(self._dictionary(text))
        return [RecognizerResult("NAME", s, e, score, recognition_metadata=dict(meta)) for s, e, score in spans if e > s]

    def _credential_name(self, text: str, m: re.Match[str]) -> list[tuple[int, int, float]]:
        """The capitalized run before ", MD": drop leading non-name words ("Cardiology Fellow John Smith")."""
        start, end = m.span("phi")
        toks = list(_RX_TOKEN.finditer(text, start, end))
        while toks and toks[0].group().lower() in self._not_first and len(toks) > 1:
            toks.pop(0)
        if not toks or toks[0].group().lower() in self._never:
            return []
        s = toks[0].start()
        # an initial just before the first kept token belongs to the name ("J. Smith, MD")
        if (ini := re.search(rf"{_INITIAL}[ \t]+$", text[max(start, s - 4) : s])) is not None:
            s = max(start, s - 4) + ini.start()
        return [(s, end, 0.75)]

    def _dictionary(self, text: str) -> list[tuple[int, int, float]]:
        """Census lookups: ``First [M.] Last``, ``Last, First`` and lone first names."""
        out: list[tuple[int, int, float]] = []
        first, last, never = self._first, self._last, self._never
        for tok in _RX_TOKEN.finditer(text):
            word = tok.group()
            low = word.lower()
            if low in never or (low not in first and low not in last):
                continue
            if _RX_EPONYM_NEXT.match(text, tok.end()):
                continue
            caps = word.isupper()
            end = tok.end()
            gap = _RX_GAP.match(text, end)
            pos = gap.end() if gap else None
            if pos is not None:
                ini = _RX_INITIAL.match(text, pos)
                if ini and not _RX_TOKEN.match(text, pos):
                    g2 = _RX_GAP.match(text, ini.end())
                    pos = g2.end() if g2 else None
            nxt = _RX_TOKEN.match(text, pos) if pos is not None else None
            if low in first and nxt is not None and nxt.group().isupper() == caps:
                nlow = nxt.group().lower()
                if nlow not in never and not _RX_EPONYM_NEXT.match(text, nxt.end()):
                    if nlow in last and (low not in AMBIGUOUS_WORDS or nlow not in AMBIGUOUS_WORDS):
                        out.append((tok.start(), self._extend(text, nxt.end(), nxt.end(), allow_unknown=False), 0.65))
                        continue
                    if (
                        not caps
                        and low not in AMBIGUOUS_WORDS
                        and nlow not in AMBIGUOUS_WORDS
                        and nlow not in first
                        and nlow not in last
                    ):
                        out.append((tok.start(), nxt.end(), 0.5))
                        continue
            comma = _RX_COMMA.match(text, end)
            if low in last and comma is not None and low not in AMBIGUOUS_WORDS:
                nxt = _RX_TOKEN.match(text, comma.end())
                if nxt and nxt.group().lower() in first and nxt.group().lower() not in never:
                    if nxt.group().isupper() == caps:
                        out.append((tok.start(), self._extend(text, nxt.end(), nxt.end(), allow_unknown=False), 0.65))
                        continue
            if not caps and low in first and low not in AMBIGUOUS_WORDS:
                out.append((tok.start(), tok.end(), 0.4))
        return out


def all_recognizers() -> list[EntityRecognizer]:
    """One recognizer (or rule set) per safe-harbor category, in ``phi_tags`` order."""
    factories: dict[str, Callable[[], EntityRecognizer]] = {
        "NAME": NameRecognizer,
        "LOCATION": location_recognizer,
        "DATE": date_recognizer,
        "AGE": age_recognizer,
        "PHONE": phone_recognizer,
        "FAX": fax_recognizer,
        "EMAIL": email_recognizer,
        "SSN": ssn_recognizer,
        "MRN": mrn_recognizer,
        "HEALTHPLAN": healthplan_recognizer,
        "ACCOUNT": account_recognizer,
        "LICENSE": license_recognizer,
        "VEHICLE": vehicle_recognizer,
        "DEVICE": device_recognizer,
        "URL": url_recognizer,
        "IP": ip_recognizer,
        "BIOMETRIC": biometric_recognizer,
        "PHOTO": photo_recognizer,
        "ID": id_recognizer,
    }
    assert list(factories) == list(TAGS), "a recognizer per phi_tags category, same order"
    return [make() for make in factories.values()]
