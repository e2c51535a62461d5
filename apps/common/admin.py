"""Admin registrations the project takes away from its libraries."""

from __future__ import annotations

from django.contrib import admin
from rest_framework.authtoken.models import TokenProxy

# DRF's token admin lists every API token in clear: a superuser could copy a switch's or an
# investigator's token and act as them. Tokens are issued by seed_demo / the services instead.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
