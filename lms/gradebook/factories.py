"""Test factories for grades."""

import factory
from django.utils import timezone

from lms.accounts.factories import UserFactory

from .models import Grade


class GradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grade

    learner = factory.SubFactory(UserFactory)
    submission_id = factory.Sequence(lambda n: f"sub-{n}")
    score = 8
    max_score = 10
    counts = True
    submitted_at = factory.LazyFunction(timezone.now)
    graded_at = factory.LazyFunction(timezone.now)
