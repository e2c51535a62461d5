from __future__ import annotations

from celery import shared_task

from apps.access import exports


@shared_task(name="access.build_export", acks_late=True)
def build_export(export_id: int) -> None:
    exports.export_build(export_id=export_id)


@shared_task(name="access.resume_exports", ignore_result=True)
def resume_exports() -> int:
    return exports.exports_resume()


@shared_task(name="access.analyse")
def analyse() -> None:
    from apps.access.anomaly import analyse_new_events

    analyse_new_events()
