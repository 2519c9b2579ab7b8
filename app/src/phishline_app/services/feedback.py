"""Recording an answer to "Is this prediction accurate?"."""

import time
from datetime import UTC, datetime
from typing import Literal

from phishline_app.core.metrics import AppMetrics
from phishline_app.db.models import Feedback
from phishline_app.db.store import FeedbackStore
from phishline_app.services.tickets import PredictionTicket

Answer = Literal["yes", "no"]
Label = Literal["phishing", "legitimate"]
_SAME: dict[str, Label] = {"phishing": "phishing", "legitimate": "legitimate"}
_OTHER: dict[str, Label] = {"phishing": "legitimate", "legitimate": "phishing"}


def parse_answer(raw: str) -> Answer | None:
    if raw == "yes":
        return "yes"
    if raw == "no":
        return "no"
    return None


def corrected_label(predicted: str, answer: str) -> Label:
    """The label the user vouches for: "yes" confirms the prediction, "no" flips it."""
    return (_SAME if answer == "yes" else _OTHER)[predicted]


def record_feedback(
    store: FeedbackStore,
    metrics: AppMetrics,
    ticket: PredictionTicket,
    answer: Answer,
    user_id: str,
) -> Feedback:
    """Store the answer (committed when this returns), then count it.

    Raises DuplicateFeedbackError when the prediction was already answered.
    """
    record = store.add(
        Feedback(
            prediction_id=ticket.prediction_id,
            url=ticket.url,
            predicted_label=ticket.label,
            probability=ticket.probability,
            model=ticket.model,
            model_version=ticket.model_version,
            variant=metrics.variant,
            answer=answer,
            user_id=user_id,
            shown_at=datetime.fromtimestamp(ticket.shown_at, UTC),
        )
    )
    metrics.feedback_recorded(answer, time.time() - ticket.shown_at)
    return record
