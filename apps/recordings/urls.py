from django.urls import path

from apps.recordings import api

urlpatterns = [
    # The switch's upload: a call's sub-resource, served by the recordings app it writes to.
    path("calls/<int:call_id>/recording/", api.RecordingUploadView.as_view(), name="call-recording-upload"),
    path("recordings/", api.RecordingListView.as_view(), name="recording-list"),
    path("recordings/<int:recording_id>/", api.RecordingDetailView.as_view(), name="recording-detail"),
    path("recordings/<int:recording_id>/playback/", api.PlaybackView.as_view(), name="recording-playback"),
    path("recordings/<int:recording_id>/stream/", api.StreamView.as_view(), name="recording-stream"),
    path(
        "recordings/<int:recording_id>/stop-privileged/",
        api.StopPrivilegedView.as_view(),
        name="recording-stop-privileged",
    ),
]
