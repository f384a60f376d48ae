"""Template data for the synthetic note generator (``pipeline/synth.py``): wording, layouts, format mixes.

Kept apart from the generator so the *what* (clinical wording, section orders, how often each surface form
of a name/date/phone appears) can be read and edited without touching the *how* (offset bookkeeping,
duplicates, dirt).

Template strings use ``{slot}`` or ``{slot:arg}`` placeholders that ``synth.py`` fills; slots that produce
PHI record a labelled span, every other character is non-PHI. Sentences deliberately carry de-id traps
that are *not* PHI: eponyms (Parkinson disease, Foley catheter, Babinski), brand drugs (Lasix, Coumadin),
abbreviations that look like places or names (MD, PO, ST, RA, Cr, EtOH), place-named diseases (Lyme,
West Nile), ratios that look like dates (strength 5/5, murmur 3/6, Norco 5/325) and ages 89 or under.

Two profiles share most wording: ``dev`` (recognizers are developed against it) and ``heldout`` (other
header names, section orders, sentences and a different mix of surface forms, some of which ``dev`` never
shows), so a de-id evaluation on ``heldout`` is not circular.
"""

from __future__ import annotations

from typing import NamedTuple


class Sec(NamedTuple):
    """One section of a note: how its body is built and from which pool of templates.

    kind: "title" (header line only), "kv" (every template of the pool, one per line, in order),
    "para" (lo..hi sentences joined into a paragraph), "list" (lo..hi items, numbered or dashed),
    "lines" (lo..hi templates, one per line). ``pool`` may contain ``{mod}``/``{spec}``, the note's
    radiology modality / pathology specimen. ``inline`` puts a one-sentence body on the header line;
    ``p`` is the chance the section appears; ``lead`` names a pool whose one pick always opens a "para";
    ``repeat`` lets a pool of generated items ("{drug}") be drawn more often than it has entries.
    """

    kind: str
    pool: str = ""
    lo: int = 1
    hi: int = 1
    inline: bool = False
    p: float = 1.0
    lead: str = ""
    repeat: bool = False


NOTE_TYPES: dict[str, float] = {
    "progress_note": 0.30,
    "nursing_note": 0.22,
    "discharge_summary": 0.18,
    "radiology_report": 0.18,
    "pathology_report": 0.12,
}

# --------------------------------------------------------------------------------------------------------
# Sections (shared by both profiles; the profile decides header wording and order)
# --------------------------------------------------------------------------------------------------------
SECTIONS: dict[str, Sec] = {
    # discharge summary
    "dc_title": Sec("title"),
    "dc_hdr": Sec("kv", "dc_hdr"),
    "cc": Sec("para", "cc", inline=True),
    "hpi": Sec("para", "hpi", 3, 5, lead="hpi_lead"),
    "pmh": Sec("list", "pmh_item", 3, 6, repeat=True),
    "psh": Sec("list", "psh_item", 1, 3, p=0.6),
    "meds": Sec("list", "drug_item", 3, 6, repeat=True),
    "allergies": Sec("para", "allergy", inline=True),
    "social": Sec("para", "social", 2, 4),
    "family": Sec("para", "family", 1, 2, p=0.7),
    "exam": Sec("lines", "exam", 3, 5),
    "labs": Sec("para", "labs", 1, 2),
    "course": Sec("para", "course", 3, 5),
    "dc_meds": Sec("list", "drug_item", 3, 5, repeat=True),
    "dc_dx": Sec("list", "dx_item", 1, 3, repeat=True),
    "instructions": Sec("para", "instructions", 1, 3),
    "followup": Sec("para", "followup", 1, 2),
    "admin": Sec("para", "admin", 1, 2),
    "dc_footer": Sec("kv", "dc_footer"),
    # progress note
    "pn_title": Sec("title"),
    "pn_hdr": Sec("kv", "pn_hdr"),
    "pn_summary": Sec("para", "pn_summary", 1, 2, lead="pn_summary_lead"),
    "subjective": Sec("para", "subjective", 4, 6),
    "pn_meds": Sec("list", "drug_item", 3, 6, repeat=True),
    "objective": Sec("lines", "objective", 4, 7),
    "pn_labs": Sec("para", "labs", 1, 2),
    "ap": Sec("list", "ap_item", 3, 5),
    "pn_admin": Sec("para", "admin", 1, 2),
    "pn_footer": Sec("kv", "pn_footer"),
    # nursing note
    "rn_title": Sec("title"),
    "rn_hdr": Sec("kv", "rn_hdr"),
    "rn_summary": Sec("para", "rn_summary", 1, 2, lead="rn_summary_lead"),
    "rn_neuro": Sec("para", "rn_neuro", 1, 2, inline=True),
    "rn_cv": Sec("para", "rn_cv", 1, 2, inline=True),
    "rn_resp": Sec("para", "rn_resp", 1, 2, inline=True),
    "rn_gi": Sec("para", "rn_gi", 1, 2, inline=True),
    "rn_skin": Sec("para", "rn_skin", 1, 2, inline=True),
    "rn_pain": Sec("para", "rn_pain", 1, 2, inline=True),
    "rn_safety": Sec("para", "rn_safety", 1, 2, inline=True),
    "rn_meds": Sec("list", "rn_med", 2, 4, repeat=True),
    "rn_admin": Sec("para", "admin", 1, 2, p=0.7),
    "rn_psych": Sec("para", "rn_psych", 2, 4),
    "rn_events": Sec("list", "rn_event", 2, 4),
    "rn_plan": Sec("para", "rn_plan", 1, 2),
    "rn_footer": Sec("kv", "rn_footer"),
    # radiology report
    "rad_title": Sec("title"),
    "rad_hdr": Sec("kv", "rad_hdr"),
    "indication": Sec("para", "indication", inline=True),
    "comparison": Sec("para", "comparison", inline=True),
    "technique": Sec("para", "technique_{mod}", 2, 3),
    "findings": Sec("lines", "findings_{mod}", 6, 9),
    "impression": Sec("list", "impression_{mod}", 2, 3),
    "rad_recommend": Sec("para", "rad_recommend", 1, 2),
    "rad_admin": Sec("para", "rad_admin", 2, 3),
    "rad_footer": Sec("kv", "rad_footer"),
    # pathology report
    "path_title": Sec("title"),
    "path_hdr": Sec("kv", "path_hdr"),
    "specimen": Sec("para", "specimen_{spec}", inline=True),
    "path_history": Sec("para", "path_history", 2, 3, lead="path_history_lead"),
    "intraop": Sec("para", "intraop", 1, 2, p=0.5),
    "gross": Sec("para", "gross_{spec}", 3, 4),
    "micro": Sec("para", "micro_{spec}", 3, 4),
    "diagnosis": Sec("list", "diagnosis_{spec}", 1, 2),
    "path_comment": Sec("para", "path_comment", 1, 2),
    "path_admin": Sec("para", "path_admin", 2, 3),
    "path_footer": Sec("kv", "path_footer"),
}

