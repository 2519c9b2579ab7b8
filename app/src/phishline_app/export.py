"""`phishline feedback export`: user-corrected labels as a DL-format dataset.

A "yes" confirms the predicted label, a "no" flips it. One `label<TAB>url` line per answer,
oldest first, so the training pipeline can read the file as an extra DL source.
"""

import os
import tempfile
from pathlib import Path

from sqlalchemy import select

from phishline_app.db.models import Feedback
from phishline_app.db.store import reading_store
from phishline_app.services.feedback import corrected_label

# Line breaks would split a record in two: such URLs are refused on input, skipped here.
LINE_BREAKS = ("\n", "\r")


def export_feedback(database_url: str, out_path: Path) -> int:
    """Write the corrected labels to `out_path` (atomically); return how many lines.

    Raises FileNotFoundError for a SQLite file that does not exist and UnreadableStoreError
    for a database that is not a feedback store (which stays untouched) or fails
    (`reading_store`)."""
    answers = select(Feedback.predicted_label, Feedback.answer, Feedback.url).order_by(Feedback.id)
    with reading_store(database_url) as connection:
        lines = [
            f"{corrected_label(predicted_label, answer)}\t{url}\n"
            for predicted_label, answer, url in connection.execute(answers)
            if not any(mark in url for mark in LINE_BREAKS)
        ]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.")
    partial = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.writelines(lines)
        partial.chmod(0o644)  # a data file like the others, not mkstemp's owner-only 0600
        partial.replace(out_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return len(lines)
