"""Facility portal pages, one module per job: ``dashboard``, ``inmates``, ``calls``,
``recordings``, ``grants``, ``staff``, ``exports`` (second-person approval), ``compliance``
(the audit trail for auditors), ``auth`` (sign-in, lockout). Shared page helpers are in
apps.portal.pages, masked call rows in apps.portal.rows. Views stay thin: parse a form, fetch
through a selector or get_in_scope_or_404, call a service or action, render. Reads of protected
data are audited in their own transaction, like the API."""