# --------------------------------------------------------------------------------------------------------
# Template pools. POOLS are shared; DEV_POOLS / HELDOUT_POOLS are added to them for one profile only.
# --------------------------------------------------------------------------------------------------------
POOLS: dict[str, list[str]] = {
    # ---- header / footer blocks ("kv": every line, in order; "a||b" picks one alternative, "" skips) ----
    "dc_hdr": [
        "{hosp}",
        "PATIENT NAME: {pt_hdr}          MRN: {mrn}",
        "DATE OF BIRTH: {date:dob}||DOB: {date:dob}          AGE: {age_num}",
        "ACCOUNT #: {acct}||Acct: {acct}     Insurance: {hp}||",
        "ADMISSION DATE: {date:adm}          DISCHARGE DATE: {date:dis}",
        "ATTENDING: {dr_hdr}||ATTENDING PHYSICIAN: {dr_hdr}",
    ],
    "dc_footer": [
        "Dictated by: {dr_hdr}||Electronically signed by {dr} on {date:dis} at {time}",
        "D: {date:dis} {time}   T: {date:note} {time}   Job #: {id}||",
        "cc: {pcp} (fax {fax})||cc: {pcp}, {hosp}, fax {fax}||",
    ],
    "pn_hdr": [
        "Date of service: {date:note}||DOS: {date:note} {time}",
        "Patient: {pt_hdr}   MRN: {mrn}||{pt_hdr}  (MRN {mrn})",
        "Location: {hosp}, Rm {int:200_899}||",
    ],
    "pn_footer": [
        "{dr_plain}, MD||{dr_hdr}||Signed: {dr} {date:note} {time}",
        "Pager {phone}||Contact: {phone}||",
    ],
    "rn_hdr": [
        "{date:note} 0700-1900||Shift: {date:note} 19:00-07:00||{date:note}",
        "Pt: {pt_hdr}   MRN {mrn}   Rm {int:200_899}||Patient: {pt_hdr}   MRN: {mrn}",
    ],
    "rn_footer": [
        "{rn}, RN||{rn} RN, ext {int:1000_7999}||Signed: {rn}, RN {time}",
    ],
    "rad_hdr": [
        "{hosp} - DEPARTMENT OF RADIOLOGY||{hosp}",
        "PATIENT: {pt_hdr}   MRN: {mrn}   DOB: {date:dob}",
        "EXAM: {exam}",
        "DATE OF SERVICE: {date:note}   ACCESSION #: {acc}",
        "ORDERING PHYSICIAN: {dr_hdr}||REFERRING: {dr_hdr}",
    ],
    "rad_footer": [
        "Electronically signed by: {dr_hdr} on {date:note} {time}||Dictated by {dr_plain}, MD. Signed {date:note}.",
        "Images archived on PACS node {ip}.||Report faxed to {fax}.||",
    ],
    "path_hdr": [
        "{hosp}||{hosp} - Anatomic Pathology",
        "CASE #: {case}||CASE #: {case}          ACCESSION: {acc}",
        "PATIENT: {pt_hdr}   MRN: {mrn}",
        "DOB: {date:dob}   AGE: {age_num}||DOB: {date:dob}",
        "COLLECTED: {date:proc}   RECEIVED: {date:note}",
        "SUBMITTING PHYSICIAN: {dr_hdr}",
    ],
    "path_footer": [
        "Pathologist: {dr_plain}, MD||Electronically signed out by {dr_hdr} on {date:note}",
    ],
    # ---- discharge summary prose ----
    "cc": [
        "{Sym}.",
        "{Sym} x {int:2_7} days.",
        "Shortness of breath and leg swelling.",
        "Fall at home.",
        "Chest pain, r/o ACS.",
    ],
    "hpi_lead": [
        "{pt} is {a_age} {sex} with a history of {pmh}, {pmh} and {pmh} who presents with {sym}.",
        "{pt}, {age_n}, was brought in by {his} {rel} with {sym}.",
        "{pt} is {a_age} {sex} with {pmh} and {pmh}, admitted with {sym}.",
    ],
    "hpi": [
        "{He} was in {his} usual state of health until {date:past}, when {he} developed {sym}.",
        "{He} was seen by {his} PCP, {pcp}, {on:past} and was started on {drug_name}.",
        "Per {his} {rel}, {fam}, the patient has been more confused over the past week.",
        "{He} denies chest pain, fever or chills, but reports {sym} and decreased p.o. intake.",
        "In the ED, vitals were {vitals}.",
        "Labs were notable for {lab1} and {lab1}.",
        "{He} was given Lasix 40 mg IV x1 with good urine output.",
        "EMS was called by a neighbor and {he} was brought to {hosp}.",
        "Of note, {he} was discharged from {hosp} {on:past} after a CHF exacerbation.",
        "{He} has Parkinson disease and walks with a walker at baseline.",
        "Pt. reports approx. 10 lb weight loss since {date:past}.",
        "ROS otherwise negative except as above.",
        "{He} was transferred from {hosp} for further management.",
        "EKG showed sinus rhythm with no acute ST changes.",
        "{He} takes Coumadin for afib and {his} INR on arrival was {inr}.",
    ],
    "pmh_item": [
        "{pmh}",
        "{pmh}",
        "{pmh}, diagnosed {on:hist}",
        "{pmh} (followed by {dr2})",
    ],
    "psh_item": [
        "Appendectomy {on:hist}",
        "CABG x3 {on:hist}",
        "Cholecystectomy",
        "Right TKA {on:hist}",
        "D&C {on:hist}",
        "Whipple procedure at {hosp} {on:hist}",
        "Nissen fundoplication",
    ],
    "drug_item": ["{drug}"],
    "allergy": [
        "NKDA.",
        "Penicillin (rash).",
        "Sulfa drugs - hives.",
        "Codeine (nausea), lisinopril (cough).",
        "No known drug allergies.",
    ],
    "social": [
        "Lives alone at {addr}.",
        "Lives with {his} {rel} {fam} in {city}.",
        "Retired {job}. Former smoker, quit {on:hist}. Occasional EtOH, no illicit drugs.",
        "{He} can be reached at {pt_phone} or by e-mail at {email}.",
        "Emergency contact: {rel} {fam}, {phone}.",
        "Tobacco: {int:10_60} pack-years. EtOH: {int:1_4} beers per week.",
        "Independent in ADLs; uses a cane outdoors.",
        "Moved here from {city} {on:hist}; worked as a {job}.",
    ],
    "family": [
        "Mother died at age {fam_age} of a stroke; father had MI at {int:45_70}.",
        "Brother with Hodgkin lymphoma. No family history of colon cancer.",
        "{His} mother is alive at {fam_age} and lives in {city}.",
        "Noncontributory.",
        "Father with Alzheimer dementia, died at {fam_age}.",
    ],
    "exam": [
        "VITALS: {vitals}",
        "GENERAL: Elderly {sex} in NAD, A&O x3.",
        "HEENT: PERRLA, EOMI, MMM.",
        "NECK: JVP to {int:7_12} cm, no bruits.",
        "CV: RRR, {int:2_3}/6 systolic murmur at RUSB.",
        "LUNGS: Bibasilar crackles, no wheezes.",
        "ABD: Soft, NT/ND, +BS. Murphy sign negative.",
        "EXT: {int:1_3}+ pitting edema to the knees bilaterally.",
        "NEURO: CN II-XII intact, strength 5/5 throughout, Babinski downgoing.",
        "SKIN: Stage 2 sacral decubitus, approx. 2 x 3 cm.",
    ],
    "labs": [
        "{labs}",
        "Admission labs: {labs}",
        "BNP {int:400_3000}, troponin <0.01 x2.",
        "UA with >50 WBC, nitrite positive; culture grew E. coli.",
        "TSH {int:1_4}.{int:0_9}, A1c {int:6_9}.{int:0_9}%.",
    ],
    "course": [
        "{pt_ref} was admitted to telemetry and diuresed with IV Lasix with improvement in {his} symptoms.",
        "Cardiology ({dr2}) was consulted and recommended uptitrating metoprolol.",
        "A Foley catheter was placed for strict I&Os and removed on hospital day {int:2_4}.",
        "{His} Cr peaked at {cr} and trended down to {cr} by discharge.",
        "Echo {on:adm} showed EF {int:25_45}% with moderate MR.",
        "PT/OT evaluated the patient and recommended discharge to {facility}.",
        "{He} was started on Zosyn for presumed aspiration pneumonia and narrowed to Keflex {on:past}.",
        "Code status was discussed with the patient and {his} {rel}, {fam}; {he} remains full code.",
        "On the day of discharge {he} was ambulating with a walker and tolerating a regular diet.",
        "Blood cultures from {date:adm} remained negative at 48 hours.",
        "Atorvastatin was held for elevated LFTs and resumed at discharge.",
        "{His} home Sinemet was continued for Parkinson disease without interruption.",
    ],
    "dx_item": [
        "{dx}",
        "{dx}",
        "{dx}, resolved",
    ],
    "instructions": [
        "Weigh yourself every morning and call {phone} if you gain more than 3 lb in a day.",
        "Low sodium diet, 2 g per day. Fluid restriction 1.5 L.",
        "Resume home medications except as noted above.",
        "Return to the ED for chest pain, shortness of breath or fever > 101.",
        "Activity as tolerated with walker; no driving while on Norco 5/325.",
    ],
    "followup": [
        "Follow up with {pcp} in 1-2 weeks; appointment {on:fu}.",
        "Cardiology clinic with {dr2} {on:fu}, {hosp}. Clinic phone {phone}.",
        "Labs (BMP) in 1 week, results to be faxed to {fax}.",
        "Home health ({facility}) to see {him} within 48 hours.",
    ],
    # ---- PHI of rare categories, scattered through every note type ----
    "admin": [
        "Identity verified with two identifiers and palm-vein scan (biometric ID {bio}).",
        "Wound photographs were taken and uploaded to the chart as {photo}.",
        "Face photo for the wristband obtained and stored as {photo}.",
        "Home telemonitoring hub last reported from IP address {ip}.",
        "Telehealth portion of the visit: patient connected from {ip}.",
        "Driver's license {lic} used to confirm identity at registration.",
        "{His} car (VIN {vin}) was towed from the ambulance bay; security notified.",
        "{He} drove {himself} to the ED in a {car}, plate {plate}.",
        "Insulin pump serial no. {dev} interrogated; basal settings unchanged.",
        "Pacemaker (Medtronic, serial #{dev}) interrogated by the device clinic.",
        "Insurance: Medicare, beneficiary ID {hp}.",
        "SSN {ssn} verified with the patient for the disability paperwork.",
        "Enrolled in research protocol, study ID {id}.",
        "Patient portal account {user}; results released to {url}.",
        "Educational handout sent to {email}; video at {url}.",
        "Fingerprint template {bio} on file for the controlled-substance agreement.",
        "Account {acct} flagged for financial counseling.",
        "Medical license of the consulting physician: {lic}.",
    ],
    # ---- progress note ----
    "pn_summary_lead": [
        "{pt} is {a_age} {sex} with {pmh} and {pmh} admitted {on:adm} with {dx}.",
        "{pt_ref} is {a_age} {sex} with {pmh}, hospital day {int:2_9} for {dx}.",
    ],
    "pn_summary": [
        "Course complicated by AKI, now improving.",
        "Cardiology and PT following.",
        "Transferred from the MICU {on:past}.",
        "Foley catheter removed yesterday; voiding.",
        "Remains on telemetry for afib with RVR.",
    ],
    "subjective": [
        "{pt_ref} reports feeling \"a little better\" today; slept well overnight.",
        "No overnight events. Tolerating p.o. without nausea.",
        "Still with {sym}, improved from {date:adm}.",
        "Denies CP, SOB, fevers. +BM yesterday.",
        "{His} {rel} {fam} is at bedside and asks about discharge.",
        "Pain 4/10, controlled with Tylenol 650 mg p.o. q.6h p.r.n.",
        "Nursing reports one episode of confusion overnight, redirectable.",
        "Walked the hallway x2 with PT.",
        "Patient’s appetite is improving.",
        "Reports mild dyspnea with ambulation, better than on admission.",
        "Asked about going home to {city}; {his} {rel} will drive.",
        "EtOH withdrawal scores (CIWA) 0-2 overnight.",
        "Denies dysuria; tolerating Keflex without diarrhea.",
    ],
    "objective": [
        "Vitals: {vitals}",
        "I/O: {int:900_2400}/{int:1200_3100} mL; wt {int:55_110}.{int:0_9} kg.",
        "Gen: A&O x3, NAD.",
        "CV: RRR, no m/r/g.",
        "Lungs: CTAB, no crackles; on RA.",
        "Abd: soft, NT, ND.",
        "Ext: trace LE edema, Foley in place.",
        "Neuro: resting tremor R>L consistent with Parkinson disease; Babinski negative.",
        "Labs: {labs}",
        "Micro: blood cultures {date:past} NGTD.",
        "HEENT: MMM, no JVD.",
        "Skin: no rash; PIV site clean.",
        "Psych: calm, appropriate.",
        "Tele: sinus rhythm 70s, occasional PVCs.",
        "Imaging: CXR {date:past} with small effusions, unchanged.",
    ],
    "ap_item": [
        "{dx}: improving. Continue {drug_name}; recheck BMP in AM.",
        "{dx}: Cr {cr} today. Hold lisinopril, gentle IVF.",
        "{dx}: continue metoprolol 25 mg b.i.d., tele.",
        "{dx}: PT/OT, fall precautions, discharge to {facility} when bed available.",
        "{dx}: on Coumadin, INR {inr}; pharmacy to dose.",
        "Dispo: likely home {on:fu} with home health; {rel} {fam} ({phone}) aware.",
        "FEN/GI: cardiac diet, PPI. PPx: heparin subq. Code: full.",
        "{dx}: s/p {int:2_5} days of Zosyn, transition to p.o. Keflex.",
        "Parkinson disease: continue Sinemet 25/100 t.i.d.; PT for gait.",
        "HTN: BP 130s-150s, resume amlodipine 5 mg daily.",
        "DM2: A1c {int:6_9}.{int:0_9}%; glargine + sliding scale, diabetic diet.",
        "Goals of care: discussed with {rel} {fam}; DNR/DNI confirmed {on:note}.",
    ],
    # ---- nursing note ----
    "rn_summary_lead": [
        "{pt_ref} is {a_age} {sex} admitted {on:adm} with {dx}.",
        "Received pt at {time} from {rn}, RN; report given at bedside.",
    ],
    "rn_summary": [
        "Hx {pmh}, {pmh}.",
        "Full code. Fall risk. NPO after midnight for procedure.",
        "Isolation: contact precautions for MRSA.",
        "Diet: cardiac, 1.5 L fluid restriction.",
    ],
    "rn_pain": [
        "Pain {int:0_8}/10 {side} hip, Tylenol 650 mg p.o. given with relief.",
        "Denies pain. Repositioned q.2h.",
        "Norco 5/325 x1 at {time} for incisional pain, reassessed 4/10.",
    ],
    "rn_safety": [
        "Bed in low position, bed alarm on, non-skid socks.",
        "Morse fall score {int:45_95}; 1:1 sitter not needed.",
        "Call light within reach; pt uses it appropriately.",
    ],
    "rn_med": [
        "{time} {drug} given",
        "{time} {drug} held for SBP < 100",
        "{time} {drug}",
    ],
    "rn_neuro": [
        "A&O x{int:2_4}, follows commands, PERRL.",
        "Intermittently confused overnight, reoriented easily.",
        "Moves all extremities; resting tremor noted (hx Parkinson disease).",
        "GCS 15. Speech clear. Babinski not tested.",
    ],
    "rn_cv": [
        "{vitals}.",
        "NSR 70s-80s on tele. Pedal pulses 2+.",
        "BP < 100 systolic x1, MD notified, 250 mL NS bolus given.",
        "HR 90s-110s, afib on monitor; metoprolol given per MAR.",
        "+2 pitting edema BLE, TEDs on.",
    ],
    "rn_resp": [
        "Lungs diminished at bases. SpO2 {int:92_99}% on {int:2_4} L NC.",
        "On RA, no distress. IS x10 q.h.",
        "Productive cough, sputum sent.",
        "Lung sounds coarse bilaterally; RT gave albuterol neb at {time}.",
    ],
    "rn_gi": [
        "Foley draining clear yellow urine, {int:300_900} mL this shift.",
        "Tolerating cardiac diet. +BS x4. Last BM {on:past}.",
        "Voiding QS; strict I&Os.",
        "Abd soft, nontender. Tolerating 75% of meals.",
    ],
    "rn_skin": [
        "Sacral stage 2 unchanged, dressing changed; photo uploaded as {photo}.",
        "Skin intact; turned q.2h.",
        "PIV L forearm, site c/d/i.",
    ],
    "rn_psych": [
        "{His} {rel} {fam} visited this evening and was updated on the plan of care.",
        "{Rel} can be reached at {phone}.",
        "Pt asked that information be shared only with {fam}.",
        "Chaplain visit requested.",
        "{pt_ref} tearful about discharge to {facility}; emotional support given.",
        "{He} gave {his} {rel} {fam} ({phone}) as backup contact.",
    ],
    "rn_event": [
        "{time} Lasix 40 mg IV given per Dr. order.",
        "{time} Bed alarm on, call light within reach.",
        "{time} Dr. {dr_last} notified of HR {int:110_130}; metoprolol 5 mg IV given.",
        "{time} Blood glucose {int:90_320}; insulin per sliding scale.",
        "{time} Fall risk reassessed (Morse {int:45_95}).",
    ],
    "rn_plan": [
        "Continue to monitor. Hand-off given to oncoming RN.",
        "Possible discharge to {facility} {on:fu}; case management following.",
        "Daily weights, strict I&Os, fall precautions.",
        "Reinforce incentive spirometer teaching; ambulate TID with PT.",
        "Monitor K after repletion; recheck BMP with AM labs.",
    ],
    # ---- radiology ----
    "indication": [
        "{sym}.",
        "{Age} {sex} with {sym}, r/o {dx}.",
        "Fall; evaluate for fracture.",
        "Follow-up of prior finding.",
    ],
    "comparison": [
        "None.",
        "{date:past}.",
        "Prior study from {hosp} dated {date:past}.",
        "CT {date:past} and radiographs {on:hist}.",
    ],
    "technique_cxr": [
        "PA and lateral views of the chest were obtained.",
        "Single portable AP view at {time}.",
        "Patient semi-upright; rotation limits evaluation.",
    ],
    "technique_cth": [
        "Axial images of the head were obtained without IV contrast. Dose reduction technique used.",
        "Noncontrast CT head with coronal and sagittal reformats.",
        "CTDIvol {int:40_60}.{int:0_9} mGy; DLP {int:700_1100} mGy-cm.",
    ],
    "technique_ctap": [
        "Axial images from the lung bases to the pubic symphysis after 100 mL Omnipaque 350 IV.",
        "Oral contrast was administered. Power injector serial {dev}.",
        "CTDIvol {int:8_20}.{int:0_9} mGy; DLP {int:400_900} mGy-cm.",
    ],
    "technique_mrls": [
        "Sagittal T1, T2, STIR and axial T1/T2 images of the lumbar spine.",
        "MR-conditional device checked: spinal cord stimulator serial {dev}.",
        "1.5 T magnet. No gadolinium given (eGFR {int:25_55}).",
    ],
    "technique_usruq": [
        "Grayscale and color Doppler images of the right upper quadrant.",
        "Patient was NPO for 6 hours. Portable exam at bedside.",
    ],
    "findings_cxr": [
        "SOFT TISSUES: Unremarkable.",
        "MEDIASTINUM: Aortic knob calcification. Trachea midline.",
        "Interval increase in the left effusion since the prior study.",
        "No focal consolidation in the right upper lobe.",
        "LUNGS: Bibasilar opacities, left greater than right.",
        "PLEURA: Small bilateral effusions. No pneumothorax.",
        "HEART: Mildly enlarged cardiac silhouette.",
        "BONES: Degenerative changes of the thoracic spine.",
        "LINES/TUBES: Right IJ catheter tip in the SVC.",
        "Sternotomy wires intact.",
    ],
    "findings_cth": [
        "Gray-white matter differentiation is preserved.",
        "No extra-axial fluid collection.",
        "Calvarium is intact. No depressed skull fracture.",
        "Atherosclerotic calcification of the cavernous carotid arteries.",
        "No acute intracranial hemorrhage, mass effect or midline shift.",
        "Chronic small vessel ischemic changes.",
        "Old lacunar infarct in the left basal ganglia.",
        "Ventricles are proportionate to sulci.",
        "Mastoid air cells and paranasal sinuses are clear.",
    ],
    "findings_ctap": [
        "LUNG BASES: Dependent atelectasis. No effusion.",
        "PANCREAS: Atrophic, no ductal dilatation.",
        "SPLEEN: Normal in size.",
        "ADRENALS: Left adrenal nodule 1.1 cm, likely adenoma.",
        "BLADDER: Foley catheter in place; bladder decompressed.",
        "LIVER: Normal size. No focal lesion.",
        "GALLBLADDER: Cholelithiasis without wall thickening.",
        "KIDNEYS: Simple left renal cyst measuring {int:1_4}.{int:0_9} cm.",
        "BOWEL: Sigmoid diverticulosis without diverticulitis.",
        "LYMPH NODES: No adenopathy.",
        "BONES: No aggressive osseous lesion.",
        "APPENDIX: Normal.",
    ],
    "findings_mrls": [
        "Alignment: Grade 1 anterolisthesis of L4 on L5.",
        "L3-L4: Mild disc bulge, no significant stenosis.",
        "L2-L3: Normal.",
        "Paraspinal soft tissues are unremarkable.",
        "Postoperative changes of right L5 hemilaminectomy.",
        "L4-L5: Broad-based disc bulge with moderate central canal stenosis.",
        "L5-S1: Mild facet arthropathy, no foraminal narrowing.",
        "Conus terminates at L1.",
        "No marrow edema or fracture.",
        "Schmorl nodes at T12 and L1.",
    ],
    "findings_usruq": [
        "LIVER: Measures {int:14_19} cm. No focal lesion.",
        "Gallbladder wall measures 2 mm. No pericholecystic fluid.",
        "PANCREAS: Head and body visualized, unremarkable.",
        "RIGHT KIDNEY: {int:9_12} cm, no hydronephrosis.",
        "Main portal vein is patent with hepatopetal flow.",
        "Gallbladder contains multiple shadowing stones.",
        "Sonographic Murphy sign is negative.",
        "Common bile duct measures {int:3_8} mm.",
        "Liver is echogenic, consistent with steatosis.",
    ],
    "impression_cxr": [
        "Mild CHF.", "Bibasilar atelectasis vs pneumonia.", "No acute cardiopulmonary process.",
        "Small bilateral pleural effusions, increased since {date:past}.",
    ],
    "impression_cth": [
        "No acute intracranial abnormality.", "Chronic microvascular changes.",
        "If symptoms persist, MRI brain is more sensitive for acute infarct.",
    ],
    "impression_ctap": [
        "No acute abdominal or pelvic process.",
        "Cholelithiasis.",
        "Sigmoid diverticulosis.",
    ],
    "impression_mrls": [
        "Multilevel degenerative changes, worst at L4-L5.", "No cord compression.",
        "Moderate central canal stenosis at L4-L5, progressed from {date:hist}.",
    ],
    "impression_usruq": [
        "Cholelithiasis without sonographic evidence of cholecystitis.", "Hepatic steatosis.",
        "No biliary ductal dilatation.",
    ],
    "rad_recommend": [
        "Recommend follow-up CT in 3-6 months per Fleischner criteria.",
        "Clinical correlation for Murphy sign recommended.",
        "No further imaging needed.",
        "Consider MRI if symptoms persist.",
        "Recommend comparison with outside studies from {hosp} if available.",
    ],
    "rad_admin": [
        "Findings discussed with {dr} by telephone at {time} {on:note}.",
        "Critical result called to {rn}, RN, at {phone}.",
        "Study performed on scanner serial {dev}.",
        "Prelim read by {dr2}; final read concurs.",
        "Outside images uploaded from {url}.",
        "Images sent to PACS workstation {ip}.",
    ],
    # ---- pathology ----
    "specimen_gb": ["Gallbladder, laparoscopic cholecystectomy."],
    "specimen_colon": ["Colon, sigmoid, polypectomy."],
    "specimen_skin": ["Skin, left forearm, shave biopsy."],
    "specimen_prostate": ["Prostate, right and left, needle core biopsies."],
    "specimen_appendix": ["Appendix, laparoscopic appendectomy."],
    "path_history_lead": [
        "{pt} is {a_age} {sex} with {pmh} and {pmh}, now with {sym}.",
        "{Age} {sex}; specimen obtained at {hosp} by {dr2} for {dx}.",
    ],
    "path_history": [
        "{Age} {sex} with {sym}.",
        "Clinical diagnosis: {dx}.",
        "Procedure performed by {dr2} {on:proc}.",
        "Prior colonoscopy {on:hist} with adenomas.",
        "History of Hodgkin lymphoma {on:hist}.",
        "Per {dr2}, prior biopsy {on:past} at {hosp}.",
    ],
    "intraop": [
        "Frozen section diagnosis by {dr2}: \"benign\", called to the OR at {time}.",
        "No intraoperative consultation requested.",
        "Touch prep of the margin: negative, communicated to {dr} at {time} {on:proc}.",
    ],
    "path_comment": [
        "Immunostains were performed with appropriate controls.",
        "The findings were discussed with {dr} {on:note}.",
        "Correlation with the endoscopic findings is recommended.",
        "Case reviewed at the GI pathology consensus conference.",
    ],
    "gross_gb": [
        "Received in formalin labeled with the patient’s name ({pt_hdr}) and MRN is a gallbladder "
        "measuring 8.2 × 3.1 × 2.0 cm.",
        "The serosa is smooth; the wall measures up to 0.3 cm. Multiple yellow stones are present.",
        "Representative sections are submitted in cassettes A1-A3.",
        "The mucosa is green-tan and velvety; no mass lesion is seen.",
        "The cystic duct margin is identified and submitted in A1.",
    ],
    "gross_colon": [
        "Received in formalin labeled \"{pt_hdr}\" is a tan polyp measuring 1.2 × 0.8 × 0.5 cm.",
        "The stalk is inked blue and the specimen bisected and entirely submitted.",
        "Also received in the same container are two fragments of tan tissue, 0.2 cm in aggregate.",
        "Cassette summary: A1 polyp, A2 stalk margin.",
    ],
    "gross_skin": [
        "Received in formalin labeled with the name {pt_hdr} is a shave of skin, 0.6 × 0.5 cm.",
        "A central pigmented area is noted. Entirely submitted in A1.",
        "The deep and peripheral margins are inked black.",
        "The specimen is trisected.",
    ],
    "gross_prostate": [
        "Received are twelve cores labeled \"{pt_hdr}\", ranging 0.8-1.6 cm in length.",
        "Cores are entirely submitted, two per cassette.",
        "Container A labeled right base; container F labeled left apex.",
        "Cores are tan-white and filiform.",
    ],
    "gross_appendix": [
        "Received fresh, labeled {pt_hdr}, is an appendix 6.5 cm in length and 0.9 cm in diameter.",
        "The serosa is dull with fibrinous exudate. Tip and representative sections submitted.",
        "The lumen contains a fecalith, 0.6 cm.",
        "The proximal margin is inked and submitted en face.",
    ],
    "micro_gb": [
        "Sections show chronic inflammation and Rokitansky-Aschoff sinuses.",
        "The mucosa shows pyloric metaplasia.",
        "Muscular hypertrophy is present.",
        "No dysplasia or carcinoma is identified.",
    ],
    "micro_colon": [
        "Sections show tubular adenoma with low-grade dysplasia.",
        "Stalk margin is free.",
        "No villous component is seen.",
        "Deeper levels were examined.",
    ],
    "micro_skin": [
        "Sections show a compound melanocytic nevus.",
        "Margins are involved focally.",
        "No cytologic atypia or dermal mitoses are seen.",
        "Solar elastosis is present in the dermis.",
    ],
    "micro_prostate": [
        "Cores show acinar adenocarcinoma, Gleason score 3+4=7 (Grade Group 2).",
        "Perineural invasion is not identified.",
        "Tumor involves approx. 30% of core A and 10% of core C.",
        "Remaining cores show benign prostatic tissue with chronic inflammation.",
    ],
    "micro_appendix": [
        "Transmural neutrophilic infiltrate consistent with acute appendicitis.",
        "No perforation seen.",
        "Periappendiceal fat shows fibrinopurulent exudate.",
        "No Enterobius or neoplasm identified.",
    ],
    "diagnosis_gb": ["GALLBLADDER: CHRONIC CHOLECYSTITIS AND CHOLELITHIASIS.", "NEGATIVE FOR MALIGNANCY."],
    "diagnosis_colon": ["TUBULAR ADENOMA.", "NEGATIVE FOR HIGH-GRADE DYSPLASIA."],
    "diagnosis_skin": ["COMPOUND NEVUS, MARGINS INVOLVED.", "NO ATYPIA."],
    "diagnosis_prostate": ["ADENOCARCINOMA, GLEASON 3+4=7, IN 3 OF 12 CORES.", "NO EXTRAPROSTATIC EXTENSION."],
    "diagnosis_appendix": ["ACUTE APPENDICITIS.", "NO NEOPLASM IDENTIFIED."],
    "path_admin": [
        "Gross photograph taken: {photo}.",
        "Slides reviewed with {dr2}, who agrees.",
        "Outside consult slides returned to {hosp} by courier {on:fu}.",
        "Results released to the patient portal ({url}).",
        "Digital slides hosted at {url}.",
        "Block {case}-A1 sent for MMR immunostains.",
    ],
}

