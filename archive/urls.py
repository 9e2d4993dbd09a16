"""The reference archive serves no pages: it exists to be exported and imported."""

urlpatterns: list = []
