"""A connected call's recording, for the people who answer for the campaign's calls.

Who may listen: the supervisors, managers and admins of the attempt's
campaign (a campaign one may not see answers 404, as if the attempt did not
exist, like a lead card). Agents and analysts may not (403): a recording is
a customer's voice and whatever they said (their name, their debts, their
health), personal data that only the people who check calls (quality,
disputes, complaints) need; an agent hears the calls they take and has no
need of anyone else's, and analysts read aggregates, never a person.

Why audited like a lead card: each listening is written to the audit log
(``lead_view``, purpose ``recording``: user, lead, campaign, time) and
committed before a byte is sent, so no recording is heard unrecorded. The
answer is ``Cache-Control: no-store``, so no proxy or browser keeps a copy
that the nightly deletion would miss.

The file served is the one the attempt's ledger row names
(``Attempt.recording``, an id no other attempt has), found through
``app.state.recordings`` (a ``dialer.service.recordings.RecordingStore``,
None when this daemon keeps none); an attempt that names none has none,
whatever files its campaign's folder holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from dialer.api.auth import Principal, floor_of, require
from dialer.api.errors import NotFound
from dialer.api.floor import Floor
from dialer.api.schemas import ERRORS, AttemptId
from dialer.service.recordings import RecordingStore, nightly_purge
from dialer.service.users import Role
from lists.audit import record_view
from lists.models import Attempt, ViewPurpose

__all__ = ["router", "recording", "nightly_purge"]

Listener = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ADMIN))]

router = APIRouter(prefix="/api/v1", tags=["recordings"], responses=ERRORS)


@router.get("/outbound/attempts/{attempt_id}/recording", response_class=FileResponse,
            responses={200: {"content": {"audio/wav": {}}, "description": "The call's recording (WAV)"}})
async def recording(attempt_id: AttemptId, request: Request, who: Listener) -> FileResponse:
    """The attempt's recording (``audio/wav``): supervisors, managers and admins of its campaign; never
    agents or analysts (personal data, see the module). Each access is audited."""
    store: RecordingStore | None = getattr(request.app.state, "recordings", None)
    if store is None:
        raise NotFound("recordings are not kept on this daemon", "recording")
    floor = floor_of(request)
    path = await floor.off_loop(_audited_path, floor, store, who, attempt_id)
    return FileResponse(path, media_type="audio/wav", filename=f"attempt-{attempt_id}.wav",
                        content_disposition_type="inline", headers={"Cache-Control": "no-store"})


def _audited_path(floor: Floor, store: RecordingStore, who: Principal, attempt_id: int) -> Path:
    """The recording's file, after its audit row is committed; 404 naming the attempt or the recording."""
    with floor.factory() as session:
        attempt = session.get(Attempt, attempt_id)
        if attempt is None or not who.sees(attempt.campaign_id):
            raise NotFound(f"no attempt {attempt_id}", "attempt_id")
        path = store.path_of(attempt.recording) if attempt.recording else None  # its own file, or none
        if path is None:
            raise NotFound(f"no recording of attempt {attempt_id} on this daemon", "recording")
        record_view(session, who.user_id, attempt.lead_id, attempt.campaign_id, floor.now_utc(),
                    ViewPurpose.RECORDING)
        session.commit()
        return path
