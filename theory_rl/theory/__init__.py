"""The theorems' predictions as functions of a problem's parameters.

Each function returns the predicted quantity and the exponent of each parameter, names the paper
and theorem, and says whether the paper's constants are exact or only the rate is.
"""

from ._representation import *  # noqa: F403
from ._representation import __all__ as _representation_all
from ._revealing import *  # noqa: F403
from ._revealing import __all__ as _revealing_all
from ._sample_complexity import *  # noqa: F403
from ._sample_complexity import __all__ as _sample_complexity_all

__all__ = [*_representation_all, *_revealing_all, *_sample_complexity_all]
