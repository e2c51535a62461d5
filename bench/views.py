"""The two reference endpoints the call-setup decision is measured against (bench only).

Both are plain Django views behind the project's full middleware stack, so the only difference
to the call-setup endpoint is what the view itself does:

* ``constant``: returns a fixed JSON body: the cost of HTTP + WSGI + Django, no database;
* ``insert``: one INSERT in its own transaction: the floor for any decision that must be
  durably recorded.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

PROBE_TABLE = "bench_probe"
CREATE_PROBE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    payload text NOT NULL
)
"""  # noqa: S608 - constant table name


@csrf_exempt
def constant(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"record": True, "privileged": False, "reason": "constant"}, status=201)


@csrf_exempt
def insert(request: HttpRequest) -> JsonResponse:
    payload = request.body[:512].decode("utf-8", "replace")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {PROBE_TABLE} (payload) VALUES (%s) RETURNING id", [payload])  # noqa: S608
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id, "record": True, "privileged": False, "reason": "insert"}, status=201)
