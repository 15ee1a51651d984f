"""Request statistics: HDR-style histograms, the per-process recorder, wire batches and the
master-side aggregation that merges them losslessly.
"""

from gradual.stats.aggregate import RequestTotals, RunStats, merge_into
from gradual.stats.batch import KeyDelta, StatsBatch
from gradual.stats.histogram import Histogram
from gradual.stats.recorder import Recorder, Slot

__all__ = [
    "Histogram",
    "KeyDelta",
    "Recorder",
    "RequestTotals",
    "RunStats",
    "Slot",
    "StatsBatch",
    "merge_into",
]
