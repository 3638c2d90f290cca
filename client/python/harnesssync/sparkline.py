"""HarnessSync's health-score sparkline, computed on the client.

Same output as HarnessSync 0.1.4's StateManager.format_score_sparkline: the
last `width` scores (padded on the left with the oldest one), one block per
score from the nine levels " ▁▂▃▄▅▆▇█" (level = int(score / 100 * 8.5), at
most 8), two spaces, and the newest score as Python prints it, "/100".
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"
NO_HISTORY = "(no history)"


def last_n(entries: List[Any], n: int) -> List[Any]:
    """HarnessSync's get_score_history cut, quirks included: n <= 0 gives
    everything but the first -n entries (entries[-0:] is all of them)."""
    return entries[-n:] if len(entries) > n else entries


def level(score: float) -> int:
    return min(8, int(score / 100 * 8.5))


def render(history: Sequence[Dict[str, Any]], width: int = 20) -> str:
    """The sparkline of `history` (entries with a "score", oldest first),
    already cut to the last `width` entries by the caller."""
    if not history:
        return NO_HISTORY
    scores = [entry["score"] for entry in history]
    if len(scores) < width:
        scores = [scores[0]] * (width - len(scores)) + scores
    scores = scores[-width:]
    return "".join(BLOCKS[level(s)] for s in scores) + "  %s/100" % (scores[-1],)
