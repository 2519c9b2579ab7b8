"""Prediction tickets: a shown result, signed, handed back with the user's answer.

The page (or API client) returns the ticket with Yes/No, so the app needs no server-side
session to know what was shown, when, by which model and which variant, and nobody can alter
it.
"""

import time
import uuid

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phishline_app.core.signing import BadSignatureError, Signer
from phishline_app.services.model_client import Prediction

PURPOSE = "prediction-ticket"


class InvalidTicketError(ValueError):
    """The ticket was not issued by this app or was altered."""


class PredictionTicket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    prediction_id: str = Field(min_length=1, max_length=64)
    url: str
    label: str
    probability: float
    model: str
    model_version: str
    variant: str  # the app variant that showed the result, which the answer is about
    shown_at: float  # Unix time the result was sent to the user

    @classmethod
    def issue(cls, url: str, prediction: Prediction, variant: str) -> "PredictionTicket":
        """A ticket for `prediction` of `url` as the user typed it (what feedback exports)."""
        return cls(
            prediction_id=uuid.uuid4().hex,
            url=url,
            label=prediction.label,
            probability=prediction.probability,
            model=prediction.model,
            model_version=prediction.model_version,
            variant=variant,
            shown_at=time.time(),
        )

    def seal(self, signer: Signer) -> str:
        return signer.sign(PURPOSE, self.model_dump_json().encode("utf-8"))

    @classmethod
    def unseal(cls, signer: Signer, token: str, variant: str) -> "PredictionTicket":
        """The ticket, when this app issued it and it is about a result `variant` showed.

        Both variants may sign with one key (the Helm chart gives them one): an answer that
        reaches the other variant, as the mesh may send a request without the variant cookie,
        is refused rather than counted for a variant that did not show the result."""
        try:
            ticket = cls.model_validate_json(signer.unsign(PURPOSE, token))
        except (BadSignatureError, ValidationError) as exc:
            raise InvalidTicketError("the feedback token is invalid") from exc
        if ticket.variant != variant:
            raise InvalidTicketError(
                f"the feedback token is about a result the app's {ticket.variant} showed, and "
                f"this is {variant}: send the answer with the cookies the app set "
                "(phishline-variant routes it to the variant that showed the result)"
            )
        return ticket