DEV_POOLS: dict[str, list[str]] = {
    "hpi": [
        "{He} lives at {addr} and was found down by {his} {rel}.",
        "{He} reports {sym} that began {on:past} and worsened over {int:2_5} days.",
    ],
    "social": ["Lives at {street}, {city} {zip} with {his} {rel}."],
    "course": ["{He} remained hemodynamically stable and was discharged {on:dis} in good condition."],
    "admin": ["Vehicle plate {plate} registered for handicap parking."],
    "subjective": ["Seen and examined with {dr2} {on:note}."],
}

HELDOUT_POOLS: dict[str, list[str]] = {
    "hpi_lead": ["Briefly, this is a pleasant {age} {sex} who resides at {addr}."],
    "hpi": [
        "History obtained from {his} {rel} ({fam}, tel {phone}) as the patient is a poor historian.",
        "Symptoms began around {on:past} and have been gradually progressive.",
    ],
    "social": [
        "Resides in {county} with {his} {rel}; address on file {street}, {city}, {zip}.",
        "Primary contact {fam} ({rel}) at {pt_phone}.",
    ],
    "course": [
        "Hospitalization was otherwise uncomplicated and {he} left {on:dis} with {his} {rel}.",
        "GI (Dr. {dr_last}) performed EGD {on:adm} showing Barrett esophagus without dysplasia.",
    ],
    "admin": [
        "Voiceprint enrollment code {bio} registered for the phone line.",
        "Retinal scan ID {bio} used at pharmacy pickup.",
        "Scooter VIN {vin} recorded for the transport request.",
        "Cochlear implant serial {dev} noted for MRI screening.",
    ],
    "subjective": ["Case discussed with {dr2} {on:note}; agree with plan."],
    "rn_psych": ["{Rel} {fam} called from {city}, updated."],
}

