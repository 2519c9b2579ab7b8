"""One table: a user's answer to "Is this prediction accurate?" with the prediction it judged."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The shown prediction's id: unique, so a resubmitted form cannot count twice.
    prediction_id: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    predicted_label: Mapped[str] = mapped_column(String(16))
    probability: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(8), index=True)
    answer: Mapped[str] = mapped_column(String(3))  # "yes" | "no"
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
