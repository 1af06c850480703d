"""The driver's monthly compensation statements (site and PDF) and disputes."""

urlpatterns: list = []
