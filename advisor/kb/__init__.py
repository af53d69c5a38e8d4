"""The knowledge base: its schema, loading and checks, the decision space, the decision table, diffs,
the DMN export and the FHIR terminology file. The data modules (load, schema, files, source, problems,
space, claims, numbers, readability, vocabulary, facts, terminology) import nothing of the core but its models;
checks, table, diff and dmn run the core's engine over a KB."""
