"""The analyst's own verdict on an image: kept apart from every model output, in the results store by the
image's SHA-256, so it survives a restart and a re-analysis."""

from __future__ import annotations

from dataclasses import asdict, dataclass

NOT_REVIEWED = "not reviewed"
VERDICTS = (NOT_REVIEWED, "no manipulation found", "suspicious", "manipulated")


@dataclass(frozen=True)
class Verdict:
    verdict: str = NOT_REVIEWED
    note: str = ""
    recorded_at: str = ""  # ISO 8601, when the analyst last changed it

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}: one of {', '.join(VERDICTS)}")

    @property
    def reviewed(self) -> bool:
        return self.verdict != NOT_REVIEWED or bool(self.note)

    def as_dict(self) -> dict:
        return asdict(self)


def verdict_counts(verdicts: list[Verdict | None]) -> dict[str, int]:
    """How many images have each verdict (an image never reviewed counts as `not reviewed`)."""
    counts = dict.fromkeys(VERDICTS, 0)
    for verdict in verdicts:
        counts[verdict.verdict if verdict else NOT_REVIEWED] += 1
    return counts
