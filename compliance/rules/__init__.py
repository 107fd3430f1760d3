"""US advanced-computing export rules: ECCN 3A090 / 4A090 classification and license decisions.

The thresholds and paragraph texts are encoded here and checked against the regulation text
scraped from the eCFR (compliance/sources/ecfr.py); the country groups come from the scraped
Supplement No. 1 to part 740 with a dated fallback in data/.
"""

from __future__ import annotations
