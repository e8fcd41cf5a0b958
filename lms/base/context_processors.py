from django.conf import settings


def studio(request):
    """Values every template may use: the site name and the hub's public URL. (The catalogue's
    URL is the course app's: ``lms.courses.context_processors.catalogue``.)"""
    return {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "hub_url": settings.STUDIO_HUB_URL,
    }
