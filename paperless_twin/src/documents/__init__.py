"""The ``documents`` app of the paperless-ngx schema twin."""
