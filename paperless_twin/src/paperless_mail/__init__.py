"""The ``paperless_mail`` app of the schema twin: mail accounts, rules, processed mails."""
