"""Make the audit tables append-only for the application, on PostgreSQL.

* audit_auditevent: DELETE is refused; UPDATE is refused except sealing an unsealed row once
  (sequence NULL -> value, hash fields set, every captured field unchanged).
* audit_checkpoint: UPDATE and DELETE are refused.

TRUNCATE is not trapped by a trigger, because Django's test flush truncates every table; in
production the application role is not the table owner and is not granted TRUNCATE (see
apps/audit/sql/grants.sql). A table owner can still disable the triggers: that is what the
signed checkpoints and verify_audit_chain are for.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_auditevent is append-only: DELETE of event % refused', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.sequence IS NOT NULL THEN
        RAISE EXCEPTION 'audit_auditevent is append-only: sealed event % cannot change', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.sequence IS NULL OR NEW.hash = '' OR NEW.prev_hash = '' OR NEW.sealed_at IS NULL THEN
        RAISE EXCEPTION 'audit_auditevent is append-only: an update must seal event %', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.id, NEW.created_at, NEW.actor_id, NEW.actor_label, NEW.action, NEW.outcome,
        NEW.target_type, NEW.target_id, NEW.facility_id, NEW.client_ip, NEW.request_id,
        NEW.details)
       IS DISTINCT FROM
       (OLD.id, OLD.created_at, OLD.actor_id, OLD.actor_label, OLD.action, OLD.outcome,
        OLD.target_type, OLD.target_id, OLD.facility_id, OLD.client_ip, OLD.request_id,
        OLD.details) THEN
        RAISE EXCEPTION 'audit_auditevent is append-only: sealing may not change event %', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

CREATE OR REPLACE FUNCTION audit_checkpoint_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoint is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint;
DROP FUNCTION IF EXISTS audit_checkpoint_append_only();
"""


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chain_checkpoints_exports")]

    operations = [migrations.RunPython(forward, backward)]
