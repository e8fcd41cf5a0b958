"""The LMS's database backends: Django's, with django-prometheus's counting, and the one change
measured under load (``postgresql``)."""
