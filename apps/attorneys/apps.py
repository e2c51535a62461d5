from django.apps import AppConfig


class AttorneysConfig(AppConfig):
    name = "apps.attorneys"
    label = "attorneys"
    verbose_name = "Attorney portal and registry desk"
