"""The export run: what is exported (the plan's sections, split manifests, file names), from one
consistent snapshot, with the guards that stop a suspicious run, into a sink."""
