from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0002_notebook_image_optional"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="assignmentpage",
            options={
                "permissions": [
                    (
                        "read_tutor_settings",
                        "Can read every course's tutor policy and hints (the tutor's service "
                        "account)",
                    )
                ]
            },
        ),
    ]
