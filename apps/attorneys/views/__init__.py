"""Attorney portal and registry desk views, one module per audience: ``attorney`` (the
attorney's numbers and flags), ``clerk`` and ``identity`` (the registry clerk's queue and
decisions), ``officer`` (privilege review), ``accounts`` (sign-in, sign-up, reset, profile).
Shared guards and helpers are in apps.attorneys.pages. Views are thin: forms in, services out,
objects fetched only through querysets restricted to the caller."""