# --------------------------------------------------------------------------------------------------------
# Section headers and orders per profile
# --------------------------------------------------------------------------------------------------------
HEADERS: dict[str, dict[str, list[str]]] = {
    "dev": {
        "dc_title": ["DISCHARGE SUMMARY"],
        "cc": ["CHIEF COMPLAINT"],
        "hpi": ["HISTORY OF PRESENT ILLNESS"],
        "pmh": ["PAST MEDICAL HISTORY"],
        "psh": ["PAST SURGICAL HISTORY"],
        "meds": ["MEDICATIONS ON ADMISSION", "ADMISSION MEDICATIONS"],
        "allergies": ["ALLERGIES"],
        "social": ["SOCIAL HISTORY"],
        "family": ["FAMILY HISTORY"],
        "exam": ["PHYSICAL EXAMINATION", "PHYSICAL EXAM ON ADMISSION"],
        "labs": ["LABORATORY DATA", "PERTINENT RESULTS"],
        "course": ["HOSPITAL COURSE"],
        "dc_meds": ["DISCHARGE MEDICATIONS"],
        "dc_dx": ["DISCHARGE DIAGNOSES", "DISCHARGE DIAGNOSIS"],
        "instructions": ["DISCHARGE INSTRUCTIONS"],
        "followup": ["FOLLOW UP", "FOLLOW-UP"],
        "admin": ["ADDITIONAL INFORMATION"],
        "pn_title": ["PROGRESS NOTE", "HOSPITAL MEDICINE PROGRESS NOTE"],
        "pn_summary": ["BRIEF SUMMARY"],
        "subjective": ["SUBJECTIVE"],
        "pn_meds": ["CURRENT MEDICATIONS", "SCHEDULED MEDICATIONS"],
        "pn_labs": ["LABS"],
        "objective": ["OBJECTIVE"],
        "ap": ["ASSESSMENT AND PLAN"],
        "pn_admin": ["OTHER"],
        "rn_title": ["NURSING NOTE", "NURSING PROGRESS NOTE"],
        "rn_summary": ["SUMMARY"],
        "rn_pain": ["PAIN"],
        "rn_safety": ["SAFETY"],
        "rn_meds": ["MEDICATIONS GIVEN"],
        "rn_admin": ["OTHER"],
        "rn_neuro": ["NEURO"],
        "rn_cv": ["CV"],
        "rn_resp": ["RESP"],
        "rn_gi": ["GI/GU"],
        "rn_skin": ["SKIN"],
        "rn_psych": ["PSYCHOSOCIAL"],
        "rn_events": ["EVENTS"],
        "rn_plan": ["PLAN"],
        "rad_title": ["RADIOLOGY REPORT"],
        "indication": ["CLINICAL INDICATION"],
        "comparison": ["COMPARISON"],
        "technique": ["TECHNIQUE"],
        "findings": ["FINDINGS"],
        "impression": ["IMPRESSION"],
        "rad_recommend": ["RECOMMENDATIONS"],
        "rad_admin": ["COMMUNICATION"],
        "path_title": ["SURGICAL PATHOLOGY REPORT"],
        "specimen": ["SPECIMEN"],
        "path_history": ["CLINICAL HISTORY"],
        "gross": ["GROSS DESCRIPTION"],
        "micro": ["MICROSCOPIC DESCRIPTION"],
        "diagnosis": ["FINAL DIAGNOSIS"],
        "intraop": ["INTRAOPERATIVE CONSULTATION"],
        "path_comment": ["COMMENT"],
        "path_admin": ["ADDITIONAL NOTES"],
    },
    "heldout": {
        "dc_title": ["DISCHARGE SUMMARY", "HOSPITAL DISCHARGE SUMMARY"],
        "cc": ["REASON FOR ADMISSION"],
        "hpi": ["HISTORY", "HPI"],
        "pmh": ["PMH", "MEDICAL HISTORY"],
        "psh": ["SURGICAL HISTORY"],
        "meds": ["HOME MEDICATIONS", "PRIOR TO ADMISSION MEDICATIONS"],
        "allergies": ["ALLERGIES/ADVERSE REACTIONS", "DRUG ALLERGIES"],
        "social": ["SOCIAL HX", "SOCIAL AND FUNCTIONAL HISTORY"],
        "family": ["FAMILY HX"],
        "exam": ["EXAM", "ADMISSION EXAM"],
        "labs": ["DATA", "RESULTS"],
        "course": ["BRIEF HOSPITAL COURSE", "COURSE IN HOSPITAL"],
        "dc_meds": ["MEDICATIONS AT DISCHARGE", "DISCHARGE MEDS"],
        "dc_dx": ["PRINCIPAL DIAGNOSIS", "FINAL DIAGNOSES"],
        "instructions": ["PATIENT INSTRUCTIONS"],
        "followup": ["APPOINTMENTS", "DISPOSITION AND FOLLOW UP"],
        "admin": ["ADMINISTRATIVE"],
        "pn_title": ["DAILY PROGRESS NOTE", "INTERNAL MEDICINE DAILY NOTE"],
        "pn_summary": ["ONE-LINER", "SUMMARY STATEMENT"],
        "subjective": ["INTERVAL HISTORY", "S"],
        "pn_meds": ["MEDS", "ACTIVE MEDICATIONS"],
        "pn_labs": ["RECENT LABS", "LAB DATA"],
        "objective": ["EXAM AND DATA", "O"],
        "ap": ["A/P", "IMPRESSION AND PLAN"],
        "pn_admin": ["ADMINISTRATIVE"],
        "rn_title": ["RN SHIFT ASSESSMENT", "NURSING SHIFT NOTE"],
        "rn_summary": ["REPORT", "SITUATION/BACKGROUND"],
        "rn_pain": ["COMFORT"],
        "rn_safety": ["FALL RISK/SAFETY"],
        "rn_meds": ["MEDS ADMINISTERED", "MAR"],
        "rn_admin": ["ADMINISTRATIVE"],
        "rn_neuro": ["NEUROLOGIC"],
        "rn_cv": ["CARDIOVASCULAR"],
        "rn_resp": ["RESPIRATORY"],
        "rn_gi": ["GI/GU/RENAL"],
        "rn_skin": ["INTEGUMENTARY"],
        "rn_psych": ["FAMILY/SOCIAL"],
        "rn_events": ["SHIFT EVENTS"],
        "rn_plan": ["GOALS FOR NEXT SHIFT"],
        "rad_title": ["DIAGNOSTIC IMAGING REPORT", "IMAGING REPORT"],
        "indication": ["HISTORY", "REASON FOR EXAM"],
        "comparison": ["PRIOR STUDIES", "COMPARISONS"],
        "technique": ["PROTOCOL", "METHOD"],
        "findings": ["RESULT", "OBSERVATIONS"],
        "impression": ["CONCLUSION", "SUMMARY"],
        "rad_recommend": ["FOLLOW-UP RECOMMENDATION"],
        "rad_admin": ["NOTIFICATION"],
        "path_title": ["PATHOLOGY CONSULTATION REPORT", "TISSUE PATHOLOGY REPORT"],
        "specimen": ["SOURCE OF SPECIMEN", "SPECIMENS SUBMITTED"],
        "path_history": ["PERTINENT HISTORY"],
        "gross": ["MACROSCOPIC", "GROSS"],
        "micro": ["MICROSCOPIC", "HISTOLOGY"],
        "diagnosis": ["PATHOLOGIC DIAGNOSIS", "DIAGNOSIS"],
        "intraop": ["FROZEN SECTION"],
        "path_comment": ["DIAGNOSTIC COMMENT"],
        "path_admin": ["NOTE"],
    },
}

