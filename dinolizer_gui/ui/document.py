"""What the viewer holds for one image: its results and its picture, both prepared off the GUI thread."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QImage

from ..core.progress import relay
from ..core.session.image_results import ImageResults
from .qimages import rgb_image


@dataclass
class Document(ImageResults):
    base: QImage | None = None  # the input as shown

    @classmethod
    def of(cls, results: ImageResults) -> Document:
        return cls(
            results.path,
            results.image,
            results.models,
            ground_truth=results.ground_truth,
            base=rgb_image(results.image.rgb),
        )


def _as_document(event: Any) -> Any:
    return Document.of(event) if isinstance(event, ImageResults) else event


def worker_job(job: Generator[Any, None, Any]) -> Generator[Any, None, Any]:
    """A core job as a superqt generator worker runs it: image results become Documents on the worker thread,
    where they are made (building a full-size QImage there keeps the GUI thread free)."""
    return _as_document((yield from relay(job, _as_document)))
