"""The core: the person's facts and the recommendation (models), the rules engine (the only module that
imports durable-rules), the Advisor that decides, and the builder that explains."""
