"""Item response theory: calibration (MML-EM), person scores, model checks, DIF and CAT.

Pure numpy/scipy; no web framework, no database. Main entry points::

    from scoring.irt import fit
    result = fit(answers, model="grm")      # grm | gpcm | 2pl | rasch
    result.params, result.se, result.loglik, result.aic, result.bic
    result.theta(answers, method="EAP")     # DataFrame: theta, se
"""

from scoring.irt.calibrate import MODELS, IRTFit, fit
from scoring.irt.models import ItemSet
from scoring.irt.theta import score_theta

__all__ = ["MODELS", "IRTFit", "ItemSet", "fit", "score_theta"]
