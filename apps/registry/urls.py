from django.urls import path

from apps.registry import api, bulk_api, decision_api

urlpatterns = [
    path("attorney/numbers/", api.AttorneyNumbersView.as_view(), name="attorney-numbers"),
    path(
        "attorney/numbers/<int:number_id>/",
        api.AttorneyNumberDetailView.as_view(),
        name="attorney-number-detail",
    ),
    path(
        "attorney/numbers/<int:number_id>/renew/",
        api.AttorneyNumberRenewView.as_view(),
        name="attorney-number-renew",
    ),
    path("registry/numbers/", api.RegistryNumbersView.as_view(), name="registry-numbers"),
    path(
        "registry/numbers/<int:number_id>/renew/",
        api.RegistryRenewView.as_view(),
        name="registry-number-renew",
    ),
    path(
        "registry/numbers/<int:number_id>/decline-renewal/",
        api.RegistryDeclineRenewalView.as_view(),
        name="registry-number-decline-renewal",
    ),
    path(
        "registry/numbers/<int:number_id>/verify/",
        api.RegistryVerifyView.as_view(),
        name="registry-number-verify",
    ),
    path(
        "registry/numbers/<int:number_id>/reject/",
        api.RegistryRejectView.as_view(),
        name="registry-number-reject",
    ),
    path("registry/claims/", api.InmateClaimView.as_view(), name="registry-claims"),
    # Bulk changes wait for a second registry clerk (apps.registry.bulk).
    path("registry/bulk-changes/", bulk_api.BulkChangesView.as_view(), name="registry-bulk-changes"),
    path(
        "registry/bulk-changes/<int:change_id>/approve/",
        bulk_api.BulkChangeApproveView.as_view(),
        name="registry-bulk-change-approve",
    ),
    path(
        "registry/bulk-changes/<int:change_id>/reject/",
        bulk_api.BulkChangeRejectView.as_view(),
        name="registry-bulk-change-reject",
    ),
    path(
        "registry/numbers/<int:number_id>/revoke/",
        bulk_api.RegistryRevokeView.as_view(),
        name="registry-number-revoke",
    ),
    # The switch's offline decision list (issue 11, section 2; apps.registry.decision_list).
    path("switch/decision-list/", decision_api.DecisionListView.as_view(), name="switch-decision-list"),
    path(
        "switch/decision-list/held/",
        decision_api.DecisionListHeldView.as_view(),
        name="switch-decision-list-held",
    ),
]
