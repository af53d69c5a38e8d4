"""The knowledge base: its schema, loading and checks, the decision space, the decision table, diffs,
the DMN export and the FHIR terminology file. The data modules (load, claims, numbers, vocabulary,
terminology) import nothing of the core; checks, table, diff and dmn run the core's engine over a KB."""
