"""The objective interface of a style transfer: what the run loop needs from an objective,
whether it evaluates the whole image (:class:`~painterly.style.losses.PerceptualLoss`) or tile by
tile (:class:`~painterly.style.tiling.TiledLoss`), and a wrapper that adds a caller's term."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import torch

from painterly.optim.optimize import LossTerms


class Objective(Protocol):
    """Targets set per rung, then called on the pixels like a loss function."""

    def set_content(self, image: torch.Tensor) -> None: ...

    def set_style(self, images: Sequence[torch.Tensor],
                  blend: Sequence[float] | None = None) -> None: ...

    def set_regions(self, images: Sequence[torch.Tensor | None],
                    guides: torch.Tensor) -> None: ...

    def style_value(self, image: torch.Tensor) -> float:
        """L_style of ``image`` (without beta) against the current targets."""
        ...

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, LossTerms]: ...


class ExtraLossObjective:
    """``objective`` plus ``extra(pixels)`` (a differentiable scalar), reported as
    ``terms.extra``."""

    def __init__(self, objective: Objective, extra: Callable[[torch.Tensor], torch.Tensor]):
        self.objective, self.extra = objective, extra

    def set_content(self, image: torch.Tensor) -> None:
        self.objective.set_content(image)

    def set_style(self, images: Sequence[torch.Tensor],
                  blend: Sequence[float] | None = None) -> None:
        self.objective.set_style(images, blend)

    def set_regions(self, images: Sequence[torch.Tensor | None], guides: torch.Tensor) -> None:
        self.objective.set_regions(images, guides)

    def style_value(self, image: torch.Tensor) -> float:
        return self.objective.style_value(image)

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, LossTerms]:
        total, terms = self.objective(image)
        extra = self.extra(image)
        if not isinstance(extra, torch.Tensor) or extra.numel() != 1:
            raise TypeError("extra_loss must return a scalar tensor")
        total = total + extra.reshape(())
        terms.extra = float(extra.detach())
        terms.total = float(total.detach())
        return total, terms


def with_extra_loss(objective: Objective,
                    extra: Callable[[torch.Tensor], torch.Tensor]) -> Objective:
    return ExtraLossObjective(objective, extra)
