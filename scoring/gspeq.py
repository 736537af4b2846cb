"""Generic Short Patient Experiences Questionnaire (GS-PEQ): item-level scores.

Sjetne IS, Bjertnaes OA, Olsen RV, Iversen HH, Bukholm G. The Generic Short Patient
Experiences Questionnaire (GS-PEQ): identification of core items from a survey in
Norwegian general practice. BMC Health Serv Res 2011;11:88. Ten single core items, each
with a "not applicable" option (code 9). Eight items use the extent scale 1 ("not at
all") .. 5 ("to a very large extent"); item 7 (waiting) has four categories 1 ("no") ..
4 ("yes, far too long") and item 9 (benefit) five categories 1 ("no benefit") .. 5 (codes
as in ``instruments/gspeq.yaml``). The authors chose the items as a short generic set
reported item by item; they define no summary index. openprom therefore reports each
item as a score with the answered code (higher = more of what the item asks) and NaN for
"not applicable" or no answer. Items 7 (waiting) and 10 (incorrect treatment) are worded
so that a higher code is a worse experience; they are reported as answered, not reversed
(see ``docs/scoring.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scoring.registry import Algorithm, Columns, kernel_compute

ITEMS = tuple(f"q{i:02d}" for i in range(1, 11))
NOT_APPLICABLE = 9
ANSWER_CODES: dict[str, frozenset[int]] = {
    item: frozenset(range(1, 5 if item == "q07" else 6)) for item in ITEMS
}
"""Answer codes of each item (without "not applicable")."""
NEGATIVELY_WORDED = frozenset({"q07", "q10"})


def kernel(columns: Columns, value_set: str | None, out: Mapping[str, np.ndarray]) -> None:
    """One score per item: the answered code, NaN for "not applicable" (9) or no answer."""
    for item in ITEMS:
        col = columns[item]
        np.copyto(out[item], col)
        np.copyto(out[item], np.nan, where=col == NOT_APPLICABLE)


ALGORITHMS = {
    "gspeq": Algorithm(
        instrument_id="gspeq",
        algorithm_version="gspeq-1.1",
        items=ITEMS,
        scores=ITEMS,
        codes={item: ANSWER_CODES[item] | {NOT_APPLICABLE} for item in ITEMS},
        compute=kernel_compute(kernel, ITEMS, {}),
        kernel=kernel,
        description=(
            "GS-PEQ (Sjetne et al. 2011): item scores (q07 1-4, others 1-5), "
            "not applicable (9) = missing."
        ),
    )
}
