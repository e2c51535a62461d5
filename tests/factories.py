from __future__ import annotations

import factory
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.calls.models import Call, Decision
from apps.facilities.models import Facility, SwitchAccount
from apps.inmates.models import Inmate
from apps.registry.models import Attorney, ExemptNumber


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("a-long-test-password")


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    code = factory.Sequence(lambda n: f"fac-{n}")
    name = factory.Sequence(lambda n: f"Facility {n}")
    timezone = "America/New_York"
    phone_region = "US"


class SwitchAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SwitchAccount

    user = factory.SubFactory(UserFactory)
    facility = factory.SubFactory(FacilityFactory)


class InmateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inmate

    facility = factory.SubFactory(FacilityFactory)
    booking_number = factory.Sequence(lambda n: f"B{100000 + n}")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Doe{n}")


class AttorneyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attorney

    user = factory.SubFactory(UserFactory)
    full_name = factory.Sequence(lambda n: f"Attorney {n}")
    bar_state = "NY"
    bar_number = factory.Sequence(lambda n: f"{4000000 + n}")
    email_verified_at = factory.LazyFunction(timezone.now)


class ExemptNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExemptNumber

    attorney = factory.SubFactory(AttorneyFactory)
    number = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    inmate = factory.SubFactory(InmateFactory)
    facility = factory.SelfAttribute("inmate.facility")
    switch_call_id = factory.Sequence(lambda n: f"call-{n}")
    dialed_number = factory.Sequence(lambda n: f"+1718555{n % 10000:04d}")
    started_at = factory.LazyFunction(timezone.now)
    decision = Decision.RECORD
    reason = "not_exempt"


def token_for(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key
