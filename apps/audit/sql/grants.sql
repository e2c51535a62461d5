-- Production privileges for the audit tables (run as the schema owner after `migrate`).
--
-- The application connects as `callplatform_app`, which does not own any table, so it can
-- neither disable the append-only triggers nor TRUNCATE. Migrations run as the owner
-- (`callplatform`). The triggers (migration audit 0003) still forbid DELETE and every UPDATE
-- except sealing; these grants are the second, independent fence.
REVOKE ALL ON audit_auditevent, audit_checkpoint, audit_chainhead, audit_auditexport FROM PUBLIC;
REVOKE ALL ON audit_auditevent, audit_checkpoint FROM callplatform_app;

-- Events: the app inserts and reads; UPDATE only on the sealing columns (the trigger checks
-- that only an unsealed row is sealed, once). No DELETE, no TRUNCATE.
GRANT SELECT, INSERT ON audit_auditevent TO callplatform_app;
GRANT UPDATE (sequence, prev_hash, hash, sealed_at) ON audit_auditevent TO callplatform_app;
GRANT USAGE ON SEQUENCE audit_auditevent_id_seq TO callplatform_app;

-- Checkpoints: insert and read only.
GRANT SELECT, INSERT ON audit_checkpoint TO callplatform_app;
GRANT USAGE ON SEQUENCE audit_checkpoint_id_seq TO callplatform_app;

-- Bookkeeping tables the app changes normally.
GRANT SELECT, INSERT, UPDATE ON audit_chainhead TO callplatform_app;
GRANT SELECT, INSERT, UPDATE ON audit_auditexport TO callplatform_app;
GRANT USAGE ON SEQUENCE audit_chainhead_id_seq, audit_auditexport_id_seq TO callplatform_app;

-- Clear values behind the trail's keyed references: insert and read only (a value is never
-- changed; a row can be checked against its reference by recomputing the HMAC).
REVOKE ALL ON audit_protectedvalue, audit_authrejectionwindow FROM PUBLIC;
GRANT SELECT, INSERT ON audit_protectedvalue TO callplatform_app;
-- Per-source, per-minute counts of unauthenticated rejections (upsert, flush, clean-up).
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_authrejectionwindow TO callplatform_app;
GRANT USAGE ON SEQUENCE audit_authrejectionwindow_id_seq TO callplatform_app;
