"""Generic Short Patient Experiences Questionnaire (GS-PEQ): item-level scores.

Sjetne IS, Bjertnaes OA, Olsen RV, Iversen HH, Bukholm G. The Generic Short Patient
Experiences Questionnaire (GS-PEQ): identification of core items from a survey in
Norwegian general practice. BMC Health Serv Res 2011;11:88. Ten single items answered
1 ("not at all") .. 5 ("to a very large extent"), plus 9 "not applicable". The authors
chose the items as a short generic set reported item by item; they define no summary
index. openprom therefore reports each item as a score with the answered code 1..5
(higher = more of what the item asks) and NaN for "not applicable" or no answer. Items 7
(waiting) and 10 (incorrect treatment) are worded so that a higher code is a worse
experience; they are reported as answered, not reversed (see ``docs/scoring.md``).
"""

from __future__ import annotations

import numpy as np

from scoring.registry import Algorithm, Columns

ITEMS = tuple(f"q{i:02d}" for i in range(1, 11))
NOT_APPLICABLE = 9
ANSWER_CODES = frozenset({1, 2, 3, 4, 5})
NEGATIVELY_WORDED = frozenset({"q07", "q10"})


def compute(columns: Columns, value_set: str | None = None) -> dict[str, np.ndarray]:
    """One score per item: the code 1..5, NaN for "not applicable" (9) or no answer."""
    out = {}
    for item in ITEMS:
        col = columns[item]
        out[item] = np.where(col == NOT_APPLICABLE, np.nan, col)
    return out


ALGORITHMS = {
    "gspeq": Algorithm(
        instrument_id="gspeq",
        algorithm_version="gspeq-1.0",
        items=ITEMS,
        scores=ITEMS,
        codes={item: ANSWER_CODES | {NOT_APPLICABLE} for item in ITEMS},
        compute=compute,
        description="GS-PEQ (Sjetne et al. 2011): item scores 1-5, not applicable (9) = missing.",
    )
}
