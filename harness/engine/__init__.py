"""The engine: the verdict on one case, exploration and shrinking, findings, results, artefacts,
profiles and the run."""
