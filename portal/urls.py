from django.urls import path
from django.views.generic import TemplateView

app_name = "portal"
urlpatterns = [
    path("", TemplateView.as_view(template_name="portal/home.html"), name="home"),
    path("dashboard/", TemplateView.as_view(template_name="portal/home.html"), name="dashboard"),
]
