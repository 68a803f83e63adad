"""Activation-code extraction from SMS text (contract §10.2)."""

from __future__ import annotations

import re

# A 4–8 digit group, optionally split once by a dash or space; not glued to other digits.
_CANDIDATE = re.compile(r"(?<![\d+])(\d+(?:[- ]\d+)?)(?!\d)")
_KEYWORD = re.compile(r"(?<!\w)(code|код|is|pin|otp|password|пароль)(?!\w)", re.IGNORECASE)


def _candidates(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in _CANDIDATE.finditer(text):
        raw = match.group(1)
        digits = re.sub(r"[- ]", "", raw)
        if 4 <= len(digits) <= 8 and all(len(p) <= 8 for p in re.split(r"[- ]", raw)):
            found.append((match.start(1), match.end(1), digits))
        elif " " in raw or "-" in raw:
            # The pair is too long together; each half may still be a code on its own.
            head, tail = re.split(r"[- ]", raw)
            start = match.start(1)
            if 4 <= len(head) <= 8:
                found.append((start, start + len(head), head))
            if 4 <= len(tail) <= 8:
                found.append((match.end(1) - len(tail), match.end(1), tail))
    return found


def extract_code(text: str) -> str:
    """The activation code in an SMS, or "" when none is found."""
    candidates = _candidates(text)
    if not candidates:
        return ""
    keywords = [(m.start(), m.end()) for m in _KEYWORD.finditer(text)]
    if not keywords:
        return candidates[0][2]

    def distance(candidate: tuple[int, int, str]) -> tuple[int, int]:
        start, end, _ = candidate
        best = min(
            start - k_end if start >= k_end else k_start - end for k_start, k_end in keywords
        )
        after = any(start >= k_end for _, k_end in keywords)
        return best, 0 if after else 1

    return min(candidates, key=distance)[2]