ORDERS: dict[str, dict[str, list[str]]] = {
    "dev": {
        "discharge_summary": [
            "dc_title", "dc_hdr", "cc", "hpi", "pmh", "psh", "meds", "allergies", "social", "family", "exam",
            "labs", "course", "dc_meds", "dc_dx", "instructions", "followup", "admin", "dc_footer",
        ],
        "progress_note": [
            "pn_title", "pn_hdr", "pn_summary", "subjective", "pn_meds", "objective", "pn_labs", "ap", "pn_admin",
            "pn_footer",
        ],
        "nursing_note": [
            "rn_title", "rn_hdr", "rn_summary", "rn_neuro", "rn_cv", "rn_resp", "rn_gi", "rn_skin", "rn_pain",
            "rn_safety", "rn_psych", "rn_meds", "rn_events", "rn_plan", "rn_admin", "rn_footer",
        ],
        "radiology_report": [
            "rad_title", "rad_hdr", "indication", "comparison", "technique", "findings", "impression",
            "rad_recommend", "rad_admin", "rad_footer",
        ],
        "pathology_report": [
            "path_title", "path_hdr", "specimen", "path_history", "intraop", "gross", "micro", "diagnosis",
            "path_comment", "path_admin", "path_footer",
        ],
    },
    "heldout": {
        "discharge_summary": [
            "dc_title", "dc_hdr", "dc_dx", "cc", "hpi", "course", "pmh", "allergies", "meds", "social", "admin",
            "family", "exam", "labs", "dc_meds", "followup", "instructions", "psh", "dc_footer",
        ],
        "progress_note": [
            "pn_hdr", "pn_title", "pn_summary", "subjective", "ap", "objective", "pn_labs", "pn_meds", "pn_admin",
            "pn_footer",
        ],
        "nursing_note": [
            "rn_hdr", "rn_title", "rn_summary", "rn_events", "rn_meds", "rn_neuro", "rn_resp", "rn_cv", "rn_gi",
            "rn_skin", "rn_pain", "rn_safety", "rn_plan", "rn_psych", "rn_admin", "rn_footer",
        ],
        "radiology_report": [
            "rad_hdr", "rad_title", "indication", "technique", "comparison", "impression", "findings",
            "rad_admin", "rad_recommend", "rad_footer",
        ],
        "pathology_report": [
            "path_hdr", "path_title", "diagnosis", "specimen", "path_history", "gross", "micro", "intraop",
            "path_comment", "path_admin", "path_footer",
        ],
    },
}

