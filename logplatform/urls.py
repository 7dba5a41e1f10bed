from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="analyses:upload", permanent=False), name="home"),
    path("accounts/", include("accounts.urls")),
    path("analyses/", include("analyses.urls")),
    path("admin/", admin.site.urls),
]
