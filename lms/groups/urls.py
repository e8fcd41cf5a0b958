"""Study group URLs beside the Wagtail page tree, under ``courses/<slug>/groups/`` (included
before Wagtail's catch-all, so "groups" is not a lesson slug), the invite links and the calendar
feeds."""

from django.urls import path

from . import views

urlpatterns = [
    path("courses/<slug:slug>/groups/", views.course_groups, name="groups-course"),
    path("courses/<slug:slug>/groups/new/", views.create_group, name="groups-create"),
    path("courses/<slug:slug>/groups/<int:pk>/", views.group, name="groups-group"),
    path("courses/<slug:slug>/groups/<int:pk>/join/", views.join, name="groups-join"),
    path("courses/<slug:slug>/groups/<int:pk>/act/", views.act, name="groups-act"),
    path("courses/<slug:slug>/groups/<int:pk>/workspace/", views.open_workspace,
         name="groups-workspace"),
    path("courses/<slug:slug>/groups/<int:pk>/board/", views.board, name="groups-board"),
    path("courses/<slug:slug>/groups/<int:pk>/board/new/", views.new_thread,
         name="groups-new-thread"),
    path("courses/<slug:slug>/groups/<int:pk>/board/<int:thread>/", views.thread,
         name="groups-thread"),
    path("groups/invite/<str:token>/", views.invite, name="groups-invite"),
    path("groups/invite/<str:token>/accept/", views.accept_invite, name="groups-invite-accept"),
    path("groups/calendar/", views.my_calendar, name="groups-calendar"),
    path("groups/calendar/<str:secret>.ics", views.calendar_feed, name="groups-calendar-feed"),
]
