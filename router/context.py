"""What the router's jobs work with: the router itself (reviewed configuration and trained
model) and the hand-over to the delivery room, both from the worker's context.

The router decides where a ticket goes; how it gets there is the delivery room's business.
:data:`Handover` is that seam: given the destinations, the rows to write with the routing
change and the jobs that send them. The composition room (``hotline.worker``) fills it with
``delivery.plan.handover``, so the router never imports the delivery room.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tickets.jobcontext import JobContext
from tickets.jobs import JobsFor
from tickets.store import Also

if TYPE_CHECKING:
    from router.classify import Model
    from router.routerconfig import RouterConfig

ACTOR = "router"

# destinations → (rows written with the change that routes the ticket, the jobs sending them)
Handover = Callable[[Sequence[str]], tuple[Also, JobsFor]]


@dataclass(frozen=True)
class Router:
    """What the router decides with: the reviewed configuration and the trained model."""

    config: RouterConfig
    model: Model | None

    def __post_init__(self) -> None:
        # Load the gazetteer's segmenter (jieba) here, in the process that builds the router:
        # a segmenter first loaded inside a job would be loaded again by every worker process
        # that runs one (seconds each).
        self.config.gazetteer.find("")


class RouterContext(JobContext, Protocol):
    @property
    def router(self) -> Router | None:
        """None: no router configured — tickets are registered and wait for the back office."""

    @property
    def handover(self) -> Handover:
        """How a routed ticket is handed to its destinations (the delivery room)."""
