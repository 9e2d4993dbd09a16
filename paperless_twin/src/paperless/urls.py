"""URL configuration of the schema twin: none, the twin serves no pages."""

urlpatterns: list = []
