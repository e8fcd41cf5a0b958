# The grader service's permission: only a holder of gradebook.push_grades may write grades.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('gradebook', '0001_initial'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='grade',
            options={
                'ordering': ['-submitted_at'],
                'permissions': [
                    ('push_grades', "Can push grades from the grader service (the grader's token only)")
                ],
            },
        ),
    ]