# --------------------------------------------------------------------------------------------------------
# Surface-form mixes: relative weights per profile (0 / absent = never). Keys are formats synth.py knows.
# --------------------------------------------------------------------------------------------------------
FORMS: dict[str, dict[str, dict[str, float]]] = {
    "dev": {
        "pt_name": {"first_last": 5, "first_mi_last": 2, "title_last": 4, "caps_first_last": 1, "lower": 1,
                    "initial_last": 1, "first": 1, "last": 1},
        "hdr_name": {"caps_last_first": 5, "last_first_nospace": 2, "last_first": 2, "last_first_mi": 1,
                     "first_last": 1},
        "ref_name": {"title_last": 5, "first": 1, "none": 3},
        "dr_name": {"dr_first_last": 4, "dr_last": 4, "first_last_md": 2, "dr_initial_last": 2},
        "dr_hdr_name": {"caps_last_first_md": 3, "first_last_md": 3, "dr_first_last": 2},
        "rn_name": {"first_last": 3, "first_initial": 2, "first": 1},
        "fam_name": {"first_last": 3, "first": 3, "title_last": 1, "lower": 1},
        "date": {"mm/dd/yyyy": 5, "m/d/yy": 3, "iso": 2, "month d, yyyy": 3, "d mon yyyy": 2, "dd-MON-yyyy": 1,
                 "m/d": 2},
        "on_date": {"mon-dd": 1, "month d": 2, "the ordinal": 1, "month": 1, "m/yy": 1, "month yyyy": 1},
        "age": {"n year old": 4, "n-year-old": 3, "n yo": 2, "n y/o": 1},
        "age_n": {"age n": 3, "n years old": 2},
        "phone": {"(aaa) eee-nnnn": 4, "aaa-eee-nnnn": 4, "aaa.eee.nnnn": 1, "aaa.eee.nnnn ext x": 1,
                  "aaa-eee-nnnn xN": 1},
        "ssn": {"ddd-dd-dddd": 4, "ddd dd dddd": 1},
        "mrn": {"########": 3, "#######": 2, "E#######": 1},
        "zip": {"zip5": 4, "zip9": 1},
    },
    "heldout": {
        "pt_name": {"first_last": 3, "first_mi_last": 1, "title_last": 3, "caps_first_last": 2, "lower": 2,
                    "initial_last": 1, "first": 1, "last": 1, "lower_last": 1},
        "hdr_name": {"caps_last_first": 2, "caps_last_first_nospace": 3, "last_first_nospace": 2,
                     "caps_first_last": 2, "last_first_mi": 1},
        "ref_name": {"title_last": 3, "first": 2, "none": 2, "lower_last": 1},
        "dr_name": {"dr_first_last": 2, "dr_last": 3, "first_last_md": 2, "dr_initial_last": 1, "dr_lower": 1,
                    "caps_last_first_md": 1},
        "dr_hdr_name": {"caps_last_first_md": 2, "last_first_mi": 2, "dr_initial_last": 2},
        "rn_name": {"first_last": 2, "first_initial": 2, "first": 2, "lower": 1},
        "fam_name": {"first_last": 2, "first": 3, "lower": 2, "caps_first_last": 1},
        "date": {"mm/dd/yyyy": 2, "m/d/yy": 3, "iso": 1, "month d, yyyy": 2, "d mon yyyy": 2, "dd-MON-yyyy": 2,
                 "m/d": 2, "mon d yyyy": 2, "dd.mm.yyyy": 1, "m-d-yyyy": 1, "month dth": 1},
        "on_date": {"mon-dd": 1, "month d": 1, "the ordinal": 2, "month": 2, "m/yy": 2, "month yyyy": 1},
        "age": {"n year old": 2, "n-year-old": 2, "n yo": 2, "n y/o": 1, "nyo": 1, "words-year-old": 1,
                "n-yr-old": 1},
        "age_n": {"age n": 2, "aged n": 1, "n years of age": 1},
        "phone": {"(aaa) eee-nnnn": 2, "aaa-eee-nnnn": 2, "aaa.eee.nnnn": 2, "aaa.eee.nnnn ext x": 1,
                  "+1 aaa eee nnnn": 1, "(aaa)eee-nnnn": 1, "eee-nnnn": 1, "aaaeeennnn": 1},
        "ssn": {"ddd-dd-dddd": 2, "ddd dd dddd": 1, "ddddddddd": 1},
        "mrn": {"########": 2, "###-##-##-#": 2, "E#######": 1},
        "zip": {"zip5": 3, "zip9": 2},
    },
}

