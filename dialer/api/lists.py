"""Contact lists (Genesys Cloud's word): a CSV upload through ``lists.importer``, and its rejects file.

Why the raw body rather than a form: one CSV per request needs no multipart
parser, and ``curl --data-binary @leads.csv`` sends it. The body streams to a
temporary file (at most ``dialer.api.limits.MAX_UPLOAD_BYTES``, counted as it
arrives) and goes through the same importer as ``dialer lists import`` (every
number normalised, duplicates dropped, rejects listed with their line), on a
thread. The rejects file stays downloadable for this daemon's life.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from dialer.api.auth import Principal, floor_of, require, visible
from dialer.api.errors import ApiError, NotFound
from dialer.api.floor import Floor
from dialer.api.schemas import ERRORS, CampaignId, ImportOut
from dialer.service.users import Role
from lists.audit import record
from lists.campaigns import get_campaign
from lists.importer import import_csv
from lists.models import AuditAction, Campaign

__all__ = ["router", "rejects", "upload"]

router = APIRouter(prefix="/api/v1/outbound", tags=["lists"], responses=ERRORS)
Manager = Annotated[Principal, Depends(require(Role.MANAGER, Role.ADMIN))]
_CSV_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}, "example": "phone,name\n+33142685111,Ann Lee\nnot a number,Bob\n"}}}}


def _import(floor: Floor, campaign_id: int, path: Path, region: str | None, delimiter: str | None) -> ImportOut:
    with floor.factory() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id}", "campaign_id")
        campaign = get_campaign(session, campaign.name)
        summary = import_csv(session, campaign, path, default_region=region, delimiter=delimiter, workers=1,
                             now=floor.now())
        session.commit()
    import_id = path.stem
    return ImportOut(import_id=import_id, rows=summary.rows, imported=summary.imported, rejected=summary.rejected,
                     duplicates=summary.duplicates, already_imported=summary.already_imported,
                     rejects_url=f"/api/v1/outbound/imports/{import_id}/rejects" if summary.rejects_path else None,
                     uncertain_zones=summary.uncertain_zones, no_window=summary.no_window,
                     zones_given=summary.zones_given, zone_by_timezone=summary.zone_by_timezone,
                     zone_by_postal_code=summary.zone_by_postal_code,
                     zone_by_subdivision=summary.zone_by_subdivision, zone_by_number=summary.zone_by_number,
                     unknown_subdivisions=summary.unknown_subdivisions, warning=summary.warning(),
                     with_consent=summary.with_consent, customers=summary.customers)


@router.post("/campaigns/{campaign_id}/contactlists", response_model=ImportOut, status_code=201,
             openapi_extra=_CSV_BODY)
async def upload(campaign_id: CampaignId, request: Request, who: Manager,
                 default_region: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
                 delimiter: Annotated[str | None, Query(max_length=3)] = None) -> ImportOut:
    """Import a CSV of leads (a phone column, optional name, timezone, zip, subdivision and any other fields)."""
    visible(who, campaign_id)
    floor = floor_of(request)
    floor.rejects_dir.mkdir(parents=True, exist_ok=True)
    path = floor.rejects_dir / f"{campaign_id}-{secrets.token_hex(8)}.csv"
    try:
        if not await _stream_to(request, path):
            raise ApiError("is empty: send the CSV file as the request body", "body")
        return await floor.off_loop(_import, floor, campaign_id, path,  # type: ignore[no-any-return]
                                    default_region, delimiter)
    finally:
        path.unlink(missing_ok=True)


async def _stream_to(request: Request, path: Path) -> bool:
    """Write the body to ``path`` (mode 600: raw numbers and names) as it arrives, never whole in memory; the
    size limit (``dialer.api.limits``) is checked chunk by chunk. True when it holds more than white space."""
    content = False
    with open(path, "wb", opener=lambda name, flags: os.open(name, flags, 0o600)) as out:
        async for chunk in request.stream():
            out.write(chunk)
            content = content or bool(chunk.strip())
    return content


@router.get("/imports/{import_id}/rejects", response_class=FileResponse,
            responses={200: {"content": {"text/csv": {}}}})
async def rejects(import_id: Annotated[str, PathParam(pattern=r"^\d+-[0-9a-f]{16}$")], request: Request,
                  who: Manager) -> FileResponse:
    """The rejected, duplicate and already imported rows of an upload, with their line and reason."""
    campaign_id = int(import_id.split("-", 1)[0])
    visible(who, campaign_id)
    floor = floor_of(request)
    path = floor.rejects_dir / f"{import_id}.csv.rejects.csv"
    if not path.is_file():
        raise NotFound(f"no rejects for import {import_id}", "import_id")

    def audit() -> None:  # the rejects hold the raw numbers and names of the rows they list
        with floor.factory() as session:
            record(session, who.name, AuditAction.EXPORT, floor.now_utc(), campaign_id, rejects=import_id)
            session.commit()

    await floor.off_loop(audit)
    return FileResponse(path, media_type="text/csv", filename=f"{import_id}.rejects.csv")
