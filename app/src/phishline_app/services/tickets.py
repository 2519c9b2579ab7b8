"""Prediction tickets: a shown result, signed, handed back with the user's answer.

The page (or API client) returns the ticket with Yes/No, so the app needs no server-side
session to know what was shown, when, and by which model, and nobody can alter it.
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
    shown_at: float  # Unix time the result was sent to the user

    @classmethod
    def issue(cls, url: str, prediction: Prediction) -> "PredictionTicket":
        """A ticket for `prediction` of `url` as the user typed it (what feedback exports)."""
        return cls(
            prediction_id=uuid.uuid4().hex,
            url=url,
            label=prediction.label,
            probability=prediction.probability,
            model=prediction.model,
            model_version=prediction.model_version,
            shown_at=time.time(),
        )

    def seal(self, signer: Signer) -> str:
        return signer.sign(PURPOSE, self.model_dump_json().encode("utf-8"))

    @classmethod
    def unseal(cls, signer: Signer, token: str) -> "PredictionTicket":
        try:
            return cls.model_validate_json(signer.unsign(PURPOSE, token))
        except (BadSignatureError, ValidationError) as exc:
            raise InvalidTicketError("the feedback token is invalid") from exc