# List markers per profile: "1." / "1)" numbered, "-" / "*" bulleted.
LIST_STYLES: dict[str, list[str]] = {"dev": ["1.", "-"], "heldout": ["1)", "-", "*", "1."]}

# Identifier shapes, one drawn per mention: "#" digit, "@" capital letter (no I/O/Q), "*" either, else literal.
# "mrn" shapes are in FORMS because their mix differs by profile.
ID_SHAPES: dict[str, list[str]] = {
    "hp": ["@@@#########", "#***-***-****", "W#########", "ZGP #### #####"],
    "acct": ["#########", "##########", "ACCT-####-####", "########-##"],
    "lic": ["@###-###-##-###-0", "@###-###-##-###", "ME #####", "@@#######", "RN#######"],
    "plate": ["@@@ ####", "#@@@###", "@@@-####"],
    "vin": ["*****************"],
    "dev": ["PJN######H", "RNL######S", "***-#####", "A*********", "SN#######"],
    "bio": ["FP-######-@", "BIO-********", "VP-##-####", "RS#######"],
    "id": ["***-###-###", "######", "NCT########"],
}

# Per-profile knobs that are not template wording.
KNOBS: dict[str, dict[str, float]] = {
    "dev": {"invented_name_rate": 0.15, "unwrapped_rate": 0.08, "old_patient_rate": 0.2, "nonascii_rate": 0.5},
    "heldout": {"invented_name_rate": 0.25, "unwrapped_rate": 0.12, "old_patient_rate": 0.2, "nonascii_rate": 0.5},
}

# Syllables for invented names that are not in the census lists (different per profile).
INVENTED: dict[str, dict[str, list[str]]] = {
    "dev": {
        "first_a": ["Bre", "Ka", "Zo", "Mi", "Ta", "Jo", "Ve", "Ri", "La", "Da"],
        "first_b": ["lynne", "vian", "rrah", "dessa", "ren", "quil", "myra", "vonte", "zell", "nix"],
        "last_a": ["Thorn", "Vask", "Quill", "Brenn", "Ostr", "Dell", "Marr", "Fenw", "Kest", "Yarb"],
        "last_b": ["ovic", "wright", "ansky", "ington", "uzzi", "quist", "elle", "mont", "ado", "hearst"],
    },
    "heldout": {
        "first_a": ["Ny", "Sa", "Ce", "Ili", "Ro", "Ke", "Xa", "Pe", "Eo", "Gu"],
        "first_b": ["ndra", "lith", "bastien", "wyn", "mero", "tavia", "reth", "liora", "sko", "dric"],
        "last_a": ["Abern", "Tolv", "Szcz", "Wyck", "Hallo", "Drum", "Prz", "Galv", "Ochs", "Lind"],
        "last_b": ["athy", "ehaven", "epanski", "off", "ran", "mondt", "ybylski", "eston", "enbach", "quiste"],
    },
}

# Accented spellings of common census names: real-looking but not in the (ASCII) census lists.
ACCENTED_LAST = ["Peña", "Núñez", "Muñoz", "Ibáñez", "Gómez", "Báez", "Ordóñez", "Jiménez", "Müller",
                 "Brontë"]
ACCENTED_FIRST = ["José", "Zoë", "Chloé", "Inés", "Raúl", "Renée", "Begoña", "Agustín", "Noémi", "Anaïs"]

# US places: public names only (no patient data). (city, state, zip3, county)
PLACES: list[tuple[str, str, str, str]] = [
    ("Gainesville", "FL", "326", "Alachua County"), ("Ocala", "FL", "344", "Marion County"),
    ("Lake City", "FL", "320", "Columbia County"), ("Palatka", "FL", "321", "Putnam County"),
    ("Tallahassee", "FL", "323", "Leon County"), ("Jacksonville", "FL", "322", "Duval County"),
    ("Orlando", "FL", "328", "Orange County"), ("Tampa", "FL", "336", "Hillsborough County"),
    ("Valdosta", "GA", "316", "Lowndes County"), ("Macon", "GA", "312", "Bibb County"),
    ("Savannah", "GA", "314", "Chatham County"), ("Dothan", "AL", "363", "Houston County"),
    ("Mobile", "AL", "366", "Mobile County"), ("Columbia", "SC", "292", "Richland County"),
    ("Asheville", "NC", "288", "Buncombe County"), ("Knoxville", "TN", "379", "Knox County"),
    ("Lafayette", "LA", "705", "Lafayette Parish"), ("Tyler", "TX", "757", "Smith County"),
    ("Springfield", "MO", "658", "Greene County"), ("Madison", "WI", "537", "Dane County"),
    ("Dayton", "OH", "454", "Montgomery County"), ("Fresno", "CA", "937", "Fresno County"),
    ("Boise", "ID", "837", "Ada County"), ("Burlington", "VT", "054", "Chittenden County"),
    ("Lincoln", "NE", "685", "Lancaster County"), ("Salem", "OR", "973", "Marion County"),
    ("Eugene", "OR", "974", "Lane County"), ("Flagstaff", "AZ", "860", "Coconino County"),
    ("Durham", "NC", "277", "Durham County"), ("Warren", "MI", "480", "Macomb County"),
    ("Troy", "NY", "121", "Rensselaer County"), ("Paris", "TX", "754", "Lamar County"),
]
STREET_WORDS = [
    "Magnolia", "Oak", "Cypress", "Main", "Church", "University", "Archer", "Newberry", "Hawthorne", "Pine",
    "Palmetto", "Williston", "Lake", "Sunset", "Ridge", "Orange Blossom", "Cedar", "Mill Creek", "Hill",
    "Jackson", "Lincoln", "Holmes", "Parker", "Turkey Creek", "Lee", "Park", "Washington", "Tower",
]
STREET_SUFFIXES = ["St", "Street", "Ave", "Avenue", "Rd", "Road", "Blvd", "Lane", "Ln", "Dr", "Drive", "Ct", "Way",
                   "Terrace", "Circle"]
