from django.urls import path

from analyses import views

app_name = "analyses"

urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("", views.history, name="history"),
    path("<int:analysis_id>/", views.detail, name="detail"),
    path("<int:analysis_id>/status/", views.status, name="status"),
    path("<int:analysis_id>/delete/", views.delete, name="delete"),
    path("<int:analysis_id>/rerun/", views.rerun, name="rerun"),
    path("<int:analysis_id>/files/<int:file_id>/", views.file_download, name="file"),
]