STREET_PREFIXES = ["", "", "", "NW ", "SW ", "NE ", "SE ", "N ", "E "]
UNITS = ["", "", "", "", " Apt 4B", " Apt 12", " Unit 210", " #3", " Lot 17"]
FACILITY_PATTERNS = [
    "{city} General Hospital", "North {city} Regional Medical Center", "{last} Memorial Hospital",
    "St. {saint} Medical Center", "{city} Community Hospital", "{word} Rehabilitation Center",
    "{word} Nursing and Rehab", "{last} Heart Institute", "{city} VA Medical Center", "{word} Hospice House",
]
SAINTS = ["Vincent", "Luke", "Joseph", "Francis", "Anthony", "Catherine", "Mary", "Elizabeth"]
FACILITY_WORDS = ["Oak Hammock", "Sunrise", "Palm Garden", "Cypress Pointe", "Magnolia Manor", "Willow Brook",
                  "Heritage Oaks", "Bayview", "Pine Ridge", "Lakeside"]
AREA_CODES = ["352", "904", "386", "850", "407", "813", "229", "478", "912", "334", "803", "828", "865", "337",
              "903", "417", "608", "937", "559", "208", "802", "402", "503", "541", "928", "919", "586", "518"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "aol.com", "comcast.net", "bellsouth.net", "icloud.com",
                 "ufl.edu", "mail.example.org", "cox.net"]
URL_HOSTS = ["mychart.{org}.org", "portal.{org}health.com", "www.{org}.org", "results.{org}-health.net",
             "telehealth.{org}.com"]
URL_ORGS = ["northcentral", "sunhealth", "baptistcare", "gatorcare", "riverside", "mercyhealth", "bayfront",
            "hillsidemed"]

# ----------------------------------------------------------------------------------------------------------
# Clinical (non-PHI) vocabulary. Drug: (name, strength, default frequency key).
# ----------------------------------------------------------------------------------------------------------
DRUGS: list[tuple[str, str, str]] = [
    ("atorvastatin", "40 mg", "qhs"), ("metoprolol tartrate", "25 mg", "bid"), ("metoprolol succinate", "50 mg", "qd"),
    ("Lasix", "40 mg", "qd"), ("furosemide", "20 mg", "bid"), ("lisinopril", "10 mg", "qd"),
    ("aspirin", "81 mg", "qd"), ("Coumadin", "5 mg", "qd"), ("apixaban", "5 mg", "bid"), ("metformin", "500 mg", "bid"),
    ("insulin glargine", "20 units", "qhs"), ("levothyroxine", "75 mcg", "qd"), ("omeprazole", "20 mg", "qd"),
    ("carbidopa-levodopa", "25/100 mg", "tid"), ("Sinemet", "25/100", "tid"), ("tamsulosin", "0.4 mg", "qhs"),
    ("gabapentin", "300 mg", "tid"), ("sertraline", "50 mg", "qd"), ("prednisone", "10 mg", "qd"),
    ("Keflex", "500 mg", "qid"), ("acetaminophen", "650 mg", "q6prn"), ("Norco", "5/325", "q6prn"),
    ("potassium chloride", "20 mEq", "bid"), ("docusate", "100 mg", "bid"), ("senna", "8.6 mg", "qhs"),
    ("albuterol", "2 puffs", "q4prn"), ("amlodipine", "5 mg", "qd"), ("Eliquis", "2.5 mg", "bid"),
    ("spironolactone", "25 mg", "qd"), ("donepezil", "10 mg", "qhs"),
]
ROUTES = ["p.o.", "PO", "by mouth", "p.o.", "orally"]
FREQS: dict[str, list[str]] = {
    "qd": ["q.d.", "daily", "QD", "once daily"],
    "bid": ["b.i.d.", "BID", "twice daily"],
    "tid": ["t.i.d.", "TID", "three times a day"],
    "qid": ["q.i.d.", "QID"],
    "qhs": ["q.h.s.", "at bedtime", "QHS", "h.s."],
    "q6prn": ["q.6h. p.r.n. pain", "q6h PRN pain", "every 6 hours as needed"],
    "q4prn": ["q.4h. p.r.n.", "q4h PRN wheezing"],
}
PMH = [
    "CAD s/p CABG", "HTN", "HLD", "DM2 on insulin", "CKD stage 3", "COPD on 2 L home O2", "atrial fibrillation",
    "CHF with EF 35%", "Parkinson disease", "Graves disease s/p RAI", "Crohn disease", "Hashimoto thyroiditis",
    "Barrett esophagus", "Hodgkin lymphoma in remission", "Alzheimer dementia", "Raynaud phenomenon", "RA on MTX",
    "OSA on CPAP", "BPH", "GERD", "Bell palsy", "Lyme disease", "gout", "osteoporosis", "prior CVA", "PAD",
    "Cushing syndrome", "Addison disease", "Charcot foot", "WPW s/p ablation", "Ménière disease",
    "Parkinson’s disease", "West Nile encephalitis (remote)", "Guillain-Barre syndrome",
]
SYMPTOMS = [
    "dyspnea on exertion", "worsening lower extremity edema", "productive cough", "chest pressure",
    "abdominal pain", "nausea and vomiting", "dizziness", "a fall at home", "melena", "dysuria", "confusion",
    "palpitations", "fever and chills", "right flank pain", "low back pain", "syncope",
]
DIAGNOSES = [
    "Acute on chronic systolic CHF", "Community-acquired pneumonia", "AKI on CKD", "UTI", "COPD exacerbation",
    "Afib with RVR", "Hyponatremia", "Sepsis, resolved", "Parkinson disease", "Delirium", "NSTEMI",
    "Cellulitis of the left leg", "GI bleed", "Hypokalemia", "Symptomatic cholelithiasis", "Lumbar stenosis",
]
JOBS = ["teacher", "truck driver", "nurse", "farmer", "machinist", "accountant", "postal worker", "electrician",
        "Navy mechanic", "librarian", "professor", "carpenter"]
CARS = ["Ford F-150", "Honda Civic", "Toyota Camry", "Buick", "Chevy Silverado", "golf cart"]
RELATIONS_M = ["wife", "son", "daughter", "brother", "niece", "grandson", "friend"]
RELATIONS_F = ["husband", "son", "daughter", "sister", "nephew", "granddaughter", "friend"]
EXAMS: dict[str, list[str]] = {
    "cxr": ["CHEST, 2 VIEWS (PA AND LATERAL)", "XR CHEST PORTABLE"],
    "cth": ["CT HEAD WITHOUT CONTRAST"],
    "ctap": ["CT ABDOMEN AND PELVIS WITH IV CONTRAST"],
    "mrls": ["MRI LUMBAR SPINE WITHOUT CONTRAST"],
    "usruq": ["US ABDOMEN LIMITED (RUQ)"],
}
SPECIMENS = ["gb", "colon", "skin", "prostate", "appendix"]

# Word swaps a near duplicate may make (copy-forward style edits); never inside a PHI span.
NEAR_DUP_SWAPS: dict[str, list[str]] = {
    "improving": ["stable", "unchanged"], "stable": ["improving", "unchanged"], "mild": ["moderate", "minimal"],
    "small": ["trace", "moderate"], "today": ["this morning", "overnight"], "left": ["right"], "right": ["left"],
    "no": ["without"], "continue": ["resume"], "daily": ["every day"], "bilaterally": ["on the left"],
}
NEAR_DUP_INSERTS = ["again", "still", "now", "also", "overall"]
